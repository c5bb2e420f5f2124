import type { Backend, SamplingOptions } from "./backends/backend.js";
import { Budget, type BudgetLimits, budgetSchema } from "./core/budget.js";
import { InvalidInputError } from "./core/errors.js";
import { Meter, meteredBackend } from "./core/meter.js";
import { discardTrace, type TraceSink } from "./core/trace.js";
import type { Problem, Result } from "./core/types.js";
import { parseOrThrow } from "./core/validate.js";
import { getStrategy } from "./strategies/registry.js";
import type { Scorer } from "./verifiers/scorer.js";

export interface RunOptions {
  problem: Problem;
  backend: Backend;
  /** A registered strategy name, e.g. "self-consistency". */
  strategy: string;
  /** The strategy's options, validated against its schema. */
  options?: Record<string, unknown>;
  scorer?: Scorer;
  sampling?: SamplingOptions;
  budget?: BudgetLimits;
  signal?: AbortSignal;
  trace?: TraceSink;
}

/** Answers one problem with one strategy; the library's main entry point. */
export async function run(request: RunOptions): Promise<Result> {
  const strategy = getStrategy(request.strategy);
  const options = parseOrThrow(strategy.options, request.options ?? {}, "strategy options");
  if (strategy.needsScorer && !request.scorer)
    throw new InvalidInputError(
      "scorer",
      `strategy "${strategy.name}" needs a scorer`,
      "pass a scorer (--scorer NAME)",
    );
  const meter = new Meter();
  const budget = new Budget(parseOrThrow(budgetSchema, request.budget ?? {}, "budget"));
  return strategy.run(
    request.problem,
    {
      backend: meteredBackend(request.backend, meter, budget),
      meter,
      budget,
      sampling: request.sampling ?? {},
      scorer: request.scorer,
      signal: request.signal,
      trace: request.trace ?? discardTrace,
    },
    options,
  );
}
