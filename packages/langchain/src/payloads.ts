/*
 * The canonical payload shapes of @chorus/protocol (payloads.ts), mirrored as types only:
 * @chorus/core does not re-export them and this package may depend on core alone. Keep the
 * two in step; the integration tests read the events back from a real hub and check these
 * fields by name.
 */

export interface ErrorInfo {
  message: string;
  type?: string;
  status?: number;
}

export interface TokenUsage {
  inputTokens?: number;
  outputTokens?: number;
  totalTokens?: number;
  cacheReadTokens?: number;
  cacheWriteTokens?: number;
  reasoningTokens?: number;
}

export interface ToolCallRef {
  name: string;
  callId?: string;
  /** Dropped with `capture: "metadata"`. */
  arguments?: unknown;
}

/** Event types this adapter adds to the canonical ones (any dotted name is allowed). */
export const AdapterEventTypes = {
  /** Nested chains, only with `verbose: true`. */
  ChainStart: "chain.start",
  ChainEnd: "chain.end",
  ChainError: "chain.error",
  RetrieverStart: "retriever.start",
  RetrieverEnd: "retriever.end",
  RetrieverError: "retriever.error",
  /** A legacy `AgentExecutor` chose a tool. */
  AgentAction: "agent.action",
} as const;
