import { gunzip } from "node:zlib";
import { MAX_BODY_BYTES } from "@chorus/protocol";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { type OtlpFormat, otlpFormatOf } from "../../otlp/decode.js";
import { parseJson } from "../body.js";
import { HttpError } from "../errors.js";

/** What the `/v1/traces` parsers hand the route: protobuf bytes, or parsed OTLP/JSON. */
export type OtlpBody = { format: "protobuf"; bytes: Buffer } | { format: "json"; value: unknown };

const OTLP_CONTENT_TYPES = ["application/x-protobuf", "application/protobuf", "application/json"];

/**
 * Body parsers of `/v1/traces`, for the encapsulated scope that holds only that route: the hub's
 * JSON parser stays as it is everywhere else. Fastify's `bodyLimit` bounds the bytes received;
 * a gzip body is then inflated with the same bound on its output (`maxOutputLength`), so a
 * small bomb is refused with 413 instead of filling memory. OTLP/JSON goes through the hub's
 * own JSON parser (and so its rules on `__proto__` keys and nesting).
 */
export function installOtlpParsers(scope: FastifyInstance): void {
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser(OTLP_CONTENT_TYPES, { parseAs: "buffer" }, (request, body, done) => {
    parseOtlpBody(request, body as Buffer).then(
      (parsed) => done(null, parsed),
      (error: Error) => done(error, undefined),
    );
  });
  scope.addContentTypeParser("*", (_request, _payload, done) => {
    done(unsupportedType(), undefined);
  });
}

async function parseOtlpBody(request: FastifyRequest, raw: Buffer): Promise<OtlpBody> {
  const format = otlpFormatOf(request.headers["content-type"]) as OtlpFormat;
  const bytes = await decompress(raw, request.headers["content-encoding"]);
  if (format === "protobuf") return { format, bytes };
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new HttpError("invalid_json", "request body is not valid UTF-8");
  }
  if (text.trim() === "") throw new HttpError("invalid_json", "request body is empty");
  return { format, value: parseJson(text) };
}

function decompress(raw: Buffer, header: string | undefined): Promise<Buffer> {
  const encoding = (header ?? "identity").trim().toLowerCase();
  if (encoding === "identity" || encoding === "") return Promise.resolve(raw);
  if (encoding !== "gzip") {
    return Promise.reject(
      new HttpError(
        "unsupported_media_type",
        `unsupported Content-Encoding ${JSON.stringify(header)}; send gzip or identity`,
      ),
    );
  }
  return new Promise((resolve, reject) => {
    gunzip(raw, { maxOutputLength: MAX_BODY_BYTES }, (error, inflated) => {
      if (!error) return resolve(inflated);
      if ((error as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE") {
        return reject(
          new HttpError(
            "payload_too_large",
            `request body inflates past ${MAX_BODY_BYTES} bytes; export smaller batches`,
            { limit: MAX_BODY_BYTES },
          ),
        );
      }
      reject(new HttpError("validation_failed", `gzip body cannot be inflated: ${error.message}`));
    });
  });
}

export function unsupportedType(): HttpError {
  return new HttpError(
    "unsupported_media_type",
    "unsupported content-type; OTLP/HTTP is application/x-protobuf or application/json",
  );
}
