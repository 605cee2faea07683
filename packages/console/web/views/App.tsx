import { useEffect, useState } from "preact/hooks";
import {
  type Credential,
  formatRoute,
  parseRoute,
  type Route,
  takeCredential,
  VIEWS,
} from "../lib/link.js";
import { useChannelFeed } from "../lib/live.js";
import { usePresence } from "../lib/presence.js";
import { LoginError, Session } from "../lib/session.js";
import { Intents } from "./Intents.js";
import { Login } from "./Login.js";
import { Timeline } from "./Timeline.js";
import { Trace } from "./Trace.js";
import { Usage } from "./Usage.js";

/** The hub writes every intent's log to this channel. */
const INTENT_CHANNEL = "intents";

export function App() {
  const [session, setSession] = useState<Session | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);

  const login = async (credential: Credential) => {
    setBusy(true);
    setError(undefined);
    try {
      setSession(await Session.open(location.origin, credential));
    } catch (e) {
      setError(e instanceof LoginError ? e.message : `the hub is not reachable: ${String(e)}`);
    } finally {
      setBusy(false);
    }
  };

  useEffect(() => {
    const credential = takeCredential(location, history);
    if (credential) void login(credential);
  }, []);

  if (!session) return <Login error={error} busy={busy} onSubmit={login} />;
  return <Console session={session} />;
}

function Console({ session }: { session: Session }) {
  const [route, setRoute] = useState<Route>(() => parseRoute(location.hash));
  useEffect(() => {
    const onHash = () => setRoute(parseRoute(location.hash));
    addEventListener("hashchange", onHash);
    return () => removeEventListener("hashchange", onHash);
  }, []);
  const go = (patch: Partial<Route>) => {
    const next = { ...route, ...patch };
    history.replaceState(null, "", formatRoute(next));
    setRoute(next);
  };

  const feed = useChannelFeed(session, route.channel);
  const intents = useChannelFeed(session, INTENT_CHANNEL);
  const presence = usePresence(session);
  const away =
    (feed.started && !feed.connected) ||
    (intents.started && !intents.connected) ||
    (presence.started && !presence.connected);
  const live = feed.connected && intents.connected && (presence.connected || !presence.started);
  const failure = feed.failure ?? intents.failure;

  return (
    <div class="app">
      <header>
        <span class="brand">
          <span class="logo">◉</span> Chorus
        </span>
        <label class="channel">
          channel
          <input
            aria-label="channel"
            value={route.channel}
            onChange={(e) =>
              go({ channel: e.currentTarget.value.trim() || route.channel, trace: undefined })
            }
          />
        </label>
        <nav>
          {VIEWS.map((view) => (
            <a
              key={view}
              href={formatRoute({ ...route, view })}
              class={route.view === view ? "active" : ""}
              onClick={(e) => {
                e.preventDefault();
                go({ view });
              }}
            >
              {view[0]?.toUpperCase()}
              {view.slice(1)}
            </a>
          ))}
        </nav>
        <span class={`conn ${live ? "up" : away ? "down" : "wait"}`} data-testid="connection">
          {live ? "live" : away ? "hub away" : "connecting"}
        </span>
      </header>
      {failure && (
        <div class="banner bad" role="alert" data-testid="failure">
          The hub stopped this stream: {failure}. Reload the page to sign in again.
        </div>
      )}
      {away && !failure && (
        <div class="banner" role="status" data-testid="away">
          The hub is not reachable. Reconnecting… nothing will be missed: the streams resume from
          the last event received.
        </div>
      )}
      <main>
        {route.view === "timeline" && (
          <Timeline feed={feed} onOpenTrace={(trace) => go({ view: "trace", trace })} />
        )}
        {route.view === "trace" && (
          <Trace feed={feed} traceId={route.trace} onSelectTrace={(trace) => go({ trace })} />
        )}
        {route.view === "intents" && (
          <Intents
            feed={intents}
            presence={presence.agents}
            selected={route.intent}
            onSelect={(intent) => go({ intent })}
          />
        )}
        {route.view === "usage" && <Usage feed={feed} />}
      </main>
    </div>
  );
}
