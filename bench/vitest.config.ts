import path from "node:path";
import { defineConfig } from "vitest/config";

// `npm run bench`: benchmarks that print figures. They assert nothing about speed (targets
// are read, not enforced), so they stay out of `npm test`. Its own config rather than the root
// one spread: the root one is now per-engine `projects`, whose includes would replace ours.
export default defineConfig({
  resolve: {
    alias: {
      "@": path.resolve(__dirname, ".."),
      // As in the root config: the package's server entry, which does not throw outside React Server Components.
      "server-only": path.resolve(__dirname, "..", "node_modules/server-only/empty.js"),
    },
  },
  test: {
    environment: "node",
    pool: "forks",
    include: ["bench/**/*.bench.ts"],
    testTimeout: 600_000,
    // Starting the embedded PostgreSQL (initdb) takes longer than the default 10 s on 2 cores.
    hookTimeout: 120_000,
    disableConsoleIntercept: true,
    fileParallelism: false,
  },
});
