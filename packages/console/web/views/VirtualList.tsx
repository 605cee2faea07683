import type { ComponentChildren } from "preact";
import { useLayoutEffect, useRef, useState } from "preact/hooks";

/** Rows drawn beyond the visible window on each side, so a fast scroll shows no blank band. */
const OVERSCAN = 12;

export interface VirtualListProps<T> {
  items: readonly T[];
  rowHeight: number;
  /** Keep the view pinned to the newest row while the reader is at the bottom. */
  follow: boolean;
  renderRow(item: T, index: number): ComponentChildren;
  /** Told whether the reader is at the bottom (following) or has scrolled up. */
  onAtBottom?(atBottom: boolean): void;
}

/**
 * A list that draws only the rows in view (fixed row height), so 10,000 or 100,000 events
 * scroll as smoothly as 100: the DOM holds a few dozen rows whatever the length.
 */
export function VirtualList<T>(props: VirtualListProps<T>) {
  const box = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [height, setHeight] = useState(600);
  const total = props.items.length * props.rowHeight;

  useLayoutEffect(() => {
    const el = box.current;
    if (!el) return;
    const observer = new ResizeObserver(() => setHeight(el.clientHeight));
    observer.observe(el);
    return () => observer.disconnect();
  }, []);

  useLayoutEffect(() => {
    const el = box.current;
    if (el && props.follow) {
      el.scrollTop = el.scrollHeight;
      setScrollTop(el.scrollTop);
    }
  }, [props.items.length, props.follow, total]);

  const first = Math.max(0, Math.floor(scrollTop / props.rowHeight) - OVERSCAN);
  const last = Math.min(
    props.items.length,
    Math.ceil((scrollTop + height) / props.rowHeight) + OVERSCAN,
  );
  const rows: ComponentChildren[] = [];
  for (let i = first; i < last; i++) {
    rows.push(
      <div
        class="vrow"
        key={i}
        style={{ top: `${i * props.rowHeight}px`, height: `${props.rowHeight}px` }}
      >
        {props.renderRow(props.items[i] as T, i)}
      </div>,
    );
  }
  return (
    <div
      class="vlist"
      ref={box}
      onScroll={(e) => {
        const el = e.currentTarget;
        setScrollTop(el.scrollTop);
        props.onAtBottom?.(el.scrollTop + el.clientHeight >= el.scrollHeight - props.rowHeight);
      }}
    >
      <div class="vlist-inner" style={{ height: `${total}px` }}>
        {rows}
      </div>
    </div>
  );
}
