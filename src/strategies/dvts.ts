import { z } from "zod";
import type { StopReason } from "../core/types.js";
import { beamSearchFields, divisibleBeams } from "./beam-search.js";
import {
  byScore,
  growNodes,
  nodeCandidate,
  prune,
  requireContinuation,
  rootNode,
  type SearchNode,
  selectAnswer,
  stepSettings,
} from "./steps.js";
import { defineStrategy } from "./strategy.js";

const dvtsOptions = z.object(beamSearchFields).strict().superRefine(divisibleBeams);

/**
 * Diverse verifier tree search (Beeching et al. 2024, search-and-learn's `dvts`): n/M
 * independent subtrees, each a greedy beam that grows its one node by M steps and keeps the
 * best. Independent subtrees keep the solutions diverse where one beam search collapses onto
 * a few prefixes.
 */
export const dvts = defineStrategy({
  name: "dvts",
  description:
    "Diverse verifier tree search: n/beamWidth independent subtrees, each growing its best node by beamWidth steps.",
  options: dvtsOptions,
  needsVerifier: true,
  async run(problem, ctx, options) {
    requireContinuation(ctx, "dvts");
    const settings = stepSettings(problem, ctx, options);
    const subtrees = options.n / options.beamWidth;
    const root = rootNode(ctx);
    // One slot per subtree: the node it grows next, until the subtree finishes.
    let heads: (SearchNode | undefined)[] = Array.from({ length: subtrees }, () => root);
    const finished: SearchNode[] = [];
    const leftovers: SearchNode[] = [];
    let stopReason: StopReason = "completed";
    let depth = 0;
    while (heads.some((h) => h !== undefined) && depth < options.maxDepth) {
      const live = heads.flatMap((head, subtree) => (head ? [{ head, subtree }] : []));
      const grown = await growNodes(
        problem,
        ctx,
        settings,
        live.map(({ head }) => ({ parent: head, n: options.beamWidth })),
      );
      depth += 1;
      const next: (SearchNode | undefined)[] = new Array(subtrees).fill(undefined);
      live.forEach(({ subtree }, expansion) => {
        const children = byScore(grown.nodes.filter((node) => node.expansion === expansion));
        finished.push(...children.filter((c) => c.done));
        const best = children[0];
        // The subtree ends when its best child is a finished solution (or it drew nothing).
        if (best && !best.done) next[subtree] = best;
        prune(
          ctx,
          children.filter((c) => c !== best && !c.done),
          "dvts",
        );
      });
      heads = next;
      if (grown.budgetExhausted) {
        stopReason = "budget";
        break;
      }
    }
    for (const head of heads) if (head && head !== root) leftovers.push(head);
    const pool = finished.length > 0 ? finished : leftovers;
    const candidates = byScore(pool).map((node) => nodeCandidate(problem, node));
    const { answer, tally, chosen } = selectAnswer(problem, candidates, options.select);
    return {
      answer,
      candidates,
      tally,
      chosen,
      stopReason,
      detail: { depth, subtrees, finished: finished.length },
    };
  },
});
