import type { Problem, Result } from "./core/types.js";
import { createRootContext, type RootSettings, runStrategyIn } from "./strategies/context.js";
import { defaultStrategies } from "./strategies/registry.js";

export interface RunOptions extends RootSettings {
  problem: Problem;
  /** A registered strategy name, e.g. "self-consistency". */
  strategy: string;
  /** The strategy's options, validated against its schema. */
  options?: Record<string, unknown>;
}

/**
 * Answers one problem with one strategy: the library's main entry point, and the call the
 * bench, the server and the controller make too.
 */
export function run(request: RunOptions): Promise<Result> {
  // Not an async function: it hands on the strategy's promise instead of waiting for it (one
  // frame less held per request in flight), and still reports a bad request as a rejection.
  try {
    const strategies = request.strategies ?? defaultStrategies;
    const strategy = strategies.get(request.strategy);
    const ctx = createRootContext({ ...request, strategies });
    return runStrategyIn(ctx, strategy, request.problem, request.options ?? {});
  } catch (error) {
    return Promise.reject(error);
  }
}
