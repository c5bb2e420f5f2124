import { z } from "zod";
import type { Problem, StopReason, StrategyOutcome } from "../core/types.js";
import {
  byScore,
  growNodes,
  nodeCandidate,
  prune,
  requireContinuation,
  rootNode,
  type SearchNode,
  type StepSettings,
  selectAnswer,
  stepSearchFields,
  stepSettings,
} from "./steps.js";
import { defineStrategy, type StrategyContext } from "./strategy.js";

/** Options of beam search (and of lookahead search, which adds a rollout depth). */
export const beamSearchFields = {
  n: z.number().int().min(1).max(1024).default(8).describe("beams: partial solutions expanded per depth"),
  beamWidth: z
    .number()
    .int()
    .min(1)
    .max(1024)
    .default(2)
    .describe("children per kept beam; n/beamWidth beams are kept at each depth"),
  ...stepSearchFields,
};

/** n must be a multiple of beamWidth: n/beamWidth beams survive each depth, each grown beamWidth times. */
export const divisibleBeams = <T extends { n: number; beamWidth: number }>(
  options: T,
  ctx: z.RefinementCtx,
) => {
  if (options.n % options.beamWidth !== 0)
    ctx.addIssue({
      code: "custom",
      path: ["beamWidth"],
      message: `n (${options.n}) must be divisible by beamWidth (${options.beamWidth})`,
    });
};

const beamSearchOptions = z.object(beamSearchFields).strict().superRefine(divisibleBeams);
export type BeamSearchOptions = z.output<typeof beamSearchOptions>;

/**
 * Re-scores open nodes before pruning (lookahead rolls them out); returns whether the budget
 * ran out meanwhile.
 */
export type Rescore = (nodes: SearchNode[], settings: StepSettings) => Promise<boolean>;

/**
 * PRM-guided beam search (Snell et al. 2024; search-and-learn's `beam_search`): draw n first
 * steps, keep the n/M best by the verifier's path score, grow each by M next steps, and repeat
 * until n solutions are finished or the depth limit. The answer is picked among finished
 * solutions (by default the best-scored one).
 */
export async function runBeamSearch(
  problem: Problem,
  ctx: StrategyContext,
  options: BeamSearchOptions,
  strategy: string,
  rescore?: Rescore,
): Promise<StrategyOutcome> {
  requireContinuation(ctx, strategy);
  const settings = stepSettings(problem, ctx, options);
  const keep = options.n / options.beamWidth;
  const root = rootNode(ctx);
  let active: SearchNode[] = [root];
  const finished: SearchNode[] = [];
  let stopReason: StopReason = "completed";
  let depth = 0;
  while (active.length > 0 && finished.length < options.n && depth < options.maxDepth) {
    const perBeam = active[0] === root ? options.n : options.beamWidth;
    const grown = await growNodes(
      problem,
      ctx,
      settings,
      active.map((parent) => ({ parent, n: perBeam })),
    );
    depth += 1;
    const open = grown.nodes.filter((node) => !node.done);
    finished.push(...grown.nodes.filter((node) => node.done));
    let budgetExhausted = grown.budgetExhausted;
    if (rescore && open.length > 0 && !budgetExhausted) budgetExhausted = await rescore(open, settings);
    // Nothing drawn (the budget stopped every call): the current beams are what there is.
    if (grown.nodes.length > 0) {
      const ranked = byScore(open);
      active = ranked.slice(0, keep);
      prune(ctx, ranked.slice(keep), "beam");
    }
    if (budgetExhausted) {
      stopReason = "budget";
      break;
    }
  }
  // At the depth limit or the budget, unfinished beams still count, behind finished ones.
  const pool = finished.length > 0 ? finished : active.filter((node) => node !== root);
  const candidates = byScore(pool).map((node) => nodeCandidate(problem, node));
  const { answer, tally, chosen } = selectAnswer(problem, candidates, options.select);
  return {
    answer,
    candidates,
    tally,
    chosen,
    stopReason,
    detail: { depth, finished: finished.length, unfinished: finished.length > 0 ? 0 : active.length },
  };
}

export const beamSearch = defineStrategy({
  name: "beam-search",
  description:
    "Step-level beam search guided by a process verifier: keep the n/beamWidth best partial solutions, grow each by beamWidth steps.",
  options: beamSearchOptions,
  needsVerifier: true,
  run: (problem, ctx, options) => runBeamSearch(problem, ctx, options, "beam-search"),
});
