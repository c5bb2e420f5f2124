/**
 * The figures of a run, from its stored results (what `run()` really answered) and draws:
 * - accuracy of every configuration against the tokens it really spent;
 * - coverage of every configuration: whether any candidate it saw was right, the ceiling of
 *   its own selection;
 * - pass@k over the whole-solution draws of each problem: the expected coverage of k
 *   independent draws (unbiased estimator), the ceiling of methods that draw k and select;
 * - pool estimates of strategies that declare a selection rule, the rule averaged over
 *   k-subsets of their largest pool;
 * all with bootstrap intervals over problems, overall and per level; and paired differences.
 *
 * Built to scale: results are read without their texts, every problem's answers are graded
 * and compared once (`AnswerClasses`), problems are processed one at a time (memory does not
 * grow with the pools), and the loop yields between problems so progress shows and an abort
 * (Ctrl-C, SIGTERM) stops it.
 */
import { AbortedError } from "../core/errors.js";
import { deriveSeed, seededRandom } from "../core/random.js";
import { type Candidate, type Task, totalTokens } from "../core/types.js";
import type { ResultFacts } from "../store/results.js";
import type { MetricRecord, ProblemRecord, RunStore } from "../store/sqlite.js";
import { defaultStrategies } from "../strategies/registry.js";
import type { StrategyLookup } from "../strategies/strategy.js";
import { getTask } from "../tasks/registry.js";
import { AnswerClasses, memoizedTask } from "./answer-classes.js";
import { bootstrapMeanInterval, type Interval } from "./bootstrap.js";
import { expectedSelection, passAtK, subsetsPerProblem } from "./pool-estimates.js";
import { problemOf, wholeSampleDigest } from "./problem-set.js";
import { type BenchConfig, benchConfigs, type Recipe } from "./recipe.js";

/** The metric row of pass@k: its `strategy` and `series` (a stored identifier, shown as pass@k). */
export const passAtKRow = "oracle";

export interface MetricsOptions {
  onNote?: (note: string) => void;
  signal?: AbortSignal;
  /** Problems whose figures are computed, of all: reported while the long part runs. */
  onProgress?: (done: number, total: number) => void;
  /** Where the recipe's strategy names are looked up; default: the default registry. */
  strategies?: StrategyLookup;
}

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

/** What one problem contributes, computed once and kept small. */
interface ProblemFigures {
  /** Per configuration: whether any candidate it saw was right. */
  covered: Map<string, boolean>;
  /** The whole-solution draws: how many, how many right, mean completion tokens, prompt tokens. */
  pool?: { n: number; correct: number; tokens: number; prompt: number };
  /** Per configuration with a pool shortcut: its expected correctness over k-subsets. */
  estimates: Map<string, number>;
}

export async function computeRunMetrics(
  store: RunStore,
  runId: string,
  recipe: Recipe,
  options: MetricsOptions | ((note: string) => void) = {},
): Promise<MetricRecord[]> {
  const {
    onNote,
    signal,
    onProgress,
    strategies = defaultStrategies,
  } = typeof options === "function" ? { onNote: options } : options;
  const problems = store.getProblems(runId);
  const facts = store.results.facts(runId);
  const groups = groupsOf(problems);
  const resamples = recipe.metrics?.bootstrapResamples ?? 1000;
  const interval = (values: number[], ...labels: (string | number | undefined)[]): Interval =>
    bootstrapMeanInterval(values, { resamples, seed: deriveSeed(recipe.seed, "bootstrap", ...labels) });
  const configs = benchConfigs(recipe, strategies);
  const byConfig = new Map<string, ResultFacts[]>(configs.map((c) => [c.config, []]));
  for (const r of facts) byConfig.get(r.config)?.push(r);

  const figures = new Map<string, ProblemFigures>();
  const task = getTask(recipe.task);
  const subsets = subsetsPerProblem(problems.length);
  let lastYield = Date.now();
  for (const [i, record] of problems.entries()) {
    figures.set(
      record.problemId,
      await problemFigures(store, runId, recipe, record, task, configs, subsets, strategies),
    );
    // Between problems: let a signal handler run, and say how far the estimates are.
    if (Date.now() - lastYield > 50 || i === problems.length - 1) {
      await new Promise((resolve) => setImmediate(resolve));
      lastYield = Date.now();
      if (signal?.aborted) throw new AbortedError();
      onProgress?.(i + 1, problems.length);
    }
  }

  const rows: MetricRecord[] = [];
  for (const config of configs) {
    const own = byConfig.get(config.config)!;
    for (const group of groups) {
      const members = own.filter((r) => group.problems.has(r.problemId));
      if (members.length === 0) continue;
      const level = group.level === undefined ? {} : { level: group.level };
      const tokens = {
        meanTokens: mean(members.map((r) => r.usage.completionTokens)),
        meanTotalTokens: mean(members.map((r) => totalTokens(r.usage))),
        problems: members.length,
      };
      const accuracy = interval(
        members.map((r) => (r.correct ? 1 : 0)),
        config.config,
        group.level,
      );
      rows.push({
        strategy: config.config,
        series: config.series,
        metric: "accuracy",
        k: config.budget,
        ...level,
        value: accuracy.mean,
        ciLow: accuracy.low,
        ciHigh: accuracy.high,
        ...tokens,
      });
      const coverage = interval(
        members.map((r) => (figures.get(r.problemId)?.covered.get(config.config) ? 1 : 0)),
        "coverage",
        config.config,
        group.level,
      );
      rows.push({
        strategy: config.config,
        series: config.series,
        metric: "coverage",
        k: config.budget,
        ...level,
        value: coverage.mean,
        ciLow: coverage.low,
        ciHigh: coverage.high,
        ...tokens,
      });
    }
  }
  rows.push(...passAtKRows(configs, figures, groups, interval, strategies, onNote));
  rows.push(...poolShortcutRows(configs, figures, groups, interval, strategies));
  return rows;
}

