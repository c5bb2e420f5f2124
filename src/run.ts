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
export async function run(request: RunOptions): Promise<Result> {
  const strategies = request.strategies ?? defaultStrategies;
  const strategy = strategies.get(request.strategy);
  const ctx = createRootContext({ ...request, strategies });
  return runStrategyIn(ctx, strategy, request.problem, request.options ?? {});
}
