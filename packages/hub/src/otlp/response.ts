import { OtlpDecodeError, type OtlpFormat } from "./decode.js";
import { otlpTypes } from "./schema.js";

/** An `ExportTraceServiceResponse`: empty on full success. */
export interface OtlpTraceResponse {
  /** Set when some spans were refused (the rest were accepted); the client must not retry. */
  partialSuccess?: { rejectedSpans: number; errorMessage?: string };
}

/**
 * Encode an `ExportTraceServiceResponse` in the request's encoding: protobuf bytes, or OTLP/JSON
 * text (64-bit `rejectedSpans` as a decimal string, as the proto3 JSON mapping writes it).
 */
export function encodeOtlpTraceResponse(
  response: OtlpTraceResponse,
  format: OtlpFormat,
): Uint8Array | string {
  const partial = response.partialSuccess;
  if (format === "json") {
    if (!partial) return "{}";
    return JSON.stringify({
      partialSuccess: {
        rejectedSpans: String(partial.rejectedSpans),
        ...(partial.errorMessage && { errorMessage: partial.errorMessage }),
      },
    });
  }
  const type = otlpTypes().response;
  return type.encode(type.fromObject(partial ? { partialSuccess: partial } : {})).finish();
}

/** Read an `ExportTraceServiceResponse` (what an OTLP client does with the hub's answer). */
export function decodeOtlpTraceResponse(
  body: Uint8Array | string,
  format: OtlpFormat,
): OtlpTraceResponse {
  let value: Record<string, unknown>;
  try {
    if (format === "json") {
      value = JSON.parse(typeof body === "string" ? body : new TextDecoder().decode(body));
    } else {
      const type = otlpTypes().response;
      const bytes = typeof body === "string" ? Buffer.from(body, "binary") : body;
      value = type.toObject(type.decode(bytes), { longs: Number });
    }
  } catch (error) {
    throw new OtlpDecodeError(`malformed ExportTraceServiceResponse: ${(error as Error).message}`);
  }
  const partial = value.partialSuccess as
    | { rejectedSpans?: number | string; errorMessage?: string }
    | undefined;
  if (!partial) return {};
  return {
    partialSuccess: {
      rejectedSpans: Number(partial.rejectedSpans ?? 0),
      ...(partial.errorMessage && { errorMessage: partial.errorMessage }),
    },
  };
}

/** `google.rpc.Status` as protobuf bytes: the body of an OTLP/HTTP error answered in protobuf. */
export function encodeOtlpStatus(status: { code?: number; message: string }): Uint8Array {
  const type = otlpTypes().status;
  return type.encode(type.fromObject(status)).finish();
}

export function decodeOtlpStatus(body: Uint8Array): { code: number; message: string } {
  const type = otlpTypes().status;
  const value = type.toObject(type.decode(body), { defaults: true });
  return { code: value.code as number, message: value.message as string };
}
