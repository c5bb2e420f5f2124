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
    /** Run first on every question; its candidates give the difficulty signals. */
    probe: configSchema,
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
    const named: [string, string][] = [["policy.probe.strategy", policy.probe.strategy]];
    policy.bins.forEach((bin, i) => {
      if (bin.use !== "probe") named.push([`policy.bins[${i}].use.strategy`, bin.use.strategy]);
    });
    for (const [field, name] of named)
      if (!expect.isRegistered(name))
        throw new InvalidInputError(field, `names strategy "${name}", which is not registered`);
  }
  return policy;
}

/** The bin and the configuration a policy picks for a probe's signals. */
export function choose(
  policy: Policy,
  signals: Partial<Record<DifficultySignal, number>>,
): { difficulty: number; bin: number; use: PolicyChoice } {
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
  candidates: ProbeCandidate[];
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

/**
 * Fits a policy on dev rows: one row per problem x configuration, from a run that covers the
 * probe and at least two other configurations. Says what is missing when the run cannot
 * support a policy.
 */
export function fitPolicy(rows: readonly PolicyRow[], settings: FitSettings): Policy {
  const minProblems = settings.minProblems ?? 20;
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
  if (problems.length < minProblems)
    throw new InvalidInputError(
      "run",
      `has ${problems.length} problem(s) with results for every configuration; fitting needs at least ${minProblems}`,
      "bench more problems, or finish the run (reckon bench --resume)",
    );
  const examples: CalibrationExample[] = problems.map((id) => ({
    signals: difficultySignals(probeRows.get(id)!.candidates, settings.task),
    correct: probeRows.get(id)!.correct,
  }));
  const difficulty = calibrateDifficulty(examples, { bins: settings.bins ?? 3, features: settings.features });
  const binOf = examples.map((e) => difficultyBin(difficulty, estimateDifficulty(difficulty, e.signals)));
  const binCount = difficulty.edges.length + 1;
  const tokensOf = (row: PolicyRow) => totalTokens(row.usage);

  // Per bin, every option's summed correctness and tokens (probe cost included in every option).
  const options: Option[][] = Array.from({ length: binCount }, () => []);
  const configOf = (config: string) => {
    const sample = byConfig.get(config)!.values().next().value!;
    return { config, strategy: sample.strategy, options: sample.options };
  };
  for (let bin = 0; bin < binCount; bin++) {
    const members = problems.filter((_, i) => binOf[i] === bin);
    const probeOption: Option = { use: "probe", correct: 0, tokens: 0 };
    for (const id of members) {
      probeOption.correct += probeRows.get(id)!.correct ? 1 : 0;
      probeOption.tokens += tokensOf(probeRows.get(id)!);
    }
    options[bin]!.push(probeOption);
    for (const config of others) {
      const option: Option = { use: configOf(config), correct: 0, tokens: probeOption.tokens };
      for (const id of members) {
        const row = byConfig.get(config)!.get(id)!;
        option.correct += row.correct ? 1 : 0;
        option.tokens += tokensOf(row);
      }
      options[bin]!.push(option);
    }
  }

  let objective: PolicyObjective;
  if (settings.objective.kind === "match") {
    const target = byConfig.get(settings.objective.config);
    if (!target)
      throw new InvalidInputError(
        "objective.config",
        `the run has no results for "${settings.objective.config}"`,
        `configurations in the run: ${[...byConfig.keys()].join(", ")}`,
      );
    const accuracy = problems.filter((id) => target.get(id)?.correct).length / problems.length;
    objective = { kind: "min-tokens", targetAccuracy: accuracy };
  } else objective = settings.objective;

  const picks = selectPerBin(options, problems.length, objective);
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
    version: policyVersion,
    task: settings.task.name,
    model: settings.model,
    probe: configOf(settings.probe),
    difficulty,
    objective,
    bins,
    fittedOn: {
      ...(settings.runId !== undefined ? { runId: settings.runId } : {}),
      problems: problems.length,
      configs: [settings.probe, ...others],
      accuracy: picks.reduce((s, o) => s + o.correct, 0) / problems.length,
      tokens: picks.reduce((s, o) => s + o.tokens, 0) / problems.length,
    },
  });
}

/**
 * One option per bin: the combination with the best accuracy within the mean token budget, or
 * the fewest tokens reaching the target accuracy. Exhaustive for the few bins and options a
 * run has, with a Lagrangian sweep beyond that; ties go to fewer tokens.
 */
export function selectPerBin(
  options: readonly Option[][],
  problems: number,
  objective: PolicyObjective,
): Option[] {
  const combos = options.reduce((p, o) => p * o.length, 1);
  const candidates: Option[][] = combos <= 200_000 ? enumerate(options) : lagrangian(options);
  const score = (pick: Option[]) => ({
    accuracy: pick.reduce((s, o) => s + o.correct, 0) / problems,
    tokens: pick.reduce((s, o) => s + o.tokens, 0) / problems,
  });
  let best: Option[] | undefined;
  let bestScore: { accuracy: number; tokens: number } | undefined;
  const eps = 1e-9;
  for (const pick of candidates) {
    const s = score(pick);
    const feasible =
      objective.kind === "max-accuracy"
        ? s.tokens <= objective.maxTokens + eps
        : s.accuracy >= objective.targetAccuracy - eps;
    if (!feasible) continue;
    const better =
      bestScore === undefined ||
      (objective.kind === "max-accuracy"
        ? s.accuracy > bestScore.accuracy + eps ||
          (Math.abs(s.accuracy - bestScore.accuracy) <= eps && s.tokens < bestScore.tokens)
        : s.tokens < bestScore.tokens - eps ||
          (Math.abs(s.tokens - bestScore.tokens) <= eps && s.accuracy > bestScore.accuracy));
    if (better) {
      best = pick;
      bestScore = s;
    }
  }
  if (best) return best;
  // Nothing meets the constraint: the cheapest option per bin (budget) or the most accurate (target).
  return options.map((bin) =>
    bin.reduce((a, b) =>
      objective.kind === "max-accuracy"
        ? b.tokens < a.tokens
          ? b
          : a
        : b.correct > a.correct || (b.correct === a.correct && b.tokens < a.tokens)
          ? b
          : a,
    ),
  );
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
