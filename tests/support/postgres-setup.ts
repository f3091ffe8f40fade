// vitest globalSetup of the `postgres` project: one PostgreSQL for the whole run.
import { startPostgres } from "./postgres";

export default async function setup() {
  const server = await startPostgres();
  // Workers are forked after global setup with a copy of this process's environment.
  process.env.AFS_TEST_PG_ADMIN_URL = server.adminUrl;
  return () => server.stop();
}
