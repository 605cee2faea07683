import { readFileSync } from "node:fs";
import type { OtelAttributes, OtelSpan } from "@chorus/protocol";

/** A span as `scripts/record-fixtures.ts` wrote it: the SDK's ReadableSpan fields, JSON-safe. */
interface RecordedSpan {
  name: string;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  startTime: [number, number];
  endTime: [number, number];
  status: { code: number; message?: string };
  attributes: OtelAttributes;
  events: { name: string; time: [number, number]; attributes?: OtelAttributes }[];
  scope: string;
}

const ms = ([s, ns]: [number, number]) => s * 1000 + ns / 1e6;

export function loadFixture(name: string): OtelSpan[] {
  const url = new URL(`../fixtures/${name}.json`, import.meta.url);
  const spans = JSON.parse(readFileSync(url, "utf8")) as RecordedSpan[];
  return spans.map((s) => ({
    name: s.name,
    traceId: s.traceId,
    spanId: s.spanId,
    ...(s.parentSpanId && { parentSpanId: s.parentSpanId }),
    startTimeMs: ms(s.startTime),
    endTimeMs: ms(s.endTime),
    attributes: s.attributes,
    status: s.status,
    events: s.events.map((e) => ({ name: e.name, timeMs: ms(e.time), attributes: e.attributes })),
    scope: s.scope,
  }));
}
