import { useMemo, useState } from "preact/hooks";
import { type ChorusEvent, clock, familyOf, summary } from "../lib/event.js";
import type { ChannelFeed } from "../lib/live.js";
import { EventDetail } from "./EventDetail.js";
import { Guard } from "./Guard.js";
import { VirtualList } from "./VirtualList.js";

const ROW_HEIGHT = 26;

export interface TimelineProps {
  feed: ChannelFeed;
  onOpenTrace(traceId: string): void;
}

interface Filters {
  type: string;
  agent: string;
  trace: string;
}

/** Every event of the channel as it arrives, filtered, pausable, with the payload beside it. */
export function Timeline({ feed, onOpenTrace }: TimelineProps) {
  const [filters, setFilters] = useState<Filters>({ type: "", agent: "", trace: "" });
  // Paused: the list stays at the length it had; what arrives meanwhile is counted, not shown.
  const [pausedAt, setPausedAt] = useState<number | undefined>(undefined);
  const [follow, setFollow] = useState(true);
  const [selected, setSelected] = useState<ChorusEvent | undefined>(undefined);

  const { types, agents } = useMemo(() => facets(feed.events), [feed.version]);
  const shown = useMemo(() => {
    const upto = pausedAt ?? feed.events.length;
    const out: ChorusEvent[] = [];
    for (let i = 0; i < upto; i++) {
      const e = feed.events[i] as ChorusEvent;
      if (filters.type && e.type !== filters.type) continue;
      if (filters.agent && e.agent !== filters.agent) continue;
      if (filters.trace && e.traceId !== filters.trace) continue;
      out.push(e);
    }
    return out;
  }, [feed.version, filters, pausedAt]);
  const waiting = pausedAt === undefined ? 0 : feed.events.length - pausedAt;
  const set = (patch: Partial<Filters>) => setFilters({ ...filters, ...patch });

  return (
    <div class="split">
      <section class="pane grow">
        <div class="toolbar">
          <select
            aria-label="type"
            value={filters.type}
            onChange={(e) => set({ type: e.currentTarget.value })}
          >
            <option value="">all types</option>
            {types.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
          <select
            aria-label="agent"
            value={filters.agent}
            onChange={(e) => set({ agent: e.currentTarget.value })}
          >
            <option value="">all agents</option>
            {agents.map((a) => (
              <option key={a} value={a}>
                {a}
              </option>
            ))}
          </select>
          <input
            aria-label="trace"
            placeholder="trace id"
            value={filters.trace}
            onInput={(e) => set({ trace: e.currentTarget.value.trim() })}
          />
          <button
            type="button"
            class={pausedAt === undefined ? "" : "active"}
            onClick={() => setPausedAt(pausedAt === undefined ? feed.events.length : undefined)}
          >
            {pausedAt === undefined ? "❚❚ Pause" : `▶ Resume${waiting ? ` (${waiting} new)` : ""}`}
          </button>
          <span class="count" data-testid="event-count">
            {shown.length.toLocaleString()} events
          </span>
        </div>
        <div class="row head">
          <span class="time">time</span>
          <span class="seq">seq</span>
          <span class="type">type</span>
          <span class="agent">agent</span>
          <span class="sum">summary</span>
        </div>
        {shown.length === 0 ? (
          <p class="empty">
            {feed.events.length === 0
              ? "No events on this channel yet. They appear here as they arrive."
              : "No event matches the filters."}
          </p>
        ) : (
          <VirtualList
            items={shown}
            rowHeight={ROW_HEIGHT}
            follow={follow && pausedAt === undefined}
            onAtBottom={setFollow}
            renderRow={(e) => (
              // A row that cannot be drawn says so in its place; the rows around it are drawn.
              <Guard key={e.seq} fallback={(message) => <RowError event={e} message={message} />}>
                <Row event={e} selected={selected?.seq === e.seq} onSelect={setSelected} />
              </Guard>
            )}
          />
        )}
      </section>
      <Guard
        key={selected?.seq}
        fallback={(message) => (
          <aside class="pane detail">
            <p class="bad" role="alert">
              This event could not be shown: {message}
            </p>
          </aside>
        )}
      >
        <EventDetail
          event={selected}
          onOpenTrace={onOpenTrace}
          onFilterTrace={(trace) => set({ trace })}
        />
      </Guard>
    </div>
  );
}

function Row({
  event: e,
  selected,
  onSelect,
}: {
  event: ChorusEvent;
  selected: boolean;
  onSelect(event: ChorusEvent): void;
}) {
  return (
    <button
      type="button"
      class={`row event fam-${familyOf(e.type)}${selected ? " selected" : ""}`}
      data-seq={e.seq}
      onClick={() => onSelect(e)}
    >
      <span class="time">{clock(e.occurredAt)}</span>
      <span class="seq">#{e.seq}</span>
      <span class="type">{e.type}</span>
      <span class="agent">{e.agent ?? "–"}</span>
      <span class="sum">{summary(e)}</span>
    </button>
  );
}

/** In place of a row that threw: its seq and type, still there to count and scroll past. */
function RowError({ event: e, message }: { event: ChorusEvent; message: string }) {
  return (
    <div class="row event fam-error" data-seq={e.seq} data-testid="row-error" role="alert">
      <span class="time">--:--:--.---</span>
      <span class="seq">#{e.seq}</span>
      <span class="type">{e.type}</span>
      <span class="agent">{e.agent ?? "–"}</span>
      <span class="sum">this event could not be shown: {message}</span>
    </div>
  );
}

function facets(events: readonly ChorusEvent[]): { types: string[]; agents: string[] } {
  const types = new Set<string>();
  const agents = new Set<string>();
  for (const e of events) {
    types.add(e.type);
    if (e.agent) agents.add(e.agent);
  }
  return { types: [...types].sort(), agents: [...agents].sort() };
}
