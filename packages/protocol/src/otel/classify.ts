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

/** One frozen answer per kind and convention: classification runs twice per span, allocation-free. */
const ANSWERS = Object.fromEntries(
  (["gen_ai", "ai-sdk", "openinference"] as const).map((convention) => [
    convention,
    Object.fromEntries(KINDS.map((kind) => [kind, Object.freeze({ kind, convention })])),
  ]),
) as Record<Convention, Record<GenAiSpanKind, Classification>>;

/**
 * What a span is, or `undefined` for spans that are not GenAI work (HTTP, database, embeddings,
 * framework plumbing): those produce no events. The AI SDK is checked first because its model
 * call spans also carry a few `gen_ai.*` attributes without `gen_ai.operation.name`.
 */
export function classify(span: OtelSpan): Classification | undefined {
  const attrs = span.attributes;
  const aiOperation = str(attrs, ATTRIBUTES.aiSdkOperation);
  if (aiOperation !== undefined) {
    const kind = kindIn(AI_SDK_OPERATIONS, aiOperation);
    return kind && ANSWERS["ai-sdk"][kind];
  }
  const operation = str(attrs, ATTRIBUTES.genAiOperation);
  if (operation !== undefined) {
    const kind = kindIn(GEN_AI_OPERATIONS, operation);
    return kind && ANSWERS.gen_ai[kind];
  }
  const oiKind = str(attrs, ATTRIBUTES.openInferenceKind)?.toUpperCase();
  if (oiKind !== undefined) {
    if (oiKind === "CHAIN" && span.parentSpanId === undefined) return ANSWERS.openinference.agent;
    const kind = kindIn(OPENINFERENCE_KINDS, oiKind);
    return kind && ANSWERS.openinference[kind];
  }
  return undefined;
}

function kindIn(
  table: Readonly<Record<GenAiSpanKind, ReadonlySet<string>>>,
  value: string,
): GenAiSpanKind | undefined {
  for (const kind of KINDS) if (table[kind].has(value)) return kind;
  return undefined;
}
