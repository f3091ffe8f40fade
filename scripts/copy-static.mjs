// `output: "standalone"` leaves static assets out of .next/standalone; copy them in so the
// standalone server is complete on its own (what a Node host runs).
import fs from "node:fs";

fs.cpSync(".next/static", ".next/standalone/.next/static", { recursive: true });
if (fs.existsSync("public")) fs.cpSync("public", ".next/standalone/public", { recursive: true });
