import { NextResponse, type NextRequest } from "next/server";

// Route handlers answer only the methods they export; Next's own 405 has an empty body, so
// this gives scripts the JSON error every other failure has.
const WRITE_ROUTES = new Set(["/api/update-status"]);

export function proxy(req: NextRequest) {
  const allowed = WRITE_ROUTES.has(req.nextUrl.pathname) ? ["POST"] : ["GET", "HEAD"];
  if (allowed.includes(req.method)) return NextResponse.next();
  return NextResponse.json(
    { error: `Method ${req.method} not allowed`, details: { allow: allowed } },
    { status: 405, headers: { Allow: allowed.join(", "), "Cache-Control": "no-store" } },
  );
}

export const config = { matcher: "/api/:path*" };
