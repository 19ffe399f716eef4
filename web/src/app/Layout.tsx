/** The frame of every page: the firm's name and logo, navigation, the live indicator,
 * the theme switch and the account menu. */
import { DropdownMenu } from "radix-ui";
import { useState, type ReactNode } from "react";
import { Link, NavLink, Outlet, useNavigate } from "react-router";
import { useLink } from "../live/store";
import { signOut } from "../session/auth";
import { isAdmin, isStaff, useSession } from "../session/store";
import { applyTheme, effectiveTheme, storedTheme } from "./theme";
import { useTenant } from "./tenant";

function LiveIndicator() {
  const state = useLink((s) => s.state);
  const signedIn = useSession((s) => s.status === "signed-in");
  if (!signedIn) return null;
  const live = state === "live";
  const text = live ? "Live" : state === "idle" ? "Offline" : "Reconnecting…";
  return (
    <span role="status" aria-live="polite" data-testid="live-indicator" data-state={state}
      className="inline-flex min-w-28 items-center gap-2 text-sm text-muted">
      <span aria-hidden="true" className={`h-2.5 w-2.5 rounded-full ${live ? "bg-good" : "bg-warn animate-pulse"}`} />
      {text}
    </span>
  );
}

function ThemeSwitch() {
  const [, force] = useState(0);
  const dark = typeof document !== "undefined" && effectiveTheme() === "dark";
  return (
    <button
      type="button"
      className="rounded-md px-2 py-1 text-sm text-muted hover:bg-surface-2"
      aria-label={dark ? "Switch to the light theme" : "Switch to the dark theme"}
      title={storedTheme() === "system" ? "Following the system theme" : undefined}
      onClick={() => {
        applyTheme(dark ? "light" : "dark");
        force((n) => n + 1);
      }}
    >
      {dark ? "☀" : "☾"}
    </button>
  );
}

function UserMenu() {
  const user = useSession((s) => s.user);
  const navigate = useNavigate();
  if (!user) return null;
  return (
    <DropdownMenu.Root>
      <DropdownMenu.Trigger className="rounded-md border border-line px-3 py-1.5 text-sm">
        <span className="sr-only">Account menu: </span>{user.display_name || user.email}
      </DropdownMenu.Trigger>
      <DropdownMenu.Portal>
        <DropdownMenu.Content align="end" sideOffset={6}
          className="z-50 min-w-44 rounded-md border border-line bg-surface p-1 text-ink shadow-lg">
          <DropdownMenu.Item className="cursor-pointer rounded px-3 py-2 text-sm outline-none data-[highlighted]:bg-surface-2"
            onSelect={() => navigate("/settings")}>Settings</DropdownMenu.Item>
          <DropdownMenu.Separator className="my-1 h-px bg-line" />
          <DropdownMenu.Item className="cursor-pointer rounded px-3 py-2 text-sm outline-none data-[highlighted]:bg-surface-2"
            onSelect={() => void signOut().then(() => navigate("/login"))}>Sign out</DropdownMenu.Item>
        </DropdownMenu.Content>
      </DropdownMenu.Portal>
    </DropdownMenu.Root>
  );
}

function Nav({ children }: { children: ReactNode }) {
  return <nav aria-label="Main" className="flex flex-wrap items-center gap-1 text-sm">{children}</nav>;
}

const navClass = ({ isActive }: { isActive: boolean }) =>
  `rounded-md px-3 py-1.5 ${isActive ? "bg-surface-2 font-semibold text-ink" : "text-muted hover:text-ink"}`;

export function Layout() {
  const tenant = useTenant();
  const status = useSession((s) => s.status);
  const staff = useSession((s) => isStaff(s.user));
  const admin = useSession((s) => isAdmin(s.user));
  const owner = useSession((s) => s.user?.role === "owner");
  const name = tenant.data?.name ?? "";
  return (
    <div className="flex min-h-dvh flex-col">
      <a href="#main" className="sr-only focus:not-sr-only focus:absolute focus:left-2 focus:top-2 focus:z-50 focus:bg-surface focus:p-2">
        Skip to content
      </a>
      <header className="border-b border-line bg-surface">
        <div className="mx-auto flex max-w-7xl flex-wrap items-center gap-3 px-4 py-3">
          <Link to={status === "signed-in" ? "/dashboard" : "/"} className="flex items-center gap-2 font-semibold text-ink" data-testid="firm-name">
            {tenant.data?.logo_url ? <img src={tenant.data.logo_url} alt="" className="h-7 w-auto" /> : null}
            <span>{name || "\u00a0"}</span>
          </Link>
          <Nav>
            {status === "signed-in" ? (
              <>
                <NavLink to="/dashboard" className={navClass}>Dashboard</NavLink>
                <NavLink to="/challenges" className={navClass}>Challenges</NavLink>
                <NavLink to="/programs" className={navClass}>Programs</NavLink>
                {staff ? <NavLink to="/desk" className={navClass}>Risk desk</NavLink> : null}
                {staff ? <NavLink to="/analyst" className={navClass}>Analytics</NavLink> : null}
                {admin ? <NavLink to="/admin/firm" className={navClass}>Admin</NavLink> : null}
                {owner ? <NavLink to="/admin/firms" className={navClass}>Firms</NavLink> : null}
              </>
            ) : (
              <NavLink to="/programs" className={navClass}>Programs</NavLink>
            )}
          </Nav>
          <div className="ml-auto flex items-center gap-2">
            <LiveIndicator />
            <ThemeSwitch />
            {status === "signed-in" ? <UserMenu /> : status === "anonymous" ? (
              <>
                <Link to="/login" className="rounded-md px-3 py-1.5 text-sm">Log in</Link>
                <Link to="/register" className="rounded-md bg-brand px-3 py-1.5 text-sm text-white">Sign up</Link>
              </>
            ) : null}
          </div>
        </div>
      </header>
      <main id="main" className="mx-auto w-full max-w-7xl flex-1 px-4 py-6">
        <Outlet />
      </main>
      <footer className="border-t border-line py-4 text-center text-xs text-muted">
        {name ? `${name} · ` : ""}Charts by <a className="underline" href="https://www.tradingview.com/">TradingView</a> Lightweight Charts™
      </footer>
    </div>
  );
}
