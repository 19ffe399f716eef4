/// <reference types="vitest/config" />
import tailwindcss from "@tailwindcss/vite";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// The gateway serves dist/ at / (hashed assets cached for a year, index.html never).
// `npm run dev` proxies the API and the websocket to a gateway on GATEWAY (default :8000).
const gateway = process.env.GATEWAY ?? "http://127.0.0.1:8000";

export default defineConfig({
  plugins: [react(), tailwindcss()],
  build: {
    target: "es2022",
    sourcemap: false,
    manifest: true, // .vite/manifest.json: what each route loads (the bundle budget test reads it)
    assetsInlineLimit: 0, // no data: scripts or styles: the CSP names 'self' only
    chunkSizeWarningLimit: 400,
  },
  server: {
    proxy: {
      "/api": gateway,
      "/theme.css": gateway,
      "/ws": { target: gateway.replace(/^http/, "ws"), ws: true },
    },
  },
  test: {
    environment: "jsdom",
    include: ["src/**/*.test.ts", "src/**/*.test.tsx"],
  },
});
