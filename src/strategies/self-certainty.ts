import { z } from "zod";
import { InvalidInputError } from "../core/errors.js";
import { type Selection, selectAnswer, voteAnswer } from "../core/selection.js";
import type { Candidate, Task, TokenLogprob } from "../core/types.js";
import { drawCandidates } from "./sampling.js";
import { defineStrategy, type StrategyContext } from "./strategy.js";

const selfCertaintyOptions = z
  .object({
    n: z.number().int().min(1).max(1024).default(8).describe("samples to draw"),
    batchSize: z.number().int().min(1).optional().describe("samples per backend call (default: all n)"),
    topLogprobs: z
      .number()
      .int()
      .min(2)
      .max(20)
      .default(10)
      .describe("alternatives per token from which the distribution's distance to uniform is estimated"),
    select: z
      .enum(["borda", "best", "weighted"])
      .default("borda")
      .describe(
        "borda: votes weighted by (n - rank + 1)^p of the sample's certainty; best: the most certain sample; weighted: votes weighted by certainty",
      ),
    bordaPower: z.number().min(0).max(10).default(0.5).describe("p of the Borda weights (0: plain majority)"),
  })
  .strict();
export type SelfCertaintyOptions = z.output<typeof selfCertaintyOptions>;

/**
 * One token's self-certainty: KL(U ‖ p), the divergence of the next-token distribution from
 * uniform, estimated over the k alternatives the backend returns: -log k - mean(log p_j). It
 * is 0 for a flat distribution and grows as the mass concentrates; never negative, since the
 * top k probabilities sum to at most 1. Without alternatives, the sampled token stands alone.
 */
export function tokenSelfCertainty(token: TokenLogprob): number {
  const top =
    token.top && token.top.length > 0 ? token.top : [{ token: token.token, logprob: token.logprob }];
  const logprobs = top.map((t) => t.logprob).filter(Number.isFinite);
  if (logprobs.length === 0) return 0;
  const mean = logprobs.reduce((sum, l) => sum + l, 0) / logprobs.length;
  return Math.max(0, -Math.log(logprobs.length) - mean);
}

/** A sample's self-certainty: the mean over its tokens (Kang et al. 2025, eq. 3); 0 without tokens. */
export function selfCertainty(logprobs: readonly TokenLogprob[] | undefined): number {
  if (!logprobs || logprobs.length === 0) return 0;
  return logprobs.reduce((sum, t) => sum + tokenSelfCertainty(t), 0) / logprobs.length;
}

/**
 * Borda weights from certainty ranks: the most certain of n samples weighs n^p, the least 1^p.
 * Equal certainties share the better rank, so identical samples weigh the same.
 */
export function bordaWeights(certainties: readonly number[], power: number): number[] {
  const n = certainties.length;
  return certainties.map((c) => {
    const rank = 1 + certainties.filter((other) => other > c).length;
    return (n - rank + 1) ** power;
  });
}

/**
 * The answer by self-certainty from candidates whose `score` is their certainty; the most
 * certain candidate of the chosen answer stands for it.
 */
export function selectByCertainty(
  candidates: readonly Candidate[],
  task: Task,
  select: SelfCertaintyOptions["select"],
  bordaPower: number,
): Selection {
  const certainty = (c: Candidate) => c.score ?? 0;
  if (select === "best") return selectAnswer(candidates, task, "best");
  // Ranks among the samples that state an answer: the others never vote.
  const voting = candidates.filter((c) => c.answer !== undefined);
  const borda = select === "borda" ? bordaWeights(voting.map(certainty), bordaPower) : undefined;
  const weights = new Map(voting.map((c, i) => [c, borda ? borda[i]! : certainty(c)]));
  return voteAnswer(candidates, task, { weight: (c) => weights.get(c) ?? 0 });
}

function requireLogprobs(ctx: StrategyContext): void {
  if (!ctx.backend.capabilities.logprobs)
    throw new InvalidInputError(
      "backend",
      `self-certainty reads the model's token distributions and ${ctx.backend.id} returns no log-probabilities`,
      "use a backend with logprobs (llamacpp, or an OpenAI-compatible server with logprobs enabled)",
    );
}

/**
 * Self-certainty best-of-n (Kang et al. 2025, "Scalable Best-of-N Selection for Large Language
 * Models via Self-Certainty"): reward-free selection by how far the model's next-token
 * distributions were from uniform while it wrote each sample (KL from uniform, averaged over
 * tokens, here estimated from the top log-probabilities). The most certain sample alone, or the
 * vote weighted by certainty ranks (Borda) or by certainty itself.
 */
export const selfCertaintyStrategy = defineStrategy({
  name: "self-certainty",
  description:
    "Sample n solutions with logprobs; pick by the model's own certainty (KL from uniform): Borda-weighted vote, the most certain, or certainty-weighted vote.",
  options: selfCertaintyOptions,
  needsVerifier: false,
  async run(problem, ctx, options) {
    requireLogprobs(ctx);
    const withLogprobs: StrategyContext = {
      ...ctx,
      sampling: { ...ctx.sampling, logprobs: true, topLogprobs: options.topLogprobs },
    };
    const drawn = await drawCandidates(problem, withLogprobs, options.n, options.batchSize);
    const candidates = drawn.candidates.map((c) => ({ ...c, score: selfCertainty(c.logprobs) }));
    ctx.trace.emit({ kind: "scored", data: { selfCertainty: candidates.map((c) => c.score) } });
    const { answer, tally, chosen } = selectByCertainty(
      candidates,
      problem.task,
      options.select,
      options.bordaPower,
    );
    ctx.trace.emit({ kind: "voted", data: { tally, select: options.select } });
    return { answer, candidates, tally, chosen, stopReason: drawn.stopReason };
  },
});
