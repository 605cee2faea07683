import { type ChorusEvent, record, text, tokenUsage } from "./event.js";

/** About this many time buckets across the chart: enough shape, few enough to read. */
const TARGET_BUCKETS = 60;
const BUCKET_STEPS_MS = [
  100, 250, 500, 1_000, 5_000, 10_000, 30_000, 60_000, 300_000, 900_000, 3_600_000, 86_400_000,
];

export interface UsageSeries {
  label: string;
  values: number[];
}

export interface Usage {
  /** Bucket starts, in seconds (uPlot's time unit). */
  times: number[];
  bucketMs: number;
  tokensByModel: UsageSeries[];
  callsByAgent: UsageSeries[];
  totals: { label: string; calls: number; input: number; output: number }[];
}

/** Tokens and LLM calls over time, from `llm.end` events, by model and by agent. */
export function computeUsage(events: readonly ChorusEvent[]): Usage {
  const ends = events.filter((e) => e.type === "llm.end");
  const times = ends.map((e) => Date.parse(e.occurredAt));
  // A loop, not Math.min(...times): a spread of 100,000 arguments overflows the stack.
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  for (const t of times) {
    if (t < first) first = t;
    if (t > last) last = t;
  }
  const bucketMs =
    BUCKET_STEPS_MS.find((step) => (last - first) / step <= TARGET_BUCKETS) ?? 86_400_000;
  const start = Math.floor(first / bucketMs) * bucketMs;
  const n = ends.length === 0 ? 0 : Math.floor((last - start) / bucketMs) + 1;
  const bucketTimes = Array.from({ length: n }, (_, i) => (start + i * bucketMs) / 1000);
  const byModel = new Map<string, number[]>();
  const byAgent = new Map<string, number[]>();
  const totals = new Map<string, { label: string; calls: number; input: number; output: number }>();
  const add = (map: Map<string, number[]>, key: string, i: number, amount: number) => {
    let row = map.get(key);
    if (!row) {
      row = new Array(n).fill(0);
      map.set(key, row);
    }
    row[i] = (row[i] ?? 0) + amount;
  };
  ends.forEach((e, k) => {
    const i = Math.floor(((times[k] as number) - start) / bucketMs);
    const p = record(e.payload) ?? {};
    const model = text(p.model) ?? "unknown model";
    const agent = e.agent ?? "unknown agent";
    // A count that is not a number (a string, an object) is absent: never summed as text.
    const usage = tokenUsage(p.usage);
    const input = usage?.input ?? 0;
    const output = usage?.output ?? 0;
    add(byModel, model, i, input + output);
    add(byAgent, agent, i, 1);
    const key = `${agent} · ${model}`;
    const total = totals.get(key) ?? { label: key, calls: 0, input: 0, output: 0 };
    total.calls++;
    total.input += input;
    total.output += output;
    totals.set(key, total);
  });
  const series = (map: Map<string, number[]>) =>
    [...map].sort(([a], [b]) => a.localeCompare(b)).map(([label, values]) => ({ label, values }));
  return {
    times: bucketTimes,
    bucketMs,
    tokensByModel: series(byModel),
    callsByAgent: series(byAgent),
    totals: [...totals.values()].sort((a, b) => b.input + b.output - (a.input + a.output)),
  };
}
