"use client";

import { createContext, useCallback, useContext, useMemo, useState } from "react";
import { themeCookie, type Theme } from "@/lib/theme";

type ThemeContextValue = { theme: Theme; setTheme: (theme: Theme) => void };

const ThemeContext = createContext<ThemeContextValue>({ theme: "dark", setTheme: () => {} });

// Holds the theme the server rendered (from the cookie) and applies a change everywhere at once:
// <html data-theme> for the CSS variables, the cookie for the next request, and this context for
// the charts, which read their colours from those variables.
export function ThemeProvider({ initialTheme, children }: { initialTheme: Theme; children: React.ReactNode }) {
  const [theme, setThemeState] = useState<Theme>(initialTheme);
  const setTheme = useCallback((next: Theme) => {
    document.documentElement.dataset.theme = next;
    document.cookie = themeCookie(next);
    setThemeState(next);
  }, []);
  const value = useMemo(() => ({ theme, setTheme }), [theme, setTheme]);
  return <ThemeContext.Provider value={value}>{children}</ThemeContext.Provider>;
}

export function useTheme(): ThemeContextValue {
  return useContext(ThemeContext);
}
