import type { Config } from "tailwindcss";

// Colours come from CSS variables set per theme in app/globals.css, so one class serves both themes.
export default {
  content: ["./app/**/*.{ts,tsx}", "./components/**/*.{ts,tsx}"],
  theme: {
    extend: {
      colors: {
        bg: "var(--color-bg)",
        card: "var(--color-bg-secondary)",
        inset: "var(--color-bg-tertiary)",
        primary: "var(--color-primary)",
        fg: "var(--color-text)",
        muted: "var(--color-text-muted)",
        line: "var(--color-border)",
        success: "var(--color-success)",
        warning: "var(--color-warning)",
        danger: "var(--color-danger)",
      },
    },
  },
} satisfies Config;
