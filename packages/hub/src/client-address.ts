import type { IncomingMessage } from "node:http";
import proxyAddr from "@fastify/proxy-addr";

/** Whether the hop at `address` (`hop` counted from the socket) is a proxy to believe. */
export type TrustProxy = (address: string, hop: number) => boolean;

/**
 * The trusted proxies (`CHORUS_TRUST_PROXY`) as proxy-addr's predicate, or false for none.
 * Fastify gets this very function as its `trustProxy`, so an HTTP request's `request.ip` and
 * a WebSocket upgrade's {@link clientAddress} are derived by one rule.
 */
export function compileTrustProxy(trusted: readonly string[]): TrustProxy | false {
  return trusted.length > 0 ? proxyAddr.compile([...trusted]) : false;
}

/**
 * The client's address for a raw HTTP request (a WebSocket upgrade never reaches fastify's
 * router): the socket's, or behind trusted proxies the nearest untrusted hop of
 * `X-Forwarded-For`, as fastify's `request.ip` is.
 */
export function clientAddress(
  request: IncomingMessage,
  trust: TrustProxy | false,
): string | undefined {
  return trust === false ? request.socket.remoteAddress : proxyAddr(request, trust);
}
