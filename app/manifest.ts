import type { MetadataRoute } from "next";

// GET /manifest.webmanifest: what a phone needs to install the dashboard. Browsers fetch it
// without cookies, so proxy.ts lets it and the icons through; it names no session on purpose.
// The colours are the dark theme's (app/globals.css), the default: background for the splash
// screen, the header's for the window bar.
export default function manifest(): MetadataRoute.Manifest {
  return {
    name: "AFS Training Dashboard",
    short_name: "AFS",
    description: "Status, cost, GPU telemetry and training curves of fine-tuning runs",
    start_url: "/",
    scope: "/",
    display: "standalone",
    background_color: "#0f1419",
    theme_color: "#1a1f28",
    icons: [
      { src: "/icons/icon-192.png", sizes: "192x192", type: "image/png", purpose: "any" },
      { src: "/icons/icon-512.png", sizes: "512x512", type: "image/png", purpose: "any" },
      { src: "/icons/icon-maskable-512.png", sizes: "512x512", type: "image/png", purpose: "maskable" },
    ],
  };
}
