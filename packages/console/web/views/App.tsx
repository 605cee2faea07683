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
import { Guard } from "./Guard.js";
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
    // On load, and whenever a `#key=` link is opened in this tab later (a same-document
    // navigation: only `hashchange` tells), signed in or not: the key leaves the address at once.
    const take = () => {
      const credential = takeCredential(location, history);
      if (credential) void login(credential);
    };
    take();
    addEventListener("hashchange", take);
    return () => removeEventListener("hashchange", take);
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
  // A stream the hub ended for good is not away: it is not coming back (see `failure`).
  const down = (f: { started: boolean; connected: boolean; failure?: unknown }) =>
    f.started && !f.connected && f.failure === undefined;
  const away = down(feed) || down(intents) || (presence.started && !presence.connected);
  const live =
    feed.connected &&
    (intents.connected || intents.failure !== undefined) &&
    (presence.connected || !presence.started);
  // The channel's stream first: the intents channel's fails only with the credential, as a rule.
  const failed = feed.failure ? route.channel : intents.failure ? INTENT_CHANNEL : undefined;
  const failure = feed.failure ?? intents.failure;
  const stopped = feed.failure !== undefined || failure?.cause === "credential";

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
        <span
          class={`conn ${stopped ? "down" : live ? "up" : away ? "down" : "wait"}`}
          data-testid="connection"
        >
          {stopped ? "stopped" : live ? "live" : away ? "hub away" : "connecting"}
        </span>
      </header>
      {failure && failed !== undefined && (
        <div class="banner bad" role="alert" data-testid="failure">
          {failure.cause === "credential" ? (
            <>
              The hub refused this {session.kind} (401): it may have been revoked. The streams have
              stopped; reload the page to sign in again with a key the hub accepts.
            </>
          ) : failed === route.channel ? (
            <>
              The hub refused the channel “{failed}”: {failure.message}. Type another channel name
              above.
            </>
          ) : (
            <>
              The hub refused the “{failed}” channel the Intents view follows: {failure.message}.
              The other views still work.
            </>
          )}
        </div>
      )}
      {away && !stopped && (
        <div class="banner" role="status" data-testid="away">
          The hub is not reachable. Reconnecting… nothing will be missed: the streams resume from
          the last event received.
        </div>
      )}
      <main>
        {/* A view that cannot draw says so in place; the header and the streams go on. */}
        <Guard key={`${route.view}\n${route.channel}`} fallback={viewError(route.view)}>
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
        </Guard>
      </main>
    </div>
  );
}

/** What a view that threw while drawing shows instead of going blank. */
function viewError(view: string) {
  return (message: string, retry: () => void) => (
    <section class="pane grow">
      <div class="banner bad" role="alert" data-testid="view-error">
        The {view} view could not be drawn: {message}. The stream goes on; other views still work.{" "}
        <button type="button" onClick={retry}>
          Try again
        </button>
      </div>
    </section>
  );
}
