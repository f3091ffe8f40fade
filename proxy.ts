import { NextResponse, type NextRequest } from "next/server";
import { readsNeedToken, roleOf, SESSION_COOKIE } from "@/lib/auth";

// Methods each API route answers. Next's own 405 has an empty body; this gives scripts the JSON
// error every other failure has.
const API_METHODS: Record<string, string[]> = {
  "/api/update-status": ["POST"],
  "/api/alerts/test": ["POST"],
  "/api/session": ["POST", "DELETE"],
};

// A first gate only: every route handler and page checks access again itself.
export function proxy(req: NextRequest) {
  const { pathname } = req.nextUrl;
  if (pathname.startsWith("/api/")) {
    const allowed = API_METHODS[pathname] ?? ["GET", "HEAD"];
    if (allowed.includes(req.method)) return NextResponse.next();
    return NextResponse.json(
      { error: `Method ${req.method} not allowed`, details: { allow: allowed } },
      { status: 405, headers: { Allow: allowed.join(", "), "Cache-Control": "no-store" } },
    );
  }
  // Pages: with AFS_VIEWER_TOKEN set, people without a valid session cookie go to sign in.
  if (pathname === "/sign-in" || !readsNeedToken()) return NextResponse.next();
  const token = req.cookies.get(SESSION_COOKIE)?.value;
  if (token && roleOf(token)) return NextResponse.next();
  return NextResponse.redirect(new URL("/sign-in", req.url));
}

// Static files pass: the web app manifest and its icons above all, which browsers fetch without
// cookies (a redirect to sign in would make the dashboard impossible to install).
export const config = { matcher: ["/((?!_next/static|_next/image|icon.svg|apple-icon.png|manifest.webmanifest|icons/).*)"] };
