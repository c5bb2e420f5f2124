/** Batch allocation on the bundled model: one token budget, spent where votes are least settled. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { allocateBatch } from "../../src/control/allocate.js";
import type { Backend } from "../../src/core/backend.js";
import { InvalidInputError } from "../../src/core/errors.js";
import { totalTokens } from "../../src/core/types.js";
import { createDefaultBackend, generateArithmeticProblems, toProblem } from "../../src/index.js";

let backend: Backend;
beforeAll(async () => {
  backend = await createDefaultBackend({ threads: 1 });
});
afterAll(() => backend.close?.());

const problems = [1, 5].flatMap((level) =>
  generateArithmeticProblems({ level, count: 4, seed: 8 }).map((p) => ({ ...toProblem(p), meta: { level } })),
);
const sampling = { temperature: 1, topK: 0, topP: 1, maxTokens: 96, seed: 2 };

describe("allocateBatch", () => {
  it("stays within the budget and gives unsettled questions more samples", async () => {
    const tokenBudget = 6000;
    const allocation = await allocateBatch({
      problems,
      backend,
      sampling,
      tokenBudget,
      initialSamples: 3,
      step: 2,
    });
    expect(allocation.answers).toHaveLength(problems.length);
    const spent = totalTokens(allocation.usage);
    expect(spent).toBeLessThanOrEqual(tokenBudget);
    const summed = allocation.answers.reduce((s, a) => s + totalTokens(a.usage), 0);
    expect(summed).toBeCloseTo(spent, 6);
    for (const a of allocation.answers) {
      expect(a.candidates.length).toBeGreaterThanOrEqual(3);
      expect(a.answer).toBe(a.tally[0]?.answer);
    }
    // The least settled votes got the extra samples: they end with more than the settled ones.
    const bySettled = [...allocation.answers].sort((a, b) => a.settled - b.settled);
    const meanSamples = (list: typeof bySettled) =>
      list.reduce((s, a) => s + a.candidates.length, 0) / list.length;
    expect(meanSamples(bySettled.slice(0, 4))).toBeGreaterThan(meanSamples(bySettled.slice(4)));
    expect(allocation.rounds).toBeGreaterThan(1);
  });

  it("never spends more than its budget, whatever the budget", async () => {
    const spentAt: number[] = [];
    for (const tokenBudget of [300, 2000, 5000, 10_000]) {
      const allocation = await allocateBatch({ problems, backend, sampling, tokenBudget, initialSamples: 2 });
      const spent = totalTokens(allocation.usage);
      expect(spent).toBeLessThanOrEqual(tokenBudget);
      // Once it can, every question gets samples, also those the first round could not cover.
      if (tokenBudget >= 2000)
        for (const a of allocation.answers) expect(a.candidates.length).toBeGreaterThan(0);
      spentAt.push(spent);
    }
    // A larger budget is used: each spends more than the one below it did.
    for (let i = 1; i < spentAt.length; i++) expect(spentAt[i]!).toBeGreaterThan(spentAt[i - 1]!);
  });

  it("continues each question's draws across rounds instead of repeating them", async () => {
    const allocation = await allocateBatch({
      problems: problems.slice(4, 5),
      backend,
      sampling,
      tokenBudget: 100_000,
      initialSamples: 2,
      step: 2,
      maxSamplesPerProblem: 8,
      settled: 0.999,
    });
    const [answer] = allocation.answers;
    expect(answer!.candidates.length).toBe(8);
    const direct = await backend.generate({ ...sampling, prompt: problems[4]!.prompt, n: 8 });
    expect(answer!.candidates.map((c) => c.text)).toEqual(direct.completions.map((c) => c.text));
  });

  it("names a bad setting", async () => {
    await expect(allocateBatch({ problems, backend, tokenBudget: 0 })).rejects.toThrow(InvalidInputError);
    await expect(allocateBatch({ problems, backend, tokenBudget: 0 })).rejects.toThrow(
      /allocation.tokenBudget/,
    );
  });
});
