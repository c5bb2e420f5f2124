/**
 * Pairwise knockout tournament: candidates meet two at a time, the model names the better of
 * each pair, and winners meet again until one is left. A candidate's score is the share of
 * rounds it survived (the champion 1), so best-of-n answers with the champion. Two candidates
 * with the same answer need no match: the earlier goes through, which cannot change the answer.
 * Tokens are metered as verifier usage, as the judge's are.
 */
import { z } from "zod";
import type { Backend } from "../core/backend.js";
import type { Candidate, Problem } from "../core/types.js";
import type { Verifier, VerifierContext } from "../core/verifier.js";
import { comparisonPrompt, parseChoice, verifierGenerate } from "./genselect.js";
import { parseVerifierOptions } from "./http.js";

export const tournamentOptionsSchema = z
  .object({
    /** Verdicts per match (sampled at temperature 1 when more than one); the majority wins. */
    samples: z.number().int().min(1).max(64).default(1),
    /** Ask each match in both orders too, so that a model favouring one position cancels out. */
    bothOrders: z.boolean().default(false),
    matchTokens: z.number().int().min(1).max(8192).default(256),
    skipSameAnswer: z.boolean().default(true),
    request: z
      .string()
      .min(1)
      .default(
        'Compare the two solutions above and decide which one is correct. Explain briefly, then end with "Best: 1" or "Best: 2".',
      ),
  })
  .strict();
export type TournamentOptions = z.input<typeof tournamentOptionsSchema>;

export function tournamentVerifier(input: TournamentOptions = {}, ownBackend?: Backend): Verifier {
  const options = parseVerifierOptions(tournamentOptionsSchema, input, "tournament");

  /** Index of the winner of `a` against `b` (a < b in sample order; a tie goes to a). */
  async function match(
    problem: Problem,
    candidates: readonly Candidate[],
    a: number,
    b: number,
    ctx: VerifierContext,
  ): Promise<number> {
    const first = candidates[a]!;
    const second = candidates[b]!;
    if (
      options.skipSameAnswer &&
      first.answer !== undefined &&
      second.answer !== undefined &&
      problem.task.equivalent(first.answer, second.answer)
    )
      return a;
    const orders: [number, number][] = options.bothOrders
      ? [
          [a, b],
          [b, a],
        ]
      : [[a, b]];
    let forA = 0;
    let forB = 0;
    await Promise.all(
      orders.map(async (order) => {
        const replies = await verifierGenerate(
          ownBackend,
          ctx,
          {
            prompt: comparisonPrompt(
              problem,
              order.map((i) => candidates[i]!.text),
              options.request,
            ),
            n: options.samples,
            temperature: options.samples > 1 ? 1 : 0,
            maxTokens: options.matchTokens,
            signal: ctx.signal,
          },
          "tournament",
        );
        for (const reply of replies) {
          const shown = parseChoice(reply, 2);
          if (shown === undefined) continue;
          if (order[shown] === a) forA += 1;
          else forB += 1;
        }
      }),
    );
    return forB > forA ? b : a;
  }

  return {
    name: "tournament",
    async score(problem, candidates, ctx) {
      if (candidates.length <= 1) return candidates.map(() => 1);
      const survived = candidates.map(() => 0);
      let round = candidates.map((_, i) => i);
      let rounds = 0;
      while (round.length > 1) {
        rounds += 1;
        const pairs: [number, number][] = [];
        for (let i = 0; i + 1 < round.length; i += 2) pairs.push([round[i]!, round[i + 1]!]);
        // An odd one out advances without a match.
        const bye = round.length % 2 === 1 ? [round[round.length - 1]!] : [];
        // The matches of a round are independent: all in flight together.
        const winners = await Promise.all(pairs.map(([a, b]) => match(problem, candidates, a, b, ctx)));
        round = [...winners, ...bye].sort((x, y) => x - y);
        for (const i of round) survived[i]! += 1;
      }
      return survived.map((s) => s / rounds);
    },
  };
}
