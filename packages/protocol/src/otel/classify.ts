import {
  AI_SDK_OPERATIONS,
  ATTRIBUTES,
  GEN_AI_OPERATIONS,
  OPENINFERENCE_KINDS,
} from "./attributes.js";
import { str } from "./read.js";
import type { OtelSpan } from "./span.js";

export type GenAiSpanKind = "agent" | "llm" | "tool";
export type Convention = "gen_ai" | "ai-sdk" | "openinference";

export interface Classification {
  kind: GenAiSpanKind;
  convention: Convention;
}

const KINDS: readonly GenAiSpanKind[] = ["agent", "llm", "tool"];

/**
 * What a span is, or `undefined` for spans that are not GenAI work (HTTP, database, embeddings,
 * framework plumbing): those produce no events. The AI SDK is checked first because its model
 * call spans also carry a few `gen_ai.*` attributes without `gen_ai.operation.name`.
 */
export function classify(span: OtelSpan): Classification | undefined {
  const attrs = span.attributes;
  const aiOperation = str(attrs, ATTRIBUTES.aiSdkOperation);
  if (aiOperation !== undefined) {
    const kind = KINDS.find((k) => AI_SDK_OPERATIONS[k].has(aiOperation));
    return kind && { kind, convention: "ai-sdk" };
  }
  const operation = str(attrs, ATTRIBUTES.genAiOperation);
  if (operation !== undefined) {
    const kind = KINDS.find((k) => GEN_AI_OPERATIONS[k].has(operation));
    return kind && { kind, convention: "gen_ai" };
  }
  const oiKind = str(attrs, ATTRIBUTES.openInferenceKind)?.toUpperCase();
  if (oiKind !== undefined) {
    if (oiKind === "CHAIN" && span.parentSpanId === undefined)
      return { kind: "agent", convention: "openinference" };
    const kind = KINDS.find((k) => OPENINFERENCE_KINDS[k].has(oiKind));
    return kind && { kind, convention: "openinference" };
  }
  return undefined;
}
