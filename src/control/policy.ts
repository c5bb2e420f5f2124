/**
 * A compute-optimal policy (Snell et al. 2024): per difficulty bin, the strategy configuration
 * that maximises accuracy under a compute constraint, or reaches a target accuracy for the
 * least compute, fitted on a dev split of a finished bench run. Versioned JSON, validated
 * with zod, and checked against the task, the model and the registered strategies before use.
 */
import { z } from "zod";
import { InvalidInputError } from "../core/errors.js";
import type { Task, Usage } from "../core/types.js";
import { totalTokens } from "../core/types.js";
import { parseOrThrow } from "../core/validate.js";
import {
  type CalibrationExample,
  calibrateDifficulty,
  type DifficultySignal,
  difficultyBin,
  difficultyModelSchema,
  difficultySignals,
  estimateDifficulty,
  type ProbeCandidate,
} from "./difficulty.js";

export const policyVersion = 1;

const configSchema = z
  .object({
    /** As the bench names it, e.g. "self-consistency n=8". */
    config: z.string().min(1),
    strategy: z.string().min(1),
    options: z.record(z.string(), z.unknown()),
  })
  .strict();

const objectiveSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("max-accuracy"), maxTokens: z.number().positive() }).strict(),
  z.object({ kind: z.literal("min-tokens"), targetAccuracy: z.number().min(0).max(1) }).strict(),
]);
export type PolicyObjective = z.infer<typeof objectiveSchema>;

export const policySchema = z
  .object({
    version: z.literal(policyVersion),
    /** The task the run was graded with. */
    task: z.string().min(1),
    /** The backend id the run sampled from (e.g. "llamacpp:reckon-tiny"). */
    model: z.string().min(1),
    /**
     * Run first on every question; its candidates give the difficulty signals. Null: no probe,
     * the one bin's configuration runs on every question (on the dev split no probe-then-choose
     * policy did better than that fixed configuration).
     */
    probe: configSchema.nullable(),
    difficulty: difficultyModelSchema,
    objective: objectiveSchema,
    bins: z
      .array(
        z
          .object({
            /** Answer with the probe's result (no further compute), or run `config` after it. */
            use: z.union([z.literal("probe"), configSchema]),
            /** On the dev split: accuracy and mean tokens per question, probe included. */
            accuracy: z.number().min(0).max(1),
            tokens: z.number().nonnegative(),
            problems: z.number().int().nonnegative(),
          })
          .strict(),
      )
      .min(1),
    fittedOn: z
      .object({
        runId: z.string().optional(),
        problems: z.number().int().positive(),
        configs: z.array(z.string()),
        accuracy: z.number(),
        tokens: z.number(),
      })
      .strict(),
  })
  .strict()
  .refine((p) => p.bins.length === p.difficulty.edges.length + 1, {
    message: "needs one bin per difficulty interval (edges + 1)",
    path: ["bins"],
  })
  .refine((p) => p.probe !== null || (p.bins.length === 1 && p.bins[0]!.use !== "probe"), {
    message: "a policy without a probe has one bin, which names a configuration",
    path: ["bins"],
  });
export type Policy = z.infer<typeof policySchema>;
export type PolicyChoice = Policy["bins"][number]["use"];

export interface PolicyExpectations {
  task?: string;
  model?: string;
  /** Whether a strategy name is registered. */
  isRegistered?: (name: string) => boolean;
}

/** Validates a policy (fields named) and refuses one fitted for another task or model, or naming an unknown strategy. */
export function parsePolicy(value: unknown, expect: PolicyExpectations = {}): Policy {
  const version = (value as { version?: unknown } | null)?.version;
  if (typeof version === "number" && version !== policyVersion)
    throw new InvalidInputError(
      "policy.version",
      `is ${version}; this reckon reads version ${policyVersion}`,
      "fit it again with reckon tune",
    );
  const policy = parseOrThrow(policySchema, value, "policy");
  if (expect.task !== undefined && policy.task !== expect.task)
    throw new InvalidInputError(
      "policy.task",
      `the policy was fitted for task "${policy.task}", not "${expect.task}"`,
      "fit a policy on a run of this task",
    );
  if (expect.model !== undefined && policy.model !== expect.model)
    throw new InvalidInputError(
      "policy.model",
      `the policy was fitted for ${policy.model}, not ${expect.model}`,
      "fit a policy on a run of this model",
    );
  if (expect.isRegistered) {
    const named: [string, string][] = policy.probe ? [["policy.probe.strategy", policy.probe.strategy]] : [];
    policy.bins.forEach((bin, i) => {
      if (bin.use !== "probe") named.push([`policy.bins[${i}].use.strategy`, bin.use.strategy]);
    });
    for (const [field, name] of named)
      if (!expect.isRegistered(name))
        throw new InvalidInputError(field, `names strategy "${name}", which is not registered`);
  }
  return policy;
}

