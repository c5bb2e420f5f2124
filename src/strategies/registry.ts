import { InvalidInputError } from "../core/errors.js";
import { bestOfN } from "./best-of-n.js";
import { selfConsistency } from "./self-consistency.js";
import { single } from "./single.js";
import type { Strategy } from "./strategy.js";
import { weightedMajority } from "./weighted-majority.js";

/** Every strategy by name: the CLI, the server and recipes all look them up here. */
const strategies = new Map<string, Strategy<unknown>>(
  [single, selfConsistency, bestOfN, weightedMajority].map((s) => [s.name, s as Strategy<unknown>]),
);

export function listStrategies(): Strategy<unknown>[] {
  return [...strategies.values()];
}

export function getStrategy(name: string): Strategy<unknown> {
  const strategy = strategies.get(name);
  if (!strategy)
    throw new InvalidInputError(
      "strategy",
      `unknown strategy "${name}"`,
      `one of: ${[...strategies.keys()].join(", ")}`,
    );
  return strategy;
}

/** Whether a strategy's options include `name` (e.g. a sample count `n`). */
export function acceptsOption(strategy: Strategy<unknown>, name: string): boolean {
  const shape = (strategy.options as { shape?: Record<string, unknown> }).shape;
  return shape !== undefined && name in shape;
}
