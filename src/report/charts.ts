/**
 * Scaling charts: accuracy (with confidence bands) against the tokens really spent per problem,
 * one line per strategy series and the pass@k oracle as a dashed ceiling, compiled from
 * Vega-Lite and rendered to SVG by Vega on the server (no browser, no canvas).
 */
import type { TopLevelSpec } from "vega-lite";
import type { MetricRecord } from "../store/sqlite.js";

/** Which tokens the x axis counts: generated only, or everything (prompt, generated, verifier). */
export type TokenAxis = "generated" | "total";

/** Options of the accuracy chart. */
export interface AccuracyChartOptions {
  title?: string;
  width?: number;
  height?: number;
  tokens?: TokenAxis;
}

interface ChartPoint {
  series: string;
  config: string;
  /** Mean tokens per problem on the chart's axis, and the problems behind the point: its tooltip. */
  tokens: number;
  problems: number;
  /** What hovering the point says: configuration, accuracy with its interval, tokens, problems. */
  label: string;
  x: number;
  accuracy: number;
  low: number;
  high: number;
}

const palette = [
  "#1f77b4",
  "#d62728",
  "#2ca02c",
  "#9467bd",
  "#ff7f0e",
  "#8c564b",
  "#e377c2",
  "#17becf",
  "#bcbd22",
];
const passAtKColour = "#555555";

/** How the pass@k line is named in charts and tables (its metric rows are stored as "oracle"). */
export const passAtKLabel = "pass@k";

/** The rows a chart draws: real accuracy of each configuration, and pass@k. */
export const chartRows = (rows: readonly MetricRecord[]) =>
  rows.filter((r) => r.metric === "accuracy" || r.strategy === "oracle");

/**
 * The Vega-Lite spec of an accuracy-vs-compute chart for `rows` (one level, or overall). The x
 * axis is mean tokens per problem on a log scale; when token counts are missing (all zero) it
 * falls back to the swept budget.
 */
export function accuracyChartSpec(
  rows: readonly MetricRecord[],
  options: AccuracyChartOptions = {},
): TopLevelSpec {
  const drawn = chartRows(rows);
  const tokensOf = (r: MetricRecord) =>
    options.tokens === "total" ? (r.meanTotalTokens ?? r.meanTokens) : r.meanTokens;
  const byTokens = drawn.length > 0 && drawn.every((r) => tokensOf(r) > 0);
  const points: ChartPoint[] = drawn.map((r) => ({
    series: r.strategy === "oracle" ? passAtKLabel : (r.series ?? r.strategy),
    config: r.strategy === "oracle" ? `pass@${r.k}` : r.strategy,
    tokens: Math.round(tokensOf(r)),
    problems: r.problems,
    label: `${r.strategy === "oracle" ? `pass@${r.k}` : r.strategy}: ${(100 * r.value).toFixed(1)}% [${(100 * r.ciLow).toFixed(1)}, ${(100 * r.ciHigh).toFixed(1)}], ${Math.round(tokensOf(r)).toLocaleString("en-US")} tokens per problem, ${r.problems} problems`,
    x: byTokens ? tokensOf(r) : r.k,
    accuracy: r.value,
    low: r.ciLow,
    high: r.ciHigh,
  }));
  // Only the series that ran get a colour and a legend entry; pass@k comes last, in grey.
  const series = [...new Set(points.map((p) => p.series))].sort(
    (a, b) => Number(a === passAtKLabel) - Number(b === passAtKLabel),
  );
  const range = series.map((name, i) =>
    name === passAtKLabel ? passAtKColour : palette[i % palette.length]!,
  );
  const x = {
    field: "x",
    type: "quantitative" as const,
    scale: { type: "log" as const, nice: false },
    title: byTokens
      ? `mean ${options.tokens === "total" ? "total (prompt + generated + verifier)" : "generated"} tokens per problem (log scale)`
      : "budget (log scale)",
    axis: { values: logTicks(points.map((p) => p.x)), labelOverlap: "greedy" as const, format: "~s" },
  };
  const color = {
    field: "series",
    type: "nominal" as const,
    title: "strategy",
    scale: { domain: series, range },
    legend:
      series.length === 0
        ? null
        : {
            orient: "bottom" as const,
            direction: "horizontal" as const,
            symbolType: "stroke",
            symbolOpacity: 1,
            symbolStrokeWidth: 3,
          },
  };
  const dash = {
    condition: { test: `datum.series === '${passAtKLabel}'`, value: [6, 4] },
    value: [1, 0],
  };
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: options.title ?? "Accuracy against compute",
    width: options.width ?? 900,
    height: options.height ?? 380,
    background: "white",
    data: { values: points },
    encoding: { x, color },
    layer: [
      {
        mark: { type: "area", opacity: 0.12 },
        transform: [{ filter: `datum.series !== '${passAtKLabel}'` }],
        encoding: {
          y: { field: "low", type: "quantitative" },
          y2: { field: "high" },
        },
      },
      {
        mark: { type: "line", strokeWidth: 2 },
        encoding: {
          order: { field: "x", type: "quantitative" },
          strokeDash: dash,
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
        mark: { type: "point", filled: true, size: 45 },
        encoding: {
          y: { field: "accuracy", type: "quantitative" },
          // Static SVG has no tooltip handler: the description becomes each point's <title>.
          description: { field: "label" },
          tooltip: [
            { field: "config", title: "configuration" },
            { field: "accuracy", format: ".1%" },
            { field: "tokens", title: "tokens per problem", format: ",.0f" },
            { field: "problems" },
          ],
        },
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

/** Renders a Vega-Lite spec to a standalone SVG string; points with a description get it as their <title>. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  // Loaded on the first chart: Vega is a third of every other command's start-up.
  const [{ parse, View }, { compile }] = await Promise.all([import("vega"), import("vega-lite")]);
  const view = new View(parse(compile(spec).spec), { renderer: "none" });
  try {
    return withTitles(await view.toSVG());
  } finally {
    view.finalize();
  }
}

/** A static SVG has no tooltip handler: a browser shows an element's <title> on hover instead. */
function withTitles(svg: string): string {
  return svg.replace(
    /<path aria-label="([^"]*)" role="graphics-symbol" aria-roledescription="point"([^>]*?)\/>/g,
    (_match, label: string, rest: string) =>
      `<path aria-label="${label}" role="graphics-symbol" aria-roledescription="point"${rest}><title>${label}</title></path>`,
  );
}

/** The accuracy-vs-compute chart of `rows` as SVG. */
export function renderAccuracyChart(
  rows: readonly MetricRecord[],
  options: AccuracyChartOptions = {},
): Promise<string> {
  return renderSvg(accuracyChartSpec(rows, options));
}
