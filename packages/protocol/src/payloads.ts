/**
 * Payload shapes of the canonical event types. Every adapter emits exactly these fields (more
 * are allowed), so a dashboard or an agent can read `llm.end` usage the same way whether the
 * call came through LangChain, the OpenAI Agents SDK or the Anthropic SDK. Framework-specific
 * ids (run ids, response ids, LangGraph node names) go in the event's `metadata`, with
 * `metadata.framework` naming the framework.
 */

export interface ErrorInfo {
  message: string;
  /** Error class or provider error type, e.g. `RateLimitError`, `overloaded_error`. */
  type?: string;
  /** HTTP status or provider code when there is one. */
  status?: number;
}

export interface TokenUsage {
  inputTokens?: number;
  outputTokens?: number;
  totalTokens?: number;
  /** Input tokens served from the provider's prompt cache. */
  cacheReadTokens?: number;
  /** Input tokens written to the provider's prompt cache. */
  cacheWriteTokens?: number;
  /** Output tokens spent on reasoning, where the provider reports them. */
  reasoningTokens?: number;
}

/** `agent.start`: a run (or a named agent inside a run) begins. Shares `spanId` with its end. */
export interface AgentStartPayload {
  name: string;
  input?: unknown;
}

/** `agent.end` */
export interface AgentEndPayload {
  name: string;
  output?: unknown;
  latencyMs?: number;
}

/** `agent.error` */
export interface AgentErrorPayload {
  name: string;
  error: ErrorInfo;
  latencyMs?: number;
}

/** `agent.message`: what the model said, as final text. */
export interface AgentMessagePayload {
  role: "assistant" | "user" | "system";
  text: string;
}

/** `agent.handoff`: control passes from one agent to another within the same trace. */
export interface AgentHandoffPayload {
  from: string;
  to: string;
}

/** `llm.start` */
export interface LlmStartPayload {
  model?: string;
  provider?: string;
  /** Prompt messages (dropped with `capture: "metadata"`). */
  messages?: unknown[];
  /** Names of the tools offered to the model. */
  tools?: string[];
  /** Sampling parameters: temperature, max tokens, … */
  params?: Record<string, unknown>;
}

/** `llm.end` */
export interface LlmEndPayload {
  model?: string;
  provider?: string;
  usage?: TokenUsage;
  /** Normalised where the provider allows: `stop`, `tool_calls`, `length`, `content_filter`, or the provider's own value. */
  finishReason?: string;
  latencyMs?: number;
  /** Milliseconds from request to the first streamed token; absent when not streaming. */
  timeToFirstTokenMs?: number;
  /** The completion (dropped with `capture: "metadata"`). */
  output?: unknown;
  /** Tool calls the model asked for: name and call id. */
  toolCalls?: { name: string; callId?: string }[];
}

/** `llm.error` */
export interface LlmErrorPayload {
  model?: string;
  provider?: string;
  error: ErrorInfo;
  latencyMs?: number;
  /** What the call had used when it failed (an aborted stream), where known. */
  usage?: TokenUsage;
}

/** `llm.token` (opt-in only) */
export interface LlmTokenPayload {
  token: string;
  index: number;
}

/** `tool.start`: matched with its end or error by `callId`. */
export interface ToolStartPayload {
  name: string;
  callId?: string;
  arguments?: unknown;
}

/** `tool.end` */
export interface ToolEndPayload {
  name: string;
  callId?: string;
  result?: unknown;
  latencyMs?: number;
}

/** `tool.error` */
export interface ToolErrorPayload {
  name: string;
  callId?: string;
  error: ErrorInfo;
  latencyMs?: number;
}
