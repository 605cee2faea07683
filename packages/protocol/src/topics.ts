/**
 * MQTT topic codec.
 *
 * A stored event lives at `chorus/{org}/{env}/{channel}/{app}/{type}/{agent}`. Each level is
 * percent-encoded for the characters MQTT gives meaning to (`/`, `+`, `#`), for `%` itself
 * (so decoding is lossless) and for NUL (illegal in MQTT topics). Dots and unicode pass through
 * unchanged, so `tool.start` stays readable. An absent app or agent is `_`; a literal `_` is
 * encoded as `%5F` so the two never collide.
 */

export const TOPIC_ROOT = "chorus";
/** Clients publish here; the hub validates, stores and republishes under {@link TOPIC_ROOT}. */
export const INGEST_TOPIC_ROOT = "chorus-in";
export const ABSENT_LEVEL = "_";

// biome-ignore lint/suspicious/noControlCharactersInRegex: NUL must be encoded in MQTT topics
const ENCODE = /[%/+#\u0000]/g;
// biome-ignore lint/suspicious/noControlCharactersInRegex: NUL must be encoded in MQTT topics
const NEEDS_ENCODING = /[%/+#\u0000]/;

export function encodeTopicLevel(value: string | undefined | null): string {
  if (value === undefined || value === null || value === "") return ABSENT_LEVEL;
  if (value === ABSENT_LEVEL) return "%5F";
  if (!NEEDS_ENCODING.test(value)) return value;
  return value.replace(
    ENCODE,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0")}`,
  );
}

/** Inverse of {@link encodeTopicLevel}; `_` decodes to `undefined`. */
export function decodeTopicLevel(level: string): string | undefined {
  if (level === ABSENT_LEVEL) return undefined;
  return level.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) =>
    String.fromCharCode(Number.parseInt(hex, 16)),
  );
}

export interface TopicFields {
  env?: string;
  channel?: string;
  app?: string;
  type?: string;
  agent?: string;
}

export interface EventTopicFields {
  env?: string;
  channel: string;
  app?: string;
  type: string;
  agent?: string;
}

export const DEFAULT_ENV = "default";

const FIELD_ORDER = ["env", "channel", "app", "type", "agent"] as const;

/** The canonical topic of a stored event. */
export function eventTopic(org: string, event: EventTopicFields, root = TOPIC_ROOT): string {
  return [
    root,
    encodeTopicLevel(org),
    encodeTopicLevel(event.env ?? DEFAULT_ENV),
    encodeTopicLevel(event.channel),
    encodeTopicLevel(event.app),
    encodeTopicLevel(event.type),
    encodeTopicLevel(event.agent),
  ].join("/");
}

/**
 * A subscription filter: each field given is matched exactly, each field left out is `+`.
 * `env` left out matches every env.
 */
export function subscriptionFilter(
  org: string,
  fields: TopicFields = {},
  root = TOPIC_ROOT,
): string {
  const levels = FIELD_ORDER.map((f) => {
    const v = fields[f];
    return v === undefined ? "+" : encodeTopicLevel(v);
  });
  return [root, encodeTopicLevel(org), ...levels].join("/");
}

/** Parse a canonical (or ingest) topic. Returns `undefined` when it does not have the shape. */
export function parseEventTopic(
  topic: string,
): ({ root: string; org: string } & TopicFields) | undefined {
  const parts = topic.split("/");
  if (parts.length !== 7) return undefined;
  const [root, org, env, channel, app, type, agent] = parts as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  const decodedOrg = decodeTopicLevel(org);
  if (decodedOrg === undefined) return undefined;
  const out: { root: string; org: string } & TopicFields = { root, org: decodedOrg };
  const values = { env, channel, app, type, agent };
  for (const f of FIELD_ORDER) {
    const v = decodeTopicLevel(values[f]);
    if (v !== undefined) out[f] = v;
  }
  return out;
}

/** MQTT 3.1.1 topic matching with `+` (one level) and `#` (this level and all below). */
export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split("/");
  const t = topic.split("/");
  for (let i = 0; i < f.length; i++) {
    const level = f[i];
    if (level === "#") return i === f.length - 1;
    if (i >= t.length) return false;
    if (level !== "+" && level !== t[i]) return false;
  }
  return f.length === t.length;
}

/** The org a topic (or filter) belongs to, or `undefined` when it is not under a Chorus root. */
export function topicOrg(topic: string): { root: string; org: string } | undefined {
  const [root, org] = topic.split("/");
  if (root === undefined || org === undefined) return undefined;
  if (root !== TOPIC_ROOT && root !== INGEST_TOPIC_ROOT) return undefined;
  if (org === "+" || org === "#" || org === "") return undefined;
  const decoded = decodeTopicLevel(org);
  return decoded === undefined ? undefined : { root, org: decoded };
}
