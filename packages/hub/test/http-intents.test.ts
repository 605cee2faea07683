import type { StateChangedPayload, StatusChangedPayload } from "@chorus/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Hub } from "../src/index.js";
import { api, KEY_A, KEY_B, startTestHub } from "./helpers.js";

describe("intents over HTTP", () => {
  let hub: Hub;
  beforeAll(async () => {
    hub = await startTestHub();
  });
  afterAll(() => hub.close());

  const log = async (id: string) =>
    (await api(hub, `/v1/intents/${id}/events`)).body.data as {
      id: string;
      type: string;
      payload: any;
      seq: number;
    }[];

  it("creates with a generated id, reads it back, and lists with filters", async () => {
    const created = await api(hub, "/v1/intents", {
      body: {
        title: "Research pricing",
        state: { question: "why" },
        assignees: ["researcher"],
        portfolio: "q3",
      },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      id: expect.any(String),
      title: "Research pricing",
      status: "active",
      state: { question: "why" },
      version: 1,
      assignees: ["researcher"],
      portfolio: "q3",
    });
    expect(created.headers.get("etag")).toBe('"1"');
    expect(created.headers.get("location")).toBe(`/v1/intents/${created.body.id}`);

    const read = await api(hub, `/v1/intents/${created.body.id}`);
    expect(read.body).toEqual(created.body);

    const draft = await api(hub, "/v1/intents", {
      body: { id: "draft-1", title: "Later", status: "draft" },
    });
    expect(draft.body).toMatchObject({ id: "draft-1", status: "draft" });

    const ids = async (query: string) =>
      (await api(hub, `/v1/intents${query}`)).body.data.map((i: { id: string }) => i.id);
    expect(await ids("?status=draft")).toEqual(["draft-1"]);
    expect(await ids("?assignee=researcher")).toEqual([created.body.id]);
    expect(await ids("?portfolio=q3")).toEqual([created.body.id]);
    expect(await ids("")).toEqual([created.body.id, "draft-1"]);

    const page1 = await api(hub, "/v1/intents?limit=1");
    expect(page1.body.data).toHaveLength(1);
    const page2 = await api(hub, `/v1/intents?limit=1&after=${page1.body.next}`);
    expect(page2.body.data.map((i: { id: string }) => i.id)).toEqual(["draft-1"]);

    expect((await log(created.body.id)).map((e) => e.type)).toEqual([
      "intent.created",
      "intent.assigned",
    ]);
  });

  it("merge-patches state with If-Match, and the log carries old/new and changed keys", async () => {
    await api(hub, "/v1/intents", {
      body: { id: "patchy", title: "p", state: { a: 1, b: { c: 2, d: 3 }, keep: true } },
    });

    const patched = await api(hub, "/v1/intents/patchy/state", {
      method: "PATCH",
      body: { a: 1, b: { c: null, e: 4 }, z: "new" },
      headers: { "content-type": "application/merge-patch+json", "if-match": "1" },
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({
      version: 2,
      state: { a: 1, b: { d: 3, e: 4 }, keep: true, z: "new" },
    });
    expect(patched.headers.get("etag")).toBe('"2"');

    // Quoted and weak ETags are accepted too.
    const quoted = await api(hub, "/v1/intents/patchy/state", {
      method: "PATCH",
      body: { keep: null },
      headers: { "if-match": '"2"' },
    });
    expect(quoted.body).toMatchObject({ version: 3 });
    const weak = await api(hub, "/v1/intents/patchy/state", {
      method: "PATCH",
      body: { a: 5 },
      headers: { "if-match": 'W/"3"' },
    });
    expect(weak.body.version).toBe(4);

    const stale = await api(hub, "/v1/intents/patchy/state", {
      method: "PATCH",
      body: { a: 6 },
      headers: { "if-match": "3" },
    });
    expect(stale.status).toBe(409);
    expect(stale.body.error).toMatchObject({ code: "conflict", details: { currentVersion: 4 } });

    // Without If-Match the write is unconditional.
    expect(
      (await api(hub, "/v1/intents/patchy/state", { method: "PATCH", body: { a: 7 } })).body
        .version,
    ).toBe(5);

    const changes = (await log("patchy")).filter((e) => e.type === "intent.state_changed");
    const first = changes[0]?.payload as StateChangedPayload;
    expect(first).toEqual({
      version: 2,
      patch: { a: 1, b: { c: null, e: 4 }, z: "new" },
      changedKeys: expect.arrayContaining(["b", "z"]),
      state: { a: 1, b: { d: 3, e: 4 }, keep: true, z: "new" },
    });
    expect(first.changedKeys).not.toContain("a");
    expect(changes.map((e) => e.payload.version)).toEqual([2, 3, 4, 5]);
  });

  it("enforces the status machine and logs each change", async () => {
    await api(hub, "/v1/intents", { body: { id: "lifecycle", title: "l", status: "draft" } });
    const steps: [string, number][] = [
      ["active", 200],
      ["blocked", 200],
      ["completed", 422],
      ["active", 200],
      ["completed", 200],
      ["active", 422],
      ["cancelled", 422],
    ];
    for (const [status, expected] of steps) {
      const res = await api(hub, "/v1/intents/lifecycle/status", {
        body: { status, reason: `to ${status}` },
      });
      expect(res.status, `→ ${status}`).toBe(expected);
    }
    const intent = await api(hub, "/v1/intents/lifecycle");
    expect(intent.body).toMatchObject({ status: "completed", version: 5 });
    const changes = (await log("lifecycle"))
      .filter((e) => e.type === "intent.status_changed")
      .map((e) => e.payload as StatusChangedPayload);
    expect(changes.map((c) => `${c.from}→${c.to}`)).toEqual([
      "draft→active",
      "active→blocked",
      "blocked→active",
      "active→completed",
    ]);
    expect(changes[0]).toMatchObject({ version: 2, reason: "to active" });
  });

  it("assigns and unassigns idempotently", async () => {
    await api(hub, "/v1/intents", { body: { id: "team", title: "t" } });
    const a = await api(hub, "/v1/intents/team/assignees/writer", { method: "POST" });
    expect(a.status).toBe(200);
    expect(a.body.assignees).toEqual(["writer"]);
    // Assigning twice changes nothing and logs nothing.
    await api(hub, "/v1/intents/team/assignees/writer", { method: "POST" });
    const b = await api(hub, "/v1/intents/team/assignees/editor%20in%20chief", { method: "POST" });
    expect([...b.body.assignees].sort()).toEqual(["editor in chief", "writer"]);
    const removed = await api(hub, "/v1/intents/team/assignees/writer", { method: "DELETE" });
    expect(removed.body.assignees).toEqual(["editor in chief"]);
    const types = (await log("team")).map((e) => `${e.type}:${e.payload.agent ?? ""}`);
    expect(types).toEqual([
      "intent.created:",
      "intent.assigned:writer",
      "intent.assigned:editor in chief",
      "intent.unassigned:writer",
    ]);
  });

  it("posts comments and custom intent events, and pages the log", async () => {
    await api(hub, "/v1/intents", { body: { id: "chatty", title: "c" } });
    const comment = await api(hub, "/v1/intents/chatty/events", {
      body: { id: "comment-1", text: "Looks good", agent: "reviewer" },
    });
    expect(comment.status).toBe(201);
    expect(comment.body).toMatchObject({
      id: "comment-1",
      type: "intent.comment",
      channel: "intents",
      intentId: "chatty",
      agent: "reviewer",
      payload: { text: "Looks good" },
      seq: expect.any(Number),
    });
    const retry = await api(hub, "/v1/intents/chatty/events", {
      body: { id: "comment-1", text: "Looks good" },
    });
    expect(retry.status).toBe(200);
    expect(retry.body).toEqual({ id: "comment-1", duplicate: true });

    const custom = await api(hub, "/v1/intents/chatty/events", {
      body: {
        type: "intent.review_requested",
        payload: { from: "writer" },
        metadata: { ui: true },
      },
    });
    expect(custom.status).toBe(201);
    expect(custom.body).toMatchObject({
      type: "intent.review_requested",
      payload: { from: "writer" },
      metadata: { ui: true },
    });

    const all = await log("chatty");
    expect(all.map((e) => e.type)).toEqual([
      "intent.created",
      "intent.comment",
      "intent.review_requested",
    ]);
    const page = await api(hub, "/v1/intents/chatty/events?limit=2");
    expect(page.body.data).toHaveLength(2);
    const rest = await api(hub, `/v1/intents/chatty/events?after=${page.body.next}`);
    expect(rest.body.data.map((e: { type: string }) => e.type)).toEqual([
      "intent.review_requested",
    ]);
    const onlyComments = await api(hub, "/v1/intents/chatty/events?type=intent.comment");
    expect(onlyComments.body.data).toHaveLength(1);

    // The log is also visible through the events API on the intents channel.
    const viaEvents = await api(hub, "/v1/events?channel=intents&intentId=chatty");
    expect(viaEvents.body.data).toHaveLength(3);
  });
  it("status and assignee writes honour If-Match: a stale version is a 409 that changes nothing", async () => {
    const { body } = await api(hub, "/v1/intents", { body: { id: "cond", title: "t" } });
    expect(body.version).toBe(1);
    const status = (ifMatch: string, to = "blocked") =>
      api(hub, "/v1/intents/cond/status", {
        body: { status: to },
        headers: { "if-match": ifMatch },
      });
    const stale = await status("7");
    expect(stale.status).toBe(409);
    expect(stale.body.error).toMatchObject({ code: "conflict", details: { currentVersion: 1 } });
    expect((await status("seven")).status).toBe(400);
    const assign = (method: string, ifMatch: string) =>
      api(hub, "/v1/intents/cond/assignees/writer", { method, headers: { "if-match": ifMatch } });
    expect((await assign("POST", "3")).status).toBe(409);
    expect((await assign("DELETE", "3")).status).toBe(409);
    // Nothing was written by the refused ones.
    const unchanged = await api(hub, "/v1/intents/cond");
    expect(unchanged.body).toMatchObject({ status: "active", version: 1, assignees: [] });
    expect((await log("cond")).map((e) => e.type)).toEqual(["intent.created"]);

    // At the right version each goes through; assignments leave the version where it is.
    expect((await assign("POST", '"1"')).body.assignees).toEqual(["writer"]);
    const blocked = await status("1");
    expect(blocked.status).toBe(200);
    expect(blocked.body).toMatchObject({ status: "blocked", version: 2 });
    // Two writers holding version 2: exactly one moves it.
    const [a, b] = await Promise.all([status("2", "active"), status("2", "cancelled")]);
    expect([a.status, b.status].sort()).toEqual([200, 409]);
  });

  describe("Idempotency-Key: a write sent again is answered, not applied twice", () => {
    const key = () => `key-${Math.random().toString(36).slice(2)}`;
    const patch = (id: string, body: object, headers: Record<string, string>) =>
      api(hub, `/v1/intents/${id}/state`, { method: "PATCH", body, headers });

    it("a conditional patch resent after it applied answers the intent, not its own 409", async () => {
      const { body: intent } = await api(hub, "/v1/intents", { body: { title: "resend" } });
      const headers = { "if-match": "1", "idempotency-key": key() };
      const first = await patch(intent.id, { n: { "+": 1 } }, headers);
      expect(first.status).toBe(200);
      expect(first.headers.get("idempotent-replayed")).toBeNull();
      // The client lost the answer and sends the same write again.
      const again = await patch(intent.id, { n: { "+": 1 } }, headers);
      expect(again.status).toBe(200);
      expect(again.headers.get("idempotent-replayed")).toBe("true");
      expect(again.body).toMatchObject({ version: 2, state: { n: { "+": 1 } } });
      // Without the key the same resend is refused by its own If-Match.
      const unkeyed = await patch(intent.id, { n: 2 }, { "if-match": "1" });
      expect(unkeyed.status).toBe(409);
      const types = (await log(intent.id)).map((e) => e.type);
      expect(types.filter((t) => t === "intent.state_changed")).toHaveLength(1);
    });

    it("a blind patch, a status change and a create are applied once however often they are sent", async () => {
      const createKey = key();
      const creates = await Promise.all(
        [1, 2, 3].map(() =>
          api(hub, "/v1/intents", {
            body: { title: "once", state: { list: [] } },
            headers: { "idempotency-key": createKey },
          }),
        ),
      );
      expect(creates.map((c) => c.status)).toEqual([201, 201, 201]);
      const id = creates[0]?.body.id as string;
      expect(creates.map((c) => c.body.id)).toEqual([id, id, id]);
      expect(creates.filter((c) => c.headers.get("idempotent-replayed") === "true")).toHaveLength(
        2,
      );
      const listed = await api(hub, "/v1/intents?limit=1000");
      expect(listed.body.data.filter((i: { title: string }) => i.title === "once")).toHaveLength(1);

      // A blind patch sent three times at once (a client retrying while the first is in flight).
      const patchKey = key();
      const patches = await Promise.all(
        [1, 2, 3].map(() => patch(id, { step: "two" }, { "idempotency-key": patchKey })),
      );
      expect(patches.map((p) => p.status)).toEqual([200, 200, 200]);
      const statusKey = key();
      for (let i = 0; i < 2; i++) {
        const done = await api(hub, `/v1/intents/${id}/status`, {
          body: { status: "completed" },
          headers: { "idempotency-key": statusKey },
        });
        // The second is a replay: without the key, completed → completed is refused (422).
        expect(done.status).toBe(200);
      }
      const entries = await log(id);
      expect(entries.map((e) => e.type)).toEqual([
        "intent.created",
        "intent.state_changed",
        "intent.status_changed",
      ]);
      expect((await api(hub, `/v1/intents/${id}`)).body.version).toBe(3);
    });

    it("a key used by another write, or not an id, is a 400 that changes nothing", async () => {
      const { body: a } = await api(hub, "/v1/intents", { body: { title: "a" } });
      const { body: b } = await api(hub, "/v1/intents", { body: { title: "b" } });
      const used = key();
      expect((await patch(a.id, { x: 1 }, { "idempotency-key": used })).status).toBe(200);
      for (const reuse of [
        () => patch(b.id, { x: 1 }, { "idempotency-key": used }), // another intent
        () =>
          api(hub, `/v1/intents/${a.id}/status`, {
            body: { status: "blocked" },
            headers: { "idempotency-key": used }, // another kind of write
          }),
      ]) {
        const refused = await reuse();
        expect(refused.status).toBe(400);
        expect(refused.body.error.code).toBe("validation_failed");
        expect(refused.body.error.message).toContain("Idempotency-Key");
      }
      // A published event's id is no key of a write.
      const published = key();
      await api(hub, "/v1/events", { body: { id: published, channel: "c", type: "t" } });
      expect((await patch(a.id, { y: 1 }, { "idempotency-key": published })).status).toBe(400);
      for (const bad of ["", "has space", "x".repeat(129), ".."]) {
        const refused = await patch(a.id, { z: 1 }, { "idempotency-key": bad });
        expect(refused.status, JSON.stringify(bad)).toBe(400);
      }
      const twice = await fetch(`${hub.url}/v1/intents/${a.id}/state`, {
        method: "PATCH",
        headers: [
          ["authorization", `Bearer ${KEY_A}`],
          ["content-type", "application/json"],
          ["idempotency-key", key()],
          ["idempotency-key", key()],
        ],
        body: JSON.stringify({ w: 1 }),
      });
      expect(twice.status).toBe(400);
      expect((await api(hub, `/v1/intents/${a.id}`)).body).toMatchObject({
        version: 2,
        state: { x: 1 },
        status: "active",
      });
      expect((await api(hub, `/v1/intents/${b.id}`)).body.version).toBe(1);
    });

    it("a key reused for a different patch, status or create is a 400, not a replay that drops the write", async () => {
      const { body: intent } = await api(hub, "/v1/intents", { body: { title: "reuse" } });
      // A client that derives its key from the intent ("<id>-progress") instead of the write.
      const progress = `${intent.id}-progress`;
      expect((await patch(intent.id, { step: 1 }, { "idempotency-key": progress })).status).toBe(
        200,
      );
      // The same patch again is a replay, whatever order its keys come in.
      const same = await patch(intent.id, { step: 1 }, { "idempotency-key": progress });
      expect(same.headers.get("idempotent-replayed")).toBe("true");
      const next = await patch(intent.id, { step: 2 }, { "idempotency-key": progress });
      expect(next.status).toBe(400);
      expect(next.body.error.message).toContain("Idempotency-Key");

      const status = (body: object, key: string) =>
        api(hub, `/v1/intents/${intent.id}/status`, { body, headers: { "idempotency-key": key } });
      const statusKey = `${intent.id}-status`;
      expect((await status({ status: "blocked" }, statusKey)).status).toBe(200);
      expect((await status({ status: "active" }, statusKey)).status).toBe(400);
      expect((await status({ status: "blocked", reason: "why" }, statusKey)).status).toBe(400);
      expect((await status({ status: "blocked" }, statusKey)).status).toBe(200); // its replay

      const createKey = key();
      const create = (body: object) =>
        api(hub, "/v1/intents", { body, headers: { "idempotency-key": createKey } });
      const made = await create({ title: "first", state: { a: 1 }, assignees: ["x", "x"] });
      expect(made.status).toBe(201);
      const again = await create({ state: { a: 1 }, assignees: ["x"], title: "first" });
      expect(again.headers.get("idempotent-replayed")).toBe("true");
      for (const other of [
        { title: "second", state: { a: 1 }, assignees: ["x"] },
        { title: "first", state: { a: 2 }, assignees: ["x"] },
        { title: "first", state: { a: 1 } },
        { title: "first", state: { a: 1 }, assignees: ["x"], status: "draft" },
      ]) {
        expect((await create(other)).status, JSON.stringify(other)).toBe(400);
      }
      expect((await api(hub, `/v1/intents/${createKey}`)).body).toMatchObject({
        title: "first",
        version: 1,
      });
      expect((await api(hub, `/v1/intents/${intent.id}`)).body).toMatchObject({
        state: { step: 1 },
        status: "blocked",
        version: 3,
      });
    });

    it("a write refused (409, 422, 413) and sent again under its key after the fix is applied", async () => {
      const { body: intent } = await api(hub, "/v1/intents", { body: { title: "fix" } });
      const k = key();
      expect(
        (await patch(intent.id, { n: 1 }, { "idempotency-key": k, "if-match": "7" })).status,
      ).toBe(409);
      const fixed = await patch(intent.id, { n: 1 }, { "idempotency-key": k, "if-match": "1" });
      expect(fixed.status).toBe(200);
      expect(fixed.headers.get("idempotent-replayed")).toBeNull();
      const big = "x".repeat(300_000);
      const k2 = key();
      expect((await patch(intent.id, { big }, { "idempotency-key": k2 })).status).toBe(413);
      expect((await patch(intent.id, { n: 2 }, { "idempotency-key": k2 })).body.state).toEqual({
        n: 2,
      });
      const k3 = key();
      const status = (s: string) =>
        api(hub, `/v1/intents/${intent.id}/status`, {
          body: { status: s },
          headers: { "idempotency-key": k3 },
        });
      expect((await status("draft")).status).toBe(422);
      expect((await status("blocked")).body).toMatchObject({ status: "blocked", version: 4 });
    });

    it("keys are per org: another org's event or write id is a new key, and a replay there reads nothing of ours", async () => {
      const k = key();
      const { body: ours } = await api(hub, "/v1/intents", {
        body: { title: "ours", state: { secret: 1 } },
        headers: { "idempotency-key": k },
      });
      expect(ours.id).toBe(k);
      // Org B sends the same key, and a patch keyed with the id of org A's log event.
      const theirs = await api(hub, "/v1/intents", {
        key: KEY_B,
        body: { title: "theirs" },
        headers: { "idempotency-key": k },
      });
      expect(theirs.status).toBe(201);
      expect(theirs.headers.get("idempotent-replayed")).toBeNull();
      expect(theirs.body).toMatchObject({ id: k, title: "theirs", state: {} });
      await patch(k, { more: 1 }, {});
      const ourEvent = (await log(k)).at(-1)?.id as string;
      const patched = await api(hub, `/v1/intents/${k}/state`, {
        method: "PATCH",
        key: KEY_B,
        body: { more: 1 },
        headers: { "idempotency-key": ourEvent },
      });
      expect(patched.status).toBe(200);
      expect(patched.headers.get("idempotent-replayed")).toBeNull();
      expect(patched.body.state).toEqual({ more: 1 });
      expect((await api(hub, `/v1/intents/${k}`)).body).toMatchObject({
        title: "ours",
        version: 2,
      });
    });
  });
});
