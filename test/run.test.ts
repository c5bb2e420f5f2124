/** The library entry, as a TypeScript app uses it, on the bundled model through node-llama-cpp. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type Backend,
  collectTrace,
  createDefaultBackend,
  generateArithmeticProblems,
  InvalidInputError,
  run,
  stepCheckerVerifier,
  toProblem,
} from "../src/index.js";

let backend: Backend;
beforeAll(async () => {
  backend = await createDefaultBackend();
});
afterAll(() => backend.close?.());

// Level 3: single samples are right about half of the time (see models/README.md).
const problems = generateArithmeticProblems({ level: 3, count: 30, seed: 7 }).map(toProblem);

async function accuracy(
  strategy: string,
  options: Record<string, unknown>,
  withVerifier = false,
): Promise<number> {
  let right = 0;
  for (const [i, problem] of problems.entries()) {
    const result = await run({
      problem,
      backend,
      strategy,
      options,
      verifier: withVerifier ? stepCheckerVerifier() : undefined,
      sampling: { temperature: 1, maxTokens: 96, seed: 100 + i },
    });
    if ((await problem.task.grade(result.answer, problem)).correct) right++;
  }
  return right / problems.length;
}

describe("run() on the bundled model", () => {
  it("self-consistency and best-of-n with the step checker beat a single sample", async () => {
    const single = await accuracy("single", {});
    const voted = await accuracy("self-consistency", { n: 16 });
    const checked = await accuracy("best-of-n", { n: 16 }, true);
    console.log(
      `level 3, 30 problems: single ${single}, self-consistency@16 ${voted}, best-of-n@16 (step checker) ${checked}`,
    );
    expect(single).toBeLessThan(0.75);
    expect(voted).toBeGreaterThanOrEqual(single + 0.15);
    expect(checked).toBeGreaterThanOrEqual(voted);
  });

  it("is reproducible from a seed", async () => {
    const once = await run({
      problem: problems[0]!,
      backend,
      strategy: "self-consistency",
      options: { n: 8 },
      sampling: { temperature: 1, seed: 5 },
    });
    const again = await run({
      problem: problems[0]!,
      backend,
      strategy: "self-consistency",
      options: { n: 8 },
      sampling: { temperature: 1, seed: 5 },
    });
    expect(again.candidates.map((c) => c.text)).toEqual(once.candidates.map((c) => c.text));
  });

  it("meters every call and stops at the budget with what it has", async () => {
    const trace = collectTrace();
    const result = await run({
      problem: problems[1]!,
      backend,
      strategy: "self-consistency",
      options: { n: 64 },
      sampling: { temperature: 1, seed: 3 },
      budget: { maxTokens: 400 },
      trace: trace.sink,
    });
    expect(result.stopReason).toBe("budget");
    expect(result.candidates.length).toBeGreaterThan(1);
    expect(result.candidates.length).toBeLessThan(64);
    expect(result.usage.promptTokens + result.usage.completionTokens).toBeLessThanOrEqual(400);
    expect(result.usage.completionTokens).toBe(result.candidates.reduce((sum, c) => sum + c.tokens, 0));
    expect(result.usage.flops).toBeGreaterThan(0);
    expect(trace.events.map((e) => e.kind)).toEqual(
      expect.arrayContaining(["call", "sample", "budget-exhausted", "voted", "answer"]),
    );
  });

  it("names the offending option", async () => {
    await expect(
      run({ problem: problems[0]!, backend, strategy: "self-consistency", options: { n: 0 } }),
    ).rejects.toThrow(InvalidInputError);
    await expect(
      run({ problem: problems[0]!, backend, strategy: "self-consistency", options: { n: 0 } }),
    ).rejects.toThrow(/strategy options\.n/);
    await expect(run({ problem: problems[0]!, backend, strategy: "best-of-n" })).rejects.toThrow(
      /needs a verifier/,
    );
  });
});
