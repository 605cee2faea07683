import { useState } from "preact/hooks";
import type { Credential } from "../lib/link.js";

export interface LoginProps {
  error: string | undefined;
  busy: boolean;
  onSubmit(credential: Credential): void;
}

/** Paste an API key (exchanged at once for a short-lived token) or a token. */
export function Login({ error, busy, onSubmit }: LoginProps) {
  const [value, setValue] = useState("");
  const [kind, setKind] = useState<Credential["kind"]>("key");
  return (
    <main class="login">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (value.trim()) onSubmit({ kind, value: value.trim() });
        }}
      >
        <h1>
          <span class="logo">◉</span> Chorus
        </h1>
        <p>The live console of this hub. Paste an API key or a token to begin.</p>
        <div class="kinds">
          <label>
            <input type="radio" checked={kind === "key"} onChange={() => setKind("key")} /> API key
          </label>
          <label>
            <input type="radio" checked={kind === "token"} onChange={() => setKind("token")} />{" "}
            token
          </label>
        </div>
        <input
          type="password"
          autoComplete="off"
          aria-label="credential"
          placeholder={kind === "key" ? "dev_…" : "token"}
          value={value}
          onInput={(e) => setValue(e.currentTarget.value)}
        />
        <button type="submit" disabled={busy}>
          {busy ? "Signing in…" : "Open console"}
        </button>
        {error && <p class="bad">{error}</p>}
        <small>
          A key is traded for a token that lives 15 minutes and only in this tab's memory. Links of
          the form <code>/#key=…&amp;channel=…</code>, as <code>chorus hub</code> prints, sign in
          directly.
        </small>
      </form>
    </main>
  );
}
