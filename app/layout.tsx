import type { Metadata } from "next";
import "./globals.css";

export const metadata: Metadata = {
  title: "AFS Training Dashboard",
  description: "Status, cost, GPU telemetry and training curves of fine-tuning runs",
};

export default function RootLayout({ children }: { children: React.ReactNode }) {
  return (
    <html lang="en" data-theme="dark">
      <body className="min-h-screen antialiased">{children}</body>
    </html>
  );
}
