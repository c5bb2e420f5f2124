import { z } from "zod";
import { BudgetExhaustedError } from "../core/errors.js";
import type { AnswerTally, Candidate, StopReason } from "../core/types.js";
import { codeProblemOf, distinctSolutions, runPerDistinctSolution, runSnippets } from "./code-harness.js";
import { distinctSnippets, parseAsserts, testWritingPrompt } from "./code-prompts.js";
import { drawCandidates } from "./sampling.js";
import { defineStrategy } from "./strategy.js";

const codetOptions = z
  .object({
    n: z.number().int().min(1).max(256).default(8).describe("solutions to draw"),
    testSamples: z.number().int().min(1).max(64).default(2).describe("completions asked to write test cases"),
    testsPerSample: z
      .number()
      .int()
      .min(1)
      .max(50)
      .default(5)
      .describe("assert lines kept from each test-writing completion (the first ones)"),
    testTokens: z
      .number()
      .int()
      .min(1)
      .max(8192)
      .default(384)
      .describe("tokens of one test-writing completion"),
    snippetTimeoutMs: z
      .number()
      .int()
      .min(50)
      .max(60_000)
      .default(2_000)
      .describe("wall-clock limit of one test on one solution in the sandbox"),
  })
  .strict();

/** Solutions that pass exactly the same tests, and the dual-agreement score of that consensus. */
interface ConsensusGroup {
  /** Indices of the solutions (in draw order). */
  members: number[];
  /** Indices of the tests they pass. */
  passed: number[];
  score: number;
}

/**
 * Groups solutions by the set of tests they pass; score = |solutions| × |tests passed|. Ties go
 * to the larger group, then to the one whose first solution was drawn first.
 */
function consensusGroups(passedBy: readonly (number[] | undefined)[]): ConsensusGroup[] {
  const groups = new Map<string, ConsensusGroup>();
  passedBy.forEach((passed, index) => {
    if (passed === undefined) return;
    const key = passed.join(",");
    const group = groups.get(key) ?? { members: [], passed, score: 0 };
    group.members.push(index);
    group.score = group.members.length * passed.length;
    groups.set(key, group);
  });
  return [...groups.values()].sort(
    (a, b) => b.score - a.score || b.members.length - a.members.length || a.members[0]! - b.members[0]!,
  );
}

/**
 * CodeT (Chen et al. 2022): the model writes n solutions and, separately, test cases (assert
 * lines); every solution runs on every test in the sandbox (one program per distinct solution);
 * the answer comes from the consensus group with the best dual agreement: solutions that pass
 * the same tests, scored by how many solutions agree times how many tests they pass.
 */
export const codet = defineStrategy({
  name: "codet",
  description:
    "Draw n solutions and model-written tests, run every solution on every test, and answer from the group with the best dual agreement.",
  options: codetOptions,
  needsVerifier: false,
  async run(problem, ctx, options) {
    const code = codeProblemOf(problem, "codet");
    const drawn = await drawCandidates(problem, ctx, options.n);
    let stopReason: StopReason = drawn.stopReason;
    let tests: string[] = [];
    // Tests cannot change the choice among fewer than two different solutions: none are written.
    const distinct = distinctSolutions(drawn.candidates.map((c) => c.answer));
    if (stopReason !== "budget" && distinct > 1) {
      try {
        const response = await ctx.backend.generate({
          ...ctx.sampling,
          maxTokens: options.testTokens,
          prompt: testWritingPrompt(problem, code, options.testsPerSample),
          n: options.testSamples,
          signal: ctx.signal,
        });
        tests = distinctSnippets(
          response.completions.flatMap((c) =>
            parseAsserts(c.text, code.entryPoint).slice(0, options.testsPerSample),
          ),
        );
        for (const c of response.completions)
          ctx.trace.emit({ kind: "sample", text: c.text, tokens: c.tokens, data: { tests: true } });
      } catch (error) {
        if (!(error instanceof BudgetExhaustedError)) throw error;
        ctx.trace.emit({ kind: "budget-exhausted", text: error.limit });
        stopReason = "budget";
      }
    }
    const { results, runs } =
      tests.length === 0
        ? { results: drawn.candidates.map(() => undefined), runs: 0 }
        : await runPerDistinctSolution(
            drawn.candidates.map((c) => c.answer),
            (solution) =>
              runSnippets(code, solution, tests, "exec", {
                snippetTimeoutMs: options.snippetTimeoutMs,
                signal: ctx.signal,
              }),
          );
    const passedBy = drawn.candidates.map((c, i) => {
      if (c.answer === undefined) return undefined;
      const outcomes = results[i]?.outcomes ?? [];
      return outcomes.flatMap((o, t) => (o.ok ? [t] : []));
    });
    drawn.candidates.forEach((c, i) => {
      if (c.answer === undefined || tests.length === 0) return;
      ctx.trace.emit({
        kind: "scored",
        text: `passes ${passedBy[i]!.length} of ${tests.length} tests`,
        score: passedBy[i]!.length,
        data: {
          solution: i,
          passed: passedBy[i],
          failures: results[i]!.outcomes.flatMap((o, t) => (o.ok ? [] : [{ test: t, error: o.error }])),
        },
      });
    });
    const groups = consensusGroups(passedBy);
    const scoreOf = new Map(groups.flatMap((g) => g.members.map((m) => [m, g.score] as const)));
    const candidates: Candidate[] = drawn.candidates.map((c, i) =>
      scoreOf.has(i) ? { ...c, score: scoreOf.get(i)! } : c,
    );
    const best = groups[0];
    const tally: AnswerTally[] = groups.map((g) => ({
      answer: candidates[g.members[0]!]!.answer!,
      count: g.members.length,
      score: g.score,
    }));
    ctx.trace.emit({
      kind: "voted",
      text: best ? candidates[best.members[0]!]!.answer : undefined,
      data: {
        tests,
        groups: groups.map((g) => ({ solutions: g.members, testsPassed: g.passed, score: g.score })),
      },
    });
    // The winning group's first solution stands for it; with none (no solution has code), the first drawn.
    const chosen = best ? best.members[0]! : candidates.length > 0 ? 0 : undefined;
    return {
      answer: best ? candidates[best.members[0]!]!.answer : undefined,
      candidates,
      tally,
      chosen,
      stopReason,
      detail: {
        solutions: drawn.candidates.length,
        distinctSolutions: distinct,
        tests: tests.length,
        sandboxRuns: runs,
        groups: groups.length,
        bestScore: best?.score ?? 0,
        bestGroupSize: best?.members.length ?? 0,
        bestGroupTestsPassed: best?.passed.length ?? 0,
      },
    };
  },
});