/** The bin and the configuration a policy picks for a probe's signals (a policy without a probe: its one configuration). */
export function choose(
  policy: Policy,
  signals: Partial<Record<DifficultySignal, number>>,
): { difficulty: number; bin: number; use: PolicyChoice } {
  if (policy.probe === null) return { difficulty: 0, bin: 0, use: policy.bins[0]!.use };
  const difficulty = estimateDifficulty(policy.difficulty, signals);
  const bin = difficultyBin(policy.difficulty, difficulty);
  return { difficulty, bin, use: policy.bins[bin]!.use };
}

/** The fields of a stored result the fitting reads (`ResultRecord` in src/store/results.ts). */
export interface PolicyRow {
  problemId: string;
  config: string;
  strategy: string;
  options: Record<string, unknown>;
  correct: boolean;
  usage: Usage;
  /** With the draw each candidate is, when the run stored it: draws the probe made are not paid twice. */
  candidates: (ProbeCandidate & { draw?: number })[];
}

export interface FitSettings {
  task: Task;
  model: string;
  /** The configuration whose candidates give the difficulty signals, e.g. "self-consistency n=4". */
  probe: string;
  /** Accuracy under a mean token budget, or tokens for a target accuracy (or that of a configuration). */
  objective: PolicyObjective | { kind: "match"; config: string };
  bins?: number;
  features?: readonly DifficultySignal[];
  runId?: string;
  /** Fewer problems than this (with every configuration) are refused. Default 20. */
  minProblems?: number;
}

interface Option {
  use: PolicyChoice;
  /** Per problem of the bin, in bin order. */
  correct: number;
  tokens: number;
}

/** Accuracy and mean tokens per question. */
export interface Score {
  accuracy: number;
  tokens: number;
}

const eps = 1e-9;
const tokensOf = (row: PolicyRow) => totalTokens(row.usage);

/**
 * What running `row`'s configuration after the probe adds to the probe's cost: its tokens less
 * the completions of the draws the probe already made (`auto` serves those again instead of
 * drawing them: a probe of 4 samples then self-consistency at 16 draws 12 more).
 */
export function tokensAfterProbe(probe: PolicyRow, row: PolicyRow): number {
  const drawn = new Set(probe.candidates.flatMap((c) => (c.draw === undefined ? [] : [c.draw])));
  if (drawn.size === 0) return tokensOf(row);
  const shared = row.candidates.reduce(
    (sum, c) => sum + (c.draw !== undefined && drawn.has(c.draw) ? c.tokens : 0),
    0,
  );
  return Math.max(0, tokensOf(row) - shared);
}

const meets = (score: Score, objective: PolicyObjective): boolean =>
  objective.kind === "max-accuracy"
    ? score.tokens <= objective.maxTokens + eps
    : score.accuracy >= objective.targetAccuracy - eps;

/** Whether `a` does better than `b` under the objective (both meeting it): ties go to fewer tokens. */
const beats = (a: Score, b: Score | undefined, objective: PolicyObjective): boolean =>
  b === undefined ||
  (objective.kind === "max-accuracy"
    ? a.accuracy > b.accuracy + eps || (Math.abs(a.accuracy - b.accuracy) <= eps && a.tokens < b.tokens - eps)
    : a.tokens < b.tokens - eps || (Math.abs(a.tokens - b.tokens) <= eps && a.accuracy > b.accuracy + eps));

/** A run's rows by configuration and problem, with the problems that have every configuration. */
interface DevSplit {
  byConfig: Map<string, Map<string, PolicyRow>>;
  probeRows: Map<string, PolicyRow>;
  others: string[];
  problems: string[];
}

