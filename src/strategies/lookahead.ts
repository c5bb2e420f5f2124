import { z } from "zod";
import { beamSearchFields, divisibleBeams, runBeamSearch } from "./beam-search.js";
import { growNodes, type SearchNode } from "./steps.js";
import { defineStrategy } from "./strategy.js";

const lookaheadOptions = z
  .object({
    ...beamSearchFields,
    lookahead: z
      .number()
      .int()
      .min(1)
      .max(32)
      .default(2)
      .describe("steps each candidate step is rolled out (greedily) before it is scored"),
  })
  .strict()
  .superRefine(divisibleBeams);

/**
 * Lookahead search (Snell et al. 2024): beam search where a step is judged by where it leads.
 * Each open candidate is rolled out `lookahead` more steps at temperature 0 and takes the
 * verifier's score at the end of the rollout; the rollout itself is discarded, only the step
 * is kept. Better step values, at the price of the rollout tokens.
 */
export const lookahead = defineStrategy({
  name: "lookahead",
  description:
    "Beam search that scores each step by rolling it out greedily `lookahead` steps further and scoring the end.",
  options: lookaheadOptions,
  needsVerifier: true,
  run: (problem, ctx, options) =>
    runBeamSearch(problem, ctx, options, "lookahead", async (nodes, settings) => {
      const tips = new Map<SearchNode, SearchNode>(nodes.map((node) => [node, node]));
      for (let k = 0; k < options.lookahead; k++) {
        const live = nodes.filter((node) => !tips.get(node)!.done);
        if (live.length === 0) break;
        const grown = await growNodes(
          problem,
          ctx,
          settings,
          live.map((node) => ({ parent: tips.get(node)!, n: 1, temperature: 0 })),
        );
        for (const tip of grown.nodes) tips.set(live[tip.expansion]!, tip);
        if (grown.budgetExhausted) return true;
      }
      for (const node of nodes) {
        const tip = tips.get(node)!;
        if (tip !== node)
          ctx.trace.emit({
            kind: "scored",
            parent: node.id,
            score: tip.score,
            data: { lookahead: tip.depth - node.depth },
          });
        node.score = tip.score;
      }
      return false;
    }),
});
