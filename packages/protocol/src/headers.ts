/**
 * Request header naming the agent that makes an intent write; the hub records it as the
 * `agent` of the log event (who changed the state, set the status, assigned whom).
 */
export const AGENT_HEADER = "chorus-agent";

/**
 * Request header of an intent write (create, state patch, status change) naming that write: a
 * client makes one per write and sends it again with every retry. The hub stores it as the id of
 * the log event the write appends, so a resent write that already happened is answered with the
 * intent as it is now (and `Idempotent-Replayed: true`) instead of being applied twice or
 * refused by its own `If-Match`. Its syntax is an event id's (`isId`).
 */
export const IDEMPOTENCY_KEY_HEADER = "idempotency-key";
/** Response header of a write answered from an earlier identical one (see {@link IDEMPOTENCY_KEY_HEADER}). */
export const IDEMPOTENT_REPLAYED_HEADER = "idempotent-replayed";