/**
 * One problem's coverage per configuration, whole-solution pool and pool estimates. Its
 * answers are graded once each and compared once per pair, shared by all three.
 */
async function problemFigures(
  store: RunStore,
  runId: string,
  recipe: Recipe,
  record: ProblemRecord,
  task: Task,
  configs: readonly BenchConfig[],
  subsets: number,
  strategies: StrategyLookup,
): Promise<ProblemFigures> {
  const classes = new AnswerClasses(task);
  const memo = memoizedTask(task, classes);
  const problem = problemOf(record, task);
  const grades = new Map<string, Promise<boolean>>();
  const isCorrect = (answer: string | undefined): Promise<boolean> => {
    if (answer === undefined) return Promise.resolve(false);
    let graded = grades.get(answer);
    if (!graded) {
      graded = task.grade(answer, problem).then((g) => g.correct);
      grades.set(answer, graded);
    }
    return graded;
  };
  const candidates = store.results.candidateAnswersOfProblem(runId, record.problemId);

  const covered = new Map<string, boolean>();
  for (const [config, list] of candidates) {
    let any = false;
    for (const c of list) if (!any && (await isCorrect(c.answer))) any = true;
    covered.set(config, any);
  }

  // Whole-solution draws: answers as the strategies read them where a candidate is that draw,
  // read from the text (once) for draws no result kept.
  const answerOfDraw = new Map<number, string | undefined>();
  for (const list of candidates.values())
    for (const c of list) if (c.draw !== undefined) answerOfDraw.set(c.draw, c.answer);
  const drawn = store.draws.pool(runId, record.problemId, wholeSampleDigest(recipe, record));
  const unread = store.draws.completions(drawn.filter((d) => !answerOfDraw.has(d.id)).map((d) => d.id));
  for (const [id, completion] of unread) answerOfDraw.set(id, memo.extractAnswer(completion.text));
  let correct = 0;
  for (const d of drawn) if (await isCorrect(answerOfDraw.get(d.id))) correct += 1;
  const pool =
    drawn.length === 0
      ? undefined
      : {
          n: drawn.length,
          correct,
          tokens: mean(drawn.map((d) => d.tokens)),
          prompt: drawn[0]!.promptTokens,
        };

  // Pool estimates: each series' selection rule over subsets of its largest configuration's
  // candidates, on the task whose answers are compared once per pair.
  const estimates = new Map<string, number>();
  for (const members of shortcutSeries(configs, strategies)) {
    const shortcut = strategies.get(members[0]!.strategy).fromPool!;
    const largest = members.reduce((a, b) =>
      shortcut.samples(b.options) > shortcut.samples(a.options) ? b : a,
    );
    const list = candidates.get(largest.config);
    if (!list) continue;
    const rightAnswers = new Set<string>();
    for (const c of list)
      if (c.answer !== undefined && (await isCorrect(c.answer))) rightAnswers.add(c.answer);
    const poolOf = list.map(
      (c): Candidate => ({
        text: "",
        tokens: 0,
        finishReason: "eos",
        answer: c.answer,
        ...(c.score === undefined ? {} : { score: c.score }),
      }),
    );
    for (const config of members) {
      const k = shortcut.samples(config.options);
      if (poolOf.length < k) continue;
      const random = seededRandom(deriveSeed(recipe.seed, "pool", config.config, record.problemId));
      estimates.set(
        config.config,
        expectedSelection(poolOf, k, shortcut.select, memo, (a) => rightAnswers.has(a), random, subsets),
      );
    }
  }
  return { covered, ...(pool ? { pool } : {}), estimates };
}

