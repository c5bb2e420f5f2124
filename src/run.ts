import {
  type Backend,
  type BackendMiddleware,
  type SamplingOptions,
  samplingOptionsSchema,
  type TokenEvent,
  wrapBackend,
} from "./core/backend.js";
import type { BudgetLimits } from "./core/budget.js";
import { drawIndexMiddleware } from "./core/draws.js";
import { type Prices, pricesSchema } from "./core/meter.js";
import { discardTrace, Tracer, type TraceSink } from "./core/trace.js";
import type { Problem, Result } from "./core/types.js";
import { parseOrThrow } from "./core/validate.js";
import type { Verifier } from "./core/verifier.js";
import { createContext, runStrategyIn } from "./strategies/context.js";
import { getStrategy } from "./strategies/registry.js";

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
}

/**
 * Answers one problem with one strategy: the library's main entry point, and the call the
 * bench, the server and the controller make too.
 */
export async function run(request: RunOptions): Promise<Result> {
  const strategy = getStrategy(request.strategy);
  const prices = request.prices && parseOrThrow(pricesSchema, request.prices, "prices");
  const backend = wrapBackend(request.backend, [drawIndexMiddleware(), ...(request.middleware ?? [])]);
  // Parsed once here: below this, sampling settings pass through every layer untouched.
  const sampling = parseOrThrow(samplingOptionsSchema, request.sampling ?? {}, "sampling");
  const ctx = createContext(
    {
      backend,
      sampling,
      ...(request.onAnswerToken ? { answerStream: request.onAnswerToken } : {}),
      verifier: request.verifier,
      signal: request.signal,
      prices,
      tracer: new Tracer(request.trace ?? discardTrace),
    },
    request.budget ?? {},
  );
  return runStrategyIn(ctx, strategy, request.problem, request.options ?? {});
}
