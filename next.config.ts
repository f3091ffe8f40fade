import type { NextConfig } from "next";

const nextConfig: NextConfig = {
  // A self-contained server under .next/standalone, so a Node host needs no node_modules.
  output: "standalone",
  // better-sqlite3 is a native addon: load it from node_modules at run time, never bundle it.
  serverExternalPackages: ["better-sqlite3"],
  // The data dir is chosen at run time (AFS_DATA_DIR); the tracer's guesses from fs calls in lib/
  // would otherwise copy the demo data and sources into the server bundle.
  outputFileTracingExcludes: { "*": ["./data/**", "./lib/**", "./tests/**", "./e2e/**"] },
  poweredByHeader: false,
  images: { unoptimized: true },
};

export default nextConfig;
