/**
 * The attribute table: for each field of a canonical event, the span attributes that carry it,
 * in order of preference. The first present wins. Three conventions are read:
 * - OpenTelemetry GenAI semantic conventions (`gen_ai.*`, current names first, deprecated after),
 * - the Vercel AI SDK's own `ai.*` attributes (`experimental_telemetry`),
 * - OpenInference (`openinference.span.kind`, `llm.*`, `tool.*`, `input.value`, …).
 * Adding a convention is adding names here; the mapping code does not change.
 */
export const ATTRIBUTES = {
  genAiOperation: ["gen_ai.operation.name"],
  aiSdkOperation: ["ai.operationId"],
  openInferenceKind: ["openinference.span.kind"],

  provider: [
    "gen_ai.provider.name",
    "gen_ai.system",
    "ai.model.provider",
    "llm.provider",
    "llm.system",
  ],
  /** At start only the requested model is known. */
  requestModel: ["gen_ai.request.model", "ai.model.id", "llm.model_name"],
  model: [
    "gen_ai.response.model",
    "ai.response.model",
    "gen_ai.request.model",
    "ai.model.id",
    "llm.model_name",
  ],

  inputTokens: [
    "gen_ai.usage.input_tokens",
    "ai.usage.inputTokens",
    "gen_ai.usage.prompt_tokens",
    "ai.usage.promptTokens",
    "llm.token_count.prompt",
  ],
  outputTokens: [
    "gen_ai.usage.output_tokens",
    "ai.usage.outputTokens",
    "gen_ai.usage.completion_tokens",
    "ai.usage.completionTokens",
    "llm.token_count.completion",
  ],
  totalTokens: ["ai.usage.totalTokens", "llm.token_count.total"],
  cacheReadTokens: [
    "gen_ai.usage.cache_read.input_tokens",
    "ai.usage.inputTokenDetails.cacheReadTokens",
    "ai.usage.cachedInputTokens",
    "llm.token_count.prompt_details.cache_read",
  ],
  cacheWriteTokens: [
    "gen_ai.usage.cache_creation.input_tokens",
    "ai.usage.inputTokenDetails.cacheWriteTokens",
    "llm.token_count.prompt_details.cache_write",
  ],
  reasoningTokens: [
    "gen_ai.usage.reasoning.output_tokens",
    "ai.usage.outputTokenDetails.reasoningTokens",
    "ai.usage.reasoningTokens",
    "llm.token_count.completion_details.reasoning",
  ],

  finishReasons: ["gen_ai.response.finish_reasons", "ai.response.finishReason"],
  timeToFirstTokenMs: ["ai.response.msToFirstChunk"],
  responseId: ["gen_ai.response.id", "ai.response.id"],
  conversationId: ["gen_ai.conversation.id", "session.id"],

  /** JSON: the prompt messages (content capture on). */
  inputMessages: ["gen_ai.input.messages", "ai.prompt.messages"],
  /** JSON: the completion messages (content capture on). */
  outputMessages: ["gen_ai.output.messages"],
  systemInstructions: ["gen_ai.system_instructions"],
  /** Completion as text or object when no structured messages are given. */
  outputText: ["ai.response.text", "ai.response.object"],
  /** OpenInference flattens messages into indexed keys under these prefixes. */
  openInferenceInputMessages: ["llm.input_messages"],
  openInferenceOutputMessages: ["llm.output_messages"],
  /** Tool definitions offered to the model (JSON, or an array of JSON strings). */
  toolDefinitions: ["gen_ai.tool.definitions", "ai.prompt.tools"],
  /** JSON array of `{ toolCallId, toolName }` the model asked for. */
  toolCalls: ["ai.response.toolCalls"],
  params: {
    temperature: ["gen_ai.request.temperature", "ai.settings.temperature"],
    maxTokens: ["gen_ai.request.max_tokens", "ai.settings.maxOutputTokens"],
    topP: ["gen_ai.request.top_p", "ai.settings.topP"],
  },
  invocationParameters: ["llm.invocation_parameters"],

  agentName: ["gen_ai.agent.name", "agent.name", "ai.telemetry.functionId"],
  toolName: ["gen_ai.tool.name", "ai.toolCall.name", "tool.name"],
  toolCallId: ["gen_ai.tool.call.id", "ai.toolCall.id", "tool_call.id"],
  toolArguments: ["gen_ai.tool.call.arguments", "ai.toolCall.args", "input.value"],
  toolResult: ["gen_ai.tool.call.result", "ai.toolCall.result", "output.value"],
  /** What an agent run was given and produced. */
  agentInput: ["input.value", "ai.prompt"],
  agentOutput: ["output.value", "ai.response.text", "ai.response.object"],

  errorType: ["error.type"],
  /** Resource attribute naming the Chorus channel of everything the resource emits. */
  channel: ["chorus.channel"],
} as const;

/** `gen_ai.operation.name` values, by the kind of Chorus event they become. */
export const GEN_AI_OPERATIONS = {
  agent: new Set(["invoke_agent"]),
  llm: new Set(["chat", "text_completion", "generate_content"]),
  tool: new Set(["execute_tool"]),
} as const;

/** Vercel AI SDK operation ids: the outer call is a run, `do*` is one model call. */
export const AI_SDK_OPERATIONS = {
  agent: new Set(["ai.generateText", "ai.streamText", "ai.generateObject", "ai.streamObject"]),
  llm: new Set([
    "ai.generateText.doGenerate",
    "ai.streamText.doStream",
    "ai.generateObject.doGenerate",
    "ai.streamObject.doStream",
  ]),
  tool: new Set(["ai.toolCall"]),
} as const;

/** OpenInference span kinds (`CHAIN` only when it is the root: the run itself). */
export const OPENINFERENCE_KINDS = {
  agent: new Set(["AGENT"]),
  llm: new Set(["LLM"]),
  tool: new Set(["TOOL"]),
} as const;

/** The span event OTel records an exception with, and its attributes. */
export const EXCEPTION_EVENT = "exception";
export const EXCEPTION_TYPE = "exception.type";
export const EXCEPTION_MESSAGE = "exception.message";
