"use client";

import { useState } from "react";

// Posts the token as JSON (a plain form post would be refused with 415 by design); the server
// answers with an httpOnly cookie, so the token never stays in script-readable storage.
export function SignInForm() {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function onSubmit(event: React.FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    const token = String(new FormData(event.currentTarget).get("token") ?? "");
    const res = await fetch("/api/session", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ token }),
    });
    setBusy(false);
    if (res.ok) window.location.assign("/");
    else setError(((await res.json().catch(() => null)) as { error?: string } | null)?.error ?? `Sign-in failed (${res.status})`);
  }

  return (
    <form onSubmit={onSubmit} className="mt-4 flex flex-col gap-3">
      <label htmlFor="token" className="text-sm">
        Token
      </label>
      <input
        id="token"
        name="token"
        type="password"
        autoComplete="current-password"
        required
        className="rounded border border-line bg-bg px-3 py-2"
      />
      <button type="submit" disabled={busy} className="rounded bg-primary px-3 py-2 font-medium text-white disabled:opacity-60">
        {busy ? "Signing in…" : "Sign in"}
      </button>
      {error && (
        <p role="alert" className="text-sm text-red-400">
          {error}
        </p>
      )}
    </form>
  );
}
