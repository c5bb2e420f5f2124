/**
 * Recursive self-aggregation in front of a loopback OpenAI-compatible server whose model writes
 * two right solutions in eight but, shown candidates, keeps a right one when it sees it; then on
 * the bundled model.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createOpenAIBackend } from "../../src/backends/openai.js";
import type { Backend } from "../../src/core/backend.js";
import { sampleSeed } from "../../src/core/random.js";
import { collectTrace } from "../../src/core/trace.js";
import type { Problem } from "../../src/core/types.js";
import { createDefaultBackend, generateArithmeticProblems, run, toProblem } from "../../src/index.js";
import { getTask } from "../../src/tasks/registry.js";
import {
  type OpenAITestServer,
  startOpenAITestServer,
  type TestRequestView,
} from "../support/openai-test-server.js";

const seed = 5;
function drawOf(requestSeed: number | undefined, index: number): number {
  for (let draw = 0; draw < 64; draw++) if (sampleSeed(seed, draw) === requestSeed) return draw + index;
  return index;
}

const right = "17*23 = 340 + 51 = 391. The answer is \\boxed{391}.";
const wrong = "17*23 is about 400. The answer is \\boxed{400}.";
const shown = (prompt: string) =>
  [...prompt.matchAll(/Candidate solution \d+:\n([^\n]*)/g)].map((m) => m[1]!);

/** Fresh samples: draws 1 and 4 of each run are right. Aggregating: right if any candidate shown is. */
function respond(request: TestRequestView, index: number): string {
  const candidates = shown(request.prompt);
  if (candidates.length > 0) return candidates.some((c) => c.includes("= 391")) ? right : candidates[0]!;
  const draw = drawOf(request.seed, index);
  return draw === 1 || draw === 4 ? right : wrong;
}

const problem: Problem = {
  id: "q",
  prompt: [{ role: "user", content: "What is 17*23? Put the answer in \\boxed{}." }],
  reference: "391",
  task: getTask("math"),
};

describe("recursive self-aggregation over an OpenAI-compatible server", () => {
  let llm: OpenAITestServer;
  beforeAll(async () => {
    llm = await startOpenAITestServer({ respond });
  });
  afterAll(() => llm.close());
  const backend = () => createOpenAIBackend({ baseURL: llm.url, model: "test-model" });

  it("spreads the few right solutions through the population until the vote takes it", async () => {
    const sampling = { temperature: 1, seed };
    const majority = await run({
      problem,
      backend: backend(),
      strategy: "self-consistency",
      options: { n: 8 },
      sampling,
    });
    expect(majority.answer).toBe("400");
    expect(majority.candidates.filter((c) => c.answer === "391")).toHaveLength(2);

    const before = llm.requests.length;
    const trace = collectTrace();
    const result = await run({
      problem,
      backend: backend(),
      strategy: "rsa",
      options: { n: 8, k: 3, rounds: 4 },
      sampling,
      trace: trace.sink,
    });
    expect(result.answer).toBe("391");
    expect(result.candidates).toHaveLength(8);
    // Each round writes n new solutions, each from k members of the last population.
    const aggregations = llm.requests
      .slice(before)
      .filter((r) => /Candidate solution 1:/.test(JSON.stringify(r.body)));
    expect(aggregations).toHaveLength(8 * 4);
    for (const r of aggregations) {
      const messages = r.body.messages as { role: string; content: string }[];
      expect(messages).toHaveLength(1);
      expect(messages[0]!.content).toContain("What is 17*23?");
      expect(shown(messages[0]!.content)).toHaveLength(3);
    }
    // The first population agrees six to two on the wrong answer; the last one on the right.
    const agreement = result.detail?.agreement as number[];
    expect(agreement).toHaveLength(5);
    expect(agreement[0]).toBe(6 / 8);
    expect(result.tally[0]).toMatchObject({ answer: "391" });
    expect(trace.events.filter((e) => e.kind === "revised")).toHaveLength(32);
  });

  it("refuses k larger than the population, naming the field", async () => {
    await expect(
      run({ problem, backend: backend(), strategy: "rsa", options: { n: 2, k: 3 } }),
    ).rejects.toThrow(/strategy options\.k: k \(3\) cannot exceed the population n \(2\)/);
  });

  it("stops early on a unanimous population when asked to", async () => {
    const unanimous = await startOpenAITestServer({ respond: () => right });
    try {
      const result = await run({
        problem,
        backend: createOpenAIBackend({ baseURL: unanimous.url, model: "test-model" }),
        strategy: "rsa",
        options: { n: 4, k: 2, rounds: 3, stopWhenUnanimous: true },
        sampling: { temperature: 1, seed },
      });
      expect(result.stopReason).toBe("early-stop");
      expect(result.detail).toMatchObject({ rounds: 0 });
      expect(unanimous.requests.some((r) => /Candidate solution/.test(JSON.stringify(r.body)))).toBe(false);
    } finally {
      await unanimous.close();
    }
  });
});

describe("recursive self-aggregation on the bundled model", () => {
  let model: Backend;
  beforeAll(async () => {
    model = await createDefaultBackend({ sequences: 16 });
  });
  afterAll(() => model.close?.());

  it("runs its rounds within the model's context and votes on the last population", async () => {
    const problems = generateArithmeticProblems({ level: 2, count: 2, seed: 8 }).map(toProblem);
    for (const [i, p] of problems.entries()) {
      const trace = collectTrace();
      const result = await run({
        problem: p,
        backend: model,
        strategy: "rsa",
        options: { n: 4, k: 2, rounds: 1 },
        sampling: { temperature: 1, maxTokens: 96, seed: 70 + i },
        trace: trace.sink,
      });
      expect(result.candidates).toHaveLength(4);
      expect(result.answer).toBeDefined();
      expect(trace.events.filter((e) => e.kind === "revised")).toHaveLength(4);
      expect(result.stopReason).toBe("completed");
    }
  });
});
