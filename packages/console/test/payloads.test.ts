import type { ChorusEvent } from "@chorus/protocol";
import { describe, expect, it } from "vitest";
import { foldBoard, type IntentRecord } from "../web/lib/intents.js";
import { buildSpans } from "../web/lib/spans.js";
import { computeUsage } from "../web/lib/usage.js";

/** Any publisher may send any JSON as a payload: what the views make of the wrong types. */
const evil = { toString: 1 };
let seq = 0;
function event(type: string, payload: Record<string, unknown>, extra: Partial<ChorusEvent> = {}) {
  seq++;
  return {
    id: `e${seq}`,
    seq,
    channel: "c",
    type,
    payload,
    metadata: {},
    occurredAt: new Date(Date.UTC(2026, 0, 1, 0, 0, seq)).toISOString(),
    ...extra,
  } as ChorusEvent;
}

describe("payload values of the wrong type", () => {
  it("count as no tokens in the usage totals, never as text", () => {
    const usage = computeUsage([
      event("llm.end", { model: "m", usage: { inputTokens: 5, outputTokens: 2 } }, { agent: "a" }),
      event(
        "llm.end",
        { model: "m", usage: { inputTokens: "0", outputTokens: evil } },
        { agent: "a" },
      ),
      event("llm.end", { model: evil, usage: [3, 4] }, { agent: "a" }),
    ]);
    expect(usage.totals).toEqual([
      { label: "a · m", calls: 2, input: 5, output: 2 },
      { label: "a · unknown model", calls: 1, input: 0, output: 0 },
    ]);
    expect(usage.tokensByModel.flatMap((s) => s.values).every((v) => typeof v === "number")).toBe(
      true,
    );
  });

  it("leave a span without token counts", () => {
    const ids = { traceId: "0af7651916cd43dd8448eb211c80319c", spanId: "b7ad6b7169203331" };
    const [span] = buildSpans(
      [
        event("llm.start", { model: evil }, ids),
        event("llm.end", { usage: { inputTokens: "7", outputTokens: evil } }, ids),
      ],
      ids.traceId,
    );
    expect(span).toMatchObject({
      name: "llm call",
      inputTokens: undefined,
      outputTokens: undefined,
    });
  });

  it("leave an intent on the board as it was, its fields of the types the board draws", () => {
    const board = new Map<string, IntentRecord>();
    const intentId = "i1";
    foldBoard(
      board,
      event(
        "intent.created",
        {
          intent: {
            id: "i1",
            title: evil,
            status: "active",
            state: [1],
            version: 1,
            assignees: [evil, "w"],
          },
        },
        { intentId },
      ),
    );
    foldBoard(
      board,
      event("intent.state_changed", { version: evil, patch: "x", state: 5 }, { intentId }),
    );
    foldBoard(board, event("intent.status_changed", { to: evil, version: "9" }, { intentId }));
    foldBoard(board, event("llm.start", { tools: [evil] }, { intentId }));
    const record = board.get(intentId);
    expect(record?.intent).toMatchObject({
      title: "(untitled)",
      status: "active",
      state: {},
      version: 1,
      assignees: ["w"],
    });
    expect(record?.history).toEqual([
      expect.objectContaining({ version: 1, patch: {}, before: {} }),
    ]);
    expect(record?.log).toHaveLength(4);
  });

  it("date an intent's last change by the hub's clock, not by the occurredAt its publisher claims", () => {
    const board = new Map<string, IntentRecord>();
    const intentId = "int_clock";
    foldBoard(
      board,
      event("intent.created", { intent: { title: "t", status: "active" } }, { intentId }),
    );
    foldBoard(
      board,
      event(
        "intent.comment",
        { text: "approved" },
        {
          intentId,
          occurredAt: "2099-01-01T00:00:00.000Z",
          receivedAt: "2026-01-02T03:04:05.000Z",
        },
      ),
    );
    expect(board.get(intentId)?.intent.updatedAt).toBe("2026-01-02T03:04:05.000Z");
  });
});