function devSplit(rows: readonly PolicyRow[], settings: FitSettings): DevSplit {
  const byConfig = new Map<string, Map<string, PolicyRow>>();
  for (const row of rows) {
    if (!byConfig.has(row.config)) byConfig.set(row.config, new Map());
    byConfig.get(row.config)!.set(row.problemId, row);
  }
  const probeRows = byConfig.get(settings.probe);
  if (!probeRows)
    throw new InvalidInputError(
      "probe",
      `the run has no results for "${settings.probe}"`,
      `configurations in the run: ${[...byConfig.keys()].join(", ") || "none"}`,
    );
  const others = [...byConfig.keys()].filter((c) => c !== settings.probe);
  if (others.length < 2)
    throw new InvalidInputError(
      "run",
      `covers ${others.length} configuration(s) besides the probe (${others.join(", ") || "none"}); a policy needs at least 2 to choose from`,
      "bench several strategies or budgets (e.g. self-consistency with n 1,4,16 and esc)",
    );
  // Problems with every configuration: a choice is only comparable on the same questions.
  const problems = [...probeRows.keys()].filter((id) => others.every((c) => byConfig.get(c)!.has(id)));
  if (settings.objective.kind === "match" && !byConfig.has(settings.objective.config))
    throw new InvalidInputError(
      "objective.config",
      `the run has no results for "${settings.objective.config}"`,
      `configurations in the run: ${[...byConfig.keys()].join(", ")}`,
    );
  return { byConfig, probeRows, others, problems };
}

function configOf(split: DevSplit, config: string) {
  const sample = split.byConfig.get(config)!.values().next().value!;
  return { config, strategy: sample.strategy, options: sample.options };
}

/** The objective on these problems (a configuration to match becomes its accuracy there). */
function resolveObjective(
  split: DevSplit,
  problems: readonly string[],
  settings: FitSettings,
): PolicyObjective {
  if (settings.objective.kind !== "match") return settings.objective;
  const target = split.byConfig.get(settings.objective.config)!;
  return {
    kind: "min-tokens",
    targetAccuracy: problems.filter((id) => target.get(id)?.correct).length / problems.length,
  };
}

/** Every configuration of the run used alone on every problem, without a probe. */
function fixedScores(split: DevSplit, problems: readonly string[]): (Score & { config: string })[] {
  return [probeConfig(split), ...split.others].map((config) => {
    const own = split.byConfig.get(config)!;
    return {
      config,
      accuracy: problems.filter((id) => own.get(id)!.correct).length / problems.length,
      tokens: problems.reduce((sum, id) => sum + tokensOf(own.get(id)!), 0) / problems.length,
    };
  });
}
const probeConfig = (split: DevSplit): string => split.probeRows.values().next().value!.config;

/** The best fixed configuration under the objective on these problems, if any meets it. */
function bestFixed(
  split: DevSplit,
  problems: readonly string[],
  objective: PolicyObjective,
): (Score & { config: string }) | undefined {
  let best: (Score & { config: string }) | undefined;
  for (const fixed of fixedScores(split, problems))
    if (meets(fixed, objective) && beats(fixed, best, objective)) best = fixed;
  return best;
}

/**
 * Fits a policy on dev rows: one row per problem x configuration, from a run that covers the
 * probe and at least two other configurations. Every configuration used alone (no probe) is a
 * candidate beside the probe-then-choose policies, so the policy never does worse on the dev
 * split than the best fixed configuration. Says what is missing when the run cannot support a
 * policy, and refuses an objective no policy meets, with the reason.
 */
export function fitPolicy(rows: readonly PolicyRow[], settings: FitSettings): Policy {
  const minProblems = settings.minProblems ?? 20;
  const split = devSplit(rows, settings);
  if (split.problems.length < minProblems)
    throw new InvalidInputError(
      "run",
      `has ${split.problems.length} problem(s) with results for every configuration; fitting needs at least ${minProblems}`,
      "bench more problems, or finish the run (reckon bench --resume)",
    );
  return fitOn(split, split.problems, settings);
}

