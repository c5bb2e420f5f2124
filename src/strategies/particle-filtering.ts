import { z } from "zod";
import { deriveSeed, type Random, seededRandom } from "../core/random.js";
import type { StopReason } from "../core/types.js";
import {
  growNodes,
  nodeCandidate,
  requireContinuation,
  rootNode,
  type SearchNode,
  selectAnswer,
  stepSearchFields,
  stepSettings,
} from "./steps.js";
import { defineStrategy } from "./strategy.js";

const particleFilteringOptions = z
  .object({
    n: z
      .number()
      .int()
      .min(1)
      .max(1024)
      .default(8)
      .describe("particles: partial solutions carried each step"),
    temperature: z
      .number()
      .gt(0)
      .max(100)
      .default(1)
      .describe("temperature of the resampling weights: higher flattens them, lower sharpens them"),
    weighting: z
      .enum(["logit", "softmax", "likelihood"])
      .default("logit")
      .describe(
        "weight from a path score s: exp(logit(s)/T) (its_hub), exp(s/T), or s^(1/T) (the score as a likelihood)",
      ),
    resampling: z
      .enum(["multinomial", "systematic"])
      .default("multinomial")
      .describe("multinomial draws, or systematic (one uniform offset, lower variance)"),
    ...stepSearchFields,
    // A particle's weight each round is the likelihood of its newest step alone: after a
    // resampling the population is unweighted, so scores of earlier steps must not count twice.
    aggregation: stepSearchFields.aggregation
      .removeDefault()
      .default("last")
      .describe(
        "how a path's step scores make its weight: last (the newest step; default), min, product or mean",
      ),
    select: stepSearchFields.select
      .removeDefault()
      .default("weighted-majority")
      .describe("the answer among the final particles: weighted-majority (default), majority or best"),
  })
  .strict();
export type ParticleFilteringOptions = z.output<typeof particleFilteringOptions>;

/** Scores are clipped this far from 0 and 1 before taking log-odds, so a 0 or 1 stays finite. */
const clip = 1e-7;

/**
 * Resampling probabilities from path scores. "logit" is the reference implementation's rule
 * (its_hub: softmax of the scores' log-odds), "softmax" tempers the scores themselves, and
 * "likelihood" reads a score in [0, 1] as the probability of the observation (Puri et al.).
 * Weights that are all zero (every particle judged wrong) fall back to uniform.
 */
export function resamplingProbabilities(
  scores: readonly number[],
  weighting: ParticleFilteringOptions["weighting"],
  temperature: number,
): number[] {
  const logWeight = (s: number): number => {
    if (weighting === "softmax") return s / temperature;
    if (weighting === "likelihood") return s > 0 ? Math.log(s) / temperature : Number.NEGATIVE_INFINITY;
    const p = Math.min(1 - clip, Math.max(clip, s));
    return Math.log(p / (1 - p)) / temperature;
  };
  const logWeights = scores.map(logWeight);
  const max = Math.max(...logWeights);
  if (!Number.isFinite(max)) return scores.map(() => 1 / scores.length);
  const weights = logWeights.map((w) => Math.exp(w - max));
  const total = weights.reduce((a, b) => a + b, 0);
  return weights.map((w) => w / total);
}

/** Indices of `count` draws from `probabilities` (summing to 1), by the chosen rule. */
export function resampleIndices(
  probabilities: readonly number[],
  count: number,
  rule: ParticleFilteringOptions["resampling"],
  random: Random,
): number[] {
  const cumulative: number[] = [];
  let sum = 0;
  for (const p of probabilities) {
    sum += p;
    cumulative.push(sum);
  }
  // Rounding may leave the last sum a hair below 1; no draw may fall past the end.
  cumulative[cumulative.length - 1] = Number.POSITIVE_INFINITY;
  const find = (u: number) => cumulative.findIndex((c) => u < c);
  if (rule === "multinomial") return Array.from({ length: count }, () => find(random()));
  const offset = random();
  return Array.from({ length: count }, (_, i) => find((i + offset) / count));
}

