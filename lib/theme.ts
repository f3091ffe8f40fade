// The colour theme: dark by default, light on request. The choice lives in a cookie so the
// server can render <html data-theme> itself and the page never flashes the other theme.
// Browser-safe: read by app/layout.tsx on the server and by the toggle in the browser.
export const THEMES = ["dark", "light"] as const;
export type Theme = (typeof THEMES)[number];

export const THEME_COOKIE = "afs-theme";
export const THEME_COOKIE_MAX_AGE_S = 365 * 24 * 3600;

export function parseTheme(value: string | undefined | null): Theme {
  return value === "light" ? "light" : "dark";
}

export function themeCookie(theme: Theme): string {
  return `${THEME_COOKIE}=${theme}; Path=/; Max-Age=${THEME_COOKIE_MAX_AGE_S}; SameSite=Lax`;
}