function fitOn(split: DevSplit, problems: readonly string[], settings: FitSettings): Policy {
  const { byConfig, probeRows, others } = split;
  const examples: CalibrationExample[] = problems.map((id) => ({
    signals: difficultySignals(probeRows.get(id)!.candidates, settings.task),
    correct: probeRows.get(id)!.correct,
  }));
  const difficulty = calibrateDifficulty(examples, { bins: settings.bins ?? 3, features: settings.features });
  const binOf = examples.map((e) => difficultyBin(difficulty, estimateDifficulty(difficulty, e.signals)));
  const binCount = difficulty.edges.length + 1;

  // Per bin, every option's summed correctness and tokens (the probe's cost included, its draws paid once).
  const options: Option[][] = Array.from({ length: binCount }, () => []);
  for (let bin = 0; bin < binCount; bin++) {
    const members = problems.filter((_, i) => binOf[i] === bin);
    const probeOption: Option = { use: "probe", correct: 0, tokens: 0 };
    for (const id of members) {
      probeOption.correct += probeRows.get(id)!.correct ? 1 : 0;
      probeOption.tokens += tokensOf(probeRows.get(id)!);
    }
    options[bin]!.push(probeOption);
    for (const config of others) {
      const option: Option = { use: configOf(split, config), correct: 0, tokens: probeOption.tokens };
      for (const id of members) {
        const row = byConfig.get(config)!.get(id)!;
        option.correct += row.correct ? 1 : 0;
        option.tokens += tokensAfterProbe(probeRows.get(id)!, row);
      }
      options[bin]!.push(option);
    }
  }

  const objective = resolveObjective(split, problems, settings);
  const picks = selectPerBin(options, problems.length, objective);
  const probed: Score | undefined = picks && {
    accuracy: picks.reduce((s, o) => s + o.correct, 0) / problems.length,
    tokens: picks.reduce((s, o) => s + o.tokens, 0) / problems.length,
  };
  const fixed = bestFixed(split, problems, objective);
  const common = {
    version: policyVersion,
    task: settings.task.name,
    model: settings.model,
    objective,
  };
  const fittedOn = (score: Score) => ({
    ...(settings.runId !== undefined ? { runId: settings.runId } : {}),
    problems: problems.length,
    configs: [settings.probe, ...others],
    accuracy: score.accuracy,
    tokens: score.tokens,
  });
  if (fixed && (!probed || !beats(probed, fixed, objective)))
    return parsePolicy({
      ...common,
      probe: null,
      difficulty: { ...difficulty, edges: [] },
      bins: [
        {
          use: configOf(split, fixed.config),
          accuracy: fixed.accuracy,
          tokens: fixed.tokens,
          problems: problems.length,
        },
      ],
      fittedOn: fittedOn(fixed),
    });
  if (!picks || !probed) throw unreachable(split, problems, options, objective);
  const bins = picks.map((option, bin) => {
    const size = binOf.filter((b) => b === bin).length;
    return {
      use: option.use,
      accuracy: size > 0 ? option.correct / size : 0,
      tokens: size > 0 ? option.tokens / size : 0,
      problems: size,
    };
  });
  return parsePolicy({
    ...common,
    probe: configOf(split, settings.probe),
    difficulty,
    bins,
    fittedOn: fittedOn(probed),
  });
}

/** Why no policy meets the objective: the least it can spend, or the most it can reach. */
function unreachable(
  split: DevSplit,
  problems: readonly string[],
  options: readonly Option[][],
  objective: PolicyObjective,
): InvalidInputError {
  const fixed = fixedScores(split, problems);
  if (objective.kind === "max-accuracy") {
    const cheapest = fixed.reduce((a, b) => (b.tokens < a.tokens ? b : a));
    return new InvalidInputError(
      "budget",
      `no policy spends at most ${objective.maxTokens} tokens per question: the cheapest configuration of the run, ${cheapest.config}, spends ${cheapest.tokens.toFixed(1)} on the dev split`,
      `allow at least ${Math.ceil(cheapest.tokens)} tokens, or bench a cheaper configuration`,
    );
  }
  const most = options.reduce((s, bin) => s + Math.max(...bin.map((o) => o.correct)), 0) / problems.length;
  const best = Math.max(most, ...fixed.map((f) => f.accuracy));
  return new InvalidInputError(
    "target-accuracy",
    `no policy reaches ${(100 * objective.targetAccuracy).toFixed(1)}% on the dev split; the most any reaches is ${(100 * best).toFixed(1)}%`,
    "aim lower, or bench stronger configurations",
  );
}

