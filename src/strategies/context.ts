import type { z } from "zod";
import {
  type Backend,
  type BackendMiddleware,
  type SamplingOptions,
  samplingOptionsSchema,
  type TokenEvent,
  wrapBackend,
} from "../core/backend.js";
import { Budget, type BudgetLimits, budgetSchema } from "../core/budget.js";
import { drawIndexMiddleware } from "../core/draws.js";
import { InvalidInputError, ReckonError } from "../core/errors.js";
import { Meter, type Prices, pricesSchema } from "../core/meter.js";
import { meteringMiddleware } from "../core/metering.js";
import { discardTrace, Tracer, type TraceSink } from "../core/trace.js";
import type { Problem, Result, StrategyOutcome } from "../core/types.js";
import { parseOrThrow } from "../core/validate.js";
import type { Verifier } from "../core/verifier.js";
import type { Strategy, StrategyContext, StrategyLookup } from "./strategy.js";

export interface ScopeSettings {
  /** The backend below metering: the engine, possibly behind a draw index and a sample cache. */
  backend: Backend;
  sampling: SamplingOptions;
  verifier?: Verifier;
  signal?: AbortSignal;
  prices?: Prices;
  tracer: Tracer;
  /** The root scope's answer stream (see StrategyContext.answerStream); children get none. */
  answerStream?: (event: TokenEvent) => void;
  /** Where `ctx.strategy(name)` and `ctx.runStrategy` look names up; without it, nothing is found. */
  strategies?: StrategyLookup;
}

/** A lookup that knows no strategy: a scope set up without a registry. */
const noStrategies: StrategyLookup = {
  get: (name) => {
    throw new InvalidInputError(
      "strategy",
      `unknown strategy "${name}"`,
      "this scope was given no strategy registry",
    );
  },
  has: () => false,
  list: () => [],
};

/** What the root scope of a run is built from (`run()`'s request without problem and strategy). */
export interface RootSettings {
  backend: Backend;
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
   * Receives the answer's text as it is decoded, from strategies that know a pass is their
   * answer before it begins (`single`; a revision loop's last round); others answer only at the
   * end.
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
 * The root scope of a run: the draw index and the caller's middleware (a sample cache) under
 * the meter, sampling settings and prices parsed once, a tracer. `run()` and `allocateBatch`
 * both start here.
 */
export function createRootContext(settings: RootSettings): StrategyContext {
  const prices = settings.prices && parseOrThrow(pricesSchema, settings.prices, "prices");
  const backend = wrapBackend(settings.backend, [drawIndexMiddleware(), ...(settings.middleware ?? [])]);
  // Parsed once here: below this, sampling settings pass through every layer untouched.
  const sampling = parseUnlessEmpty(samplingOptionsSchema, settings.sampling, "sampling");
  return createContext(
    {
      backend,
      sampling,
      ...(settings.onAnswerToken ? { answerStream: settings.onAnswerToken } : {}),
      verifier: settings.verifier,
      signal: settings.signal,
      prices,
      tracer: new Tracer(settings.trace ?? discardTrace),
      strategies: settings.strategies,
    },
    settings.budget ?? {},
  );
}

/**
 * Settings parsed with a schema whose fields are all optional and without defaults, where an
 * empty object (what most scopes get) is already its own parse: a served request makes several.
 */
function parseUnlessEmpty<Schema extends typeof samplingOptionsSchema | typeof budgetSchema>(
  schema: Schema,
  value: object | undefined,
  where: string,
): z.output<Schema> {
  for (const _ in value) return parseOrThrow(schema, value, where) as z.output<Schema>;
  return (value ?? {}) as z.output<Schema>;
}

/** A scope with its own meter and budget, nested in `parent` when given. */
export function createContext(
  settings: ScopeSettings,
  limits: BudgetLimits = {},
  parent?: { meter: Meter; budget: Budget },
): StrategyContext {
  const { tracer, signal, prices } = settings;
  const strategies = settings.strategies ?? noStrategies;
  const meter = new Meter(parent?.meter);
  const budget = new Budget(parseUnlessEmpty(budgetSchema, limits, "budget"), meter, parent?.budget);
  let verifierBackend: Backend | undefined;
  const metered = (role: "generator" | "verifier") =>
    wrapBackend(settings.backend, [meteringMiddleware({ meter, budget, tracer, prices, role })]);
  const ctx: StrategyContext = {
    backend: metered("generator"),
    meter,
    budget,
    sampling: settings.sampling,
    verifier: settings.verifier,
    verifierContext: {
      // Built when a verifier first asks for it: most runs have no verifier.
      get backend() {
        verifierBackend ??= metered("verifier");
        return verifierBackend;
      },
      signal,
      recordUsage: ({ tokens, calls, latencyMs = 0, estimated = false }) =>
        meter.record({
          promptTokens: 0,
          completionTokens: 0,
          calls: 0,
          latencyMs,
          estimated,
          verifierTokens: tokens,
          verifierCalls: calls,
        }),
    },
    signal,
    trace: tracer,
    ...(settings.answerStream ? { answerStream: settings.answerStream } : {}),
    child: ({ label, budget: childLimits }) =>
      createContext({ ...settings, tracer: tracer.scope(label), answerStream: undefined }, childLimits, {
        meter,
        budget,
      }),
    strategy: (name) => strategies.get(name),
    hasStrategy: (name) => strategies.has(name),
    runStrategy: (name, problem, options = {}, scope = {}) =>
      runStrategyIn(
        ctx.child({ label: scope.label ?? name, budget: scope.budget }),
        strategies.get(name),
        problem,
        options,
      ),
  };
  return ctx;
}

/**
 * A strategy names the candidate whose text answers; nothing downstream guesses it. The type
 * makes TypeScript strategies set it; this catches a JavaScript one that forgot it, and an
 * index that points at no candidate.
 */
function checkChosen(name: string, outcome: StrategyOutcome): void {
  const { chosen, candidates } = outcome;
  const named =
    chosen === undefined
      ? "chosen" in outcome
      : Number.isInteger(chosen) && chosen >= 0 && chosen < candidates.length;
  if (!named)
    throw new ReckonError(
      `strategy "${name}" returned chosen ${String(chosen)} with ${candidates.length} candidates`,
      "set chosen to the index of the candidate whose text answers (undefined only without candidates)",
    );
}

/**
 * Validates the options, runs the strategy in `ctx` and reports that scope's usage. Not an
 * async function: the strategy's run is waited for in no frame of this one's (a served request
 * passes several layers); a bad request is still a rejection.
 */
export function runStrategyIn(
  ctx: StrategyContext,
  strategy: Strategy<unknown>,
  problem: Problem,
  rawOptions: Record<string, unknown>,
): Promise<Result> {
  let running: Promise<StrategyOutcome>;
  try {
    const options = parseOrThrow(strategy.options, rawOptions, "strategy options");
    if (strategy.needsVerifier && !ctx.verifier)
      throw new InvalidInputError(
        "verifier",
        `strategy "${strategy.name}" needs a verifier`,
        "pass a verifier (--verifier NAME)",
      );
    running = strategy.run(problem, ctx, options);
  } catch (error) {
    return Promise.reject(error);
  }
  return running.then((outcome) => {
    checkChosen(strategy.name, outcome);
    ctx.trace.emit({ kind: "answer", text: outcome.answer, data: { stopReason: outcome.stopReason } });
    return {
      ...outcome,
      usage: ctx.meter.usage,
      strategy: strategy.name,
    };
  });
}
