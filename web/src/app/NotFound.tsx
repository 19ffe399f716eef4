import { Link } from "react-router";

export function NotFound() {
  return (
    <div className="mx-auto max-w-md py-16 text-center">
      <h1 className="mb-2 text-2xl font-semibold">Page not found</h1>
      <p className="mb-6 text-muted">There is nothing at this address.</p>
      <Link className="text-brand underline" to="/">Go to the start page</Link>
    </div>
  );
}
