/** The research team's "library": a few notes the researcher's search tool can find. */
const NOTES = [
  {
    id: "note-blackboard",
    title: "Blackboard systems",
    text: "Agents coordinate through a shared, versioned workspace: each reads the current state and writes its contribution; optimistic concurrency (If-Match on a version) resolves races without a central scheduler.",
  },
  {
    id: "note-events",
    title: "Event-driven coordination",
    text: "Publishing every state change as an event lets agents react as changes happen; a resumable stream (SSE with Last-Event-ID) means an agent that reconnects misses nothing and repeats nothing.",
  },
  {
    id: "note-handoffs",
    title: "Hand-offs",
    text: "A triage agent routes work to a specialist; the hand-off is itself an event, so the trace shows who handled what and why.",
  },
  {
    id: "note-observability",
    title: "Observability",
    text: "Linking every LLM and tool call to the trace and to the shared task lets a person replay a multi-agent run and see tokens, latency and failures per agent.",
  },
];

export interface Note {
  id: string;
  title: string;
  text: string;
}

/** Notes ranked by how many words of the query they contain (deterministic, offline). */
export function searchNotes(query: string, limit = 2): Note[] {
  const words = query
    .toLowerCase()
    .split(/\W+/)
    .filter((w) => w.length > 3);
  return NOTES.map((note) => ({
    note,
    score: words.filter((w) => `${note.title} ${note.text}`.toLowerCase().includes(w)).length,
  }))
    .sort((a, b) => b.score - a.score)
    .slice(0, limit)
    .map((r) => r.note);
}
