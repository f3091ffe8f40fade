import { afterEach, describe, expect, it } from "vitest";
import { getEnv } from "@/lib/env";
import { closeCurrentStore, closeStore, getStore, openStore, SCHEMA_VERSION } from "@/lib/store/db";
import { makeDataDir } from "../helpers";
import { storeRows } from "../support/store";

// Runs on both engines (vitest projects `sqlite` and `postgres`).
afterEach(closeCurrentStore);

const version = async () =>
  getEnv().store.engine === "sqlite"
    ? (await storeRows<{ user_version: number }>("PRAGMA user_version"))[0].user_version
    : (await storeRows<{ version: number }>("SELECT version FROM schema_version"))[0].version;

describe("the store's migrations", () => {
  it("bring a new store to the current schema once, however many processes open it at the same time", async () => {
    makeDataDir();
    const stores = await Promise.all(Array.from({ length: 4 }, () => openStore(getEnv().store)));
    await Promise.all(stores.map(closeStore));
    expect(await version()).toBe(SCHEMA_VERSION);
    expect(await storeRows("SELECT key FROM meta")).toEqual([{ key: "created_at" }]);
  });

  it("refuse a store whose schema is newer than the code, naming both versions", async () => {
    makeDataDir();
    await getStore();
    await storeRows(getEnv().store.engine === "sqlite" ? "PRAGMA user_version = 99" : "UPDATE schema_version SET version = 99");
    await closeCurrentStore();
    await expect(getStore()).rejects.toThrow(`its schema is version 99, newer than this dashboard's (version ${SCHEMA_VERSION})`);
  });
});
