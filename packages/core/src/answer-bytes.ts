import { MAX_PAGE_BYTES } from "@chorus/protocol/wire";

/**
 * The most an awaited call reads of an answer: the hub's largest is a list page, which stops
 * once its rows reach MAX_PAGE_BYTES (keeping the row that crosses it, up to an event's 256 KB);
 * twice that leaves ample margin. Past it the call fails with a `ValidationError` (see
 * `readText`) instead of buffering an answer without end (a server at the URL that is no hub).
 * Its own module: `http.ts` (in the browser's first chunk) and `node-fetch.ts` (Node only) both
 * read it, and `read-text.ts` is loaded on first use in a browser.
 */
export const MAX_ANSWER_BYTES = 2 * MAX_PAGE_BYTES;
