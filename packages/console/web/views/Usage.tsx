import { useMemo } from "preact/hooks";
import type { ChannelFeed } from "../lib/live.js";
import { computeUsage } from "../lib/usage.js";
import { Chart } from "./Chart.js";
import { duration } from "./Trace.js";

/** Tokens and LLM calls over time by model and agent, from the channel's `llm.end` events. */
export function Usage({ feed }: { feed: ChannelFeed }) {
  const usage = useMemo(() => computeUsage(feed.events), [feed.version]);
  if (usage.times.length === 0) {
    return (
      <section class="pane grow">
        <p class="empty">No LLM calls on this channel yet: usage appears with the first llm.end.</p>
      </section>
    );
  }
  const input = usage.totals.reduce((n, t) => n + t.input, 0);
  const output = usage.totals.reduce((n, t) => n + t.output, 0);
  const calls = usage.totals.reduce((n, t) => n + t.calls, 0);
  return (
    <section class="pane grow usage" data-testid="usage">
      <div class="stats">
        <div>
          <strong>{calls}</strong>
          <small>LLM calls</small>
        </div>
        <div>
          <strong>{input.toLocaleString()}</strong>
          <small>input tokens</small>
        </div>
        <div>
          <strong>{output.toLocaleString()}</strong>
          <small>output tokens</small>
        </div>
        <div>
          <strong>{duration(usage.bucketMs)}</strong>
          <small>per bar</small>
        </div>
      </div>
      <Chart title="Tokens by model" times={usage.times} series={usage.tokensByModel} />
      <Chart title="LLM calls by agent" times={usage.times} series={usage.callsByAgent} />
      <table>
        <thead>
          <tr>
            <th>agent · model</th>
            <th>calls</th>
            <th>input</th>
            <th>output</th>
          </tr>
        </thead>
        <tbody>
          {usage.totals.map((t) => (
            <tr key={t.label}>
              <td>{t.label}</td>
              <td>{t.calls}</td>
              <td>{t.input.toLocaleString()}</td>
              <td>{t.output.toLocaleString()}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
