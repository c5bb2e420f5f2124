import type { z } from "zod";
import type { Backend, SamplingOptions } from "../backends/backend.js";
import type { Budget } from "../core/budget.js";
import type { Meter } from "../core/meter.js";
import type { TraceSink } from "../core/trace.js";
import type { Problem, Result } from "../core/types.js";
import type { Scorer } from "../verifiers/scorer.js";

/** Everything a strategy may use. A strategy does no I/O of its own and reads no environment. */
export interface StrategyContext {
  /** Already metered and budgeted: a call past the budget throws BudgetExhaustedError. */
  backend: Backend;
  meter: Meter;
  /** Read-only: lets a strategy plan its calls (the backend enforces the limits anyway). */
  budget: Budget;
  sampling: SamplingOptions;
  scorer?: Scorer;
  signal?: AbortSignal;
  trace: TraceSink;
}

export interface Strategy<Options = unknown> {
  readonly name: string;
  readonly description: string;
  /** Validates and defaults the options; errors name the offending field. */
  readonly options: z.ZodType<Options>;
  /** Whether `ctx.scorer` must be set. */
  readonly needsScorer: boolean;
  run(problem: Problem, ctx: StrategyContext, options: Options): Promise<Result>;
}

/** Keeps the options type of a strategy while storing it alongside others. */
export function defineStrategy<Schema extends z.ZodType>(
  strategy: Strategy<z.output<Schema>> & { options: Schema },
): Strategy<z.output<Schema>> {
  return strategy;
}
