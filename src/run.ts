import type { Backend, BackendMiddleware, SamplingOptions, TokenEvent } from "./core/backend.js";
import type { BudgetLimits } from "./core/budget.js";
import type { Prices } from "./core/meter.js";
import type { TraceSink } from "./core/trace.js";
import type { Problem, Result } from "./core/types.js";
import type { Verifier } from "./core/verifier.js";
import { createRootContext, runStrategyIn } from "./strategies/context.js";
import { defaultStrategies } from "./strategies/registry.js";
import type { StrategyLookup } from "./strategies/strategy.js";

export interface RunOptions {
  problem: Problem;
  backend: Backend;
  /** A registered strategy name, e.g. "self-consistency". */
  strategy: string;
  /** The strategy's options, validated against its schema. */
  options?: Record<string, unknown>;
  verifier?: Verifier;
  sampling?: SamplingOptions;
  /** Tokens (generator and verifier), calls, wall time and, with `prices`, money. */
  budget?: BudgetLimits;
  prices?: Prices;
  signal?: AbortSignal;
  trace?: TraceSink;
  /**
   * Middleware between the meter and the engine, e.g. the bench's sample cache: what it serves
   * is metered as if drawn, so usage is the same whether a sample came from the engine or a store.
   */
  middleware?: readonly BackendMiddleware[];
  /**
   * Receives the answer's text as it is decoded, from strategies whose answer is one pass they
   * can stream (`single`); others answer only at the end.
   */
  onAnswerToken?: (event: TokenEvent) => void;
  /**
   * Where strategy names are looked up, for this run and the strategies it runs
   * (`ctx.strategy`, `ctx.runStrategy`): the default registry (`registerStrategy`) unless given,
   * e.g. `createStrategyRegistry([myStrategy])`.
   */
  strategies?: StrategyLookup;
}

/**
 * Answers one problem with one strategy: the library's main entry point, and the call the
 * bench, the server and the controller make too.
 */
export async function run(request: RunOptions): Promise<Result> {
  const strategies = request.strategies ?? defaultStrategies;
  const strategy = strategies.get(request.strategy);
  const ctx = createRootContext({ ...request, strategies });
  return runStrategyIn(ctx, strategy, request.problem, request.options ?? {});
}
