import type { OtelAttributes, OtelAttributeValue, OtelSpan, OtelSpanEvent } from "@chorus/protocol";
import { parseJsonText } from "../json.js";
import { otlpTypes } from "./schema.js";

/** The two OTLP/HTTP encodings. */
export type OtlpFormat = "protobuf" | "json";

/** Spans in one OTLP request at most: above the OTel Collector's default batch (8192) with room. */
export const MAX_OTLP_SPANS = 16_384;
/** Nesting of `arrayValue`/`kvlistValue` attribute values read; deeper values become "[nested too deep]". */
const MAX_VALUE_DEPTH = 8;

/** A request that is not valid OTLP: `path` names the offending field, e.g. `resourceSpans[0].scopeSpans[0].spans[2].traceId`. */
export class OtlpDecodeError extends Error {
  readonly path: string | undefined;
  /** True when the request holds more than {@link MAX_OTLP_SPANS} spans. */
  readonly tooLarge: boolean;

  constructor(message: string, path?: string, tooLarge = false) {
    super(path ? `${path}: ${message}` : message);
    this.name = "OtlpDecodeError";
    this.path = path;
    this.tooLarge = tooLarge;
  }
}

/**
 * The format of an OTLP/HTTP content type: `application/x-protobuf` (or `application/protobuf`)
 * and `application/json`, parameters such as `charset` ignored. `undefined` for anything else.
 */
export function otlpFormatOf(contentType: string | undefined): OtlpFormat | undefined {
  const type = contentType?.split(";")[0]?.trim().toLowerCase();
  if (type === "application/x-protobuf" || type === "application/protobuf") return "protobuf";
  if (type === "application/json") return "json";
  return undefined;
}

/**
 * Decode an OTLP/HTTP `ExportTraceServiceRequest` into the spans the GenAI mapping reads
 * (`@chorus/protocol`'s `OtelSpan`), each with its resource's attributes and its scope's name.
 *
 * - protobuf: `body` is the (already decompressed) bytes; decoded with the official definitions.
 * - JSON: `body` is the text, or an already parsed value; the OTLP/JSON mapping (hex trace and
 *   span ids, lowerCamelCase keys, 64-bit integers as strings or numbers, enums as integers;
 *   unknown fields ignored).
 *
 * Throws {@link OtlpDecodeError} for anything that is not a valid request (malformed protobuf or
 * JSON, a field of the wrong type, a trace id that is not 16 bytes, …): the caller refuses the
 * whole request.
 *
 * @example
 * const spans = decodeOtlpTraces(body, request.headers["content-type"]);
 */
export function decodeOtlpTraces(
  body: Uint8Array | string | unknown,
  contentType: string | OtlpFormat,
): OtelSpan[] {
  const format =
    contentType === "protobuf" || contentType === "json" ? contentType : otlpFormatOf(contentType);
  if (format === undefined) {
    throw new OtlpDecodeError(
      `unsupported content type ${JSON.stringify(contentType)}; OTLP/HTTP is application/x-protobuf or application/json`,
    );
  }
  if (format === "protobuf") {
    if (!(body instanceof Uint8Array)) throw new OtlpDecodeError("protobuf body must be bytes");
    let message: unknown;
    try {
      message = otlpTypes().request.decode(body);
    } catch (error) {
      throw new OtlpDecodeError(`malformed protobuf: ${(error as Error).message}`);
    }
    return new Reader("protobuf").request(message);
  }
  let value = body;
  try {
    if (value instanceof Uint8Array)
      value = new TextDecoder("utf-8", { fatal: true }).decode(value);
    // The hub's JSON rules: no `__proto__` keys, nesting bounded (MAX_JSON_DEPTH).
    if (typeof value === "string") value = parseJsonText(value);
  } catch (error) {
    throw new OtlpDecodeError(`malformed JSON: ${(error as Error).message}`);
  }
  return new Reader("json").request(value);
}

type Obj = Record<string, unknown>;

