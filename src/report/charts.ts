/**
 * Scaling charts: accuracy (with confidence bands) against generated tokens, one line per
 * method, compiled from Vega-Lite and rendered to SVG by Vega on the server (no browser, no
 * canvas).
 */
import { parse, View } from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import type { MetricName, MetricRow } from "../bench/metrics.js";

/** What each metric is called in reports: the method whose accuracy it measures. */
export const methodLabels: Record<MetricName, string> = {
  "maj@k": "self-consistency",
  "rm@k": "best-of-n",
  "wmaj@k": "weighted-majority",
  "pass@k": "pass@k (oracle)",
};

// Fixed colours so a method looks the same in every chart of a report.
const methodOrder: MetricName[] = ["maj@k", "rm@k", "wmaj@k", "pass@k"];
const methodColours = ["#1f77b4", "#d62728", "#2ca02c", "#7f7f7f"];

/** Options of the accuracy chart. */
export interface AccuracyChartOptions {
  title?: string;
  width?: number;
  height?: number;
}

interface ChartPoint {
  method: string;
  k: number;
  x: number;
  accuracy: number;
  low: number;
  high: number;
}

/**
 * The Vega-Lite spec of an accuracy-vs-compute chart for `rows` (one level, or overall). The x
 * axis is mean generated tokens per problem on a log scale; when token counts are missing
 * (all zero) it falls back to samples per problem (k).
 */
export function accuracyChartSpec(
  rows: readonly MetricRow[],
  options: AccuracyChartOptions = {},
): TopLevelSpec {
  const byTokens = rows.length > 0 && rows.every((r) => r.meanTokens > 0);
  const points: ChartPoint[] = rows.map((r) => ({
    method: methodLabels[r.metric],
    k: r.k,
    x: byTokens ? r.meanTokens : r.k,
    accuracy: r.value,
    low: r.ciLow,
    high: r.ciHigh,
  }));
  const x = {
    field: "x",
    type: "quantitative" as const,
    scale: { type: "log" as const, nice: false },
    title: byTokens ? "mean generated tokens per problem (log scale)" : "samples per problem k (log scale)",
    axis: { values: logTicks(points.map((p) => p.x)), labelOverlap: "greedy" as const, format: "~s" },
  };
  const color = {
    field: "method",
    type: "nominal" as const,
    title: "method",
    scale: { domain: methodOrder.map((m) => methodLabels[m]), range: methodColours },
    // Stroke symbols at full opacity: otherwise the legend inherits the faint band colour.
    legend: {
      orient: "bottom" as const,
      direction: "horizontal" as const,
      symbolType: "stroke",
      symbolOpacity: 1,
      symbolStrokeWidth: 3,
    },
  };
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: options.title ?? "Accuracy against compute",
    width: options.width ?? 560,
    height: options.height ?? 320,
    background: "white",
    data: { values: points },
    encoding: { x, color },
    layer: [
      {
        mark: { type: "area", opacity: 0.15 },
        encoding: {
          y: { field: "low", type: "quantitative" },
          y2: { field: "high" },
        },
      },
      {
        mark: { type: "line", strokeWidth: 2 },
        encoding: {
          y: {
            field: "accuracy",
            type: "quantitative",
            title: "accuracy (95% CI band)",
            scale: { domain: [0, 1] },
            axis: { format: ".0%" },
          },
        },
      },
      {
        mark: { type: "point", filled: true, size: 40 },
        encoding: { y: { field: "accuracy", type: "quantitative" } },
      },
    ],
    config: { font: "system-ui, sans-serif", view: { stroke: "#ddd" } },
  } as TopLevelSpec;
}

/** Round tick values (1-2-5 per decade, or 1-9 when that leaves fewer than three) within the data. */
export function logTicks(values: readonly number[]): number[] {
  const positive = values.filter((v) => v > 0);
  if (positive.length === 0) return [];
  const min = Math.min(...positive);
  const max = Math.max(...positive);
  const ticks = (multiples: number[]) => {
    const out: number[] = [];
    for (let e = Math.floor(Math.log10(min)); e <= Math.ceil(Math.log10(max)); e++) {
      for (const m of multiples) {
        const v = m * 10 ** e;
        if (v >= min * 0.999 && v <= max * 1.001) out.push(Number(v.toPrecision(6)));
      }
    }
    return out;
  };
  const coarse = ticks([1, 2, 5]);
  return coarse.length >= 3 ? coarse : ticks([1, 2, 3, 4, 5, 6, 7, 8, 9]);
}

/** Renders a Vega-Lite spec to a standalone SVG string. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new View(parse(compile(spec).spec), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** The accuracy-vs-compute chart of `rows` as SVG. */
export function renderAccuracyChart(
  rows: readonly MetricRow[],
  options: AccuracyChartOptions = {},
): Promise<string> {
  return renderSvg(accuracyChartSpec(rows, options));
}