/**
 * Particle filtering over solution steps (Puri et al. 2025, "A Probabilistic Inference Approach
 * to Inference-Time Scaling of LLMs using Particle-Based Monte Carlo Methods"; its_hub's
 * `ParticleFiltering`): n particles, each a partial solution. Every round, each unfinished
 * particle grows by one step; every particle is weighted by the process verifier's path score
 * (finished particles keep their final weight); then n particles are drawn with replacement in
 * proportion to the weights, so likely paths multiply and unlikely ones die out while a few
 * low-scored ones may survive, which beam search's hard cut never allows. It ends when every
 * particle is finished. A particle's weight is the score of its newest step (the incremental
 * likelihood; `aggregation` changes it), and the answer is the vote of the final particles
 * weighted by their scores, copies counting as votes: the filter's estimate of the posterior.
 */
export const particleFiltering = defineStrategy({
  name: "particle-filtering",
  description:
    "Particle filtering over steps: n partial solutions weighted by a process verifier and resampled each step (multinomial or systematic).",
  options: particleFilteringOptions,
  needsVerifier: true,
  async run(problem, ctx, options) {
    requireContinuation(ctx, "particle-filtering");
    const settings = stepSettings(problem, ctx, options);
    const seed = ctx.sampling.seed ?? Math.floor(Math.random() * 0xffffffff);
    const random = seededRandom(deriveSeed(seed, "particle-filtering", problem.id));
    const root = rootNode(ctx);
    let particles: SearchNode[] = Array.from({ length: options.n }, () => root);
    let stopReason: StopReason = "completed";
    let depth = 0;
    let resamplings = 0;
    while (particles.some((p) => !p.done) && depth < options.maxDepth) {
      // Copies of one particle grow in one call (n = its copies), so an engine batches them.
      const open = [...new Set(particles.filter((p) => !p.done))];
      const copies = open.map((parent) => particles.filter((p) => p === parent).length);
      const grown = await growNodes(
        problem,
        ctx,
        settings,
        open.map((parent, i) => ({ parent, n: copies[i]! })),
      );
      depth += 1;
      if (grown.nodes.length === 0) {
        stopReason = "budget";
        break;
      }
      // The new population: finished particles as they were, each open one replaced by its children.
      const grownFrom = new Map<SearchNode, SearchNode[]>();
      for (const node of grown.nodes) {
        const parent = open[node.expansion]!;
        grownFrom.set(parent, [...(grownFrom.get(parent) ?? []), node]);
      }
      const population = [
        ...particles.filter((p) => p.done),
        ...open.flatMap((parent) => grownFrom.get(parent) ?? []),
      ];
      if (grown.budgetExhausted) {
        particles = population;
        stopReason = "budget";
        break;
      }
      const probabilities = resamplingProbabilities(
        population.map((p) => p.score),
        options.weighting,
        options.temperature,
      );
      const drawn = resampleIndices(probabilities, options.n, options.resampling, random);
      resamplings += 1;
      const survivors = new Set(drawn);
      for (const [i, node] of population.entries())
        if (!survivors.has(i))
          ctx.trace.emit({ kind: "pruned", parent: node.id, score: node.score, text: "resampled away" });
      particles = drawn.map((i) => population[i]!);
    }
    // At the depth limit or the budget, unfinished particles still count, behind finished ones.
    const finished = particles.filter((p) => p.done && p !== root);
    const pool = finished.length > 0 ? finished : particles.filter((p) => p !== root);
    const candidates = pool.map((node) => nodeCandidate(problem, node));
    const { answer, tally, chosen } = selectAnswer(problem, candidates, options.select);
    return {
      answer,
      candidates,
      tally,
      chosen,
      stopReason,
      detail: {
        depth,
        resamplings,
        finished: finished.length,
        distinct: new Set(pool).size,
      },
    };
  },
});
