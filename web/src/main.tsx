import { QueryClientProvider } from "@tanstack/react-query";
import { Tooltip } from "radix-ui";
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


function App() {
  useLiveLink();
  useEffect(() => {
    void restoreSession();
  }, []);
  return (
    <QueryClientProvider client={queryClient}>
      <Tooltip.Provider delayDuration={300}>
        <RouterProvider router={router} />
        <Toaster />
      </Tooltip.Provider>
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
