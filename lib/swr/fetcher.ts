import { errorResponseSchema } from "@/lib/schemas/api";

// A failed API answer: the HTTP status and the API's own {error} text.
export class FetchError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = "FetchError";
  }
}

// The last answer per URL with its ETag: asked again with If-None-Match, an unchanged answer is
// a 304 without a body, and this copy is handed back.
const lastAnswers = new Map<string, { etag: string; data: unknown }>();

// The one fetcher every SWR hook uses: JSON on 2xx (or the last answer on 304), a FetchError
// carrying {error} otherwise.
export async function fetcher<T>(url: string): Promise<T> {
  const last = lastAnswers.get(url);
  let res: Response;
  try {
    res = await fetch(url, { headers: { accept: "application/json", ...(last && { "if-none-match": last.etag }) } });
  } catch {
    throw new FetchError("The server could not be reached", 0);
  }
  if (res.status === 304 && last) return last.data as T;
  if (!res.ok) {
    const body = await res.json().catch(() => null);
    const parsed = errorResponseSchema.safeParse(body);
    throw new FetchError(parsed.success ? parsed.data.error : `${res.status} ${res.statusText}`.trim(), res.status);
  }
  const data = (await res.json()) as T;
  const etag = res.headers.get("etag");
  if (etag) lastAnswers.set(url, { etag, data });
  return data;
}
