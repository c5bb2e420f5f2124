/**
 * Accuracy against compute from one pool of samples per problem: pass@k, maj@k, rm@k and
 * wmaj@k at each budget k, with bootstrap confidence intervals over problems, overall and per
 * difficulty level. The per-problem estimators are in estimators.ts.
 */
import { z } from "zod";
import { deriveSeed, seededRandom } from "../core/random.js";
import { parseOrThrow } from "../core/validate.js";
import { bootstrapMeanInterval } from "./bootstrap.js";
import {
  bestOfKByReward,
  majorityAtK,
  passAtK,
  type SampleOutcome,
  weightedMajorityAtK,
} from "./estimators.js";

export type { SampleOutcome } from "./estimators.js";

/** All samples drawn for one problem at the largest budget. */
export interface ProblemSamples {
  problemId: string;
  level?: number;
  samples: SampleOutcome[];
}

/** Names of the metrics, in the order rows are emitted. */
export const metricNames = ["pass@k", "maj@k", "rm@k", "wmaj@k"] as const;
/** One of the metrics. */
export type MetricName = (typeof metricNames)[number];

/** Accuracy of one metric at one budget, overall (no `level`) or for one difficulty level. */
export interface MetricRow {
  metric: MetricName;
  k: number;
  /** Mean over problems of the per-problem expectation, in [0, 1]. */
  value: number;
  ciLow: number;
  ciHigh: number;
  /** Generated tokens at this budget: k × the mean per-problem mean sample tokens. */
  meanTokens: number;
  level?: number;
  /** Problems the row averages over (those with at least k samples, and rewards where needed). */
  problems: number;
}

/** Options of `computeMetrics`. */
export const metricsOptionsSchema = z.object({
  budgets: z.array(z.number().int().positive()).nonempty(),
  seed: z.number().int(),
  bootstrapResamples: z.number().int().min(0).default(1000),
  /** Random k-subsets per problem for the Monte Carlo estimators (wmaj@k, large maj@k). */
  subsetDraws: z.number().int().positive().default(200),
  confidence: z.number().gt(0).lt(1).default(0.95),
});
/** Input type of `computeMetrics` options; `onNote` receives notes about skipped budgets. */
export type MetricsOptions = z.input<typeof metricsOptionsSchema> & { onNote?: (note: string) => void };

type Estimator = (
  problem: ProblemSamples,
  k: number,
  options: z.output<typeof metricsOptionsSchema>,
) => number;

const estimators: Record<MetricName, Estimator> = {
  "pass@k": (p, k) => passAtK(p.samples.length, p.samples.filter((s) => s.correct).length, k),
  "maj@k": (p, k, o) =>
    majorityAtK(p.samples, k, seededRandom(deriveSeed(o.seed, "maj@k", p.problemId, k)), o.subsetDraws),
  "rm@k": (p, k) => bestOfKByReward(p.samples, k),
  "wmaj@k": (p, k, o) =>
    weightedMajorityAtK(
      p.samples,
      k,
      seededRandom(deriveSeed(o.seed, "wmaj@k", p.problemId, k)),
      o.subsetDraws,
    ),
};

const needsRewards: Record<MetricName, boolean> = {
  "pass@k": false,
  "maj@k": false,
  "rm@k": true,
  "wmaj@k": true,
};

/**
 * Computes every metric at every budget, overall and per level (when problems carry levels).
 * A budget k uses only the problems with at least k samples (`problems` says how many); a
 * budget no problem reaches is skipped with a note. rm@k and wmaj@k use only problems whose
 * samples all carry a reward, and are absent when none do. Deterministic given `seed`.
 */
export function computeMetrics(problems: readonly ProblemSamples[], options: MetricsOptions): MetricRow[] {
  const { onNote, ...rest } = options;
  const opts = parseOrThrow(metricsOptionsSchema, rest, "metrics options");
  const budgets = [...new Set(opts.budgets)].sort((a, b) => a - b);
  const rewarded = problems.some(
    (p) => p.samples.length > 0 && p.samples.every((s) => s.reward !== undefined),
  );
  const metrics = metricNames.filter((m) => !needsRewards[m] || rewarded);

  // Per-problem values are computed once and shared by the overall and per-level rows.
  const cache = new Map<string, number>();
  const problemValue = (index: number, metric: MetricName, k: number): number => {
    const key = `${index}\u0000${metric}\u0000${k}`;
    let value = cache.get(key);
    if (value === undefined) {
      value = estimators[metric](problems[index]!, k, opts);
      cache.set(key, value);
    }
    return value;
  };

  const levels = [...new Set(problems.flatMap((p) => (p.level === undefined ? [] : [p.level])))].sort(
    (a, b) => a - b,
  );
  const groups: { level?: number; members: number[] }[] = [
    { members: problems.map((_, i) => i) },
    ...levels.map((level) => ({
      level,
      members: problems.flatMap((p, i) => (p.level === level ? [i] : [])),
    })),
  ];

  const rows: MetricRow[] = [];
  for (const group of groups) {
    for (const metric of metrics) {
      for (const k of budgets) {
        const members = group.members.filter((i) => {
          const samples = problems[i]!.samples;
          return (
            samples.length >= k && (!needsRewards[metric] || samples.every((s) => s.reward !== undefined))
          );
        });
        if (members.length === 0) {
          if (group.level === undefined) {
            onNote?.(
              `${metric} at k=${k} skipped: no problem has ${k} samples${needsRewards[metric] ? " with rewards" : ""}`,
            );
          }
          continue;
        }
        if (group.level === undefined && members.length < group.members.length) {
          onNote?.(
            `${metric} at k=${k} uses ${members.length} of ${group.members.length} problems (the others have fewer samples${needsRewards[metric] ? " or missing rewards" : ""})`,
          );
        }
        const values = members.map((i) => problemValue(i, metric, k));
        const interval = bootstrapMeanInterval(values, {
          resamples: opts.bootstrapResamples,
          confidence: opts.confidence,
          seed: deriveSeed(opts.seed, "bootstrap", metric, k, group.level),
        });
        const row: MetricRow = {
          metric,
          k,
          value: interval.mean,
          ciLow: interval.low,
          ciHigh: interval.high,
          meanTokens: k * mean(members.map((i) => mean(problems[i]!.samples.map((s) => s.tokens)))),
          problems: members.length,
        };
        if (group.level !== undefined) row.level = group.level;
        rows.push(row);
      }
    }
  }
  return rows;
}

function mean(values: readonly number[]): number {
  return values.length === 0 ? 0 : values.reduce((a, b) => a + b, 0) / values.length;
}
