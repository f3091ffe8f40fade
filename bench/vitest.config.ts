import { defineConfig } from "vitest/config";
import base from "../vitest.config";

// `npm run bench`: benchmarks that print figures. They assert nothing about speed (targets
// are read, not enforced), so they stay out of `npm test`.
export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: ["bench/**/*.bench.ts"],
    testTimeout: 600_000,
    disableConsoleIntercept: true,
    fileParallelism: false,
  },
});