/** A policy's accuracy and mean tokens on these problems of a run (each needs the rows the policy uses). */
export function evaluatePolicy(
  policy: Policy,
  rows: readonly PolicyRow[],
  task: Task,
  problems?: readonly string[],
): Score & { problems: number } {
  const byConfig = new Map<string, Map<string, PolicyRow>>();
  for (const row of rows) {
    if (!byConfig.has(row.config)) byConfig.set(row.config, new Map());
    byConfig.get(row.config)!.set(row.problemId, row);
  }
  const lead = policy.probe?.config ?? (policy.bins[0]!.use as { config: string }).config;
  const ids = problems ?? [...(byConfig.get(lead)?.keys() ?? [])];
  let correct = 0;
  let tokens = 0;
  for (const id of ids) {
    const outcome = outcomeOn(policy, byConfig, id, task);
    correct += outcome.correct ? 1 : 0;
    tokens += outcome.tokens;
  }
  return {
    accuracy: ids.length > 0 ? correct / ids.length : 0,
    tokens: ids.length > 0 ? tokens / ids.length : 0,
    problems: ids.length,
  };
}

function outcomeOn(
  policy: Policy,
  byConfig: Map<string, Map<string, PolicyRow>>,
  id: string,
  task: Task,
): { correct: boolean; tokens: number } {
  const rowOf = (config: string) => {
    const row = byConfig.get(config)?.get(id);
    if (!row) throw new InvalidInputError("rows", `problem ${id} has no result for "${config}"`);
    return row;
  };
  if (policy.probe === null) {
    const row = rowOf((policy.bins[0]!.use as { config: string }).config);
    return { correct: row.correct, tokens: tokensOf(row) };
  }
  const probe = rowOf(policy.probe.config);
  const { use } = choose(policy, difficultySignals(probe.candidates, task));
  if (use === "probe") return { correct: probe.correct, tokens: tokensOf(probe) };
  const row = rowOf(use.config);
  return { correct: row.correct, tokens: tokensOf(probe) + tokensAfterProbe(probe, row) };
}

export interface CrossValidation {
  folds: number;
  problems: number;
  /** The tuned policy, fitted without each fold and scored on it. */
  policy: Score;
  /** The best fixed configuration under the same objective, chosen without each fold and scored on it. */
  fixed: Score & { configs: string[] };
}

