/** The report's section comparing its run (B) against another (A): `reckon report B --against A`. */
import { z } from "zod";
import { escapeHtml } from "./tables.js";

const comparedRunSchema = z.object({
  runId: z.string().min(1),
  name: z.string().optional(),
  status: z.string(),
  dataset: z.string().optional(),
  backend: z.string().optional(),
  model: z.string().optional(),
  problems: z.number().int().nonnegative(),
});

/** What `compareRuns` (bench/compare.ts) returns, as the report reads it. */
export const runComparisonSchema = z.object({
  a: comparedRunSchema,
  b: comparedRunSchema,
  method: z.string(),
  confidence: z.number().gt(0).lt(1),
  problems: z.object({
    shared: z.number().int().nonnegative(),
    onlyA: z.number().int().nonnegative(),
    onlyB: z.number().int().nonnegative(),
  }),
  configs: z.array(
    z.object({
      config: z.string(),
      problems: z.number().int().nonnegative(),
      // NaN (no paired problem) arrives as null through JSON.
      accuracyA: z.number().nullable(),
      accuracyB: z.number().nullable(),
      difference: z.number().nullable(),
      ciLow: z.number().nullable(),
      ciHigh: z.number().nullable(),
      wins: z.number().int().nonnegative(),
      losses: z.number().int().nonnegative(),
      pValue: z.number().min(0).max(1),
      meanTokensA: z.number().nullable(),
      meanTokensB: z.number().nullable(),
      optionsDiffer: z.boolean().optional(),
    }),
  ),
  onlyInA: z.array(z.string()),
  onlyInB: z.array(z.string()),
  warnings: z.array(z.string()),
});

type RunComparison = z.output<typeof runComparisonSchema>;

const finite = (x: number | null): x is number => x !== null && Number.isFinite(x);
const pct = (x: number | null) => (finite(x) ? `${(x * 100).toFixed(1)}%` : "–");
const pts = (x: number | null) => (finite(x) ? `${x > 0 ? "+" : ""}${(x * 100).toFixed(1)}` : "–");
const tokens = (x: number | null) => (finite(x) ? Math.round(x).toLocaleString("en-US") : "–");

function runName(run: RunComparison["a"]): string {
  return `${escapeHtml(run.runId)}${run.name ? ` (${escapeHtml(run.name)})` : ""}`;
}

/** The comparison table with the runs, the method and every warning; "" without a comparison. */
export function comparisonSectionHtml(c: RunComparison | undefined): string {
  if (!c) return "";
  const level = `${Math.round(c.confidence * 1000) / 10}%`;
  const rows = c.configs
    .map((r) => {
      const sign = finite(r.ciLow) && r.ciLow > 0 ? "ok" : finite(r.ciHigh) && r.ciHigh < 0 ? "bad" : "";
      return `<tr><td>${escapeHtml(r.config)}${r.optionsDiffer ? " *" : ""}</td><td class="num">${r.problems}</td><td class="num">${pct(r.accuracyA)}</td><td class="num">${pct(r.accuracyB)}</td><td class="num ${sign}">${pts(r.difference)}</td><td class="num">${pts(r.ciLow)} – ${pts(r.ciHigh)}</td><td class="num">${r.wins}</td><td class="num">${r.losses}</td><td class="num">${r.pValue < 0.001 ? "&lt;0.001" : r.pValue.toFixed(3)}</td><td class="num">${tokens(r.meanTokensA)}</td><td class="num">${tokens(r.meanTokensB)}</td></tr>`;
    })
    .join("\n");
  const left =
    c.problems.onlyA + c.problems.onlyB > 0
      ? ` Left out: ${c.problems.onlyA} problems only in A, ${c.problems.onlyB} only in B.`
      : "";
  const only = [
    c.onlyInA.length > 0 ? `<li>Only in A (not compared): ${c.onlyInA.map(escapeHtml).join(", ")}</li>` : "",
    c.onlyInB.length > 0 ? `<li>Only in B (not compared): ${c.onlyInB.map(escapeHtml).join(", ")}</li>` : "",
  ].join("");
  return `<section id="comparison">
<h2>Against run ${escapeHtml(c.a.runId)}</h2>
<p>A: ${runName(c.a)}, ${escapeHtml([c.a.status, c.a.dataset, c.a.model ?? c.a.backend].filter(Boolean).join(", "))}.
B (this run): ${runName(c.b)}, ${escapeHtml([c.b.status, c.b.dataset, c.b.model ?? c.b.backend].filter(Boolean).join(", "))}.
Compared on the ${c.problems.shared} problems both runs have (by id).${left}</p>
${c.warnings.length > 0 ? `<ul class="warnings">${c.warnings.map((w) => `<li>${escapeHtml(w)}</li>`).join("")}</ul>` : ""}
${
  c.configs.length === 0
    ? `<p>No configuration is in both runs.</p>`
    : `<table class="metrics comparison"><thead><tr><th>configuration</th><th>problems</th><th>accuracy A</th><th>accuracy B</th><th>B − A (pts)</th><th>${level} CI</th><th>wins</th><th>losses</th><th>p</th><th>tokens A</th><th>tokens B</th></tr></thead>
<tbody>
${rows}
</tbody></table>`
}
${only ? `<ul>${only}</ul>` : ""}
<p class="note">B − A: accuracy difference in percentage points on the problems both runs answered with the
configuration; interval: ${escapeHtml(c.method)}. Wins: problems B got right and A wrong; losses: the other
way round. Tokens per problem: prompt, generated and verifier.${c.configs.some((r) => r.optionsDiffer) ? " * ran with different options in each run." : ""}</p>
</section>`;
}
