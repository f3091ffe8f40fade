import type { NextConfig } from "next";

// Next's pages need inline scripts and styles; everything else comes from this origin, and no
// other site may frame the dashboard.
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self' 'unsafe-inline'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

const nextConfig: NextConfig = {
  // A self-contained server under .next/standalone, so a Node host needs no node_modules.
  output: "standalone",
  // better-sqlite3 is a native addon: load it from node_modules at run time, never bundle it.
  serverExternalPackages: ["better-sqlite3", "ssh2"],
  // The data dir is chosen at run time (AFS_DATA_DIR); the tracer's guesses from fs calls in lib/
  // would otherwise copy the demo data and sources into the server bundle.
  outputFileTracingExcludes: { "*": ["./data/**", "./lib/**", "./tests/**", "./e2e/**"] },
  poweredByHeader: false,
  // No image optimizer endpoint is exposed.
  images: { unoptimized: true },
  async headers() {
    return [
      {
        source: "/:path*",
        headers: [
          { key: "Content-Security-Policy", value: CONTENT_SECURITY_POLICY },
          { key: "X-Content-Type-Options", value: "nosniff" },
          { key: "Referrer-Policy", value: "no-referrer" },
          { key: "X-Frame-Options", value: "DENY" },
        ],
      },
    ];
  },
};

export default nextConfig;
