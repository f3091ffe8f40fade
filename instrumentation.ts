// Runs once when the server starts. The Node-only work is imported lazily so the edge bundle
// never sees fs or native modules.
export async function register() {
  if (process.env.NEXT_RUNTIME !== "nodejs") return;
  const { startServer } = await import("@/lib/startup");
  await startServer();
}
