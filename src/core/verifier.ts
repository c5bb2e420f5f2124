/**
 * Verifiers turn candidates (or the steps of a partial solution) into scores, higher is
 * better: outcome and process reward models, LLM judges, test execution, step checkers and
 * plain user functions all implement this one interface.
 */
import { z } from "zod";
import type { Backend } from "./backend.js";
import type { Candidate, Problem } from "./types.js";

export interface VerifierContext {
  /** The generator's backend, metered as verifier usage (for judges that ask the model). */
  backend?: Backend;
  signal?: AbortSignal;
  /** Reports what an external verifier (a reward model server) spent. */
  recordUsage(spent: { tokens: number; calls: number; latencyMs?: number; estimated?: boolean }): void;
}

export const stepAggregations = ["last", "min", "product", "mean"] as const;
export type StepAggregation = (typeof stepAggregations)[number];
export const stepAggregationSchema = z.enum(stepAggregations);

export interface Verifier {
  readonly name: string;
  /** One score per candidate. */
  score(problem: Problem, candidates: readonly Candidate[], ctx: VerifierContext): Promise<number[]>;
  /**
   * Process verifiers: one score per step of a partial solution. `prefix` is the solution text
   * before `steps` (already scored earlier), so a search scores only the new steps in context.
   */
  scoreSteps?(
    problem: Problem,
    prefix: string,
    steps: readonly string[],
    ctx: VerifierContext,
  ): Promise<number[]>;
}

/** One score from per-step scores (Lightman et al. use min or product; Snell et al. last). */
export function aggregateStepScores(scores: readonly number[], how: StepAggregation): number {
  if (scores.length === 0) return 0;
  switch (how) {
    case "last":
      return scores[scores.length - 1]!;
    case "min":
      return Math.min(...scores);
    case "product":
      return scores.reduce((p, s) => p * s, 1);
    case "mean":
      return scores.reduce((p, s) => p + s, 0) / scores.length;
  }
}

/** A verifier from a plain function, for users who already have one. */
export function functionVerifier(
  name: string,
  fn: (problem: Problem, candidate: Candidate) => number | Promise<number>,
): Verifier {
  return {
    name,
    score: (problem, candidates) => Promise.all(candidates.map((c) => fn(problem, c))),
  };
}
