/**
 * The dashboard's scaling chart: accuracy against tokens spent per problem (log axis), one
 * line per series, with 95% intervals; Vega-Lite rendered to SVG on the server.
 */
import { parse, View } from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import type { DashboardMetric, DashboardResult } from "./source.js";

export interface ChartPoint {
  series: string;
  budget: number;
  tokens: number;
  accuracy: number;
  low: number;
  high: number;
  problems: number;
}

/** Wilson score interval: sensible at 0% and 100%, unlike the normal approximation. */
function wilson(correct: number, total: number): [number, number] {
  if (total === 0) return [0, 0];
  const z = 1.96;
  const p = correct / total;
  const denominator = 1 + (z * z) / total;
  const centre = (p + (z * z) / (2 * total)) / denominator;
  const spread = (z * Math.sqrt((p * (1 - p)) / total + (z * z) / (4 * total * total))) / denominator;
  return [Math.max(0, centre - spread), Math.min(1, centre + spread)];
}

/** One point per (series, budget): the share of correct results and mean tokens (all kinds). */
export function pointsFromResults(results: readonly DashboardResult[]): ChartPoint[] {
  const groups = new Map<string, DashboardResult[]>();
  for (const r of results) {
    const key = `${r.series}\u0000${r.budget}`;
    const group = groups.get(key) ?? [];
    group.push(r);
    groups.set(key, group);
  }
  return [...groups.values()].map((group) => {
    const correct = group.filter((r) => r.correct).length;
    const tokens =
      group.reduce(
        (sum, r) => sum + r.usage.promptTokens + r.usage.completionTokens + (r.usage.verifierTokens ?? 0),
        0,
      ) / group.length;
    const [low, high] = wilson(correct, group.length);
    return {
      series: group[0]!.series,
      budget: group[0]!.budget,
      tokens,
      accuracy: correct / group.length,
      low,
      high,
      problems: group.length,
    };
  });
}

/** Overall metric rows (no level) as chart points. */
export function pointsFromMetrics(metrics: readonly DashboardMetric[]): ChartPoint[] {
  return metrics
    .filter((m) => m.level === undefined || m.level === null)
    .map((m) => ({
      series: m.series ?? m.strategy,
      budget: m.k,
      tokens: m.meanTotalTokens ?? m.meanTokens,
      accuracy: m.value,
      low: m.ciLow,
      high: m.ciHigh,
      problems: m.problems,
    }));
}

export function chartSpec(points: readonly ChartPoint[], title: string): TopLevelSpec {
  const byTokens = points.length > 0 && points.every((p) => p.tokens > 0);
  const x = {
    field: byTokens ? "tokens" : "budget",
    type: "quantitative" as const,
    scale: { type: "log" as const, nice: false },
    title: byTokens ? "mean tokens per problem (log scale)" : "budget (log scale)",
  };
  const color = { field: "series", type: "nominal" as const, title: "method" };
  const y = { type: "quantitative" as const, scale: { domain: [0, 1] }, axis: { format: "%" } };
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title,
    width: 560,
    height: 300,
    data: { values: points.map((p) => ({ ...p })) },
    layer: [
      {
        mark: { type: "area", opacity: 0.15 },
        encoding: { x, y: { ...y, field: "low", title: "accuracy" }, y2: { field: "high" }, color },
      },
      {
        mark: { type: "line", point: true },
        encoding: { x, y: { ...y, field: "accuracy", title: "accuracy" }, color },
      },
    ],
    config: { font: "system-ui, sans-serif", view: { stroke: "#ddd" } },
  } as TopLevelSpec;
}

export async function renderChart(points: readonly ChartPoint[], title: string): Promise<string> {
  const view = new View(parse(compile(chartSpec(points, title)).spec), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
