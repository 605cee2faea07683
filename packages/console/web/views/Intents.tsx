import { useMemo } from "preact/hooks";
import { clock, compact, familyOf, summary } from "../lib/event.js";
import {
  type AgentPresence,
  foldBoard,
  type IntentRecord,
  STATUSES,
  type StateStep,
} from "../lib/intents.js";
import type { ChannelFeed } from "../lib/live.js";
import { Guard } from "./Guard.js";

export interface IntentsProps {
  /** The `intents` channel, where the hub writes every intent's log. */
  feed: ChannelFeed;
  presence: AgentPresence[] | undefined;
  selected: string | undefined;
  onSelect(id: string): void;
}

/** A board by status, and the selected intent's live state, history, log and people. */
export function Intents({ feed, presence, selected, onSelect }: IntentsProps) {
  const board = useMemo(() => {
    const map = new Map<string, IntentRecord>();
    for (const e of feed.events) foldBoard(map, e);
    return map;
  }, [feed.version]);
  const records = [...board.values()].sort((a, b) =>
    b.intent.updatedAt.localeCompare(a.intent.updatedAt),
  );
  const record = selected ? board.get(selected) : undefined;
  const online = new Map((presence ?? []).map((p) => [p.agent, p]));

  return (
    <div class="split">
      <section class="pane grow board" data-testid="board">
        {STATUSES.map((status) => {
          const column = records.filter((r) => r.intent.status === status);
          return (
            <div class="column" key={status} data-status={status}>
              <h3>
                <span class={`status status-${status}`}>{status}</span>{" "}
                <small>{column.length}</small>
              </h3>
              {column.map(({ intent }) => (
                <button
                  type="button"
                  key={intent.id}
                  class={`card${intent.id === selected ? " selected" : ""}`}
                  data-intent={intent.id}
                  onClick={() => onSelect(intent.id)}
                >
                  <strong>{intent.title}</strong>
                  <small>
                    v{intent.version} · {clock(intent.updatedAt)}
                  </small>
                  <span class="people">
                    {intent.assignees.map((a) => (
                      <span key={a} class={`who${online.get(a)?.online ? " online" : ""}`}>
                        {a}
                      </span>
                    ))}
                  </span>
                </button>
              ))}
            </div>
          );
        })}
      </section>
      <aside class="pane detail wide" data-testid="intent-detail">
        {record ? (
          <Guard
            key={record.intent.id}
            fallback={(message) => (
              <p class="bad" role="alert">
                This intent could not be shown: {message}
              </p>
            )}
          >
            <IntentDetail record={record} online={online} />
          </Guard>
        ) : (
          <>
            <p class="empty">Select an intent to see its state, history and log.</p>
            <Agents presence={presence} />
          </>
        )}
      </aside>
    </div>
  );
}

function IntentDetail({
  record,
  online,
}: {
  record: IntentRecord;
  online: Map<string, AgentPresence>;
}) {
  const { intent } = record;
  return (
    <>
      <h3>{intent.title}</h3>
      <p>
        <span class={`status status-${intent.status}`} data-testid="intent-status">
          {intent.status}
        </span>{" "}
        version {intent.version} · by {intent.createdBy ?? "?"} · {intent.id}
      </p>
      <h4>assignees</h4>
      <p class="people">
        {intent.assignees.length === 0 && <small>none</small>}
        {intent.assignees.map((a) => (
          <span
            key={a}
            class={`who${online.get(a)?.online ? " online" : ""}`}
            title={online.get(a)?.online ? "online" : "offline"}
          >
            {a}
          </span>
        ))}
      </p>
      <h4>state</h4>
      <pre data-testid="intent-state">{JSON.stringify(intent.state, null, 2)}</pre>
      <h4>history</h4>
      {record.history.length === 0 && <small>no state change yet</small>}
      {[...record.history].reverse().map((step) => (
        <Step key={step.version} step={step} />
      ))}
      <h4>log</h4>
      <ul class="log">
        {[...record.log].reverse().map((e) => (
          <li key={e.seq} class={`fam-${familyOf(e.type)}`}>
            <span class="time">{clock(e.occurredAt)}</span> <span class="type">{e.type}</span>{" "}
            <span class="agent">{e.agent ?? ""}</span> <span class="sum">{summary(e)}</span>
          </li>
        ))}
      </ul>
    </>
  );
}

/** A merge patch as a diff: each key it touched, the old value struck, the new one added. */
function Step({ step }: { step: StateStep }) {
  return (
    <div class="step">
      <div class="step-head">
        v{step.version} · {clock(step.at)} {step.agent && `· ${step.agent}`}
      </div>
      {Object.entries(step.patch).map(([key, value]) => (
        <div key={key} class="diff">
          {key in step.before && (
            <div class="minus">
              - {key}: {compact(step.before[key], 200)}
            </div>
          )}
          {value !== null && (
            <div class="plus">
              + {key}: {compact(value, 200)}
            </div>
          )}
        </div>
      ))}
    </div>
  );
}

function Agents({ presence }: { presence: AgentPresence[] | undefined }) {
  if (!presence) return null;
  return (
    <>
      <h4>agents</h4>
      <ul class="agents" data-testid="agents">
        {presence.length === 0 && (
          <li>
            <small>no agent has connected yet</small>
          </li>
        )}
        {presence.map((p) => (
          <li key={p.agent}>
            <span class={`who${p.online ? " online" : ""}`}>{p.agent}</span>{" "}
            <small>
              {p.online ? "online" : `last seen ${p.lastSeenAt ? clock(p.lastSeenAt) : "never"}`}
              {p.intents && p.intents.length > 0 && ` · holds ${p.intents.length}`}
            </small>
          </li>
        ))}
      </ul>
    </>
  );
}
