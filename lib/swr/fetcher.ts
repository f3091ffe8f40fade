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

// The one fetcher every SWR hook uses: JSON on 2xx, a FetchError carrying {error} otherwise.
export async function fetcher<T>(url: string): Promise<T> {
  let res: Response;
  try {
    res = await fetch(url, { headers: { accept: "application/json" } });
  } catch {
    throw new FetchError("The server could not be reached", 0);
  }
  if (!res.ok) {
    const body = await res.json().catch(() => null);
    const parsed = errorResponseSchema.safeParse(body);
    throw new FetchError(parsed.success ? parsed.data.error : `${res.status} ${res.statusText}`.trim(), res.status);
  }
  return (await res.json()) as T;
}
