/** What a finished (or partial) run amounts to: accuracy per strategy and budget, for people and for scripts. */
import { deriveSeed } from "../core/random.js";
import type { MetricRecord, RunRecord, RunStore } from "../store/sqlite.js";
import { benchConfigs, parseRecipe } from "./recipe.js";
import { pairedDifference } from "./result-metrics.js";

export interface BudgetResult {
  /** The configuration, e.g. "self-consistency n=8". */
  config: string;
  /** The swept value (e.g. n). */
  n: number;
  accuracy: number;
  ciLow: number;
  ciHigh: number;
  /** Generated tokens per problem. */
  meanTokens: number;
  /** Prompt, generated and verifier tokens per problem. */
  meanTotalTokens?: number;
  problems: number;
  /** Samples (candidates) a problem used on average: what adaptive strategies save. */
  meanSamples?: number;
  /** The pool estimate of the same configuration (mean over k-subsets), where the strategy has one. */
  poolEstimate?: { metric: string; value: number; ciLow: number; ciHigh: number };
}

export interface Comparison {
  a: string;
  b: string;
  /** Accuracy of a minus accuracy of b on the same problems, with a paired bootstrap 95% CI. */
  difference: number;
  ciLow: number;
  ciHigh: number;
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
  /** Samples drawn and stored (shared by the strategies). */
  samples: number;
  completionTokens: number;
  /** Overall accuracy per strategy series, by budget; `oracle` is pass@k (any sample right). */
  strategies: Record<string, BudgetResult[]>;
  /** The same per difficulty level, when the dataset has levels. */
  byLevel: Record<string, Record<string, BudgetResult[]>>;
  /** Each strategy at its largest budget against the run's first configuration. */
  comparisons: Comparison[];
}

function toBudget(m: MetricRecord, estimate?: MetricRecord): BudgetResult {
  return {
    config: m.strategy,
    n: m.k,
    accuracy: m.value,
    ciLow: m.ciLow,
    ciHigh: m.ciHigh,
    meanTokens: m.meanTokens,
    ...(m.meanTotalTokens === undefined ? {} : { meanTotalTokens: m.meanTotalTokens }),
    problems: m.problems,
    ...(estimate
      ? {
          poolEstimate: {
            metric: estimate.metric,
            value: estimate.value,
            ciLow: estimate.ciLow,
            ciHigh: estimate.ciHigh,
          },
        }
      : {}),
  };
}

const isAccuracy = (m: MetricRecord) => m.metric === "accuracy" || m.strategy === "oracle";

/** `metrics` default to the stored ones (present once the run completed). */
export function summarizeRun(
  store: RunStore,
  runId: string,
  metrics: readonly MetricRecord[] = store.getMetrics(runId),
): RunSummary {
  const run = store.getRun(runId);
  const strategies: RunSummary["strategies"] = {};
  const byLevel: RunSummary["byLevel"] = {};
  const estimates = metrics.filter((m) => !isAccuracy(m));
  const results = store.getResults(runId);
  const levelOf = new Map(store.getProblems(runId).map((p) => [p.problemId, p.level]));
  const samplesUsed = (m: MetricRecord) => {
    const own = results.filter(
      (r) => r.config === m.strategy && (m.level === undefined || levelOf.get(r.problemId) === m.level),
    );
    return own.length === 0
      ? {}
      : { meanSamples: own.reduce((sum, r) => sum + r.candidates.length, 0) / own.length };
  };
  for (const m of metrics.filter(isAccuracy)) {
    const level = String(m.level);
    if (m.level !== undefined && !byLevel[level]) byLevel[level] = {};
    const target = m.level === undefined ? strategies : byLevel[level]!;
    const series = m.series ?? m.strategy;
    if (!target[series]) target[series] = [];
    const estimate = estimates.find((e) => e.strategy === m.strategy && e.level === m.level);
    target[series]!.push({ ...toBudget(m, estimate), ...samplesUsed(m) });
  }
  for (const rows of [strategies, ...Object.values(byLevel)])
    for (const list of Object.values(rows)) list.sort((a, b) => a.n - b.n);
  const draws = store.draws.list(runId);
  return {
    runId,
    status: run.status,
    name: (run.recipe as { name?: string }).name,
    backend: run.backend,
    createdAt: run.createdAt,
    finishedAt: run.finishedAt,
    problems: store.getProblems(runId).length,
    samples: draws.length,
    completionTokens: draws.reduce((sum, d) => sum + d.completion.tokens, 0),
    strategies,
    byLevel,
    comparisons: compareWithBaseline(store, runId, strategies, run.seed),
  };
}

