/**
 * A self-contained HTML report of a benchmark run: scaling charts (inline SVG), the metric
 * table with confidence intervals, and the run's settings. No scripts, no external URLs: it
 * opens from disk, in CI artefacts and in mail.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { parseOrThrow } from "../core/validate.js";
import type { MetricRecord } from "../store/sqlite.js";
import { chartRows, renderAccuracyChart } from "./charts.js";
import { comparisonSectionHtml, runComparisonSchema } from "./comparison.js";
import { escapeHtml, metricsTableHtml, metricsToCsv, metricsToJson } from "./tables.js";

export { metricsToCsv, metricsToJson } from "./tables.js";

const metricRowSchema = z.object({
  strategy: z.string().min(1),
  series: z.string().min(1).optional(),
  metric: z.string().min(1),
  k: z.number().positive(),
  value: z.number(),
  ciLow: z.number(),
  ciHigh: z.number(),
  meanTokens: z.number().nonnegative(),
  meanTotalTokens: z.number().nonnegative().optional(),
  level: z.number().optional(),
  problems: z.number().int().nonnegative(),
}) satisfies z.ZodType<MetricRecord>;

/** What a report shows; `run` may carry further fields, which are listed too. */
export const reportInputSchema = z.object({
  title: z.string().min(1),
  run: z.looseObject({
    id: z.string().min(1),
    /** A one-line summary of the recipe, or the recipe itself. */
    recipe: z.union([z.string(), z.record(z.string(), z.unknown())]).optional(),
    model: z.string().optional(),
    dataset: z.string().optional(),
    createdAt: z.union([z.string(), z.number(), z.date()]).optional(),
  }),
  metrics: z.array(metricRowSchema),
  /** Paired differences between configurations, shown under the charts. */
  comparisons: z
    .array(
      z.object({
        a: z.string(),
        b: z.string(),
        difference: z.number(),
        ciLow: z.number(),
        ciHigh: z.number(),
        problems: z.number(),
      }),
    )
    .default([]),
  /** This run (B) against another (A), per configuration both ran: `reckon report B --against A`. */
  against: runComparisonSchema.optional(),
});
/** Input of `renderReport`. */
export type ReportInput = z.input<typeof reportInputSchema>;

/** Paths of the files a report consists of. */
export interface ReportFiles {
  html: string;
  /** Against generated tokens; `accuracy-total.svg` beside it counts prompt and verifier tokens too. */
  accuracySvg: string;
  accuracyTotalSvg: string;
  /** `accuracy-level-<n>.svg` per difficulty level, in level order. */
  levelSvgs: string[];
  csv: string;
  json: string;
}

/**
 * Writes `index.html` (charts inlined), `accuracy.svg`, `accuracy-level-<n>.svg` per level,
 * `metrics.csv` and `metrics.json` into `outDir` (created if needed).
 */
export async function renderReport(input: ReportInput, outDir: string): Promise<ReportFiles> {
  const report = parseOrThrow(reportInputSchema, input, "report");
  await mkdir(outDir, { recursive: true });
  const overall = report.metrics.filter((r) => r.level === undefined);
  const levels = [...new Set(report.metrics.flatMap((r) => (r.level === undefined ? [] : [r.level])))].sort(
    (a, b) => a - b,
  );

  const accuracySvg = await renderAccuracyChart(overall, { title: "Accuracy against generated tokens" });
  const accuracyTotalSvg = await renderAccuracyChart(overall, {
    title: "Accuracy against all tokens spent",
    tokens: "total",
  });
  const levelCharts = await Promise.all(
    levels.map(async (level) => ({
      level,
      svg: await renderAccuracyChart(
        report.metrics.filter((r) => r.level === level),
        { title: `Level ${level}`, width: 420, height: 240 },
      ),
    })),
  );

  const files: ReportFiles = {
    html: join(outDir, "index.html"),
    accuracySvg: join(outDir, "accuracy.svg"),
    accuracyTotalSvg: join(outDir, "accuracy-total.svg"),
    levelSvgs: levelCharts.map((c) => join(outDir, `accuracy-level-${c.level}.svg`)),
    csv: join(outDir, "metrics.csv"),
    json: join(outDir, "metrics.json"),
  };
  await writeFile(files.accuracySvg, accuracySvg);
  await writeFile(files.accuracyTotalSvg, accuracyTotalSvg);
  await Promise.all(levelCharts.map((c, i) => writeFile(files.levelSvgs[i]!, c.svg)));
  await writeFile(files.csv, metricsToCsv(report.metrics));
  await writeFile(files.json, metricsToJson(report.metrics));
  await writeFile(files.html, reportHtml(report, accuracySvg, accuracyTotalSvg, levelCharts));
  return files;
}

type Report = z.output<typeof reportInputSchema>;

