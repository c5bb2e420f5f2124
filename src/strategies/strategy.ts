import type { z } from "zod";
import type { Backend, SamplingOptions } from "../core/backend.js";
import type { Budget, BudgetLimits } from "../core/budget.js";
import type { Meter } from "../core/meter.js";
import type { Tracer } from "../core/trace.js";
import type { Problem, Result, StrategyOutcome } from "../core/types.js";
import type { Verifier, VerifierContext } from "../core/verifier.js";

/**
 * Everything a strategy may use, for one scope. A strategy does no I/O of its own and reads
 * no environment. `child` opens a nested scope (its own budget, its own usage) so strategies
 * compose: revisions over best-of-n, auto over anything.
 */
export interface StrategyContext {
  /** Metered and budgeted for this scope: a call past the budget throws BudgetExhaustedError. */
  backend: Backend;
  /** This scope's usage so far. */
  meter: Meter;
  /** This scope's limits (enclosing scopes' limits apply too). */
  budget: Budget;
  sampling: SamplingOptions;
  verifier?: Verifier;
  /** What the verifier gets: the backend metered as verifier usage, the signal. */
  verifierContext: VerifierContext;
  signal?: AbortSignal;
  trace: Tracer;
  /** A nested scope: usage recorded there counts here too; its budget also answers to this one. */
  child(scope: { label: string; budget?: BudgetLimits }): StrategyContext;
  /** Runs a registered strategy in a nested scope; its Result's usage is that scope's alone. */
  runStrategy(
    name: string,
    problem: Problem,
    options?: Record<string, unknown>,
    scope?: { label?: string; budget?: BudgetLimits },
  ): Promise<Result>;
}

/**
 * Exact expected accuracy of a strategy over k-subsets of a pool of already drawn samples: a
 * shortcut the bench may take instead of running the strategy on every subset, declared only
 * where a test proves it equals the mean of real runs.
 */
export interface PoolShortcut<Options> {
  /** The estimator over the pool (see bench/estimators.ts). */
  metric: "maj@k" | "rm@k" | "wmaj@k";
  /** Samples the strategy draws with these options. */
  samples(options: Options): number;
}

export interface Strategy<Options = unknown> {
  readonly name: string;
  readonly description: string;
  /** Validates and defaults the options; errors name the offending field. */
  readonly options: z.ZodType<Options>;
  /** Whether `ctx.verifier` must be set. */
  readonly needsVerifier: boolean;
  readonly fromPool?: PoolShortcut<Options>;
  run(problem: Problem, ctx: StrategyContext, options: Options): Promise<StrategyOutcome>;
}

/** Keeps the options type of a strategy while storing it alongside others. */
export function defineStrategy<Schema extends z.ZodType>(
  strategy: Strategy<z.output<Schema>> & { options: Schema },
): Strategy<z.output<Schema>> {
  return strategy;
}
