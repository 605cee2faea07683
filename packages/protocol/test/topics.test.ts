import { describe, expect, it } from "vitest";
import {
  decodeTopicLevel,
  encodeTopicLevel,
  eventTopic,
  parseEventTopic,
  subscriptionFilter,
  topicMatches,
  topicOrg,
} from "../src/index.js";

describe("topic codec", () => {
  it.each([
    "tool.start",
    "a/b",
    "plus+sign",
    "hash#tag",
    "100%",
    "%2F literally",
    "nul\u0000byte",
    "日本語 🎶",
    "_",
    "__",
    "x_y",
  ])("round-trips %j losslessly", (value) => {
    const level = encodeTopicLevel(value);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: NUL must never reach a topic
    expect(level).not.toMatch(/[/+#\u0000]/);
    expect(decodeTopicLevel(level)).toBe(value);
  });

  it("keeps dots and unicode readable", () => {
    expect(encodeTopicLevel("tool.start")).toBe("tool.start");
    expect(encodeTopicLevel("日本")).toBe("日本");
  });

  it("writes absent levels as _ and a literal _ distinctly", () => {
    expect(encodeTopicLevel(undefined)).toBe("_");
    expect(encodeTopicLevel("_")).toBe("%5F");
    expect(decodeTopicLevel("_")).toBeUndefined();
  });

  it("builds the canonical topic of an event", () => {
    expect(eventTopic("acme", { channel: "research", type: "tool.start", agent: "r/1" })).toBe(
      "chorus/acme/default/research/_/tool.start/r%2F1",
    );
  });

  it("parses what it encodes", () => {
    const topic = eventTopic("o+g", { env: "prod", channel: "a#b", app: "x", type: "t.1" });
    expect(parseEventTopic(topic)).toEqual({
      root: "chorus",
      org: "o+g",
      env: "prod",
      channel: "a#b",
      app: "x",
      type: "t.1",
    });
    expect(parseEventTopic("chorus/a/b")).toBeUndefined();
  });

  it("puts + where a filter field is left out", () => {
    expect(subscriptionFilter("acme", { channel: "research" })).toBe(
      "chorus/acme/+/research/+/+/+",
    );
    expect(subscriptionFilter("acme", { channel: "a/b", type: "llm.end" })).toBe(
      "chorus/acme/+/a%2Fb/+/llm.end/+",
    );
  });

  it("matches topics against filters like an MQTT broker", () => {
    const topic = eventTopic("acme", { channel: "research", type: "tool.start", agent: "r" });
    expect(topicMatches(subscriptionFilter("acme", { channel: "research" }), topic)).toBe(true);
    expect(topicMatches(subscriptionFilter("acme", { channel: "other" }), topic)).toBe(false);
    expect(topicMatches("chorus/acme/#", topic)).toBe(true);
    expect(topicMatches("chorus/#", topic)).toBe(true);
    expect(topicMatches("chorus/acme/+", topic)).toBe(false);
    expect(topicMatches("chorus/other/#", topic)).toBe(false);
    // A channel that contains an encoded slash never matches a filter for its prefix.
    const injected = eventTopic("acme", { channel: "research/+", type: "x" });
    expect(topicMatches(subscriptionFilter("acme", { channel: "research" }), injected)).toBe(false);
  });

  it("reads the org of a topic and refuses wildcards there", () => {
    expect(topicOrg("chorus/acme/#")).toEqual({ root: "chorus", org: "acme" });
    expect(topicOrg("chorus-in/acme/x")).toEqual({ root: "chorus-in", org: "acme" });
    expect(topicOrg("chorus/+/#")).toBeUndefined();
    expect(topicOrg("#")).toBeUndefined();
    expect(topicOrg("other/acme")).toBeUndefined();
  });
});
