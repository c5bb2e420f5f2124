/** Metric rows as CSV, JSON and an HTML table. */
import type { MetricRecord } from "../store/sqlite.js";

const csvColumns = [
  "config",
  "series",
  "metric",
  "level",
  "k",
  "value",
  "ci_low",
  "ci_high",
  "mean_generated_tokens",
  "mean_total_tokens",
  "problems",
];

function csvField(value: string | number | undefined): string {
  if (value === undefined) return "";
  const text = String(value);
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Metric rows as CSV with a header; `level` is empty for overall rows. */
export function metricsToCsv(rows: readonly MetricRecord[]): string {
  const lines = rows.map((r) =>
    [
      r.strategy,
      r.series,
      r.metric,
      r.level,
      r.k,
      r.value,
      r.ciLow,
      r.ciHigh,
      r.meanTokens,
      r.meanTotalTokens,
      r.problems,
    ]
      .map(csvField)
      .join(","),
  );
  return `${[csvColumns.join(","), ...lines].join("\n")}\n`;
}

/** Metric rows as pretty-printed JSON. */
export function metricsToJson(rows: readonly MetricRecord[]): string {
  return `${JSON.stringify(rows, null, 2)}\n`;
}

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const percent = (x: number) => (Number.isFinite(x) ? `${(x * 100).toFixed(1)}%` : "–");
const count = (x: number | undefined) => (x === undefined ? "–" : Math.round(x).toLocaleString("en-US"));

/** An HTML table of metric rows (in the order given). */
export function metricsTableHtml(rows: readonly MetricRecord[]): string {
  const body = rows
    .map(
      (r) =>
        `<tr><td>${r.level ?? "all"}</td><td>${escapeHtml(r.strategy === "oracle" ? "whole-solution draws" : r.strategy)}</td><td><code>${escapeHtml(r.metric)}</code></td>` +
        `<td class="num">${r.k}</td><td class="num">${percent(r.value)}</td>` +
        `<td class="num">${percent(r.ciLow)} – ${percent(r.ciHigh)}</td>` +
        `<td class="num">${r.metric === "accuracy" || r.metric === "coverage" || r.strategy === "oracle" ? count(r.meanTokens) : "–"}</td>` +
        `<td class="num">${count(r.meanTotalTokens)}</td><td class="num">${r.problems}</td></tr>`,
    )
    .join("\n");
  return `<table class="metrics">
<thead><tr><th>level</th><th>configuration</th><th>metric</th><th>budget</th><th>accuracy</th><th>95% CI</th><th>generated tokens</th><th>total tokens</th><th>problems</th></tr></thead>
<tbody>
${body}
</tbody>
</table>`;
}