function compareWithBaseline(
  store: RunStore,
  runId: string,
  strategies: RunSummary["strategies"],
  seed: number,
): Comparison[] {
  const results = store.getResults(runId);
  // The recipe's first configuration (often `single`), whatever order the results were stored in.
  const baseline = benchConfigs(parseRecipe(store.getRun(runId).recipe)).find((c) =>
    results.some((r) => r.config === c.config),
  )?.config;
  if (baseline === undefined) return [];
  const of = (config: string) => results.filter((r) => r.config === config);
  return Object.entries(strategies).flatMap(([series, rows]) => {
    const top = rows[rows.length - 1];
    if (series === "oracle" || !top || top.config === baseline) return [];
    const d = pairedDifference(
      of(top.config),
      of(baseline),
      deriveSeed(seed, "paired", top.config, baseline),
    );
    return [
      { a: top.config, b: baseline, difference: d.mean, ciLow: d.low, ciHigh: d.high, problems: d.problems },
    ];
  });
}

const percent = (x: number) => `${(100 * x).toFixed(1)}`;

/** Printed under tables with an oracle row: it is a ceiling, not a method one can run. */
export const oracleLegend =
  "oracle = pass@k, the ceiling: a problem counts as right when any of its k samples is right";

/**
 * A plain-text table: one line per strategy, one column per budget, accuracy with its 95% CI
 * and the tokens spent per problem (all of them: prompt, generated and verifier); then the
 * paired comparisons.
 */
export function formatSummary(summary: RunSummary): string {
  const lines = [
    `run ${summary.runId} (${summary.status})${summary.name ? `: ${summary.name}` : ""}`,
    `${summary.problems} problems, ${summary.samples} samples drawn, ${summary.completionTokens} completion tokens${summary.backend ? `, ${summary.backend}` : ""}`,
  ];
  const names = Object.keys(summary.strategies).sort(
    (a, b) => Number(a === "oracle") - Number(b === "oracle"),
  );
  if (names.length === 0) return `${lines.join("\n")}\nno metrics yet\n`;
  const budgets = [...new Set(names.flatMap((s) => summary.strategies[s]!.map((r) => r.n)))].sort(
    (a, b) => a - b,
  );
  const width = Math.max(8, ...names.map((s) => s.length));
  const cell = 36;
  lines.push("accuracy % [95% CI] (tokens, samples per problem) by budget");
  lines.push(`${"strategy".padEnd(width)}  ${budgets.map((n) => `n=${n}`.padEnd(cell)).join("")}`.trimEnd());
  for (const name of names) {
    const rows = summary.strategies[name]!;
    const cells = budgets.map((n) => {
      const r = rows.find((row) => row.n === n);
      if (!r) return "".padEnd(cell);
      const tokens = Math.round(r.meanTotalTokens ?? r.meanTokens);
      const samples = r.meanSamples === undefined ? "" : `, ${Number(r.meanSamples.toFixed(1))}`;
      return `${percent(r.accuracy)} [${percent(r.ciLow)},${percent(r.ciHigh)}] (${tokens}${samples})`.padEnd(
        cell,
      );
    });
    lines.push(`${name.padEnd(width)}  ${cells.join("")}`.trimEnd());
  }
  if (names.includes("oracle")) lines.push(oracleLegend);
  if (summary.comparisons.length > 0) {
    lines.push("", "paired difference in accuracy, percentage points [95% CI], same problems");
    for (const c of summary.comparisons)
      lines.push(
        `  ${c.a} − ${c.b}: ${c.difference >= 0 ? "+" : ""}${percent(c.difference)} [${percent(c.ciLow)},${percent(c.ciHigh)}] over ${c.problems}`,
      );
  }
  return `${lines.join("\n")}\n`;
}
