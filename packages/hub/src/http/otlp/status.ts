import { isErrorEnvelope } from "@chorus/protocol";
import type { FastifyReply, FastifyRequest } from "fastify";
import { otlpFormatOf } from "../../otlp/decode.js";
import { encodeOtlpStatus } from "../../otlp/response.js";

/** gRPC codes for `Status.code` (OTLP/HTTP clients do not act on it; it helps a reader). */
const GRPC_CODES: Record<number, number> = {
  400: 3, // INVALID_ARGUMENT
  401: 16, // UNAUTHENTICATED
  403: 7, // PERMISSION_DENIED
  404: 5, // NOT_FOUND
  413: 8, // RESOURCE_EXHAUSTED
  415: 3,
  429: 8,
  503: 14, // UNAVAILABLE
};

/**
 * `onSend` of `/v1/traces`: OTLP/HTTP wants a 4xx/5xx body as a `google.rpc.Status` in the
 * request's encoding. A protobuf request's error (whatever raised it: auth, rate limit, parser,
 * route) is re-encoded from the hub's JSON envelope into a protobuf `Status` whose message is
 * `<code>: <message>`. JSON requests keep the hub's envelope (see the README for why).
 */
export async function protobufErrorBody(
  request: FastifyRequest,
  reply: FastifyReply,
  payload: unknown,
): Promise<unknown> {
  if (reply.statusCode < 400 || otlpFormatOf(request.headers["content-type"]) !== "protobuf")
    return payload;
  let envelope: unknown;
  try {
    envelope = typeof payload === "string" ? JSON.parse(payload) : undefined;
  } catch {
    return payload;
  }
  if (!isErrorEnvelope(envelope)) return payload;
  const { code, message } = envelope.error;
  reply.type("application/x-protobuf");
  return Buffer.from(
    encodeOtlpStatus({
      code: GRPC_CODES[reply.statusCode] ?? (reply.statusCode >= 500 ? 13 : 3),
      message: `${code}: ${message}`,
    }),
  );
}
