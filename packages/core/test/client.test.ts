import type { Hub } from "@chorus/hub";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  AuthenticationError,
  ConflictError,
  ConnectionError,
  InvalidTransitionError,
  NotFoundError,
  PayloadTooLargeError,
  ValidationError,
  withTrace,
} from "../src/index.js";
import {
  client,
  closeAll,
  fakeHub,
  KEY_B,
  recordingLogger,
  refusedPort,
  startHub,
  storedEvents,
  waitFor,
} from "./helpers.js";

let hub: Hub;
beforeAll(async () => {
  hub = await startHub();
});
afterAll(async () => {
  await hub.close();
});
afterEach(closeAll);

describe("emit and delivery", () => {
  it("keeps canonical fields that look like secrets and redacts real ones", async () => {
    const chorus = client({ url: hub.url, channel: "capture" });
    chorus.emit({ type: "llm.token", payload: { token: "Hel", index: 0 } });
    chorus.emit({
      type: "llm.end",
      payload: { timeToFirstTokenMs: 120, usage: { inputTokens: 3 } },
    });
    chorus.emit({
      type: "tool.start",
      payload: { name: "gh", arguments: { token: "ghp_secret" } },
    });
    expect(await chorus.flush(5000)).toBe(true);
    const stored = await storedEvents(hub, { channel: "capture" });
    expect(stored.map((e) => e.payload)).toEqual([
      { token: "Hel", index: 0 },
      { timeToFirstTokenMs: 120, usage: { inputTokens: 3 } },
      { name: "gh", arguments: { token: "[REDACTED]" } },
    ]);
  });

  it("sends what an event was at emit(), whatever the caller changes afterwards", async () => {
    const chorus = client({ url: hub.url, channel: "snapshot" });
    const args = { q: "before", tags: ["a"] };
    const payload: Record<string, unknown> = { name: "search", arguments: args };
    const metadata: Record<string, unknown> = { framework: "test" };
    chorus.emit({ type: "tool.start", payload, metadata });
    args.q = "after";
    args.tags.push("b");
    payload.extra = "after";
    metadata.framework = "after";
    expect(await chorus.flush(5000)).toBe(true);
    const [stored] = await storedEvents(hub, { channel: "snapshot" });
    expect(stored?.payload).toEqual({ name: "search", arguments: { q: "before", tags: ["a"] } });
    expect((stored as { metadata?: unknown } | undefined)?.metadata).toEqual({ framework: "test" });
  });

  it("delivers an event over the size limit without its largest fields, and says which", async () => {
    const chorus = client({ url: hub.url, channel: "oversize" });
    // Capture bounds each string (4 KiB) and level (1,000 entries); a thousand rows still pass
    // 256 KiB. Refusing the event would leave the tool's span open for ever.
    const rows = Array.from({ length: 1000 }, (_, i) =>
      Object.fromEntries(
        Array.from({ length: 10 }, (_, j) => [`col${j}`, `${i}/${j}`.padEnd(50, "x")]),
      ),
    );
    const payload = { name: "sql", callId: "c1", result: rows, latencyMs: 5 };
    const id = chorus.emit({ type: "tool.end", payload, metadata: { framework: "test" } });
    expect(id).toEqual(expect.any(String));
    // Metadata too big on its own: its largest field goes, the payload stays.
    chorus.emit({
      type: "custom",
      payload: { note: "x".repeat(2000) },
      metadata: { small: 1, huge: rows },
    });
    expect(await chorus.flush(5000)).toBe(true);
    expect(chorus.stats().invalid).toBe(0);
    const [tool, custom] = (await storedEvents(hub, { channel: "oversize" })) as {
      id: string;
      payload: Record<string, unknown>;
      metadata?: { oversize?: { bytes: number } };
    }[];
    expect(tool?.id).toBe(id);
    expect(tool?.payload).toEqual({ name: "sql", callId: "c1", latencyMs: 5 });
    expect(tool?.metadata).toEqual({
      framework: "test",
      oversize: { bytes: expect.any(Number), dropped: ["payload.result"] },
    });
    expect(tool?.metadata?.oversize?.bytes).toBeGreaterThan(256 * 1024);
    expect(custom?.payload).toEqual({ note: "x".repeat(2000) });
    expect(custom?.metadata).toEqual({
      small: 1,
      oversize: { bytes: expect.any(Number), dropped: ["metadata.huge"] },
    });
    // The caller's objects are left as they were.
    expect(payload.result).toBe(rows);
  });

  it("events.publish() still refuses an event over the size limit (it can tell the caller)", async () => {
    const chorus = client({ url: hub.url, channel: "oversize-publish" });
    await expect(
      chorus.events.publish({
        type: "custom",
        payload: { rows: Array(1000).fill("y".repeat(300)) },
      }),
    ).rejects.toThrow(PayloadTooLargeError);
  });

  it("takes the API URL the hub prints (…/v1) as its base URL", async () => {
    const chorus = client({ url: `${hub.url}/v1/`, channel: "v1-url" });
    expect(chorus.options.url).toBe(hub.url);
    chorus.emit({ type: "custom", payload: { n: 1 } });
    expect(await chorus.flush(5000)).toBe(true);
    expect(chorus.errors).toEqual([]);
    expect((await storedEvents(hub, { channel: "v1-url" })).map((e) => e.payload)).toEqual([
      { n: 1 },
    ]);
  });

  it("says loudly when the URL answers 404 (not the hub's base URL), without throwing", async () => {
    const logger = recordingLogger();
    const chorus = client({ url: `${hub.url}/elsewhere`, channel: "lost", logger });
    chorus.emit({ type: "custom" });
    expect(await chorus.flush(5000)).toBe(true); // drained: refused events are not retried
    const warning = logger.lines.find((l) => l.level === "warn");
    expect(warning?.message).toMatch(/answered 404.*is .*elsewhere.* the hub's base URL/);
  });

  it("delivers emitted events in order, stamped with id, time, defaults and trace context", async () => {
    const chorus = client({
      url: hub.url,
      channel: "research",
      app: "demo",
      agent: "researcher",
      env: "test",
    });
    const ids: (string | undefined)[] = [];
    await withTrace(async () => {
      for (let i = 0; i < 250; i++) ids.push(chorus.emit({ type: "custom", payload: { i } }));
      await withTrace(() => ids.push(chorus.emit({ type: "tool.start", agent: "tooler" })));
    });
    expect(await chorus.flush(5000)).toBe(true);

    const stored = await storedEvents(hub, { channel: "research" });
    expect(stored.map((e) => e.id)).toEqual(ids);
    expect(stored.slice(0, 250).map((e) => e.payload.i)).toEqual([...Array(250).keys()]);
    const [first] = stored as Record<string, unknown>[];
    expect(first).toMatchObject({
      channel: "research",
      app: "demo",
      agent: "researcher",
      env: "test",
    });
    expect(first?.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7/);
    expect(first?.traceId).toMatch(/^[0-9a-f]{32}$/);
    const child = stored[250] as Record<string, unknown>;
    expect(child.traceId).toBe(first?.traceId);
    expect(child.parentSpanId).toBe(first?.spanId);
    expect(child.agent).toBe("tooler");
    expect(chorus.stats()).toMatchObject({
      queued: 0,
      sent: 251,
      dropped: 0,
      failed: 0,
      invalid: 0,
      circuit: "closed",
    });
  });

  it("counts a batch in flight in both queued and queuedBytes", async () => {
    let answer!: () => void;
    const fake = await fakeHub((_req, res) => {
      answer = () => res.writeHead(202).end('{"accepted":3,"duplicates":0,"ids":[]}');
    });
    try {
      const chorus = client({ url: fake.url });
      for (const text of ["a", "é", "日本"])
        chorus.emit({ type: "agent.message", payload: { text } });
      const queued = chorus.stats();
      void chorus.flush(5000);
      await waitFor(() => fake.requests.length === 1);
      // The batch body is {"events":[e1,e2,e3]}: the events' own bytes are the rest.
      const body = Buffer.byteLength(fake.requests[0]?.body ?? "");
      const eventBytes = body - '{"events":[]}'.length - 2;
      expect(queued).toMatchObject({ queued: 3, queuedBytes: eventBytes });
      expect(chorus.stats()).toMatchObject({ queued: 3, queuedBytes: eventBytes });
      answer();
      expect(await chorus.flush(5000)).toBe(true);
      expect(chorus.stats()).toMatchObject({ queued: 0, queuedBytes: 0, sent: 3 });
    } finally {
      await fake.close();
    }
  });

  it("counts events once when a drain gives up on a refusing hub (not once queued and once in flight)", async () => {
    const port = await refusedPort();
    const chorus = client({ url: `http://127.0.0.1:${port}` });
    for (let i = 0; i < 20; i++) chorus.emit({ type: "custom", payload: { i } });
    const queuedBytes = chorus.stats().queuedBytes;
    expect(await chorus.drain(2000)).toBe(false); // resolved by the refusal, not the timeout
    expect(chorus.stats()).toMatchObject({ queued: 20, queuedBytes });
  });

  it("never throws from emit: invalid events are counted and reported, valid ones still go", async () => {
    const chorus = client({ url: hub.url });
    const circular: Record<string, unknown> = { a: 1 };
    circular.self = circular;
    const getterBomb = Object.defineProperty({}, "boom", {
      enumerable: true,
      get() {
        throw new Error("getter exploded");
      },
    });
    expect(chorus.emit({ type: "bad type with spaces" })).toBeUndefined();
    expect(chorus.emit({ type: "custom", channel: "a\nb" })).toBeUndefined();
    expect(chorus.emit(null as never)).toBeUndefined();
    expect(chorus.emit({ type: "custom", extra: 1 } as never)).toBeUndefined();
    const ok = chorus.emit({ type: "custom", payload: { circular, getterBomb, big: 10n ** 30n } });
    expect(ok).toBeDefined();
    await chorus.flush();
    expect(chorus.stats()).toMatchObject({ invalid: 4, sent: 1 });
    const channelError = chorus.errors.find(
      (e) => (e.error as ValidationError).field === "channel",
    );
    expect(channelError?.error).toBeInstanceOf(ValidationError);
    const [stored] = (await storedEvents(hub)).filter((e) => e.id === ok);
    expect(stored?.payload).toEqual({
      circular: { a: 1, self: "[Circular]" },
      getterBomb: { boom: "[Unserializable: getter exploded]" },
      big: "1000000000000000000000000000000",
    });
  });

  it("keeps two clients with different keys apart", async () => {
    const a = client({ url: hub.url, channel: "shared" });
    const b = client({ url: hub.url, channel: "shared", apiKey: KEY_B });
    for (let i = 0; i < 20; i++) {
      a.emit({ type: "custom", payload: { from: "a", i } });
      b.emit({ type: "custom", payload: { from: "b", i } });
    }
    await Promise.all([a.flush(), b.flush()]);
    const seenByA = await storedEvents(hub, { channel: "shared" });
    const seenByB = await storedEvents(hub, { channel: "shared" }, KEY_B);
    expect(seenByA.map((e) => e.payload.from)).toEqual(Array(20).fill("a"));
    expect(seenByB.map((e) => e.payload.from)).toEqual(Array(20).fill("b"));
    expect(a.stats().sent).toBe(20);
    expect(b.stats().sent).toBe(20);
  });

  it("counts a batch the hub refuses (401) as failed and reports it, without retrying", async () => {
    const chorus = client({ url: hub.url, apiKey: "key_wrong_0123456789" });
    chorus.emit({ type: "custom" });
    chorus.emit({ type: "custom" });
    await chorus.flush();
    expect(chorus.stats()).toMatchObject({ failed: 2, sent: 0, retried: 0, queued: 0 });
    expect(chorus.errors[0]?.error).toBeInstanceOf(AuthenticationError);
  });
});

describe("awaitable calls", () => {
  it("events.publish validates strictly and names the field", async () => {
    const chorus = client({ url: hub.url });
    await expect(
      chorus.events.publish({ type: "custom", channel: "bad\u0000channel" }),
    ).rejects.toMatchObject({
      name: "ValidationError",
      field: "channel",
    });
    await expect(
      chorus.events.publish([{ type: "ok" }, { type: "no spaces allowed" }]),
    ).rejects.toMatchObject({
      field: "events.1.type",
    });
    const result = await chorus.events.publish({ type: "custom", id: "fixed-id-1" });
    expect(result).toEqual({ accepted: 1, duplicates: 0, ids: ["fixed-id-1"] });
    const again = await chorus.events.publish({ type: "custom", id: "fixed-id-1" });
    expect(again).toMatchObject({ accepted: 0, duplicates: 1 });
    const page = await chorus.events.list({ channel: "default", limit: 10 });
    expect(page.data.some((e) => e.id === "fixed-id-1")).toBe(true);
    await expect(chorus.events.list({ limit: 0 })).rejects.toMatchObject({ field: "limit" });
  });

  it("intents: create, patch with If-Match, typed errors for caller mistakes", async () => {
    const chorus = client({ url: hub.url });
    await expect(chorus.intents.create({ title: "" })).rejects.toMatchObject({
      name: "ValidationError",
      field: "title",
    });
    const intent = await chorus.intents.create({ title: "Research X", state: { stage: "new" } });
    expect(intent).toMatchObject({
      title: "Research X",
      status: "active",
      version: 1,
      state: { stage: "new" },
    });
    const id = intent?.id as string;

    const patched = await chorus.intents.patchState(
      id,
      { stage: "researching", extra: 1 },
      { ifMatch: 1 },
    );
    expect(patched).toMatchObject({ version: 2, state: { stage: "researching", extra: 1 } });
    const stale = await chorus.intents
      .patchState(id, { stage: "x" }, { ifMatch: 1 })
      .catch((e: unknown) => e);
    expect(stale).toBeInstanceOf(ConflictError);
    expect((stale as ConflictError).currentVersion).toBe(2);

    expect(await chorus.intents.assign(id, "researcher")).toMatchObject({
      assignees: ["researcher"],
    });
    expect(await chorus.intents.unassign(id, "researcher")).toMatchObject({ assignees: [] });
    // A status change conditional on the version: refused at a stale one, applied at the current.
    const staleStatus = await chorus.intents
      .setStatus(id, "completed", { ifMatch: 1 })
      .catch((e: unknown) => e);
    expect(staleStatus).toBeInstanceOf(ConflictError);
    expect((staleStatus as ConflictError).currentVersion).toBe(2);
    await expect(chorus.intents.setStatus(id, "completed", { ifMatch: 0 })).rejects.toMatchObject({
      field: "ifMatch",
    });
    expect(await chorus.intents.setStatus(id, "completed", { ifMatch: 2 })).toMatchObject({
      status: "completed",
      version: 3,
    });
    await expect(chorus.intents.setStatus(id, "active")).rejects.toBeInstanceOf(
      InvalidTransitionError,
    );
    await expect(chorus.intents.get("does-not-exist")).rejects.toBeInstanceOf(NotFoundError);
    await expect(chorus.intents.get("bad id!")).rejects.toMatchObject({ field: "id" });

    const comment = await chorus.intents.comment(id, "looks good", { agent: "reviewer" });
    expect(comment).toMatchObject({
      type: "intent.comment",
      intentId: id,
      payload: { text: "looks good" },
    });
    const log = await chorus.intents.events(id);
    expect(log.data.map((e) => e.type)).toEqual([
      "intent.created",
      "intent.state_changed",
      "intent.assigned",
      "intent.unassigned",
      "intent.status_changed",
      "intent.comment",
    ]);
    const list = await chorus.intents.list({ status: "completed" });
    expect(list.data.map((i) => i.id)).toContain(id);
    expect(await chorus.intents.get(id)).toMatchObject({ id, version: 3 });
  });

  it("an intent write whose answer was lost is retried and made once: create, blind and conditional patch, status", async () => {
    // In front of the hub: the first copy of each write reaches the hub, which applies it, and
    // its answer is cut off (the connection dies); every other request passes.
    const cut = new Set<string>();
    const proxy = await fakeHub(async (req, res, body) => {
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers))
        if (typeof value === "string" && !["host", "connection", "content-length"].includes(name))
          headers[name] = value;
      const answer = await fetch(`${hub.url}${req.url}`, {
        method: req.method,
        headers,
        ...(body ? { body } : {}),
      });
      const text = await answer.text();
      const write = `${req.method} ${req.url}`;
      if (req.method !== "GET" && !cut.has(write)) {
        cut.add(write);
        res.socket?.destroy();
        return;
      }
      res.writeHead(answer.status, Object.fromEntries(answer.headers)).end(text);
    });
    try {
      const chorus = client({ url: proxy.url, failOpen: false });
      const intent = await chorus.intents.create({ title: "answer lost" });
      const id = intent?.id as string;
      expect(intent).toMatchObject({ version: 1 });
      expect(await chorus.intents.patchState(id, { a: 1 })).toMatchObject({ version: 2 });
      cut.clear();
      expect(await chorus.intents.patchState(id, { b: 2 }, { ifMatch: 2 })).toMatchObject({
        version: 3,
        state: { a: 1, b: 2 },
      });
      expect(await chorus.intents.setStatus(id, "completed")).toMatchObject({
        status: "completed",
        version: 4,
      });
      // Each write went out twice and was applied once.
      const sent = proxy.requests.filter((r) => r.method !== "GET").map((r) => r.method);
      expect(sent).toEqual(["POST", "POST", "PATCH", "PATCH", "PATCH", "PATCH", "POST", "POST"]);
      const created = await storedEvents(hub, { channel: "intents", type: "intent.created" });
      expect(
        created.filter((e) => (e.payload.intent as { title: string }).title === "answer lost"),
      ).toHaveLength(1);
      const log = (await storedEvents(hub, { intentId: id })).map((e) => e.type);
      expect(log).toEqual([
        "intent.created",
        "intent.state_changed",
        "intent.state_changed",
        "intent.status_changed",
      ]);
    } finally {
      await proxy.close();
    }
  });

  it("a write resent by the caller under its own idempotencyKey is answered, not applied twice", async () => {
    const chorus = client({ url: hub.url, failOpen: false });
    const intent = await chorus.intents.create({ title: "keyed by the caller" });
    const id = intent?.id as string;
    const key = `write-${id}`;
    // Sent, then sent again (after an outage, from another process) as the same write.
    for (let i = 0; i < 2; i++) {
      expect(
        await chorus.intents.patchState(id, { n: 1 }, { ifMatch: 1, idempotencyKey: key }),
      ).toMatchObject({ version: 2, state: { n: 1 } });
    }
    const statusKey = `status-${id}`;
    for (let i = 0; i < 2; i++) {
      expect(
        await chorus.intents.setStatus(id, "completed", { idempotencyKey: statusKey }),
      ).toMatchObject({ version: 3, status: "completed" });
    }
    await expect(
      chorus.intents.patchState(id, { n: 2 }, { idempotencyKey: "not a key" }),
    ).rejects.toMatchObject({ field: "idempotencyKey" });
    const log = (await storedEvents(hub, { intentId: id })).map((e) => e.type);
    expect(log).toEqual(["intent.created", "intent.state_changed", "intent.status_changed"]);
  });

  it("the same idempotencyKey with another patch is a ValidationError, not a silent replay", async () => {
    const chorus = client({ url: hub.url, failOpen: false });
    const intent = await chorus.intents.create({ title: "one key per write" });
    const id = intent?.id as string;
    const key = `progress-${id}`;
    await chorus.intents.patchState(id, { step: 1 }, { idempotencyKey: key });
    await expect(
      chorus.intents.patchState(id, { step: 2 }, { idempotencyKey: key }),
    ).rejects.toBeInstanceOf(ValidationError);
    expect(await chorus.intents.get(id)).toMatchObject({ version: 2, state: { step: 1 } });
  });

  it("records who made an intent write: explicit actor, else the trace's agent, else the client's", async () => {
    const chorus = client({ url: hub.url, agent: "default-agent" });
    const intent = await chorus.intents.create({ title: "who did it" });
    const id = intent?.id as string;
    await withTrace(() => chorus.intents.patchState(id, { a: 1 }), { agent: "planner" });
    await chorus.intents.assign(id, "worker", { actor: "boss" });
    await chorus.intents.comment(id, "done");
    await expect(chorus.intents.assign(id, "w", { actor: "bad\nactor" })).rejects.toMatchObject({
      field: "actor",
    });
    const log = await chorus.intents.events(id);
    expect(log.data.map((e) => [e.type, e.agent])).toEqual([
      ["intent.created", "default-agent"],
      ["intent.state_changed", "planner"],
      ["intent.assigned", "boss"],
      ["intent.comment", "default-agent"],
    ]);
  });

  it("records an actor whose name is not ASCII as it is named", async () => {
    // `fetch` refuses header characters past U+00FF: an agent named 研究员 could not write intents.
    const chorus = client({ url: hub.url, agent: "研究员" });
    const intent = await chorus.intents.create({ title: "non-ASCII actors" });
    const id = intent?.id as string;
    await chorus.intents.assign(id, "worker", { actor: "Rédacteur" });
    await chorus.intents.patchState(id, { done: true }, { actor: "Prüfer 🧪" });
    const log = await chorus.intents.events(id);
    expect(log.data.map((e) => [e.type, e.agent])).toEqual([
      ["intent.created", "研究员"],
      ["intent.assigned", "Rédacteur"],
      ["intent.state_changed", "Prüfer 🧪"],
    ]);
    expect(chorus.errors).toEqual([]);
  });

  it("fails open on availability failures and throws ConnectionError with failOpen: false", async () => {
    const url = `http://127.0.0.1:${await refusedPort()}`;
    const open = client({ url, maxRetries: 1 });
    expect(await open.intents.get("some-id")).toBeUndefined();
    expect(await open.intents.list()).toEqual({ data: [] });
    expect(await open.events.list()).toEqual({ data: [] });
    expect(await open.events.publish({ type: "custom" })).toBeUndefined();
    expect(open.errors.every((e) => e.error instanceof ConnectionError)).toBe(true);
    // a caller error still throws, even when the hub is unreachable
    await expect(open.intents.get("bad id!")).rejects.toBeInstanceOf(ValidationError);

    const closed = client({ url, failOpen: false, maxRetries: 0 });
    const error = await closed.intents.get("some-id").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionError);
    expect((error as ConnectionError).reason).toBe("refused");
  });

  it("chorus.strict throws ConnectionError where the fail-open client answers undefined", async () => {
    const url = `http://127.0.0.1:${await refusedPort()}`;
    const open = client({ url, maxRetries: 0 });
    const strict = open.strict;
    expect(strict.options.failOpen).toBe(false);
    expect(open.options.failOpen).toBe(true);
    expect(open.strict).toBe(strict);
    expect(strict.strict).toBe(strict);
    expect(await open.intents.list()).toEqual({ data: [] });
    const error = await strict.intents.list().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionError);
    await expect(strict.events.list()).rejects.toBeInstanceOf(ConnectionError);
    // one client underneath: the view's events share the queue, and closing one closes both
    strict.emit({ type: "custom" });
    expect(open.stats().queued).toBe(1);
    await open.close(50);
    expect(strict.emit({ type: "custom" })).toBeUndefined();

    const already = client({ url, failOpen: false });
    expect(already.strict).toBe(already);
  });

  it("throws AuthenticationError for a bad key even when failing open", async () => {
    const chorus = client({ url: hub.url, apiKey: "key_wrong_0123456789" });
    await expect(chorus.intents.list()).rejects.toBeInstanceOf(AuthenticationError);
  });

  it("a key no HTTP header can carry (a trailing newline) is an options warning, then the hub's 401, never an outage", async () => {
    const logger = recordingLogger();
    const chorus = client({ url: hub.url, apiKey: `${KEY_B}\n`, logger });
    const warnings = logger.lines.map((l) => l.message);
    expect(warnings.filter((m) => m.startsWith("option ignored"))).toEqual([
      expect.stringMatching(
        /^option ignored: apiKey has a character .*U\+000A at index \d+.*; sending no key$/,
      ),
    ]);
    expect(warnings.join("\n")).not.toContain(KEY_B);
    // Requests go out without a key: the hub answers 401, a caller error under either setting.
    await expect(chorus.events.list({ channel: "t" })).rejects.toBeInstanceOf(AuthenticationError);
    await expect(chorus.strict.intents.get("i1")).rejects.toBeInstanceOf(AuthenticationError);
    for (let i = 0; i < 3; i++) chorus.emit({ type: "custom" });
    expect(await chorus.flush(5000)).toBe(true);
    expect(chorus.stats()).toMatchObject({ failed: 3, retried: 0, circuit: "closed" });
  });
});
