/*
 * The canonical payload shapes of @chorus/protocol (payloads.ts), restated for the events this
 * adapter emits. @chorus/core re-exports the event-type names but not these types, and this
 * package depends on core only; keep the two in step (the integration tests read the events
 * back from a real hub and check these fields).
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

export interface LlmStartPayload {
  model?: string;
  provider?: string;
  messages?: unknown[];
  tools?: string[];
  params?: Record<string, unknown>;
}

export interface LlmEndPayload {
  model?: string;
  provider?: string;
  usage?: TokenUsage;
  finishReason?: string;
  latencyMs?: number;
  timeToFirstTokenMs?: number;
  output?: unknown;
  toolCalls?: { name: string; callId?: string }[];
}

export interface LlmErrorPayload {
  model?: string;
  provider?: string;
  error: ErrorInfo;
  latencyMs?: number;
  /** Not in the protocol's shape (extra fields are allowed): what an aborted stream had used. */
  usage?: TokenUsage;
}

export interface LlmTokenPayload {
  token: string;
  index: number;
}

export interface AgentMessagePayload {
  role: "assistant" | "user" | "system";
  text: string;
}

export interface ToolStartPayload {
  name: string;
  callId?: string;
  arguments?: unknown;
}

export interface ToolEndPayload {
  name: string;
  callId?: string;
  result?: unknown;
  latencyMs?: number;
}

export interface ToolErrorPayload {
  name: string;
  callId?: string;
  error: ErrorInfo;
  latencyMs?: number;
}
