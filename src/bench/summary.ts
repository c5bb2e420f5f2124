/** What a finished (or partial) run amounts to: accuracy per strategy and budget, for people and for scripts. */
import type { MetricRecord, RunRecord, RunStore } from "../store/sqlite.js";

export interface BudgetResult {
  n: number;
  accuracy: number;
  ciLow: number;
  ciHigh: number;
  /** Generated tokens per problem at this budget. */
  meanTokens: number;
  problems: number;
}

export interface RunSummary {
  runId: string;
  status: RunRecord["status"];
  name?: string;
  backend?: string;
  createdAt: string;
  finishedAt?: string;
  problems: number;
  samples: number;
  completionTokens: number;
  /** Overall accuracy per strategy, by budget; `oracle` is pass@n (any sample right). */
  strategies: Record<string, BudgetResult[]>;
  /** The same per difficulty level, when the dataset has levels. */
  byLevel: Record<string, Record<string, BudgetResult[]>>;
}

const toBudget = (m: MetricRecord): BudgetResult => ({
  n: m.k,
  accuracy: m.value,
  ciLow: m.ciLow,
  ciHigh: m.ciHigh,
  meanTokens: m.meanTokens,
  problems: m.problems,
});

/** `metrics` default to the stored ones (present once the run completed). */
export function summarizeRun(
  store: RunStore,
  runId: string,
  metrics: readonly MetricRecord[] = store.getMetrics(runId),
): RunSummary {
  const run = store.getRun(runId);
  const samples = store.getSamples(runId);
  const strategies: RunSummary["strategies"] = {};
  const byLevel: RunSummary["byLevel"] = {};
  for (const m of metrics) {
    const level = String(m.level);
    if (m.level !== undefined && !byLevel[level]) byLevel[level] = {};
    const target = m.level === undefined ? strategies : byLevel[level]!;
    if (!target[m.strategy]) target[m.strategy] = [];
    target[m.strategy]!.push(toBudget(m));
  }
  return {
    runId,
    status: run.status,
    name: (run.recipe as { name?: string }).name,
    backend: run.backend,
    createdAt: run.createdAt,
    finishedAt: run.finishedAt,
    problems: store.getProblems(runId).length,
    samples: samples.length,
    completionTokens: samples.reduce((sum, s) => sum + s.tokens, 0),
    strategies,
    byLevel,
  };
}

const percent = (x: number) => `${(100 * x).toFixed(1)}`;

/** A plain-text table: one line per strategy, one column per budget, accuracy with its 95% CI. */
export function formatSummary(summary: RunSummary): string {
  const lines = [
    `run ${summary.runId} (${summary.status})${summary.name ? `: ${summary.name}` : ""}`,
    `${summary.problems} problems, ${summary.samples} samples, ${summary.completionTokens} completion tokens${summary.backend ? `, ${summary.backend}` : ""}`,
  ];
  const names = Object.keys(summary.strategies);
  if (names.length === 0) return `${lines.join("\n")}\nno metrics yet\n`;
  const budgets = [...new Set(names.flatMap((s) => summary.strategies[s]!.map((r) => r.n)))].sort(
    (a, b) => a - b,
  );
  const width = Math.max(8, ...names.map((s) => s.length));
  const cell = 20;
  lines.push(`accuracy % [95% CI] by n`);
  lines.push(`${"strategy".padEnd(width)}  ${budgets.map((n) => `n=${n}`.padEnd(cell)).join("")}`.trimEnd());
  for (const name of names) {
    const rows = summary.strategies[name]!;
    const cells = budgets.map((n) => {
      const r = rows.find((row) => row.n === n);
      return (r ? `${percent(r.accuracy)} [${percent(r.ciLow)},${percent(r.ciHigh)}]` : "").padEnd(cell);
    });
    lines.push(`${name.padEnd(width)}  ${cells.join("")}`.trimEnd());
  }
  return `${lines.join("\n")}\n`;
}
