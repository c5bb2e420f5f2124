/**
 * How hard a question is, from cheap signals of a small probe (a few samples): how much the
 * samples agree, how many state an answer, how long they are, how sure the model was (mean
 * token log-probability) and what a verifier or judge thinks (P(True)). A logistic model,
 * calibrated on a dev split where correctness is known, turns the signals into the probability
 * that the probe's own answer is right; difficulty is one minus that, cut into bins by
 * quantiles of the dev split. At test time no label is needed.
 */
import { z } from "zod";
import { InvalidInputError } from "../core/errors.js";
import { tallyAnswers } from "../core/selection.js";
import type { Task } from "../core/types.js";

export const difficultySignalNames = [
  "agreement",
  "answered",
  "distinct",
  "meanTokens",
  "meanLogprob",
  "verifierMean",
  "verifierMajority",
] as const;
export type DifficultySignal = (typeof difficultySignalNames)[number];
export type DifficultySignals = Partial<Record<DifficultySignal, number>>;

/** What the signals are read from: a probe's candidates, as a strategy returns them or a run stores them. */
export interface ProbeCandidate {
  answer?: string;
  score?: number;
  tokens: number;
  logprobs?: { logprob: number }[];
}

const mean = (values: readonly number[]): number => values.reduce((s, v) => s + v, 0) / values.length;

/**
 * The signals a probe's candidates give. `verifierMean` and `verifierMajority` (the mean score
 * of the samples that state the majority answer: P(True) when the verifier is a judge) exist
 * only when candidates are scored; `meanLogprob` only when they carry log-probabilities.
 */
export function difficultySignals(candidates: readonly ProbeCandidate[], task: Task): DifficultySignals {
  const n = candidates.length;
  if (n === 0) return { agreement: 0, answered: 0, distinct: 0, meanTokens: 0 };
  const tally = tallyAnswers(
    candidates.map((c) => ({ text: "", finishReason: "eos" as const, tokens: c.tokens, answer: c.answer })),
    task,
  );
  const signals: DifficultySignals = {
    agreement: (tally[0]?.count ?? 0) / n,
    answered: candidates.filter((c) => c.answer !== undefined).length / n,
    distinct: tally.length / n,
    meanTokens: mean(candidates.map((c) => c.tokens)),
  };
  const withLogprobs = candidates.filter((c) => c.logprobs && c.logprobs.length > 0);
  if (withLogprobs.length === n)
    signals.meanLogprob = mean(
      withLogprobs.map((c) => mean(c.logprobs!.map((l) => Math.max(l.logprob, -50)))),
    );
  if (candidates.every((c) => c.score !== undefined)) {
    signals.verifierMean = mean(candidates.map((c) => c.score!));
    const leader = tally[0]?.answer;
    const backers = candidates.filter(
      (c) => leader !== undefined && c.answer !== undefined && task.equivalent(leader, c.answer),
    );
    signals.verifierMajority = backers.length > 0 ? mean(backers.map((c) => c.score!)) : 0;
  }
  return signals;
}

export const difficultyModelSchema = z
  .object({
    features: z.array(z.enum(difficultySignalNames)).min(1),
    /** Standardisation of each feature, fitted on the dev split. */
    means: z.array(z.number()),
    scales: z.array(z.number().positive()),
    weights: z.array(z.number()),
    bias: z.number(),
    /** Upper difficulty edge of every bin but the last, ascending: bin i holds difficulty <= edges[i]. */
    edges: z.array(z.number()),
  })
  .strict()
  .refine((m) => m.means.length === m.features.length && m.scales.length === m.features.length, {
    message: "means and scales need one entry per feature",
    path: ["means"],
  })
  .refine((m) => m.weights.length === m.features.length, {
    message: "weights need one entry per feature",
    path: ["weights"],
  })
  .refine((m) => m.edges.every((e, i) => i === 0 || e > m.edges[i - 1]!), {
    message: "edges must ascend",
    path: ["edges"],
  });
export type DifficultyModel = z.infer<typeof difficultyModelSchema>;

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

