import type { FastifyInstance } from "fastify";
import { HttpError } from "./errors.js";

/** Content types the API reads. Merge patch is JSON with a different meaning, parsed the same way. */
export const JSON_CONTENT_TYPES = ["application/json", "application/merge-patch+json"];

/**
 * Replace fastify's parsers with one strict JSON parser. Every other content type then fails
 * with fastify's 415, which the error handler maps to `unsupported_media_type`.
 *
 * An empty body parses to `undefined` so body-less writes (assign, unassign, credentials) work
 * whether or not the client sets a content-type; routes that need a body refuse it themselves.
 */
export function installJsonParser(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(JSON_CONTENT_TYPES, { parseAs: "string" }, (_request, body, done) => {
    try {
      done(null, parseJson(body as string));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
}

/**
 * JSON.parse, refusing `__proto__` keys: merging such a key (merge patch, spreads) would swap
 * an object's prototype. The reviver costs time, so it only runs when the text could hold one.
 */
export function parseJson(text: string): unknown {
  if (text.trim() === "") return undefined;
  try {
    if (!/__proto__|\\u/.test(text)) return JSON.parse(text);
    return JSON.parse(text, (key, value: unknown) => {
      if (key === "__proto__") throw new ProtoKeyError();
      return value;
    });
  } catch (error) {
    if (error instanceof ProtoKeyError) {
      throw new HttpError("validation_failed", "keys named __proto__ are not accepted");
    }
    throw new HttpError(
      "invalid_json",
      `request body is not valid JSON: ${(error as Error).message}`,
    );
  }
}

class ProtoKeyError extends Error {}
