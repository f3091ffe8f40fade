import "server-only";
import { ApiError } from "@/lib/errors";
import { liveStreamsClosed, onLiveStreamsClose, subscribeEvents, type LiveEvent } from "@/lib/events";

const HEARTBEAT_MS = 15_000;

// An SSE response that forwards bus events until the client goes away. The abort signal and
// the stream's cancel both end it, so a disconnected client is dropped at once.
export function openEventStream({ signal, heartbeatMs = HEARTBEAT_MS }: { signal: AbortSignal; heartbeatMs?: number }): Response {
  // A 503 also tells a browser's EventSource to stop reconnecting.
  if (liveStreamsClosed()) throw new ApiError("service_unavailable", "The server is shutting down");
  const encoder = new TextEncoder();
  let close = () => {};
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      const send = (text: string) => {
        try {
          controller.enqueue(encoder.encode(text));
        } catch {
          close();
        }
      };
      const unsubscribe = subscribeEvents((event: LiveEvent) => send(`event: ${event.type}\ndata: ${JSON.stringify(event.data)}\n\n`));
      const heartbeat = setInterval(() => send(": heartbeat\n\n"), heartbeatMs);
      const unsubscribeClose = onLiveStreamsClose(() => close());
      close = () => {
        unsubscribe();
        unsubscribeClose();
        clearInterval(heartbeat);
        signal.removeEventListener("abort", close);
        try {
          controller.close();
        } catch {
          // already closed by the client going away
        }
      };
      signal.addEventListener("abort", close);
      send(": connected\n\n");
    },
    cancel() {
      close();
    },
  });
  return new Response(body, {
    headers: {
      "Content-Type": "text/event-stream; charset=utf-8",
      // no-transform keeps Next's compression from buffering the stream.
      "Cache-Control": "no-cache, no-transform",
      Connection: "keep-alive",
      "X-Accel-Buffering": "no",
    },
  });
}
