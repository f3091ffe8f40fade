import "server-only";
import { cookies } from "next/headers";
import { redirect } from "next/navigation";
import { readsNeedToken, roleOf, SESSION_COOKIE } from "@/lib/auth";

// Pages check the session themselves too, so proxy.ts is never the only gate.
export async function requirePageAccess(): Promise<void> {
  if (!readsNeedToken()) return;
  const token = (await cookies()).get(SESSION_COOKIE)?.value;
  if (!token || !roleOf(token)) redirect("/sign-in");
}
