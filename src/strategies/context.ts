import { type Backend, type SamplingOptions, type TokenEvent, wrapBackend } from "../core/backend.js";
import { Budget, type BudgetLimits, budgetSchema } from "../core/budget.js";
import { InvalidInputError } from "../core/errors.js";
import { Meter, type Prices } from "../core/meter.js";
import { meteringMiddleware } from "../core/metering.js";
import type { Tracer } from "../core/trace.js";
import type { Problem, Result } from "../core/types.js";
import { parseOrThrow } from "../core/validate.js";
import type { Verifier } from "../core/verifier.js";
import { getStrategy } from "./registry.js";
import type { Strategy, StrategyContext } from "./strategy.js";

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
}

/** A scope with its own meter and budget, nested in `parent` when given. */
export function createContext(
  settings: ScopeSettings,
  limits: BudgetLimits = {},
  parent?: { meter: Meter; budget: Budget },
): StrategyContext {
  const { tracer, signal, prices } = settings;
  const meter = new Meter(parent?.meter);
  const budget = new Budget(parseOrThrow(budgetSchema, limits, "budget"), meter, parent?.budget);
  const metered = (role: "generator" | "verifier") =>
    wrapBackend(settings.backend, [meteringMiddleware({ meter, budget, tracer, prices, role })]);
  const ctx: StrategyContext = {
    backend: metered("generator"),
    meter,
    budget,
    sampling: settings.sampling,
    verifier: settings.verifier,
    verifierContext: {
      backend: metered("verifier"),
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
    runStrategy: (name, problem, options = {}, scope = {}) =>
      runStrategyIn(
        ctx.child({ label: scope.label ?? name, budget: scope.budget }),
        getStrategy(name),
        problem,
        options,
      ),
  };
  return ctx;
}

/** Validates the options, runs the strategy in `ctx` and reports that scope's usage. */
export async function runStrategyIn(
  ctx: StrategyContext,
  strategy: Strategy<unknown>,
  problem: Problem,
  rawOptions: Record<string, unknown>,
): Promise<Result> {
  const options = parseOrThrow(strategy.options, rawOptions, "strategy options");
  if (strategy.needsVerifier && !ctx.verifier)
    throw new InvalidInputError(
      "verifier",
      `strategy "${strategy.name}" needs a verifier`,
      "pass a verifier (--verifier NAME)",
    );
  const outcome = await strategy.run(problem, ctx, options);
  ctx.trace.emit({ kind: "answer", text: outcome.answer, data: { stopReason: outcome.stopReason } });
  return { ...outcome, usage: ctx.meter.usage, strategy: strategy.name };
}
