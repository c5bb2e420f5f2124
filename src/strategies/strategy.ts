import type { z } from "zod";
import type { Backend, SamplingOptions, TokenEvent } from "../core/backend.js";
import type { Budget, BudgetLimits } from "../core/budget.js";
import type { Meter } from "../core/meter.js";
import type { SelectionRule } from "../core/selection.js";
import type { Tracer } from "../core/trace.js";
import type { Candidate, Problem, Result, StrategyOutcome, Task } from "../core/types.js";
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
  /**
   * Receives the answer's text as it is decoded, for a caller that passes it on (the proxy
   * streams it to its client). A strategy sends here only the text of the pass it will answer
   * with, so what was sent is never taken back; the root scope alone has it.
   */
  answerStream?: (event: TokenEvent) => void;
  /** A nested scope: usage recorded there counts here too; its budget also answers to this one. */
  child(scope: { label: string; budget?: BudgetLimits }): StrategyContext;
  /**
   * A strategy by name, from the registry `run()` was given (the default one unless the caller
   * passed its own). Strategies that run others reach them here, never by importing the registry.
   */
  strategy(name: string): Strategy<unknown>;
  /** Whether `strategy(name)` would find one. */
  hasStrategy(name: string): boolean;
  /** Runs a registered strategy in a nested scope; its Result's usage is that scope's alone. */
  runStrategy(
    name: string,
    problem: Problem,
    options?: Record<string, unknown>,
    scope?: { label?: string; budget?: BudgetLimits },
  ): Promise<Result>;
}

/**
 * For strategies that draw k samples and then select one answer: the selection alone, which
 * their `run()` uses too. The bench applies it to k-subsets of an already drawn pool to get
 * the expected accuracy at every k without drawing again (a test proves it equals real runs).
 */
export interface PoolShortcut<Options> {
  /** The metric's name in reports, e.g. "maj@k". */
  metric: string;
  /** Samples the strategy draws with these options. */
  samples(options: Options): number;
  /** The answer chosen from these (scored, where the strategy needs a verifier) candidates. */
  select(candidates: readonly Candidate[], task: Task): string | undefined;
}

export interface Strategy<Options = unknown> {
  readonly name: string;
  readonly description: string;
  /** Validates and defaults the options; errors name the offending field. */
  readonly options: z.ZodType<Options>;
  /** Whether `ctx.verifier` must be set. */
  readonly needsVerifier: boolean;
  readonly fromPool?: PoolShortcut<Options>;
  /**
   * For strategies that draw samples and then select: the rule they select by (majority,
   * weighted or best score), so a caller pooling their samples (iterative-deepening) selects alike.
   */
  readonly selection?: SelectionRule;
  /**
   * The option that sets how much it may sample, which a bench's budget grid (`--n`) sweeps:
   * `n` where the strategy takes one, else e.g. an adaptive strategy's cap (`maxSamples`).
   */
  readonly sampleBudget?: string;
  /**
   * Runs the method. The outcome names its `chosen` candidate by the method's own rule (the
   * text the proxy answers with); `selectAnswer` and `voteAnswer` of `core/selection.ts` return
   * it with the answer they choose.
   */
  run(problem: Problem, ctx: StrategyContext, options: Options): Promise<StrategyOutcome>;
}

/**
 * Strategies by name, as a value handed down from the edge: `run()` passes one to the context,
 * and a strategy that runs another asks its context (`ctx.strategy(name)`).
 */
export interface StrategyLookup {
  /** The named strategy; throws InvalidInputError naming the known ones when there is none. */
  get(name: string): Strategy<unknown>;
  has(name: string): boolean;
  list(): Strategy<unknown>[];
}

/** Keeps the options type of a strategy while storing it alongside others. */
export function defineStrategy<Schema extends z.ZodType>(
  strategy: Strategy<z.output<Schema>> & { options: Schema },
): Strategy<z.output<Schema>> {
  return strategy;
}
