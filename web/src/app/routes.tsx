/** Every route of the app. Pages load on demand, so a trader's first load carries only
 * the shell and the page it opens (part 2's desk, analyst and admin pages come in their
 * own chunks). */
import { lazy, Suspense, type ComponentType, type ReactNode } from "react";
import { createBrowserRouter, Navigate, useLocation } from "react-router";
import { isAdmin, isStaff, useSession } from "../session/store";
import { Loading } from "../ui/kit";
import { Layout } from "./Layout";
import { NotFound } from "./NotFound";

// Each page is a module under pages/ with a default export, loaded when first opened.
const modules = import.meta.glob<{ default: ComponentType }>("../pages/**/*.tsx");

function page(path: string): ComponentType {
  const load = modules[`../pages/${path}.tsx`];
  return load ? lazy(load) : NotFound;
}

const Programs = page("public/Programs");
const Program = page("public/Program");
const Login = page("public/Login");
const Register = page("public/Register");
const VerifyEmail = page("public/VerifyEmail");
const ForgotPassword = page("public/ForgotPassword");
const ResetPassword = page("public/ResetPassword");
const Dashboard = page("trader/Dashboard");
const Account = page("trader/Account");
const Challenges = page("trader/Challenges");
const Challenge = page("trader/Challenge");
const Buy = page("trader/Buy");
const Settings = page("trader/Settings");
const Alerts = page("desk/Alerts");
const Floors = page("desk/Floors");
const Exposure = page("desk/Exposure");
const DeskChallenges = page("desk/Challenges");
const DeskUsers = page("desk/Users");
const DeskAudit = page("desk/Audit");
const Firm = page("admin/Firm");
const Firms = page("admin/Firms");
const Cohorts = page("analyst/Cohorts");
const ReportImport = page("analyst/Import");
const HistoryExplorer = page("analyst/History");
const WhatIf = page("analyst/WhatIf");

function Page({ children }: { children: ReactNode }) {
  return <Suspense fallback={<Loading />}>{children}</Suspense>;
}

/** Signed-in pages: wait for the session to be restored, else go to the login. */
function SignedIn({ children }: { children: ReactNode }) {
  const status = useSession((s) => s.status);
  const location = useLocation();
  if (status === "unknown") return <Loading label="Restoring your session" />;
  if (status === "anonymous") {
    const next = encodeURIComponent(location.pathname + location.search);
    return <Navigate to={`/login?next=${next}`} replace />;
  }
  return <Page>{children}</Page>;
}

/** The risk desk's pages: signed in and staff; anyone else gets the not-found page (the
 * page's chunk is not even loaded, so nothing is fetched). */
function Staff({ children }: { children: ReactNode }) {
  const user = useSession((s) => s.user);
  if (!user) return <Loading label="Restoring your session" />;
  return isStaff(user) ? <>{children}</> : <NotFound />;
}

/** The firm's admins' pages (admin or owner); anyone else gets the not-found page. */
function Admin({ children }: { children: ReactNode }) {
  const user = useSession((s) => s.user);
  if (!user) return <Loading label="Restoring your session" />;
  return isAdmin(user) ? <>{children}</> : <NotFound />;
}

/** The platform owner's pages (role owner); anyone else gets the not-found page. */
function Owner({ children }: { children: ReactNode }) {
  const user = useSession((s) => s.user);
  if (!user) return <Loading label="Restoring your session" />;
  return user.role === "owner" ? <>{children}</> : <NotFound />;
}

function Home() {
  const status = useSession((s) => s.status);
  if (status === "unknown") return <Loading />;
  return status === "signed-in" ? <Navigate to="/dashboard" replace /> : <Page><Programs /></Page>;
}

export const router = createBrowserRouter([
  {
    element: <Layout />,
    children: [
      { path: "/", element: <Home /> },
      { path: "/programs", element: <Page><Programs /></Page> },
      { path: "/programs/:slug", element: <Page><Program /></Page> },
      { path: "/login", element: <Page><Login /></Page> },
      { path: "/register", element: <Page><Register /></Page> },
      { path: "/verify-email", element: <Page><VerifyEmail /></Page> },
      { path: "/forgot-password", element: <Page><ForgotPassword /></Page> },
      { path: "/reset-password", element: <Page><ResetPassword /></Page> },
      { path: "/dashboard", element: <SignedIn><Dashboard /></SignedIn> },
      { path: "/accounts/:login", element: <SignedIn><Account /></SignedIn> },
      { path: "/challenges", element: <SignedIn><Challenges /></SignedIn> },
      { path: "/challenges/new", element: <SignedIn><Buy /></SignedIn> },
      { path: "/challenges/:id", element: <SignedIn><Challenge /></SignedIn> },
      { path: "/settings", element: <SignedIn><Settings /></SignedIn> },
      { path: "/settings/:tab", element: <SignedIn><Settings /></SignedIn> },
      { path: "/desk", element: <SignedIn><Staff><Alerts /></Staff></SignedIn> },
      { path: "/desk/floors", element: <SignedIn><Staff><Floors /></Staff></SignedIn> },
      { path: "/desk/exposure", element: <SignedIn><Staff><Exposure /></Staff></SignedIn> },
      { path: "/desk/challenges", element: <SignedIn><Staff><DeskChallenges /></Staff></SignedIn> },
      { path: "/desk/users", element: <SignedIn><Staff><DeskUsers /></Staff></SignedIn> },
      { path: "/desk/audit", element: <SignedIn><Staff><DeskAudit /></Staff></SignedIn> },
      { path: "/admin/firm", element: <SignedIn><Admin><Firm /></Admin></SignedIn> },
      { path: "/admin/firms", element: <SignedIn><Owner><Firms /></Owner></SignedIn> },
      { path: "/analyst", element: <SignedIn><Staff><Cohorts /></Staff></SignedIn> },
      { path: "/analyst/history", element: <SignedIn><Staff><HistoryExplorer /></Staff></SignedIn> },
      { path: "/analyst/what-if", element: <SignedIn><Staff><WhatIf /></Staff></SignedIn> },
      { path: "/analyst/import", element: <SignedIn><Staff><ReportImport /></Staff></SignedIn> },
      { path: "*", element: <NotFound /> },
    ],
  },
]);
