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
import type { Strategy, StrategyLookup } from "./strategy.js";
import { thinkingBudget } from "./thinking-budget.js";
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
  thinkingBudget,
  iterativeDeepening,
  selfDebug,
  codet,
  executionVote,
  auto,
] as unknown as Strategy<unknown>[];

/**
 * Strategies by name, as a value: `run()` takes one (`strategies`) and hands it to the strategy's
 * context, where strategies that run others look them up. Replacing a name already taken is
 * refused.
 */
export class StrategyRegistry implements StrategyLookup {
  readonly #strategies = new Map<string, Strategy<unknown>>();

  constructor(strategies: Iterable<Strategy<unknown>> = []) {
    for (const strategy of strategies) this.register(strategy);
  }

  register<Options>(strategy: Strategy<Options>): this {
    if (this.#strategies.has(strategy.name))
      throw new InvalidInputError("strategy", `a strategy named "${strategy.name}" is already registered`);
    this.#strategies.set(strategy.name, strategy as Strategy<unknown>);
    return this;
  }

  has(name: string): boolean {
    return this.#strategies.has(name);
  }

  get(name: string): Strategy<unknown> {
    const strategy = this.#strategies.get(name);
    if (!strategy)
      throw new InvalidInputError(
        "strategy",
        `unknown strategy "${name}"`,
        `one of: ${[...this.#strategies.keys()].join(", ")}`,
      );
    return strategy;
  }

  list(): Strategy<unknown>[] {
    return [...this.#strategies.values()];
  }
}

/** A registry of the built-in strategies and `extra` (e.g. a test's own), apart from the default one. */
export function createStrategyRegistry(extra: Iterable<Strategy<unknown>> = []): StrategyRegistry {
  return new StrategyRegistry([...builtIn, ...extra]);
}

/**
 * The default registry: what `run()`, recipes, the CLI and the server use unless given another.
 * `registerStrategy` adds to it.
 */
export const defaultStrategies: StrategyRegistry = createStrategyRegistry();

/**
 * Adds a strategy written by user code to the default registry; from then on `run()`, recipes
 * and the server reach it by name like a built-in one. Replacing a name already taken is refused.
 */
export function registerStrategy<Options>(strategy: Strategy<Options>): void {
  defaultStrategies.register(strategy);
}

export function listStrategies(): Strategy<unknown>[] {
  return defaultStrategies.list();
}

export function getStrategy(name: string): Strategy<unknown> {
  return defaultStrategies.get(name);
}

/** The option a sample budget (`--n`) sets for a strategy: its own declaration, else `n` if it takes one. */
export function sampleBudgetOption(strategy: Strategy<unknown>): string | undefined {
  return strategy.sampleBudget ?? (acceptsOption(strategy, "n") ? "n" : undefined);
}

/** Whether a strategy's options include `name` (e.g. a sample count `n`). */
export function acceptsOption(strategy: Strategy<unknown>, name: string): boolean {
  const shape = (strategy.options as { shape?: Record<string, unknown> }).shape;
  return shape !== undefined && name in shape;
}