/** A stable order of problems that does not follow their ids' order (which may follow difficulty). */
function shuffled(ids: readonly string[]): string[] {
  const hash = (id: string) => {
    let h = 2166136261;
    for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 16777619) >>> 0;
    return h;
  };
  return [...ids].sort((a, b) => hash(a) - hash(b) || (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * Held-out figures, k-fold over problems: for each fold, the policy is fitted on the other
 * folds and scored on this one, and so is the best fixed configuration under the same
 * objective. A fold where no policy meets the objective falls back to the cheapest (budget) or
 * the most accurate (target) configuration of its training folds.
 */
export function crossValidate(rows: readonly PolicyRow[], settings: FitSettings, folds = 5): CrossValidation {
  const split = devSplit(rows, settings);
  const order = shuffled(split.problems);
  const k = Math.max(2, Math.min(folds, Math.floor(order.length / 2)));
  if (order.length < 4)
    throw new InvalidInputError(
      "run",
      `has ${order.length} complete problem(s); cross-validation needs at least 4`,
    );
  const policy = { correct: 0, tokens: 0 };
  const fixed = { correct: 0, tokens: 0, configs: new Set<string>() };
  for (let fold = 0; fold < k; fold++) {
    const test = order.filter((_, i) => i % k === fold);
    const train = order.filter((_, i) => i % k !== fold);
    const objective = resolveObjective(split, train, settings);
    const fallback = (): Score & { config: string } => {
      const all = fixedScores(split, train);
      return all.reduce((a, b) =>
        objective.kind === "max-accuracy"
          ? b.tokens < a.tokens
            ? b
            : a
          : b.accuracy > a.accuracy || (b.accuracy === a.accuracy && b.tokens < a.tokens)
            ? b
            : a,
      );
    };
    const chosenFixed = bestFixed(split, train, objective) ?? fallback();
    let fitted: Policy;
    try {
      fitted = fitOn(split, train, settings);
    } catch (error) {
      if (!(error instanceof InvalidInputError)) throw error;
      fitted = fixedPolicy(split, chosenFixed.config, settings, objective);
    }
    for (const id of test) {
      const outcome = outcomeOn(fitted, split.byConfig, id, settings.task);
      policy.correct += outcome.correct ? 1 : 0;
      policy.tokens += outcome.tokens;
      const row = split.byConfig.get(chosenFixed.config)!.get(id)!;
      fixed.correct += row.correct ? 1 : 0;
      fixed.tokens += tokensOf(row);
    }
    fixed.configs.add(chosenFixed.config);
  }
  const n = order.length;
  return {
    folds: k,
    problems: n,
    policy: { accuracy: policy.correct / n, tokens: policy.tokens / n },
    fixed: { accuracy: fixed.correct / n, tokens: fixed.tokens / n, configs: [...fixed.configs] },
  };
}

/** A policy that runs one configuration on every question (scoring only: its figures are not fitted). */
function fixedPolicy(
  split: DevSplit,
  config: string,
  settings: FitSettings,
  objective: PolicyObjective,
): Policy {
  return {
    version: policyVersion,
    task: settings.task.name,
    model: settings.model,
    probe: null,
    difficulty: { features: ["agreement"], means: [0], scales: [1], weights: [0], bias: 0, edges: [] },
    objective,
    bins: [{ use: configOf(split, config), accuracy: 0, tokens: 0, problems: 0 }],
    fittedOn: { problems: split.problems.length, configs: [config], accuracy: 0, tokens: 0 },
  };
}

/**
 * The best fixed configuration of a run on its complete problems: the most accurate within
 * `maxTokens` mean tokens per question (the cheapest among equals), or none when every
 * configuration spends more.
 */
export function bestFixedWithin(
  rows: readonly PolicyRow[],
  settings: FitSettings,
  maxTokens: number,
): (Score & { config: string }) | undefined {
  const split = devSplit(rows, settings);
  return bestFixed(split, split.problems, { kind: "max-accuracy", maxTokens });
}

/**
 * One option per bin: the combination with the best accuracy within the mean token budget, or
 * the fewest tokens reaching the target accuracy. Exhaustive for the few bins and options a
 * run has, with a Lagrangian sweep beyond that; ties go to fewer tokens. Undefined when no
 * combination meets the objective.
 */
export function selectPerBin(
  options: readonly Option[][],
  problems: number,
  objective: PolicyObjective,
): Option[] | undefined {
  const combos = options.reduce((p, o) => p * o.length, 1);
  const candidates: Option[][] = combos <= 200_000 ? enumerate(options) : lagrangian(options);
  let best: Option[] | undefined;
  let bestScore: Score | undefined;
  for (const pick of candidates) {
    const score = {
      accuracy: pick.reduce((s, o) => s + o.correct, 0) / problems,
      tokens: pick.reduce((s, o) => s + o.tokens, 0) / problems,
    };
    if (meets(score, objective) && beats(score, bestScore, objective)) {
      best = pick;
      bestScore = score;
    }
  }
  return best;
}

function enumerate(options: readonly Option[][]): Option[][] {
  let combos: Option[][] = [[]];
  for (const bin of options) combos = combos.flatMap((c) => bin.map((o) => [...c, o]));
  return combos;
}

function lagrangian(options: readonly Option[][]): Option[][] {
  const picks: Option[][] = [];
  for (let i = 0; i <= 400; i++) {
    const lambda = i === 0 ? 0 : 10 ** (-6 + (i / 400) * 8);
    picks.push(
      options.map((bin) =>
        bin.reduce((a, b) => (b.correct - lambda * b.tokens > a.correct - lambda * a.tokens ? b : a)),
      ),
    );
  }
  return picks;
}

/** Reads a policy file as JSON (the checks against task, model and registry happen when it is used). */
export async function readPolicyFile(path: string, flag = "--policy"): Promise<Record<string, unknown>> {
  const { readFile } = await import("node:fs/promises");
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new InvalidInputError(
      flag,
      `cannot read ${path}: ${(error as Error).message}`,
      "fit one with reckon tune RUN_ID --out FILE",
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new InvalidInputError(flag, `${path} is not JSON: ${(error as Error).message}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw new InvalidInputError(flag, `${path} does not hold a policy object`);
  return value as Record<string, unknown>;
}
