import { HttpError } from "./errors.js";

/**
 * 400 when the request carries header `name` more than once. Node keeps the first
 * `Authorization` and joins most other repeated headers with ", " (itself a valid name): either
 * way the server would act on something the sender did not say once.
 */
export function refuseRepeatedHeader(rawHeaders: readonly string[], name: string): void {
  const lower = name.toLowerCase();
  let sent = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) if (rawHeaders[i]?.toLowerCase() === lower) sent++;
  if (sent > 1) {
    throw new HttpError("validation_failed", `${name} header sent more than once`, {
      issues: [{ path: `headers.${lower}`, message: "sent more than once" }],
    });
  }
}

/**
 * A header value as the text its sender meant. Node reads header bytes as Latin-1, one character
 * per byte, so a name sent as UTF-8 (`Chorus-Agent: 研究员`, how the Chorus client and most HTTP
 * clients send non-ASCII) would arrive as mojibake and be stored under a name no one used. Bytes
 * that form valid UTF-8 are read as UTF-8; anything else stays Latin-1 (a client that sent
 * `é` as the single byte 0xE9 still means `é`). ASCII, the common case, is returned as it is.
 */
export function headerText(value: string): string {
  if (!NON_ASCII.test(value)) return value;
  try {
    return utf8.decode(Buffer.from(value, "latin1"));
  } catch {
    return value;
  }
}

/** Node lets only tab, printable ASCII and bytes past 0x7F into a header value: this finds the last. */
const NON_ASCII = /[^\t -~]/;
const utf8 = new TextDecoder("utf-8", { fatal: true });
