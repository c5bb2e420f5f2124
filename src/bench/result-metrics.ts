/**
 * Accuracy of every strategy configuration from its stored results (what `run()` really
 * answered), against the tokens it really spent, with bootstrap intervals over problems,
 * overall and per level; the pass@k oracle over the shared draws as the ceiling; the pool
 * shortcut of strategies that declare one; and paired differences between configurations.
 */
import { deriveSeed, seededRandom } from "../core/random.js";
import { type Candidate, type Task, totalTokens } from "../core/types.js";
import type { MetricRecord, ProblemRecord, ResultRecord, RunStore } from "../store/sqlite.js";
import { getStrategy } from "../strategies/registry.js";
import { getTask } from "../tasks/registry.js";
import { bootstrapMeanInterval, type Interval } from "./bootstrap.js";
import { expectedSelection, passAtK } from "./pool-estimates.js";
import { wholeSampleDigest } from "./problem-set.js";
import { benchConfigs, type Recipe } from "./recipe.js";

const mean = (values: readonly number[]) =>
  values.length === 0 ? 0 : values.reduce((a, b) => a + b, 0) / values.length;

interface Group {
  level?: number;
  problems: Set<string>;
}

function groupsOf(problems: readonly ProblemRecord[]): Group[] {
  const levels = [...new Set(problems.flatMap((p) => (p.level === undefined ? [] : [p.level])))].sort(
    (a, b) => a - b,
  );
  return [
    { problems: new Set(problems.map((p) => p.problemId)) },
    ...levels.map((level) => ({
      level,
      problems: new Set(problems.filter((p) => p.level === level).map((p) => p.problemId)),
    })),
  ];
}

/** Grades answers once per (problem, answer): a code task runs tests to grade. */
function gradeCache(task: Task, problems: readonly ProblemRecord[]) {
  const byId = new Map(problems.map((p) => [p.problemId, p]));
  const cache = new Map<string, Promise<boolean>>();
  return (problemId: string, answer: string | undefined): Promise<boolean> => {
    if (answer === undefined) return Promise.resolve(false);
    const key = `${problemId}\u0000${answer}`;
    let graded = cache.get(key);
    if (!graded) {
      const p = byId.get(problemId)!;
      graded = task
        .grade(answer, { id: p.problemId, prompt: p.prompt, reference: p.reference, task, meta: p.meta })
        .then((g) => g.correct);
      cache.set(key, graded);
    }
    return graded;
  };
}

export async function computeRunMetrics(
  store: RunStore,
  runId: string,
  recipe: Recipe,
  onNote?: (note: string) => void,
): Promise<MetricRecord[]> {
  const problems = store.getProblems(runId);
  const results = store.getResults(runId);
  const groups = groupsOf(problems);
  const resamples = recipe.metrics?.bootstrapResamples ?? 1000;
  const interval = (values: number[], ...labels: (string | number | undefined)[]): Interval =>
    bootstrapMeanInterval(values, { resamples, seed: deriveSeed(recipe.seed, "bootstrap", ...labels) });
  const rows: MetricRecord[] = [];

  const configs = benchConfigs(recipe);
  for (const config of configs) {
    const own = results.filter((r) => r.config === config.config);
    for (const group of groups) {
      const members = own.filter((r) => group.problems.has(r.problemId));
      if (members.length === 0) continue;
      const ci = interval(
        members.map((r) => (r.correct ? 1 : 0)),
        config.config,
        group.level,
      );
      rows.push({
        strategy: config.config,
        series: config.series,
        metric: "accuracy",
        k: config.budget,
        ...(group.level === undefined ? {} : { level: group.level }),
        value: ci.mean,
        ciLow: ci.low,
        ciHigh: ci.high,
        meanTokens: mean(members.map((r) => r.usage.completionTokens)),
        meanTotalTokens: mean(members.map((r) => totalTokens(r.usage))),
        problems: members.length,
      });
    }
  }

  const task = getTask(recipe.task);
  const isCorrect = gradeCache(task, problems);
  rows.push(...(await oracleRows(store, runId, recipe, problems, groups, isCorrect, interval, onNote)));
  rows.push(...(await poolShortcutRows(recipe, results, groups, isCorrect, task, interval)));
  return rows;
}

/**
 * pass@k over the draws every sampling strategy shares (per problem, the request drawn most
 * often): the ceiling a perfect selector would reach with k samples.
 */
