/**
 * A self-contained HTML report of a benchmark run: scaling charts (inline SVG), the metric
 * table with confidence intervals, and the run's settings. No scripts, no external URLs: it
 * opens from disk, in CI artefacts and in mail.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { type MetricRow, metricNames } from "../bench/metrics.js";
import { parseOrThrow } from "../core/validate.js";
import { methodLabels, renderAccuracyChart } from "./charts.js";
import { escapeHtml, metricsTableHtml, metricsToCsv, metricsToJson } from "./tables.js";

export { metricsToCsv, metricsToJson } from "./tables.js";

const metricRowSchema = z.object({
  metric: z.enum(metricNames),
  k: z.number().int().positive(),
  value: z.number(),
  ciLow: z.number(),
  ciHigh: z.number(),
  meanTokens: z.number().nonnegative(),
  level: z.number().optional(),
  problems: z.number().int().nonnegative(),
});

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
});
/** Input of `renderReport`. */
export type ReportInput = z.input<typeof reportInputSchema>;

/** Paths of the files a report consists of. */
export interface ReportFiles {
  html: string;
  accuracySvg: string;
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

  const accuracySvg = await renderAccuracyChart(overall, { title: "Accuracy against compute" });
  const levelCharts = await Promise.all(
    levels.map(async (level) => ({
      level,
      svg: await renderAccuracyChart(
        report.metrics.filter((r) => r.level === level),
        { title: `Level ${level}`, width: 380, height: 240 },
      ),
    })),
  );

  const files: ReportFiles = {
    html: join(outDir, "index.html"),
    accuracySvg: join(outDir, "accuracy.svg"),
    levelSvgs: levelCharts.map((c) => join(outDir, `accuracy-level-${c.level}.svg`)),
    csv: join(outDir, "metrics.csv"),
    json: join(outDir, "metrics.json"),
  };
  await writeFile(files.accuracySvg, accuracySvg);
  await Promise.all(levelCharts.map((c, i) => writeFile(files.levelSvgs[i]!, c.svg)));
  await writeFile(files.csv, metricsToCsv(report.metrics));
  await writeFile(files.json, metricsToJson(report.metrics));
  await writeFile(files.html, reportHtml(report, accuracySvg, levelCharts));
  return files;
}

type Report = z.output<typeof reportInputSchema>;

function reportHtml(
  report: Report,
  accuracySvg: string,
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
<figure class="chart" id="accuracy-chart">${accuracySvg}</figure>
<p class="note">Each point is one budget k: accuracy is the expectation over random k-subsets of one
pool of samples per problem; bands are 95% bootstrap intervals over problems. pass@k (oracle) counts a
problem solved when any of the k samples is correct: an upper bound for every selection method.</p>
</section>
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

/** One sentence: the best selection method (not the oracle) at the largest budget overall. */
function takeaway(rows: readonly MetricRow[]): string {
  const overall = rows.filter((r) => r.level === undefined && r.metric !== "pass@k");
  if (overall.length === 0) return "No selection method was measured.";
  const largest = Math.max(...overall.map((r) => r.k));
  const best = overall.filter((r) => r.k === largest).sort((a, b) => b.value - a.value)[0]!;
  const single = overall.find((r) => r.k === 1 && r.metric === "maj@k");
  const from = single ? ` (from ${pct(single.value)} with one sample)` : "";
  return `At k=${largest}, ${methodLabels[best.metric]} is most accurate: ${pct(best.value)} [${pct(best.ciLow)}, ${pct(best.ciHigh)}]${from}, at ${Math.round(best.meanTokens).toLocaleString("en-US")} generated tokens per problem.`;
}

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
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(440px, 1fr)); gap: 1rem; }
table.metrics { border-collapse: collapse; background: white; font-size: .85rem; }
table.metrics th, table.metrics td { padding: .25rem .6rem; border-bottom: 1px solid var(--line); text-align: left; }
table.metrics th { background: #eef0f4; position: sticky; top: 0; }
details { margin-top: 1rem; }
summary { cursor: pointer; font-weight: 600; margin-bottom: .5rem; }
table.metrics td.num { text-align: right; font-variant-numeric: tabular-nums; }
`;
