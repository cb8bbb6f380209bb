/// <reference types="vitest/config" />
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// Built by `make setup` into web/dist; the API serves dist/index.html at / and dist/assets with
// hashed names (cached for a year). Nothing is fetched from a CDN at run time.
export default defineConfig({
  plugins: [react()],
  base: "/",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    assetsDir: "assets",
    sourcemap: false,
    chunkSizeWarningLimit: 700,
  },
  server: {
    // `npm run dev` against an API on :8000 (make run), for working on the pages with hot reload.
    proxy: Object.fromEntries(
      ["/auth", "/listings", "/skills", "/me", "/users", "/engagements", "/offers", "/reviews", "/withdraw",
        "/credentials", "/issuers", "/verify", "/payments", "/recommendations", "/events", "/tx", "/chain",
        "/arbiter", "/ipfs", "/health", "/ready"].map((p) => [p, "http://127.0.0.1:8000"]),
    ),
  },
  test: {
    include: ["src/**/*.test.ts"],
    environment: "node",
  },
});