async function oracleRows(
  store: RunStore,
  runId: string,
  recipe: Recipe,
  problems: readonly ProblemRecord[],
  groups: Group[],
  isCorrect: (problemId: string, answer: string | undefined) => Promise<boolean>,
  interval: (values: number[], ...labels: (string | number | undefined)[]) => Interval,
  onNote?: (note: string) => void,
): Promise<MetricRecord[]> {
  const task = getTask(recipe.task);
  // The sample counts of the strategies that draw k whole solutions and select: pass@k is their ceiling.
  const budgets = benchConfigs(recipe).flatMap((c) => {
    const shortcut = getStrategy(c.strategy).fromPool;
    return shortcut ? [shortcut.samples(c.options)] : [];
  });
  const pools = new Map<string, { correct: number; n: number; tokens: number; prompt: number }>();
  for (const p of problems) {
    const pool = store.draws.ofRequest(runId, p.problemId, wholeSampleDigest(recipe, p));
    if (pool.length === 0) continue;
    let correct = 0;
    for (const d of pool)
      if (await isCorrect(p.problemId, task.extractAnswer(d.completion.text))) correct += 1;
    pools.set(p.problemId, {
      correct,
      n: pool.length,
      tokens: mean(pool.map((d) => d.completion.tokens)),
      prompt: pool[0]!.usage.promptTokens,
    });
  }
  const rows: MetricRecord[] = [];
  for (const k of [...new Set(budgets)].sort((a, b) => a - b)) {
    for (const group of groups) {
      const members = [...group.problems].flatMap((id) => {
        const pool = pools.get(id);
        return pool && pool.n >= k ? [pool] : [];
      });
      if (members.length === 0) continue;
      if (group.level === undefined && members.length < group.problems.size)
        onNote?.(
          `oracle at k=${k} uses ${members.length} of ${group.problems.size} problems (the others drew fewer samples)`,
        );
      const ci = interval(
        members.map((m) => passAtK(m.n, m.correct, k)),
        "oracle",
        k,
        group.level,
      );
      rows.push({
        strategy: "oracle",
        series: "oracle",
        metric: "pass@k",
        k,
        ...(group.level === undefined ? {} : { level: group.level }),
        value: ci.mean,
        ciLow: ci.low,
        ciHigh: ci.high,
        meanTokens: k * mean(members.map((m) => m.tokens)),
        // k samples of one request: its prompt once, k completions.
        meanTotalTokens: mean(members.map((m) => m.prompt + k * m.tokens)),
        problems: members.length,
      });
    }
  }
  return rows;
}

/**
 * The expectation over k-subsets for strategies that declare a pool shortcut: their own
 * selection rule applied to subsets of the candidates of the largest configuration of the same
 * series, a lower-variance companion to the single real run at each k (a test proves the two
 * agree).
 */
async function poolShortcutRows(
  recipe: Recipe,
  results: readonly ResultRecord[],
  groups: Group[],
  isCorrect: (problemId: string, answer: string | undefined) => Promise<boolean>,
  task: Task,
  interval: (values: number[], ...labels: (string | number | undefined)[]) => Interval,
): Promise<MetricRecord[]> {
  const rows: MetricRecord[] = [];
  const configs = benchConfigs(recipe);
  for (const series of new Set(configs.map((c) => c.series))) {
    const members = configs.filter((c) => c.series === series);
    const shortcut = getStrategy(members[0]!.strategy).fromPool;
    if (!shortcut) continue;
    const largest = members.reduce((a, b) =>
      shortcut.samples(b.options) > shortcut.samples(a.options) ? b : a,
    );
    const pools = new Map<string, { candidates: Candidate[]; correct: Set<string> }>();
    for (const r of results.filter((r) => r.config === largest.config)) {
      const correct = new Set<string>();
      for (const c of r.candidates)
        if (c.answer !== undefined && (await isCorrect(r.problemId, c.answer))) correct.add(c.answer);
      pools.set(r.problemId, { candidates: r.candidates as Candidate[], correct });
    }
    for (const config of members) {
      const k = shortcut.samples(config.options);
      for (const group of groups) {
        const values: number[] = [];
        for (const id of group.problems) {
          const pool = pools.get(id);
          if (!pool || pool.candidates.length < k) continue;
          const random = seededRandom(deriveSeed(recipe.seed, "pool", config.config, id));
          values.push(
            expectedSelection(pool.candidates, k, shortcut.select, task, (a) => pool.correct.has(a), random),
          );
        }
        if (values.length === 0) continue;
        const ci = interval(values, shortcut.metric, config.config, group.level);
        rows.push({
          strategy: config.config,
          series: config.series,
          metric: shortcut.metric,
          k,
          ...(group.level === undefined ? {} : { level: group.level }),
          value: ci.mean,
          ciLow: ci.low,
          ciHigh: ci.high,
          meanTokens: 0,
          problems: values.length,
        });
      }
    }
  }
  return rows;
}

/**
 * Accuracy of `a` minus accuracy of `b` on the problems both answered, with a paired bootstrap
 * interval (problems resampled together): what someone choosing between two methods needs.
 */
export function pairedDifference(
  a: readonly ResultRecord[],
  b: readonly ResultRecord[],
  seed: number,
): Interval & { problems: number } {
  const other = new Map(b.map((r) => [r.problemId, r]));
  const differences = a.flatMap((r) => {
    const match = other.get(r.problemId);
    return match ? [(r.correct ? 1 : 0) - (match.correct ? 1 : 0)] : [];
  });
  return { ...bootstrapMeanInterval(differences, { seed }), problems: differences.length };
}
