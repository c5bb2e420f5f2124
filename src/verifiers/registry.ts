import type { Backend } from "../core/backend.js";
import { InvalidInputError } from "../core/errors.js";
import type { Verifier } from "../core/verifier.js";

export interface VerifierSpecContext {
  task: string;
  /** The backend in use; the recorded-reward verifier needs a replay backend. */
  backend?: Backend;
}

export const verifierNames = [
  "step-checker[:NOISE]",
  "reward",
  "orm:URL",
  "prm:URL[:aggregation]",
  "judge[:logprobs|verdict]",
  "genselect[:VOTES]",
  "tournament[:VOTES]",
];

/**
 * A verifier by name: `step-checker` (exact arithmetic step checker; `step-checker:0.1` flips
 * each verdict with probability 0.1 to imitate a learned verifier) or `reward` (the rewards
 * recorded in a replay file). Loaded lazily: verifiers may bring models of their own.
 */
export async function resolveVerifier(spec: string, ctx: VerifierSpecContext): Promise<Verifier> {
  const [name, argument] = spec.split(":", 2);
  // Everything after the name: URLs have colons of their own.
  const rest = spec.includes(":") ? spec.slice(spec.indexOf(":") + 1) : undefined;
  switch (name) {
    case "step-checker": {
      const [{ stepCheckerVerifier }, { isArithmeticTask }] = await Promise.all([
        import("./step-checker.js"),
        import("../tasks/arithmetic.js"),
      ]);
      if (!isArithmeticTask(ctx.task))
        throw new InvalidInputError(
          "verifier",
          "step-checker only judges the arithmetic task",
          "use --task arithmetic",
        );
      const noise = argument === undefined ? 0 : Number(argument);
      return stepCheckerVerifier({ noise });
    }
    case "reward": {
      const { replayRewardVerifier } = await import("../backends/replay.js");
      const verifier = ctx.backend && replayRewardVerifier(ctx.backend);
      if (!verifier)
        throw new InvalidInputError(
          "verifier",
          "reward scores come from recorded samples",
          "use --backend replay:FILE",
        );
      return verifier;
    }
    case "orm": {
      const { rewardModelSpec, rewardModelVerifier } = await import("./reward-model.js");
      return rewardModelVerifier(rewardModelSpec(rest));
    }
    case "prm": {
      const { prmSpec, processRewardModelVerifier } = await import("./prm.js");
      return processRewardModelVerifier(prmSpec(rest));
    }
    case "judge": {
      const { judgeVerifier } = await import("./judge.js");
      if (argument !== undefined && argument !== "logprobs" && argument !== "verdict")
        throw new InvalidInputError(
          "verifier",
          `unknown judge mode "${argument}"`,
          "judge, judge:logprobs or judge:verdict",
        );
      return judgeVerifier(argument ? { mode: argument } : {});
    }
    case "genselect":
    case "tournament": {
      const samples = argument === undefined ? 1 : Number(argument);
      if (!Number.isInteger(samples) || samples < 1)
        throw new InvalidInputError(
          "verifier",
          `"${spec}": the number of votes must be a positive integer`,
          `${name} or ${name}:3`,
        );
      if (name === "genselect") {
        const { genselectVerifier } = await import("./genselect.js");
        return genselectVerifier({ samples });
      }
      const { tournamentVerifier } = await import("./tournament.js");
      return tournamentVerifier({ samples });
    }
    default:
      throw new InvalidInputError(
        "verifier",
        `unknown verifier "${spec}"`,
        `one of: ${verifierNames.join(", ")}`,
      );
  }
}
