import { z } from "zod";
import { BudgetExhaustedError } from "../core/errors.js";
import { deriveSeed, randomSubset, seededRandom } from "../core/random.js";
import { selectAnswer } from "../core/selection.js";
import type { Candidate, ChatMessage, Problem, StopReason } from "../core/types.js";
import { generateWithHistory } from "./revision-prompts.js";
import { drawCandidates, toCandidate } from "./sampling.js";
import { defineStrategy, type StrategyContext } from "./strategy.js";
import { tallyAnswers } from "./vote.js";

const rsaOptions = z
  .object({
    n: z.number().int().min(1).max(256).default(8).describe("population: solutions kept each round"),
    k: z
      .number()
      .int()
      .min(1)
      .max(16)
      .default(3)
      .describe("members of the previous population each new solution is written from"),
    rounds: z
      .number()
      .int()
      .min(0)
      .max(32)
      .default(3)
      .describe("aggregation rounds T after the first population"),
    stopWhenUnanimous: z
      .boolean()
      .default(false)
      .describe("stop early when every member of a population states the same answer"),
  })
  .strict()
  .superRefine((options, ctx) => {
    if (options.k > options.n)
      ctx.addIssue({
        code: "custom",
        path: ["k"],
        message: `k (${options.k}) cannot exceed the population n (${options.n})`,
      });
  });

const aggregateRequest =
  "Above are candidate solutions to the problem below; some may be wrong. Check them against each other, keep what is right and fix what is wrong, and write one improved solution from the start that states the final answer in the same format.";

/**
 * The aggregation prompt: the k candidates, the request, then the problem. Chat problems keep
 * their system turns and get one user turn; plain prompts end on the problem's own prompt, so a
 * completion model continues where it would answer.
 */
export function aggregationPrompt(problem: Problem, candidates: readonly string[]): string | ChatMessage[] {
  if (candidates.length === 0) return problem.prompt;
  const listing = candidates.map((text, i) => `Candidate solution ${i + 1}:\n${text.trim()}`).join("\n\n");
  if (typeof problem.prompt === "string") return `${listing}\n\n${aggregateRequest}\n\n${problem.prompt}`;
  const turns = problem.prompt;
  const question = turns
    .filter((m) => m.role === "user")
    .map((m) => m.content)
    .join("\n\n");
  return [
    ...turns.filter((m) => m.role === "system"),
    {
      role: "user",
      content: `${question}\n\n${listing}\n\n${aggregateRequest.replace("the problem below", "the problem above")}`,
    },
  ];
}

/** The share of a population that states its most common answer. */
function agreement(problem: Problem, population: readonly Candidate[]): number {
  if (population.length === 0) return 0;
  return (tallyAnswers(population, problem.task)[0]?.count ?? 0) / population.length;
}

/**
 * One new population: member i written from k members of `previous` drawn without
 * replacement. Members whose call the budget stopped keep their previous solution.
 */
async function aggregateRound(
  problem: Problem,
  ctx: StrategyContext,
  previous: readonly Candidate[],
  subsets: readonly number[][],
  parents: readonly number[],
): Promise<{ population: Candidate[]; ids: number[]; budgetExhausted: boolean }> {
  const settled = await Promise.allSettled(
    subsets.map((subset) =>
      generateWithHistory(
        ctx,
        (kept) =>
          aggregationPrompt(
            problem,
            subset.slice(0, kept).map((j) => previous[j]!.text),
          ),
        subset.length,
      ),
    ),
  );
  let budgetExhausted = false;
  const population: Candidate[] = [];
  const ids: number[] = [];
  settled.forEach((outcome, i) => {
    if (outcome.status === "rejected") {
      if (!(outcome.reason instanceof BudgetExhaustedError)) throw outcome.reason;
      budgetExhausted = true;
      population.push(previous[i]!);
      ids.push(parents[i]!);
      return;
    }
    const candidate = toCandidate(problem, outcome.value.completion);
    population.push(candidate);
    ids.push(
      ctx.trace.emit({
        kind: "revised",
        parent: parents[subsets[i]![0]!],
        text: candidate.text,
        tokens: candidate.tokens,
        data: { from: subsets[i], sawCandidates: outcome.value.kept },
      }),
    );
  });
  return { population, ids, budgetExhausted };
}

/**
 * Recursive self-aggregation (Venkatraman et al. 2025, "Recursive Self-Aggregation Unlocks Deep
 * Thinking in Large Language Models"): a population of n solutions; each round every new
 * member is written by the model from k members of the previous population, drawn at random,
 * so good reasoning spreads and mistakes are corrected across chains; after T rounds, the
 * answer is the majority vote of the last population. A prompt too long for the model's
 * context shows fewer candidates (down to none: a fresh sample).
 */
export const rsa = defineStrategy({
  name: "rsa",
  description:
    "Recursive self-aggregation: a population of n solutions; each round each new one is written from k sampled members of the last; majority vote at the end.",
  options: rsaOptions,
  needsVerifier: false,
  async run(problem, ctx, options) {
    const seed = ctx.sampling.seed ?? Math.floor(Math.random() * 0xffffffff);
    const first = await drawCandidates(problem, ctx, options.n);
    let population = first.candidates;
    let ids = population.map((c) => ctx.trace.emit({ kind: "sample", text: c.text, tokens: c.tokens }));
    let stopReason: StopReason = first.stopReason;
    const agreements = [agreement(problem, population)];
    let round = 0;
    while (stopReason === "completed" && round < options.rounds && population.length > 0) {
      if (
        options.stopWhenUnanimous &&
        agreements.at(-1) === 1 &&
        population.every((c) => c.answer !== undefined)
      ) {
        stopReason = "early-stop";
        break;
      }
      round += 1;
      const random = seededRandom(deriveSeed(seed, "rsa", problem.id, round));
      const k = Math.min(options.k, population.length);
      const subsets = population.map(() => randomSubset(population.length, k, random));
      const next = await aggregateRound(problem, ctx, population, subsets, ids);
      population = next.population;
      ids = next.ids;
      agreements.push(agreement(problem, population));
      if (next.budgetExhausted) {
        ctx.trace.emit({ kind: "budget-exhausted", text: "tokens" });
        stopReason = "budget";
      }
    }
    const { answer, tally, chosen } = selectAnswer(population, problem.task, "majority");
    ctx.trace.emit({ kind: "voted", data: { tally } });
    return {
      answer,
      candidates: population,
      tally,
      chosen,
      stopReason,
      detail: { rounds: round, agreement: agreements },
    };
  },
});