const UINT64_END = 1n << 64n;
const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;
const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/**
 * Walks a decoded request. The protobuf decoder hands over typed messages (bytes as Uint8Array,
 * 64-bit integers as `Long` or numbers, unset fields absent as own properties); JSON hands over
 * plain values that are checked field by field. One walker keeps both encodings on one mapping.
 */
class Reader {
  readonly #format: OtlpFormat;
  #count = 0;

  constructor(format: OtlpFormat) {
    this.#format = format;
  }

  request(value: unknown): OtelSpan[] {
    const request = this.#object(value, "");
    const spans: OtelSpan[] = [];
    this.#list(request, "resourceSpans", "", (rs, path) => {
      const resourceObj = this.#optionalObject(rs, "resource", path);
      const resource = resourceObj ? this.#attributes(resourceObj, `${path}.resource`) : undefined;
      this.#list(rs, "scopeSpans", path, (ss, scopePath) => {
        const scopeObj = this.#optionalObject(ss, "scope", scopePath);
        const scope = scopeObj ? this.#string(scopeObj, "name", `${scopePath}.scope`) : "";
        this.#list(ss, "spans", scopePath, (span, spanPath) => {
          this.#count++;
          if (this.#count > MAX_OTLP_SPANS) {
            throw new OtlpDecodeError(
              `more than ${MAX_OTLP_SPANS} spans in one request; export smaller batches`,
              undefined,
              true,
            );
          }
          spans.push(this.#span(span, spanPath, resource, scope));
        });
      });
    });
    return spans;
  }

  #span(span: Obj, path: string, resource: OtelAttributes | undefined, scope: string): OtelSpan {
    const traceId = this.#id(span, "traceId", 16, path, false);
    const spanId = this.#id(span, "spanId", 8, path, false);
    const parentSpanId = this.#id(span, "parentSpanId", 8, path, true);
    let startTimeMs = this.#timeMs(span, "startTimeUnixNano", path);
    let endTimeMs = this.#timeMs(span, "endTimeUnixNano", path);
    // 0 is OTLP's "unset": a span missing one of its times is read as taking no time at the other,
    // rather than as starting (or ending) in 1970.
    if (startTimeMs === 0) startTimeMs = endTimeMs;
    else if (endTimeMs === 0) endTimeMs = startTimeMs;
    const statusObj = this.#optionalObject(span, "status", path);
    const events: OtelSpanEvent[] = [];
    this.#list(span, "events", path, (event, eventPath) => {
      const attributes = this.#attributes(event, eventPath);
      events.push({
        name: this.#string(event, "name", eventPath),
        timeMs: this.#timeMs(event, "timeUnixNano", eventPath),
        ...(Object.keys(attributes).length > 0 && { attributes }),
      });
    });
    const out: OtelSpan = {
      name: this.#string(span, "name", path),
      traceId,
      spanId,
      ...(parentSpanId && { parentSpanId }),
      startTimeMs,
      endTimeMs,
      attributes: this.#attributes(span, path),
      events,
      ...(resource && { resource }),
      ...(scope && { scope }),
    };
    if (statusObj) {
      const message = this.#string(statusObj, "message", `${path}.status`);
      out.status = {
        code: this.#statusCode(statusObj, `${path}.status`),
        ...(message && { message }),
      };
    }
    return out;
  }

  /** Ids: bytes in protobuf, case-insensitive hex in JSON; always lowercase hex out. */
  #id(obj: Obj, key: string, bytes: number, path: string, optional: boolean): string {
    const value = field(obj, key);
    let hex: string;
    if (value === undefined) hex = "";
    else if (this.#format === "protobuf" && value instanceof Uint8Array)
      hex = Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("hex");
    else if (this.#format === "json" && typeof value === "string") {
      if (!/^[0-9a-fA-F]*$/.test(value))
        throw new OtlpDecodeError("must be a hex string", `${path}.${key}`);
      hex = value.toLowerCase();
    } else throw new OtlpDecodeError("must be a hex string", `${path}.${key}`);
    if (hex === "" && optional) return "";
    if (hex.length !== bytes * 2) {
      throw new OtlpDecodeError(
        `must be ${bytes} bytes (${bytes * 2} hex characters); got ${hex.length / 2}`,
        `${path}.${key}`,
      );
    }
    if (/^0+$/.test(hex)) {
      // Some exporters write a root span's absent parent as eight zero bytes: no parent.
      if (optional) return "";
      throw new OtlpDecodeError("must not be all zeros", `${path}.${key}`);
    }
    return hex;
  }

  /** A fixed64 nanosecond timestamp as milliseconds since the epoch. */
  #timeMs(obj: Obj, key: string, path: string): number {
    const value = field(obj, key);
    if (value === undefined) return 0;
    let ns: bigint;
    // A JSON number past 2^53 is already inexact; BigInt() takes it as it is (String() of 1e21 is "1e+21").
    if (typeof value === "number" && Number.isInteger(value) && value >= 0) ns = BigInt(value);
    else if (typeof value === "string" && /^\d{1,20}$/.test(value)) ns = BigInt(value);
    else if (this.#format === "protobuf" && isLong(value)) ns = BigInt(value.toString());
    else throw new OtlpDecodeError("must be an unsigned 64-bit integer", `${path}.${key}`);
    if (ns >= UINT64_END) throw new OtlpDecodeError("out of the 64-bit range", `${path}.${key}`);
    // Seconds and nanoseconds apart, as the SDK's HrTime: the same float the in-process path makes.
    return Number(ns / 1_000_000_000n) * 1000 + Number(ns % 1_000_000_000n) / 1e6;
  }

  #statusCode(obj: Obj, path: string): number {
    const value = field(obj, "code");
    if (value === undefined) return 0;
    // An enum is an int32 (unknown values are allowed: proto3 enums are open).
    if (
      typeof value === "number" &&
      Number.isInteger(value) &&
      value >= INT32_MIN &&
      value <= INT32_MAX
    )
      return value;
    // Enum names are not OTLP/JSON, but the proto3 JSON mapping allows them: read, not refused.
    const named = ["STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR"].indexOf(
      value as string,
    );
    if (named >= 0) return named;
    throw new OtlpDecodeError("must be an integer status code", `${path}.code`);
  }

  #attributes(obj: Obj, path: string): OtelAttributes {
    const out: Record<string, OtelAttributeValue> = {};
    this.#list(obj, "attributes", path, (kv, kvPath) => {
      const key = this.#string(kv, "key", kvPath);
      const value = this.#optionalObject(kv, "value", kvPath);
      // `__proto__` would replace the attribute object's prototype instead of adding a key.
      if (key === "" || key === "__proto__" || !value) return;
      const read = this.#anyValue(value, `${kvPath}.value`, 0);
      if (read === undefined) return;
      // Attribute values are primitives or lists of them; nested lists and maps travel as JSON text.
      if (Array.isArray(read)) {
        out[key] = read.map((v) =>
          v === null || typeof v !== "object"
            ? (v as string | number | boolean | null)
            : JSON.stringify(v),
        );
      } else
        out[key] =
          typeof read === "object" && read !== null
            ? JSON.stringify(read)
            : (read as string | number | boolean);
    });
    return out;
  }

  /** An `AnyValue` as plain JSON data (`kvlistValue` as an object, `bytesValue` as base64). */
  #anyValue(value: Obj, path: string, depth: number): unknown {
    if (has(value, "stringValue")) return this.#string(value, "stringValue", path);
    if (has(value, "boolValue")) {
      const v = field(value, "boolValue");
      if (typeof v !== "boolean")
        throw new OtlpDecodeError("must be a boolean", `${path}.boolValue`);
      return v;
    }
    if (has(value, "intValue")) return this.#int(field(value, "intValue"), `${path}.intValue`);
    if (has(value, "doubleValue")) {
      const v = field(value, "doubleValue");
      // proto3 JSON writes non-finite doubles as strings.
      if (typeof v === "number") return v;
      if (v === "NaN" || v === "Infinity" || v === "-Infinity") return v;
      throw new OtlpDecodeError("must be a number", `${path}.doubleValue`);
    }
    if (has(value, "bytesValue")) {
      const v = field(value, "bytesValue");
      if (v instanceof Uint8Array) return Buffer.from(v).toString("base64");
      if (typeof v === "string") return v;
      throw new OtlpDecodeError("must be base64 bytes", `${path}.bytesValue`);
    }
    if (has(value, "arrayValue")) {
      const array = this.#optionalObject(value, "arrayValue", path);
      if (depth >= MAX_VALUE_DEPTH) return "[nested too deep]";
      const out: unknown[] = [];
      if (array)
        this.#list(array, "values", `${path}.arrayValue`, (v, p) =>
          out.push(this.#anyValue(v, p, depth + 1) ?? null),
        );
      return out;
    }
    if (has(value, "kvlistValue")) {
      const list = this.#optionalObject(value, "kvlistValue", path);
      if (depth >= MAX_VALUE_DEPTH) return "[nested too deep]";
      const out: Record<string, unknown> = {};
      if (list)
        this.#list(list, "values", `${path}.kvlistValue`, (kv, p) => {
          const key = this.#string(kv, "key", p);
          const v = this.#optionalObject(kv, "value", p);
          if (key !== "" && key !== "__proto__")
            out[key] = v ? (this.#anyValue(v, `${p}.value`, depth + 1) ?? null) : null;
        });
      return out;
    }
    return undefined;
  }

  /** An int64 attribute: a number when it is exact, else its decimal text. */
  #int(value: unknown, path: string): number | string {
    if (typeof value === "number" && Number.isSafeInteger(value)) return value;
    let big: bigint;
    if (typeof value === "number" && Number.isInteger(value)) big = BigInt(value);
    else if (typeof value === "string" && /^-?\d{1,20}$/.test(value)) big = BigInt(value);
    else if (this.#format === "protobuf" && isLong(value)) big = BigInt(value.toString());
    else throw new OtlpDecodeError("must be a 64-bit integer", path);
    if (big < INT64_MIN || big > INT64_MAX)
      throw new OtlpDecodeError("out of the 64-bit range", path);
    const n = Number(big);
    return Number.isSafeInteger(n) ? n : big.toString();
  }

  #string(obj: Obj, key: string, path: string): string {
    const value = field(obj, key);
    if (value === undefined) return "";
    if (typeof value !== "string") throw new OtlpDecodeError("must be a string", `${path}.${key}`);
    return value;
  }

  #object(value: unknown, path: string): Obj {
    if (typeof value !== "object" || value === null || Array.isArray(value))
      throw new OtlpDecodeError("must be an object", path || "body");
    return value as Obj;
  }

  #optionalObject(obj: Obj, key: string, path: string): Obj | undefined {
    const value = field(obj, key);
    return value === undefined ? undefined : this.#object(value, join(path, key));
  }

  #list(obj: Obj, key: string, path: string, each: (item: Obj, path: string) => void): void {
    const value = field(obj, key);
    if (value === undefined) return;
    const listPath = join(path, key);
    if (!Array.isArray(value)) throw new OtlpDecodeError("must be an array", listPath);
    value.forEach((item, i) => {
      each(this.#object(item, `${listPath}[${i}]`), `${listPath}[${i}]`);
    });
  }
}

/** A field that is set: own property, not null (proto3 JSON's null means "default"). */
function field(obj: Obj, key: string): unknown {
  if (!Object.hasOwn(obj, key)) return undefined;
  const value = obj[key];
  return value === null ? undefined : value;
}

function has(obj: Obj, key: string): boolean {
  return field(obj, key) !== undefined;
}

function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

function isLong(value: unknown): value is { toString(): string; low: number; high: number } {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { low?: unknown }).low === "number" &&
    typeof (value as { high?: unknown }).high === "number"
  );
}
