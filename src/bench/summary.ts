/** What a finished (or partial) run amounts to: accuracy per strategy and budget, for people and for scripts. */
import { deriveSeed } from "../core/random.js";
import type { ResultFacts } from "../store/results.js";
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
  /**
   * Coverage: the fraction of problems where any candidate the configuration saw was right,
   * the ceiling of its own selection.
   */
  coverage?: { value: number; ciLow: number; ciHigh: number };
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
  /** Why the run failed, when it did. */
  error?: string;
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

function toBudget(m: MetricRecord, estimate?: MetricRecord, coverage?: MetricRecord): BudgetResult {
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
    ...(coverage
      ? { coverage: { value: coverage.value, ciLow: coverage.ciLow, ciHigh: coverage.ciHigh } }
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
  const estimates = metrics.filter((m) => !isAccuracy(m) && m.metric !== "coverage");
  const coverages = metrics.filter((m) => m.metric === "coverage");
  const results = store.results.facts(runId);
  const problems = store.getProblems(runId);
  const levelOf = new Map(problems.map((p) => [p.problemId, p.level]));
  // Samples per problem, summed per configuration and level in one pass over the results.
  const samples = new Map<string, { sum: number; count: number }>();
  for (const r of results)
    for (const key of [`${r.config}\u0000`, `${r.config}\u0000${levelOf.get(r.problemId)}`]) {
      const entry = samples.get(key) ?? { sum: 0, count: 0 };
      entry.sum += r.samples;
      entry.count += 1;
      samples.set(key, entry);
    }
  const samplesUsed = (m: MetricRecord) => {
    const entry = samples.get(`${m.strategy}\u0000${m.level ?? ""}`);
    return entry ? { meanSamples: entry.sum / entry.count } : {};
  };
  for (const m of metrics.filter(isAccuracy)) {
    const level = String(m.level);
    if (m.level !== undefined && !byLevel[level]) byLevel[level] = {};
    const target = m.level === undefined ? strategies : byLevel[level]!;
    const series = m.series ?? m.strategy;
    if (!target[series]) target[series] = [];
    const same = (e: MetricRecord) => e.strategy === m.strategy && e.level === m.level;
    target[series]!.push({ ...toBudget(m, estimates.find(same), coverages.find(same)), ...samplesUsed(m) });
  }
  for (const rows of [strategies, ...Object.values(byLevel)])
    for (const list of Object.values(rows)) list.sort((a, b) => a.n - b.n);
  const drawn = store.draws.totals(runId);
  return {
    runId,
    status: run.status,
    ...(run.error ? { error: run.error } : {}),
    name: (run.recipe as { name?: string }).name,
    backend: run.backend,
    createdAt: run.createdAt,
    finishedAt: run.finishedAt,
    problems: problems.length,
    samples: drawn.draws,
    completionTokens: drawn.completionTokens,
    strategies,
    byLevel,
    comparisons: compareWithBaseline(store, runId, results, strategies, run.seed),
  };
}

function compareWithBaseline(
  store: RunStore,
  runId: string,
  results: readonly ResultFacts[],
  strategies: RunSummary["strategies"],
  seed: number,
): Comparison[] {
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

/** Printed under tables with a pass@k row: what it measures, and what it does not bound. */
export const oracleLegend =
  "pass@k = expected coverage of k independent whole-solution draws (unbiased estimator): the ceiling of methods that draw k and select; search and revision methods see other text, so compare their own coverage";

/**
 * A plain-text table: one line per strategy, one column per budget, accuracy with its 95% CI
 * and the tokens spent per problem (all of them: prompt, generated and verifier); then the
 * paired comparisons.
 */
export function formatSummary(summary: RunSummary): string {
  const lines = [
    `run ${summary.runId} (${summary.status})${summary.name ? `: ${summary.name}` : ""}`,
    ...(summary.error ? [`failed: ${summary.error}`] : []),
    `${summary.problems} problems, ${summary.samples} samples drawn, ${summary.completionTokens} completion tokens${summary.backend ? `, ${summary.backend}` : ""}`,
  ];
  const names = Object.keys(summary.strategies).sort(
    (a, b) => Number(a === "oracle") - Number(b === "oracle"),
  );
  const label = (name: string) => (name === "oracle" ? "pass@k" : name);
  if (names.length === 0) return `${lines.join("\n")}\nno metrics yet\n`;
  const budgets = [...new Set(names.flatMap((s) => summary.strategies[s]!.map((r) => r.n)))].sort(
    (a, b) => a - b,
  );
  const width = Math.max(8, ...names.map((s) => label(s).length));
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
    lines.push(`${label(name).padEnd(width)}  ${cells.join("")}`.trimEnd());
  }
  if (names.includes("oracle")) lines.push(oracleLegend);
  const covered = names.filter((name) => summary.strategies[name]!.some((r) => r.coverage));
  if (covered.length > 0) {
    lines.push(
      "",
      "coverage % [95% CI]: problems where any candidate the configuration saw was right, the ceiling of its own selection",
    );
    lines.push(
      `${"strategy".padEnd(width)}  ${budgets.map((n) => `n=${n}`.padEnd(cell)).join("")}`.trimEnd(),
    );
    for (const name of covered) {
      const cells = budgets.map((n) => {
        const c = summary.strategies[name]!.find((row) => row.n === n)?.coverage;
        return (c ? `${percent(c.value)} [${percent(c.ciLow)},${percent(c.ciHigh)}]` : "").padEnd(cell);
      });
      lines.push(`${name.padEnd(width)}  ${cells.join("")}`.trimEnd());
    }
  }
  if (summary.comparisons.length > 0) {
    lines.push("", "paired difference in accuracy, percentage points [95% CI], same problems");
    for (const c of summary.comparisons)
      lines.push(
        `  ${c.a} − ${c.b}: ${c.difference >= 0 ? "+" : ""}${percent(c.difference)} [${percent(c.ciLow)},${percent(c.ciHigh)}] over ${c.problems}`,
      );
  }
  return `${lines.join("\n")}\n`;
}
