import { ValidationError } from "./errors.js";

/** What an awaited call fails with when the answer passes `max` bytes. */
export function answerTooLarge(url: string, status: number, max: number): ValidationError {
  return new ValidationError(
    `${url || "the hub"} answered ${status} with a body over ${max} bytes, not the hub's answer`,
    { field: "url", status },
  );
}

/**
 * An answer's body as text, read up to `max` bytes: past them the rest is not read and this
 * throws a `ValidationError` (no hub answers so much; a server at the URL that is not a hub
 * could send without end, and buffering it would grow the application's memory without
 * bound). An answer without a body stream (the Node background fetch's, bounded already) is
 * read whole.
 */
export async function readText(response: Response, max: number): Promise<string> {
  const reader = response.body?.getReader();
  if (!reader) return response.text();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return new Blob(chunks).text();
    chunks.push(value);
    size += value.length;
    if (size > max) {
      reader.cancel().catch(() => {});
      throw answerTooLarge(response.url, response.status, max);
    }
  }
}
