import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import type { UsageSeries } from "../lib/usage.js";

/** Distinct hues that read on the dark background, in series order. */
const PALETTE = [
  "#7aa2f7",
  "#bb9af7",
  "#7dcfff",
  "#9ece6a",
  "#e0af68",
  "#f7768e",
  "#73daca",
  "#ff9e64",
];
const HEIGHT = 240;

export interface ChartProps {
  title: string;
  times: number[];
  series: UsageSeries[];
}

/** A time chart of one or more series as bars per bucket (uPlot: small, canvas, fast). */
export function Chart({ title, times, series }: ChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | undefined>(undefined);
  const shape = series.map((s) => s.label).join("\n");

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const opts: uPlot.Options = {
      width: el.clientWidth || 600,
      height: HEIGHT,
      legend: { show: true },
      cursor: { drag: { x: false, y: false } },
      axes: [
        { stroke: "#9aa4b2", grid: { stroke: "#252b36" }, ticks: { stroke: "#252b36" } },
        { stroke: "#9aa4b2", grid: { stroke: "#252b36" }, ticks: { stroke: "#252b36" } },
      ],
      series: [
        {},
        ...series.map((s, i) => {
          const color = PALETTE[i % PALETTE.length] as string;
          return {
            label: s.label,
            stroke: color,
            fill: `${color}55`,
            width: 1.5,
            paths: uPlot.paths.bars?.({ size: [0.8 / Math.max(1, series.length), 40], align: 1 }),
            points: { show: false },
          };
        }),
      ],
    };
    plot.current = new uPlot(opts, [times, ...series.map((s) => s.values)], el);
    const observer = new ResizeObserver(() =>
      plot.current?.setSize({ width: el.clientWidth, height: HEIGHT }),
    );
    observer.observe(el);
    return () => {
      observer.disconnect();
      plot.current?.destroy();
      plot.current = undefined;
    };
  }, [shape]);

  useEffect(() => {
    plot.current?.setData([times, ...series.map((s) => s.values)]);
  }, [times, series]);

  return (
    <div class="chart">
      <h4>{title}</h4>
      <div ref={box} />
    </div>
  );
}
