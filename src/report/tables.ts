/** Metric rows as CSV, JSON and an HTML table. */
import type { MetricRow } from "../bench/metrics.js";
import { methodLabels } from "./charts.js";

const csvColumns = [
  "metric",
  "method",
  "level",
  "k",
  "value",
  "ci_low",
  "ci_high",
  "mean_tokens",
  "problems",
];

function csvField(value: string | number | undefined): string {
  if (value === undefined) return "";
  const text = String(value);
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Metric rows as CSV with a header; `level` is empty for overall rows. */
export function metricsToCsv(rows: readonly MetricRow[]): string {
  const lines = rows.map((r) =>
    [r.metric, methodLabels[r.metric], r.level, r.k, r.value, r.ciLow, r.ciHigh, r.meanTokens, r.problems]
      .map(csvField)
      .join(","),
  );
  return `${[csvColumns.join(","), ...lines].join("\n")}\n`;
}

/** Metric rows as pretty-printed JSON. */
export function metricsToJson(rows: readonly MetricRow[]): string {
  return `${JSON.stringify(rows, null, 2)}\n`;
}

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const percent = (x: number) => (Number.isFinite(x) ? `${(x * 100).toFixed(1)}%` : "–");

/** An HTML table of metric rows (in the order given). */
export function metricsTableHtml(rows: readonly MetricRow[]): string {
  const body = rows
    .map(
      (r) =>
        `<tr><td>${r.level ?? "all"}</td><td>${escapeHtml(methodLabels[r.metric])}</td><td><code>${r.metric}</code></td>` +
        `<td class="num">${r.k}</td><td class="num">${percent(r.value)}</td>` +
        `<td class="num">${percent(r.ciLow)} – ${percent(r.ciHigh)}</td>` +
        `<td class="num">${Math.round(r.meanTokens).toLocaleString("en-US")}</td><td class="num">${r.problems}</td></tr>`,
    )
    .join("\n");
  return `<table class="metrics">
<thead><tr><th>level</th><th>method</th><th>metric</th><th>k</th><th>accuracy</th><th>95% CI</th><th>mean tokens</th><th>problems</th></tr></thead>
<tbody>
${body}
</tbody>
</table>`;
}
