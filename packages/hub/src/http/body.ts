import type { FastifyInstance } from "fastify";
import { MAX_JSON_DEPTH } from "@chorus/protocol";
import { JsonTextError, parseJsonText } from "../json.js";
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
  app.addContentTypeParser(JSON_CONTENT_TYPES, { parseAs: "string" }, (request, body, done) => {
    try {
      refuseEncoded(request.headers["content-encoding"]);
      done(null, parseJson(body as string));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
}

/**
 * 415 for a compressed JSON body: the API reads JSON as sent (only `POST /v1/traces` takes
 * gzip, as OTLP exporters send it). Parsed as text, a gzipped body would be a confusing
 * "invalid JSON", and a plain one labelled gzip would be accepted for what it claims not to be.
 */
function refuseEncoded(encoding: string | string[] | undefined): void {
  if (encoding === undefined) return;
  const value = (Array.isArray(encoding) ? encoding.join(",") : encoding).trim().toLowerCase();
  if (value === "" || value === "identity") return;
  throw new HttpError(
    "unsupported_media_type",
    `Content-Encoding "${value.slice(0, 40)}" is not accepted here: send the JSON body uncompressed`,
  );
}

/** {@link parseJsonText} with its refusals as 400s. */
export function parseJson(text: string): unknown {
  try {
    return parseJsonText(text);
  } catch (error) {
    if (!(error instanceof JsonTextError)) throw error;
    if (error.reason === "invalid_json") {
      throw new HttpError("invalid_json", `request body is ${error.message}`);
    }
    const details = error.reason === "too_deep" ? { maxDepth: MAX_JSON_DEPTH } : undefined;
    throw new HttpError("validation_failed", error.message, details);
  }
}
