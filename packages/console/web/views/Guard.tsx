import { Component, type ComponentChildren } from "preact";

export interface GuardProps {
  children: ComponentChildren;
  /** What to draw instead once a child threw while rendering; `retry` draws the children again. */
  fallback(message: string, retry: () => void): ComponentChildren;
}

interface GuardState {
  error: string | undefined;
}

/**
 * An error boundary. Events are whatever their publishers sent, and a row, a pane or a view that
 * cannot draw one must not take the page with it: what threw is replaced by a short message in
 * place, while everything around it (the header, the other rows, the streams, which live above
 * every guard) goes on. Give a guard a `key` that changes with what it shows (the event's seq,
 * the view and channel), so that moving on draws afresh.
 */
export class Guard extends Component<GuardProps, GuardState> {
  override state: GuardState = { error: undefined };

  static getDerivedStateFromError(error: unknown): GuardState {
    return { error: describe(error) };
  }

  override componentDidCatch(error: unknown): void {
    console.error("the console could not draw part of the page:", error);
  }

  retry = () => this.setState({ error: undefined });

  override render() {
    return this.state.error === undefined
      ? this.props.children
      : this.props.fallback(this.state.error, this.retry);
  }
}

/** The error's message on one short line, without calling anything the error defines. */
function describe(error: unknown): string {
  const message =
    error instanceof Error && typeof error.message === "string" ? error.message : "unknown error";
  return message.length > 200 ? `${message.slice(0, 199)}…` : message;
}
