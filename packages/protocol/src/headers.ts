/**
 * Request header naming the agent that makes an intent write; the hub records it as the
 * `agent` of the log event (who changed the state, set the status, assigned whom).
 */
export const AGENT_HEADER = "chorus-agent";
