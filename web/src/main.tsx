import { QueryClientProvider } from "@tanstack/react-query";
import { setNonce } from "get-nonce";
import { StrictMode, useEffect } from "react";
import { createRoot } from "react-dom/client";
import { RouterProvider } from "react-router";
import { queryClient } from "./app/query";
import { router } from "./app/routes";
import { applyTheme, storedTheme } from "./app/theme";
import { useLiveLink } from "./live/store";
import { restoreSession } from "./session/auth";
import { Toaster } from "./ui/toast";
import "./index.css";

applyTheme(storedTheme());
// The page's style nonce (see gateway/web.py): the one <style> Radix adds carries it.
const nonce = document.querySelector<HTMLMetaElement>('meta[name="csp-nonce"]')?.content;
if (nonce) setNonce(nonce);


function App() {
  useLiveLink();
  useEffect(() => {
    void restoreSession();
  }, []);
  return (
    <QueryClientProvider client={queryClient}>
      <RouterProvider router={router} />
      <Toaster />
    </QueryClientProvider>
  );
}

const root = document.getElementById("root");
if (root) {
  createRoot(root).render(
    <StrictMode>
      <App />
    </StrictMode>,
  );
}
