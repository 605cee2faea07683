/*
 * The canonical payload shapes from `@chorus/protocol` (packages/protocol/src/payloads.ts), which
 * this package emits. `@chorus/core` does not re-export them and `@chorus/protocol` is not a
 * dependency here, so they are restated for the type checker only; keep them in step with the
 * protocol (every field here exists there with the same meaning).
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

export interface AgentStartPayload {
  name: string;
  input?: unknown;
}

export interface AgentEndPayload {
  name: string;
  output?: unknown;
  latencyMs?: number;
}

export interface AgentErrorPayload {
  name: string;
  error: ErrorInfo;
  latencyMs?: number;
}

export interface AgentMessagePayload {
  role: "assistant" | "user" | "system";
  text: string;
}

export interface AgentHandoffPayload {
  from: string;
  to: string;
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
}

export interface LlmTokenPayload {
  token: string;
  index: number;
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
