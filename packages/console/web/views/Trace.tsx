import { useMemo, useState } from "preact/hooks";
import { clock } from "../lib/event.js";
import type { ChannelFeed } from "../lib/live.js";
import { buildSpans, listTraces, type Span } from "../lib/spans.js";
import { Guard } from "./Guard.js";

export interface TraceProps {
  feed: ChannelFeed;
  traceId: string | undefined;
  onSelectTrace(traceId: string): void;
}

/** A run's spans as a waterfall nested by `parentSpanId`, live as the run goes on. */
export function Trace({ feed, traceId, onSelectTrace }: TraceProps) {
  const traces = useMemo(() => listTraces(feed.events), [feed.version]);
  const current = traceId ?? traces[0]?.traceId;
  const spans = useMemo(
    () => (current ? buildSpans(feed.events, current) : []),
    [feed.version, current],
  );
  const [selected, setSelected] = useState<string | undefined>(undefined);
  const span = spans.find((s) => s.spanId === selected);
  const now = Date.now();
  // Loops, not Math.min(...spans): a spread of a huge trace's spans overflows the stack.
  let start = Number.POSITIVE_INFINITY;
  for (const s of spans) start = Math.min(start, s.startMs);
  let end = start + 1;
  for (const s of spans) end = Math.max(end, s.endMs ?? Math.min(now, s.startMs + 1));
  const width = end - start;

  return (
    <div class="split">
      <aside class="pane list">
        <h3>Traces</h3>
        {traces.length === 0 && <p class="empty">No traced events on this channel yet.</p>}
        {traces.map((t) => (
          <button
            type="button"
            key={t.traceId}
            class={`trace-item${t.traceId === current ? " selected" : ""}`}
            onClick={() => onSelectTrace(t.traceId)}
          >
            <strong>{t.name}</strong>
            <small>
              {clockAt(t.startMs)} · {t.events} events · {duration(t.endMs - t.startMs)}
              {t.errors > 0 && <span class="bad"> · {t.errors} errors</span>}
            </small>
            <code>{t.traceId.slice(0, 16)}</code>
          </button>
        ))}
      </aside>
      <section class="pane grow waterfall" data-testid="waterfall">
        {spans.length > 0 && (
          <div class="wf-head">
            <span class="wf-name">span</span>
            <span class="wf-bar-head">
              <span>0</span>
              <span>{duration(width / 2)}</span>
              <span>{duration(width)}</span>
            </span>
            <span class="wf-label">duration · tokens</span>
          </div>
        )}
        {spans.map((s) => (
          <button
            type="button"
            key={s.spanId}
            class={`wf-row fam-${s.error ? "error" : s.family}${s.spanId === selected ? " selected" : ""}`}
            data-depth={s.depth}
            data-span={s.spanId}
            onClick={() => setSelected(s.spanId)}
          >
            <span class="wf-name" style={{ paddingLeft: `${8 + s.depth * 18}px` }}>
              <span class="wf-kind">{s.family}</span> {s.name}
              {s.agent && <small> · {s.agent}</small>}
            </span>
            <span class="wf-track">
              <span
                class={`wf-bar${s.endMs === undefined ? " open" : ""}`}
                style={{
                  left: `${((s.startMs - start) / width) * 100}%`,
                  width: `${Math.max(0.4, (((s.endMs ?? now) - s.startMs) / width) * 100)}%`,
                }}
              />
            </span>
            <span class="wf-label">
              {s.endMs === undefined ? "running" : duration(s.endMs - s.startMs)}
              {tokenLabel(s)}
            </span>
          </button>
        ))}
      </section>
      <Guard
        key={span?.spanId}
        fallback={(message) => (
          <aside class="pane detail">
            <p class="bad" role="alert">
              This span could not be shown: {message}
            </p>
          </aside>
        )}
      >
        <SpanDetail span={span} />
      </Guard>
    </div>
  );
}

function SpanDetail({ span }: { span: Span | undefined }) {
  if (!span) {
    return (
      <aside class="pane detail">
        <p class="empty">Select a span to see its model, tokens, arguments and results.</p>
      </aside>
    );
  }
  return (
    <aside class="pane detail" data-testid="span-detail">
      <h3 class={`fam-${span.error ? "error" : span.family}`}>{span.name}</h3>
      <dl>
        {span.agent && (
          <div>
            <dt>agent</dt>
            <dd>{span.agent}</dd>
          </div>
        )}
        {span.model && (
          <div>
            <dt>model</dt>
            <dd>{span.model}</dd>
          </div>
        )}
        {(span.inputTokens !== undefined || span.outputTokens !== undefined) && (
          <div>
            <dt>tokens</dt>
            <dd>
              {span.inputTokens ?? 0} in · {span.outputTokens ?? 0} out
            </dd>
          </div>
        )}
        <div>
          <dt>duration</dt>
          <dd>{span.endMs === undefined ? "running" : duration(span.endMs - span.startMs)}</dd>
        </div>
        <div>
          <dt>span</dt>
          <dd>{span.spanId}</dd>
        </div>
        {span.parentSpanId && (
          <div>
            <dt>parent</dt>
            <dd>{span.parentSpanId}</dd>
          </div>
        )}
      </dl>
      {span.events.map((e) => (
        <div key={e.seq} class={e.type.endsWith(".error") ? "bad" : ""}>
          <h4>
            {e.type}{" "}
            <small>
              #{e.seq} · {clock(e.occurredAt)}
            </small>
          </h4>
          <pre>{JSON.stringify(e.payload, null, 2)}</pre>
        </div>
      ))}
    </aside>
  );
}

/** ` · 420→38 tok` of an LLM span; spans reads only numeric counts (see `tokenUsage`). */
function tokenLabel(span: Span): string {
  if (span.inputTokens === undefined && span.outputTokens === undefined) return "";
  return ` · ${span.inputTokens ?? 0}→${span.outputTokens ?? 0} tok`;
}

/** `clock` of a time in ms; an unreadable one gives dashes, never a RangeError. */
function clockAt(ms: number): string {
  const date = new Date(ms);
  return clock(Number.isNaN(date.getTime()) ? undefined : date.toISOString());
}

export function duration(ms: number): string {
  if (!Number.isFinite(ms)) return "–";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  return `${Math.floor(ms / 60_000)} m ${Math.round((ms % 60_000) / 1000)} s`;
}
