import "server-only";
import type { ExecHandle, HostConnection } from "./ssh";
import type { NvidiaSmiRunner } from "@/lib/gpu/nvidia-smi";

const ABANDON_MS = 5000;

// nvidia-smi on a remote host, on exec channels of the host's one SSH connection. The command
// line is run by the remote user's shell: the binary (held to path characters by the config
// schema) and every argument go in single quotes.
export function sshRunner({ conn, nvidiaSmi }: { conn: HostConnection; nvidiaSmi: string }): NvidiaSmiRunner {
  const commandLine = (args: string[]) => [nvidiaSmi, ...args].map((word) => `'${word.replaceAll("'", `'\\''`)}'`).join(" ");
  const name = `${nvidiaSmi} on ${conn.name}`;
  return {
    name,
    stream: (args, on) => {
      let handle: ExecHandle | null = null;
      let killed = false;
      // The lines of one chunk of output go out together, so the state emits once per chunk.
      let batch: string[] | null = null;
      const onLine = (line: string) => {
        if (!batch) {
          const lines: string[] = (batch = []);
          queueMicrotask(() => {
            batch = null;
            on.lines(lines);
          });
        }
        batch.push(line);
      };
      conn.exec(commandLine(args), { onLine, onStderr: on.stderr }).then(
        (h) => {
          handle = h;
          if (killed) h.close();
          void h.done.then(on.end);
        },
        (error: Error) => on.end({ failed: "error", reason: `${name}: ${error.message}` }),
      );
      return {
        pid: null,
        kill: () => {
          killed = true;
          handle?.close();
          // sshd answers a close only once the command's output ends; a command stuck on the
          // host (a shell start-up waiting on a lock) would hold the channel, and the feed, for
          // good. It is given up on, and the next one started on a fresh channel.
          setTimeout(() => on.end({ code: null, signal: "abandoned" }), ABANDON_MS).unref();
        },
      };
    },
    query: async (args, timeoutMs) => {
      const { code, stdout, stderr } = await conn.run(commandLine(args), { timeoutMs });
      if (code !== 0) throw new Error(`${name} exited (code ${code}): ${stderr.trim().split("\n").at(-1) ?? ""}`);
      return stdout;
    },
  };
}