/**
 * The configurations of each series whose strategy declares a pool shortcut and draws more
 * than one sample somewhere in the series (a pool of one, as `single`'s, would only repeat the
 * real run's accuracy under another name).
 */
function shortcutSeries(configs: readonly BenchConfig[], strategies: StrategyLookup): BenchConfig[][] {
  const series = new Map<string, BenchConfig[]>();
  for (const c of configs) {
    if (!strategies.get(c.strategy).fromPool) continue;
    series.set(c.series, [...(series.get(c.series) ?? []), c]);
  }
  return [...series.values()].filter((members) => {
    const shortcut = strategies.get(members[0]!.strategy).fromPool!;
    return members.some((c) => shortcut.samples(c.options) > 1);
  });
}

/**
 * pass@k over each problem's whole-solution draws (the request every sampling strategy makes),
 * at the sample counts of the strategies that draw k and select: the expected coverage of k
 * independent draws. It bounds those strategies in expectation; it says nothing of methods
 * that see other text (search, revisions), whose own coverage is the figure to compare.
 */
function passAtKRows(
  configs: readonly BenchConfig[],
  figures: ReadonlyMap<string, ProblemFigures>,
  groups: Group[],
  interval: (values: number[], ...labels: (string | number | undefined)[]) => Interval,
  strategies: StrategyLookup,
  onNote?: (note: string) => void,
): MetricRecord[] {
  const budgets = configs.flatMap((c) => {
    const shortcut = strategies.get(c.strategy).fromPool;
    return shortcut ? [shortcut.samples(c.options)] : [];
  });
  const rows: MetricRecord[] = [];
  for (const k of [...new Set(budgets)].sort((a, b) => a - b)) {
    for (const group of groups) {
      const members = [...group.problems].flatMap((id) => {
        const pool = figures.get(id)?.pool;
        return pool && pool.n >= k ? [pool] : [];
      });
      if (members.length === 0) continue;
      if (group.level === undefined && members.length < group.problems.size)
        onNote?.(
          `pass@${k} uses ${members.length} of ${group.problems.size} problems (the others drew fewer samples)`,
        );
      const ci = interval(
        members.map((m) => passAtK(m.n, m.correct, k)),
        "oracle",
        k,
        group.level,
      );
      rows.push({
        strategy: passAtKRow,
        series: passAtKRow,
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
function poolShortcutRows(
  configs: readonly BenchConfig[],
  figures: ReadonlyMap<string, ProblemFigures>,
  groups: Group[],
  interval: (values: number[], ...labels: (string | number | undefined)[]) => Interval,
  strategies: StrategyLookup,
): MetricRecord[] {
  const rows: MetricRecord[] = [];
  for (const members of shortcutSeries(configs, strategies)) {
    const shortcut = strategies.get(members[0]!.strategy).fromPool!;
    for (const config of members) {
      const k = shortcut.samples(config.options);
      for (const group of groups) {
        const values = [...group.problems].flatMap((id) => {
          const value = figures.get(id)?.estimates.get(config.config);
          return value === undefined ? [] : [value];
        });
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
  a: readonly Pick<ResultFacts, "problemId" | "correct">[],
  b: readonly Pick<ResultFacts, "problemId" | "correct">[],
  seed: number,
): Interval & { problems: number } {
  const other = new Map(b.map((r) => [r.problemId, r]));
  const differences = a.flatMap((r) => {
    const match = other.get(r.problemId);
    return match ? [(r.correct ? 1 : 0) - (match.correct ? 1 : 0)] : [];
  });
  return { ...bootstrapMeanInterval(differences, { seed }), problems: differences.length };
}
