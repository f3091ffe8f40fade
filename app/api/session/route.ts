import { z } from "zod";
import { readJsonBody, route } from "@/lib/api/route";
import { SESSION_COOKIE, signIn } from "@/lib/auth";

const bodySchema = z.strictObject({ token: z.string().min(1).max(512) });

function sessionCookie(req: Request, value: string, maxAge: number): string {
  // Secure whenever the page itself came over HTTPS (directly or through a proxy).
  const secure = new URL(req.url).protocol === "https:" || req.headers.get("x-forwarded-proto") === "https";
  return `${SESSION_COOKIE}=${encodeURIComponent(value)}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAge}${secure ? "; Secure" : ""}`;
}

// POST /api/session - signs a person in: a valid viewer or admin token becomes an httpOnly cookie
export const POST = route(
  async ({ req }) => {
    const { token } = await readJsonBody(req, bodySchema);
    const role = signIn(req, token);
    return Response.json({ role }, { headers: { "Set-Cookie": sessionCookie(req, token, 30 * 86_400) } });
  },
  { access: "public" },
);

// DELETE /api/session - signs out
export const DELETE = route(
  async ({ req }) => Response.json({ signed_out: true }, { headers: { "Set-Cookie": sessionCookie(req, "", 0) } }),
  { access: "public" },
);
