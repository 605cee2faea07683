import { isArray, isObject, read, readString } from "./read.js";

/**
 * Messages kept per prompt or transcript. A long conversation would exceed the hub's 256 KiB
 * event limit and lose the whole event; the first message (usually the system prompt) and the
 * most recent ones are what a reader needs.
 */
export const MAX_MESSAGES = 50;

/** A LangChain message as the events carry it: plain, small, role-named like the other adapters. */
export interface CompactMessage {
  role: string;
  content: unknown;
  name?: string;
  toolCallId?: string;
  toolCalls?: { name: string; callId?: string; arguments?: unknown }[];
}

const ROLES: Record<string, string> = {
  human: "user",
  user: "user",
  ai: "assistant",
  assistant: "assistant",
  system: "system",
  developer: "system",
  tool: "tool",
  function: "tool",
};

/** The LangChain message type (`human`, `ai`, …) of a message object, or `undefined` for anything else. */
export function messageType(message: unknown): string | undefined {
  if (!isObject(message)) return undefined;
  const type = read(message, "type");
  if (typeof type === "string" && read(message, "content") !== undefined) return type;
  const getType = read(message, "_getType");
  if (typeof getType === "function") {
    try {
      const t = getType.call(message);
      return typeof t === "string" ? t : undefined;
    } catch {
      return undefined;
    }
  }
  // Plain `{ role, content }` objects, as users pass them to `createAgent`.
  const role = readString(message, "role");
  return role !== undefined && read(message, "content") !== undefined ? role : undefined;
}

export function isMessage(value: unknown): boolean {
  return messageType(value) !== undefined;
}

export function compactMessage(message: unknown): CompactMessage {
  const type = messageType(message) ?? "unknown";
  const role = ROLES[type] ?? (type === "generic" ? (readString(message, "role") ?? type) : type);
  const out: CompactMessage = { role, content: compactContent(read(message, "content")) };
  const name = readString(message, "name");
  if (name) out.name = name;
  const toolCallId = readString(message, "tool_call_id");
  if (toolCallId) out.toolCallId = toolCallId;
  const toolCalls = toolCallsOf(message);
  if (toolCalls.length > 0) out.toolCalls = toolCalls;
  return out;
}

/** A bounded list of compact messages: the first, a marker for what was left out, the newest. */
export function compactMessages(messages: unknown): unknown[] {
  if (!isArray(messages)) return [];
  const n = messages.length;
  if (n <= MAX_MESSAGES) return messages.map(compactMessage);
  const tail = messages.slice(n - (MAX_MESSAGES - 1));
  return [
    compactMessage(messages[0]),
    { role: "omitted", content: `[${n - MAX_MESSAGES} messages omitted]` },
    ...tail.map(compactMessage),
  ];
}

/** Text blocks stay text; other blocks keep their kind and small identifying fields, not their data (images). */
function compactContent(content: unknown): unknown {
  if (typeof content === "string" || !isArray(content)) return content;
  return content.map((block) => {
    if (typeof block === "string" || !isObject(block)) return block;
    const type = readString(block, "type");
    const text = readString(block, "text") ?? readString(block, "thinking");
    if (type === "text") return { type, text };
    const out: Record<string, unknown> = { type };
    if (text !== undefined) out.text = text;
    const id = readString(block, "id");
    if (id !== undefined) out.id = id;
    const name = readString(block, "name");
    if (name !== undefined) out.name = name;
    if (type === "tool_use" || type === "tool_call")
      out.input = read(block, "input") ?? read(block, "args");
    return out;
  });
}

/** Tool calls a model asked for, as `{ name, callId, arguments }`. */
export function toolCallsOf(
  message: unknown,
): { name: string; callId?: string; arguments?: unknown }[] {
  const calls = read(message, "tool_calls");
  if (!isArray(calls) || calls.length === 0) return [];
  const out: { name: string; callId?: string; arguments?: unknown }[] = [];
  for (const call of calls) {
    const name = readString(call, "name");
    if (name === undefined) continue;
    const callId = readString(call, "id");
    out.push({ name, ...(callId === undefined ? {} : { callId }), arguments: read(call, "args") });
  }
  return out;
}

/** The text of a message or content: a string, or the text blocks joined. */
export function textOf(messageOrContent: unknown): string | undefined {
  const content =
    typeof messageOrContent === "string" || isArray(messageOrContent)
      ? messageOrContent
      : read(messageOrContent, "content");
  if (typeof content === "string") return content;
  if (!isArray(content)) return undefined;
  let text = "";
  for (const block of content) {
    if (typeof block === "string") text += block;
    else if (readString(block, "type") === "text") text += readString(block, "text") ?? "";
  }
  return text;
}

/**
 * The final assistant text of a run's output: the last message of a `messages` state (createAgent,
 * MessagesAnnotation graphs), an AI message itself (`prompt | model`), or the string a chain
 * ended with (`| new StringOutputParser()`). `undefined` when the run ended on anything else.
 */
export function finalAssistantText(outputs: unknown): string | undefined {
  let candidate: unknown = outputs;
  const list = read(outputs, "messages");
  if (isArray(list)) candidate = list[list.length - 1];
  else if (!isMessage(outputs)) {
    const output = read(outputs, "output");
    if (typeof output === "string") return output.length > 0 ? output : undefined;
    if (isMessage(output)) candidate = output;
    else return undefined;
  }
  const type = messageType(candidate);
  if (type !== "ai" && type !== "assistant") return undefined;
  const text = textOf(candidate);
  return text !== undefined && text.length > 0 ? text : undefined;
}