function reportHtml(
  report: Report,
  accuracySvg: string,
  accuracyTotalSvg: string,
  levelCharts: { level: number; svg: string }[],
): string {
  const levelSection =
    levelCharts.length === 0
      ? ""
      : `<section>
<h2>By difficulty level</h2>
<div class="grid">
${levelCharts.map((c) => `<figure class="chart level-chart" data-level="${c.level}">${c.svg}</figure>`).join("\n")}
</div>
</section>`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(report.title)}</title>
<style>${css}</style>
</head>
<body>
<header>
<h1>${escapeHtml(report.title)}</h1>
${runDetails(report.run)}
</header>
<main>
<section>
<h2>Accuracy against compute</h2>
<p class="lead">${escapeHtml(takeaway(report.metrics))}</p>
<div class="axis-choice">
<input type="radio" name="axis" id="axis-generated" checked><label for="axis-generated">generated tokens</label>
<input type="radio" name="axis" id="axis-total"><label for="axis-total">all tokens (prompt + generated + verifier)</label>
<figure class="chart wide" id="accuracy-chart">${accuracySvg}</figure>
<figure class="chart wide" id="accuracy-total-chart">${accuracyTotalSvg}</figure>
</div>
<p class="note">Each point is one strategy configuration, run on every problem: its accuracy against the
tokens it actually spent per problem; bands are 95% bootstrap intervals over problems. The dashed pass@k
line is the expected coverage of k independent whole-solution draws (unbiased estimator): the ceiling, in
expectation, of methods that draw k and select one. It does not bound search or revision methods, which see
other text: each configuration's own ceiling is its <code>coverage</code> (any candidate it saw was right),
in the table below. Hover a point for its configuration.</p>
${comparisonsHtml(report.comparisons)}
</section>
${comparisonSectionHtml(report.against)}
${levelSection}
<section>
<h2>All metrics</h2>
${metricsTableHtml(report.metrics.filter((r) => r.level === undefined))}
${
  levelCharts.length === 0
    ? ""
    : `<details><summary>Per difficulty level</summary>
${metricsTableHtml(report.metrics.filter((r) => r.level !== undefined))}
</details>`
}
<p class="note">Also as <a href="metrics.csv">metrics.csv</a> and <a href="metrics.json">metrics.json</a>.</p>
</section>
</main>
</body>
</html>
`;
}

function runDetails(run: Report["run"]): string {
  const entries = Object.entries(run).filter(([, v]) => v !== undefined);
  const items = entries.map(([key, value]) => {
    const shown =
      value instanceof Date
        ? value.toISOString()
        : typeof value === "object"
          ? // Folded: a whole recipe would push the charts below the fold.
            `<details><summary>show</summary><pre>${escapeHtml(JSON.stringify(value, null, 2))}</pre></details>`
          : escapeHtml(String(value));
    return `<dt>${escapeHtml(key)}</dt><dd>${shown}</dd>`;
  });
  return `<dl class="run">${items.join("")}</dl>`;
}

/** One sentence: the most accurate configuration (not the oracle) overall, and what it cost. */
function takeaway(rows: readonly MetricRecord[]): string {
  const overall = chartRows(rows).filter((r) => r.level === undefined && r.strategy !== "oracle");
  if (overall.length === 0) return "No strategy was measured.";
  const best = [...overall].sort((a, b) => b.value - a.value || a.meanTokens - b.meanTokens)[0]!;
  const single = overall.find((r) => r.series === "single");
  const from = single && single !== best ? ` (single sample: ${pct(single.value)})` : "";
  return `Most accurate: ${best.strategy} at ${pct(best.value)} [${pct(best.ciLow)}, ${pct(best.ciHigh)}]${from}, spending ${Math.round(best.meanTotalTokens ?? best.meanTokens).toLocaleString("en-US")} tokens per problem.`;
}

function comparisonsHtml(comparisons: Report["comparisons"]): string {
  if (comparisons.length === 0) return "";
  const rows = comparisons
    .map(
      (c) =>
        `<tr><td>${escapeHtml(c.a)} − ${escapeHtml(c.b)}</td><td class="num">${signed(c.difference)}</td><td class="num">${signed(c.ciLow)} – ${signed(c.ciHigh)}</td><td class="num">${c.problems}</td></tr>`,
    )
    .join("\n");
  return `<h3>Paired differences</h3>
<table class="metrics comparisons"><thead><tr><th>comparison</th><th>accuracy difference</th><th>95% CI (paired bootstrap)</th><th>problems</th></tr></thead>
<tbody>
${rows}
</tbody></table>`;
}

const signed = (x: number) => `${x >= 0 ? "+" : ""}${(x * 100).toFixed(1)} pts`;

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

const css = `
:root { color-scheme: light; --ink: #1d2330; --muted: #5b6475; --line: #e3e6ec; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink); background: #f7f8fa; }
header, main { max-width: 1100px; margin: 0 auto; padding: 1.2rem 1.5rem; }
header { border-bottom: 1px solid var(--line); }
h1 { font-size: 1.6rem; margin: 0 0 .6rem; }
h2 { font-size: 1.15rem; margin: 1.6rem 0 .6rem; }
dl.run { display: grid; grid-template-columns: max-content 1fr; gap: .15rem 1rem; margin: 0; color: var(--muted); }
dl.run dt { font-weight: 600; color: var(--ink); }
dl.run dd { margin: 0; }
dl.run pre { margin: 0; font-size: .8rem; white-space: pre-wrap; }
.lead { font-size: 1.05rem; }
.note { color: var(--muted); font-size: .85rem; max-width: 70ch; }
figure.chart { margin: 0; background: white; border: 1px solid var(--line); border-radius: 6px; padding: .5rem; display: inline-block; max-width: 100%; overflow-x: auto; }
figure.chart svg { display: block; max-width: 100%; height: auto; }
figure.chart.wide { display: block; width: 100%; }
.axis-choice > input { margin-left: 0; }
.axis-choice > label { margin-right: 1.2rem; font-size: .9rem; }
#axis-generated:checked ~ #accuracy-total-chart, #axis-total:checked ~ #accuracy-chart { display: none; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(440px, 1fr)); gap: 1rem; }
table.metrics { border-collapse: collapse; background: white; font-size: .85rem; }
table.metrics th, table.metrics td { padding: .25rem .6rem; border-bottom: 1px solid var(--line); text-align: left; }
table.metrics th { background: #eef0f4; position: sticky; top: 0; }
details { margin-top: 1rem; }
summary { cursor: pointer; font-weight: 600; margin-bottom: .5rem; }
table.metrics td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.ok { color: #1a7f37; } td.bad { color: #c62828; }
ul.warnings { color: #8a5300; }
`;
