import { z } from "zod";
import { BudgetExhaustedError } from "../core/errors.js";
import { selectAnswer } from "../core/selection.js";
import type { AnswerTally, Candidate, StopReason } from "../core/types.js";
import { visibleExamples } from "../tasks/code.js";
import {
  codeProblemOf,
  distinctSolutions,
  runPerDistinctSolution,
  runSnippets,
  type SnippetOutcome,
} from "./code-harness.js";
import { distinctSnippets, inputWritingPrompt, parseCalls } from "./code-prompts.js";
import { drawCandidates } from "./sampling.js";
import { defineStrategy } from "./strategy.js";

const executionVoteOptions = z
  .object({
    n: z.number().int().min(1).max(256).default(8).describe("solutions to draw"),
    generatedInputs: z
      .number()
      .int()
      .min(0)
      .max(50)
      .default(0)
      .describe("inputs to ask the model for, beyond the docstring's examples (0: the examples alone)"),
    inputTokens: z
      .number()
      .int()
      .min(1)
      .max(8192)
      .default(256)
      .describe("tokens of the input-writing completion"),
    snippetTimeoutMs: z
      .number()
      .int()
      .min(50)
      .max(60_000)
      .default(2_000)
      .describe("wall-clock limit of one call on one solution in the sandbox"),
    filterByExamples: z
      .boolean()
      .default(true)
      .describe(
        "rank groups whose outputs match the docstring's expected values above the others (AlphaCode's filtering)",
      ),
  })
  .strict();

/** What a solution did on one input: its value, or the kind of exception (messages vary too much). */
function behaviour(outcome: SnippetOutcome): string {
  if (outcome.ok) return `=${outcome.value}`;
  return `!${(outcome.error ?? "error").replace(/^load: /, "").split(":")[0]}`;
}

interface Cluster {
  members: number[];
  /** The solutions raised (or timed out) on every input. */
  failedEverywhere: boolean;
  /** They give the docstring's expected value on every example that could be checked (one at least). */
  matchesExamples: boolean;
}

interface Input {
  call: string;
  /** The value the docstring shows for it (Python source); none for generated inputs. */
  expected?: string;
}

/**
 * Execution-based voting (AlphaCode's filtering and clustering, CodeMonkeys' voting): draw n
 * solutions, run each on the same inputs (the docstring's example calls, and optionally inputs
 * the model writes), group solutions that behave identically, and answer from the largest group.
 * Groups that reproduce the docstring's expected values rank first (unless `filterByExamples` is
 * off), groups that fail on every input last; ties go to the earliest drawn. With no input to
 * run, it falls back to a majority over identical code; with one distinct solution, it runs nothing.
 */
