import path from "node:path";
import { configDefaults, defineConfig } from "vitest/config";

const resolve = {
  alias: {
    "@": path.resolve(__dirname),
    // The package's own export for server code; its default entry throws outside React Server Components.
    "server-only": path.resolve(__dirname, "node_modules/server-only/empty.js"),
  },
};

const test = {
  environment: "node",
  // Handler tests share one process-wide store handle; files run in their own workers.
  pool: "forks",
  testTimeout: 20_000,
} as const;

// Every test runs on SQLite; the store's users run again on PostgreSQL (see makeDataDir in tests/helpers.ts).
export default defineConfig({
  test: {
    projects: [
      {
        resolve,
        test: {
          ...test,
          name: "sqlite",
          include: ["tests/**/*.test.ts", "tests/**/*.test.tsx"],
          exclude: [...configDefaults.exclude, "tests/store/pg-restart.test.ts", "tests/store/copy.test.ts"],
          env: { AFS_TEST_ENGINE: "sqlite" },
        },
      },
      {
        resolve,
        test: {
          ...test,
          name: "postgres",
          include: ["tests/api/**/*.test.ts", "tests/store/**/*.test.ts", "tests/gpu/history.test.ts"],
          // These test the SQLite file itself.
          exclude: [...configDefaults.exclude, "tests/api/store-broken.test.ts"],
          env: { AFS_TEST_ENGINE: "postgres" },
          globalSetup: ["tests/support/postgres-setup.ts"],
        },
      },
    ],
  },
});
