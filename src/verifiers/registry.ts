import type { Backend } from "../backends/backend.js";
import { InvalidInputError } from "../core/errors.js";
import type { Scorer } from "./scorer.js";

export interface ScorerContext {
  task: string;
  /** The backend in use; the recorded-reward scorer needs a replay backend. */
  backend?: Backend;
}

export const scorerNames = ["step-checker[:NOISE]", "reward"];

/**
 * A scorer by name: `step-checker` (exact arithmetic step checker; `step-checker:0.1` flips
 * each verdict with probability 0.1 to imitate a learned verifier) or `reward` (the rewards
 * recorded in a replay file). Loaded lazily: verifiers may bring models of their own.
 */
export async function resolveScorer(spec: string, ctx: ScorerContext): Promise<Scorer> {
  const [name, argument] = spec.split(":", 2);
  switch (name) {
    case "step-checker": {
      if (ctx.task !== "arithmetic")
        throw new InvalidInputError(
          "scorer",
          "step-checker only judges the arithmetic task",
          "use --task arithmetic",
        );
      const noise = argument === undefined ? 0 : Number(argument);
      const { stepCheckerScorer } = await import("./step-checker.js");
      return stepCheckerScorer({ noise });
    }
    case "reward": {
      const { replayRewardScorer } = await import("../backends/replay.js");
      const scorer = ctx.backend && replayRewardScorer(ctx.backend);
      if (!scorer)
        throw new InvalidInputError(
          "scorer",
          "reward scores come from recorded samples",
          "use --backend replay:FILE",
        );
      return scorer;
    }
    default:
      throw new InvalidInputError("scorer", `unknown scorer "${spec}"`, `one of: ${scorerNames.join(", ")}`);
  }
}