export const executionVote = defineStrategy({
  name: "execution-vote",
  description:
    "Draw n solutions, run them on the same inputs in the sandbox, and answer from the largest group that behaves identically.",
  options: executionVoteOptions,
  needsVerifier: false,
  async run(problem, ctx, options) {
    const code = codeProblemOf(problem, "execution-vote");
    const drawn = await drawCandidates(problem, ctx, options.n);
    let stopReason: StopReason = drawn.stopReason;
    const examples: Input[] = visibleExamples(code.prompt, code.entryPoint);
    let generated: Input[] = [];
    // With fewer than two different solutions there is nothing to vote on: nothing is run.
    const distinct = distinctSolutions(drawn.candidates.map((c) => c.answer));
    if (options.generatedInputs > 0 && stopReason !== "budget" && distinct > 1) {
      try {
        const response = await ctx.backend.generate({
          ...ctx.sampling,
          maxTokens: options.inputTokens,
          prompt: inputWritingPrompt(problem, code, options.generatedInputs),
          n: 1,
          signal: ctx.signal,
        });
        const text = response.completions[0]?.text ?? "";
        ctx.trace.emit({
          kind: "sample",
          text,
          tokens: response.completions[0]?.tokens,
          data: { inputs: true },
        });
        generated = parseCalls(text, code.entryPoint)
          .slice(0, options.generatedInputs)
          .map((call) => ({ call }));
      } catch (error) {
        if (!(error instanceof BudgetExhaustedError)) throw error;
        ctx.trace.emit({ kind: "budget-exhausted", text: error.limit });
        stopReason = "budget";
      }
    }
    // The first of equal calls wins, so an example keeps its expected value over a generated copy.
    const calls = distinctSnippets([...examples, ...generated].map((input) => input.call));
    const inputs = calls.map((call) => [...examples, ...generated].find((input) => input.call === call)!);
    const candidates: Candidate[] = drawn.candidates;
    if (inputs.length === 0 || distinct < 2) {
      const { answer, tally, chosen } = selectAnswer(candidates, problem.task, "majority");
      ctx.trace.emit({
        kind: "voted",
        text: answer,
        data: { inputs: [], fallback: "identical code", distinctSolutions: distinct },
      });
      return {
        answer,
        candidates,
        tally,
        chosen,
        stopReason,
        detail: {
          solutions: candidates.length,
          distinctSolutions: distinct,
          inputs: 0,
          sandboxRuns: 0,
          fallback: distinct < 2 ? "one distinct solution" : "majority over identical code",
        },
      };
    }
    const { results, runs } = await runPerDistinctSolution(
      candidates.map((c) => c.answer),
      (solution) =>
        runSnippets(
          code,
          solution,
          inputs.map((input) => input.call),
          "eval",
          { snippetTimeoutMs: options.snippetTimeoutMs, signal: ctx.signal },
          inputs.map((input) => input.expected),
        ),
    );
    const clusters = new Map<string, Cluster>();
    candidates.forEach((c, i) => {
      const outcomes = results[i]?.outcomes;
      if (c.answer === undefined || outcomes === undefined) return;
      const behaviours = outcomes.map(behaviour);
      const checked = outcomes.filter((o) => o.matches !== undefined);
      const matchesExamples = checked.length > 0 && checked.every((o) => o.matches === true);
      ctx.trace.emit({
        kind: "scored",
        text: behaviours.join(" | "),
        score: matchesExamples ? 1 : 0,
        data: { solution: i, outputs: outcomes, matchesExamples },
      });
      const key = behaviours.join("\u0000");
      const cluster = clusters.get(key) ?? {
        members: [],
        failedEverywhere: outcomes.every((o) => !o.ok),
        matchesExamples,
      };
      cluster.members.push(i);
      clusters.set(key, cluster);
    });
    const filtered = (g: Cluster) => (options.filterByExamples && g.matchesExamples ? 1 : 0);
    const ranked = [...clusters.values()].sort(
      (a, b) =>
        filtered(b) - filtered(a) ||
        Number(a.failedEverywhere) - Number(b.failedEverywhere) ||
        b.members.length - a.members.length ||
        a.members[0]! - b.members[0]!,
    );
    const sizeOf = new Map(ranked.flatMap((g) => g.members.map((m) => [m, g.members.length] as const)));
    const scored = candidates.map((c, i) => (sizeOf.has(i) ? { ...c, score: sizeOf.get(i)! } : c));
    const best = ranked[0];
    const answer = best ? scored[best.members[0]!]!.answer : undefined;
    const tally: AnswerTally[] = ranked.map((g) => ({
      answer: scored[g.members[0]!]!.answer!,
      count: g.members.length,
      score: g.failedEverywhere ? 0 : g.members.length,
    }));
    ctx.trace.emit({
      kind: "voted",
      text: answer,
      data: {
        inputs: inputs.map((input) => input.call),
        clusters: ranked.map((g) => ({
          solutions: g.members,
          matchesExamples: g.matchesExamples,
          failedEverywhere: g.failedEverywhere,
        })),
      },
    });
    return {
      answer,
      candidates: scored,
      tally,
      // The winning cluster's first solution, whose answer is the answer; with no cluster, the first drawn.
      chosen: best ? best.members[0]! : scored.length > 0 ? 0 : undefined,
      stopReason,
      detail: {
        solutions: candidates.length,
        distinctSolutions: distinct,
        inputs: inputs.length,
        exampleInputs: inputs.filter((input) => input.expected !== undefined).length,
        generatedInputs: inputs.filter((input) => input.expected === undefined).length,
        sandboxRuns: runs,
        clusters: ranked.length,
        largestCluster: best?.members.length ?? 0,
        matchesExamples: best?.matchesExamples ?? false,
      },
    };
  },
});
