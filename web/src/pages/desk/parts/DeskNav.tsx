/** The risk desk's sub-navigation, the same on every desk page. Users and Audit are the
 * admins' (the API answers them to admins and the owner only), so the risk role does not
 * see them. */
import { NavLink } from "react-router";
import { useSession } from "../../../session/store";
import { deskLinks } from "./desk";

export function DeskNav() {
  const role = useSession((s) => s.user?.role);
  return (
    <nav aria-label="Risk desk" className="mb-4 flex flex-wrap gap-x-1 gap-y-1 border-b border-line pb-2 text-sm">
      {deskLinks(role).map((link) => (
        <NavLink key={link.to} to={link.to} end
          className={({ isActive }) => `rounded-md px-2 py-1 ${isActive ? "bg-surface-2 font-semibold text-ink" : "text-brand underline-offset-2 hover:underline"}`}>
          {link.label}
        </NavLink>
      ))}
    </nav>
  );
}