/** Difficulty in [0, 1]: one minus the calibrated probability that the probe's answer is right. */
export function estimateDifficulty(model: DifficultyModel, signals: DifficultySignals): number {
  let z = model.bias;
  model.features.forEach((feature, i) => {
    const value = signals[feature];
    if (value === undefined)
      throw new InvalidInputError(
        `signals.${feature}`,
        "missing: the difficulty model was calibrated with it",
        feature.startsWith("verifier")
          ? "score the probe with the verifier the policy was fitted with"
          : feature === "meanLogprob"
            ? "ask the backend for logprobs"
            : undefined,
      );
    z += model.weights[i]! * ((value - model.means[i]!) / model.scales[i]!);
  });
  return 1 - sigmoid(z);
}

export function difficultyBin(model: DifficultyModel, difficulty: number): number {
  const bin = model.edges.findIndex((edge) => difficulty <= edge);
  return bin === -1 ? model.edges.length : bin;
}

export interface CalibrationExample {
  signals: DifficultySignals;
  /** Whether the probe's own answer was right. */
  correct: boolean;
}

/**
 * Fits the logistic model (L2-regularised, full-batch gradient descent on standardised
 * features, deterministic) and cuts the dev split's difficulties into `bins` bins of about
 * equal size. Features missing from any example are left out.
 */
export function calibrateDifficulty(
  examples: readonly CalibrationExample[],
  settings: { bins: number; features?: readonly DifficultySignal[]; l2?: number; iterations?: number },
): DifficultyModel {
  if (examples.length < 2)
    throw new InvalidInputError(
      "examples",
      `${examples.length} problem(s) are too few to calibrate difficulty`,
    );
  const candidates = settings.features ?? difficultySignalNames;
  const features = candidates.filter((f) => examples.every((e) => e.signals[f] !== undefined));
  if (features.length === 0)
    throw new InvalidInputError("features", `none of ${candidates.join(", ")} is known for every problem`);
  const columns = features.map((f) => examples.map((e) => e.signals[f]!));
  const means = columns.map((c) => mean(c));
  const scales = columns.map((c, i) => Math.sqrt(mean(c.map((v) => (v - means[i]!) ** 2))) || 1);
  const x = examples.map((_, row) => features.map((_, i) => (columns[i]![row]! - means[i]!) / scales[i]!));
  const y = examples.map((e) => (e.correct ? 1 : 0));
  const l2 = settings.l2 ?? 0.01;
  const weights = features.map(() => 0);
  const positive = mean(y);
  // Start at the base rate so that a useless feature leaves the prediction there.
  let bias = Math.log(Math.max(positive, 1e-3) / Math.max(1 - positive, 1e-3));
  for (let step = 0; step < (settings.iterations ?? 2000); step++) {
    const gradient = features.map(() => 0);
    let gradientBias = 0;
    x.forEach((row, r) => {
      const error = sigmoid(bias + row.reduce((s, v, i) => s + v * weights[i]!, 0)) - y[r]!;
      row.forEach((v, i) => {
        gradient[i]! += error * v;
      });
      gradientBias += error;
    });
    weights.forEach((w, i) => {
      weights[i] = w - 0.5 * (gradient[i]! / x.length + l2 * w);
    });
    bias -= 0.5 * (gradientBias / x.length);
  }
  const model = { features: [...features], means, scales, weights, bias, edges: [] as number[] };
  const difficulties = examples.map((e) => estimateDifficulty(model, e.signals)).sort((a, b) => a - b);
  model.edges = quantileEdges(difficulties, settings.bins);
  return model;
}

/**
 * Edges that cut sorted values into `bins` groups of about equal size. Ties never straddle an
 * edge: an edge that would repeat the previous one moves up to the next distinct value.
 */
export function quantileEdges(sorted: readonly number[], bins: number): number[] {
  const edges: number[] = [];
  const largest = sorted[sorted.length - 1]!;
  for (let b = 1; b < bins; b++) {
    let edge = sorted[Math.min(sorted.length - 1, Math.ceil((b * sorted.length) / bins) - 1)]!;
    const previous = edges[edges.length - 1];
    if (previous !== undefined && edge <= previous) edge = sorted.find((v) => v > previous) ?? largest;
    if (edge < largest) edges.push(edge);
  }
  return edges;
}
