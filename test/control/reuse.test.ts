/** `auto` pays for the probe's samples once: the chosen strategy is served them again. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Policy } from "../../src/control/policy.js";
import type { Backend } from "../../src/core/backend.js";
import { createDefaultBackend, generateArithmeticProblems, run, toProblem } from "../../src/index.js";

let backend: Backend;
beforeAll(async () => {
  backend = await createDefaultBackend({ threads: 1 });
});
afterAll(() => backend.close?.());

const sampling = { temperature: 1, topK: 0, topP: 1, maxTokens: 96, seed: 4 };
const [problem] = generateArithmeticProblems({ level: 5, count: 1, seed: 11 }).map(toProblem);

/** Probe with self-consistency at 2 samples, then self-consistency at 8 on every question. */
const policy = (model: string): Policy => ({
  version: 1,
  task: "arithmetic",
  model,
  probe: { config: "self-consistency n=2", strategy: "self-consistency", options: { n: 2 } },
  difficulty: { features: ["agreement"], means: [0], scales: [1], weights: [0], bias: 0, edges: [] },
  objective: { kind: "max-accuracy", maxTokens: 10_000 },
  bins: [
    {
      use: { config: "self-consistency n=8", strategy: "self-consistency", options: { n: 8 } },
      accuracy: 0,
      tokens: 0,
      problems: 1,
    },
  ],
  fittedOn: {
    problems: 1,
    configs: ["self-consistency n=2", "self-consistency n=8"],
    accuracy: 0,
    tokens: 0,
  },
});

describe("auto after a probe", () => {
  it("draws only the samples the probe did not: a probe of 2 then 8 samples draws 6 more", async () => {
    const alone = await run({
      problem: problem!,
      backend,
      strategy: "self-consistency",
      options: { n: 8 },
      sampling,
    });
    const auto = await run({
      problem: problem!,
      backend,
      strategy: "auto",
      options: { policy: policy(backend.id) },
      sampling,
    });
    const detail = auto.detail as { choice: string; reused: number; drawn: number; samples: number };
    expect(detail.choice).toBe("self-consistency n=8");
    expect(detail).toMatchObject({ reused: 2, drawn: 6, samples: 8 });
    // The same 8 samples as self-consistency at 8 run alone, and the same answer.
    expect(auto.candidates.map((c) => c.text)).toEqual(alone.candidates.map((c) => c.text));
    expect(auto.answer).toBe(alone.answer);
    // Their completions are paid once.
    expect(auto.usage.completionTokens).toBe(alone.usage.completionTokens);
  });

  it("runs a policy without a probe as its one configuration", async () => {
    const fixed: Policy = { ...policy(backend.id), probe: null };
    const alone = await run({
      problem: problem!,
      backend,
      strategy: "self-consistency",
      options: { n: 8 },
      sampling,
    });
    const auto = await run({
      problem: problem!,
      backend,
      strategy: "auto",
      options: { policy: fixed },
      sampling,
    });
    expect((auto.detail as { choice: string }).choice).toBe("self-consistency n=8");
    expect(auto.candidates.map((c) => c.text)).toEqual(alone.candidates.map((c) => c.text));
    expect(auto.usage).toMatchObject({
      promptTokens: alone.usage.promptTokens,
      completionTokens: alone.usage.completionTokens,
    });
  });
});
