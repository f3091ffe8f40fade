import { afterEach, describe, expect, it } from "vitest";
import { getEnv } from "@/lib/env";
import { closeCurrentStore, closeStore, openStore } from "@/lib/store/db";
import { loadHostKeys, pinHostKey } from "@/lib/store/host-keys";
import { makeDataDir } from "../helpers";

// Runs on both engines (vitest projects `sqlite` and `postgres`).
afterEach(closeCurrentStore);

const key = (n: number) => ({ line: `gpu-box-1 ssh-ed25519 KEY${n}`, fingerprint: `SHA256:key${n}` });

describe("host keys pinned on first use", () => {
  it("keeps the first key pinned for a host, and answers it to a later pin of another", async () => {
    makeDataDir();
    expect(await loadHostKeys()).toEqual([]);
    const first = await pinHostKey({ host: "gpu-box-1", ...key(1) });
    expect(first).toEqual({ host: "gpu-box-1", ...key(1), pinned_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/) });
    expect(await pinHostKey({ host: "gpu-box-1", ...key(2) })).toEqual(first);
    const other = await pinHostKey({ host: "gpu-box-2", ...key(3) });
    expect(await loadHostKeys()).toEqual([first, other]);
  });

  it("has one winner when pins race, in this process or against another on the same store", async () => {
    makeDataDir();
    // Another process (a store handle of its own) pinned this host first.
    const other = await openStore(getEnv().store);
    const theirs = { host: "gpu-box-2", ...key(9), pinned_at: "2026-11-01T00:00:00.000Z" };
    try {
      await other.db.insertInto("host_keys").values(theirs).execute();
    } finally {
      await closeStore(other);
    }
    expect(await pinHostKey({ host: "gpu-box-2", ...key(1) })).toEqual(theirs);

    // Pins at once (on PostgreSQL over several connections): every caller is answered the one kept.
    const pinned = await Promise.all([1, 2, 3, 4, 5, 6].map((n) => pinHostKey({ host: "gpu-box-1", ...key(n) })));
    expect(pinned.every((p) => p.line === pinned[0].line && p.pinned_at === pinned[0].pinned_at)).toBe(true);
    expect(await loadHostKeys()).toEqual([pinned[0], theirs]);
  });
});
