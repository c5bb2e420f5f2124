import { InvalidInputError } from "../core/errors.js";
import { adaptiveConsistency } from "./adaptive-consistency.js";
import { auto } from "./auto.js";
import { beamSearch } from "./beam-search.js";
import { bestOfN } from "./best-of-n.js";
import { codet } from "./codet.js";
import { deepConf } from "./deepconf.js";
import { dvts } from "./dvts.js";
import { esc } from "./esc.js";
import { executionVote } from "./execution-vote.js";
import { firstFinish } from "./first-finish.js";
import { iterativeDeepening } from "./iterative-deepening.js";
import { lookahead } from "./lookahead.js";
import { mcts } from "./mcts.js";
import { mixtureOfAgents } from "./mixture-of-agents.js";
import { particleFiltering } from "./particle-filtering.js";
import { revisions } from "./revisions.js";
import { rsa } from "./rsa.js";
import { selfCertaintyStrategy } from "./self-certainty.js";
import { selfConsistency } from "./self-consistency.js";
import { selfDebug } from "./self-debug.js";
import { selfRefine } from "./self-refine.js";
import { single } from "./single.js";
import type { Strategy } from "./strategy.js";
import { weightedMajority } from "./weighted-majority.js";

/** The strategies reckon ships; one file each. */
const builtIn = [
  single,
  selfConsistency,
  bestOfN,
  weightedMajority,
  esc,
  adaptiveConsistency,
  deepConf,
  selfCertaintyStrategy,
  firstFinish,
  beamSearch,
  dvts,
  lookahead,
  mcts,
  particleFiltering,
  selfRefine,
  revisions,
  rsa,
  mixtureOfAgents,
  iterativeDeepening,
  selfDebug,
  codet,
  executionVote,
  auto,
] as unknown as Strategy<unknown>[];

/** Every strategy by name: the library, the CLI, recipes and the server all look them up here. */
const strategies = new Map<string, Strategy<unknown>>(builtIn.map((s) => [s.name, s]));

/**
 * Adds a strategy written by user code; from then on `run()`, recipes and the server reach it
 * by name like a built-in one. Replacing a name already taken is refused.
 */
export function registerStrategy<Options>(strategy: Strategy<Options>): void {
  if (strategies.has(strategy.name))
    throw new InvalidInputError("strategy", `a strategy named "${strategy.name}" is already registered`);
  strategies.set(strategy.name, strategy as Strategy<unknown>);
}

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
