import path from "node:path";
import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: {
    alias: {
      "@": path.resolve(__dirname),
      // The package's own export for server code; its default entry throws outside React Server Components.
      "server-only": path.resolve(__dirname, "node_modules/server-only/empty.js"),
    },
  },
  test: {
    include: ["tests/**/*.test.ts", "tests/**/*.test.tsx"],
    environment: "node",
    // Handler tests share one process-wide store handle; files run in their own workers.
    pool: "forks",
    testTimeout: 20_000,
  },
});
