import type { Candidate, Problem } from "../core/types.js";

/**
 * Turns candidate solutions into scores (higher is better). Outcome reward models, judges,
 * test execution and step checkers all implement this one interface.
 */
export interface Scorer {
  readonly name: string;
  score(problem: Problem, candidates: readonly Candidate[], signal?: AbortSignal): Promise<number[]>;
}

/** A scorer from a plain function, for users who already have a verifier. */
export function functionScorer(
  name: string,
  fn: (problem: Problem, candidate: Candidate) => number | Promise<number>,
): Scorer {
  return {
    name,
    score: (problem, candidates) => Promise.all(candidates.map((c) => fn(problem, c))),
  };
}
