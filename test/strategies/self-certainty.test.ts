/**
 * Self-certainty best-of-n: the measure, the selection rules, the strategy in front of a
 * loopback OpenAI-compatible server that returns per-token logprobs, and on the bundled model.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createOpenAIBackend } from "../../src/backends/openai.js";
import { createReplayBackend } from "../../src/backends/replay.js";
import type { Backend } from "../../src/core/backend.js";
import { InvalidInputError } from "../../src/core/errors.js";
import { sampleSeed } from "../../src/core/random.js";
import { createDefaultBackend, generateArithmeticProblems, run, toProblem } from "../../src/index.js";
import { bordaWeights, selfCertainty, tokenSelfCertainty } from "../../src/strategies/self-certainty.js";
import { getTask } from "../../src/tasks/registry.js";
import { type OpenAITestServer, startOpenAITestServer } from "../support/openai-test-server.js";

describe("self-certainty", () => {
  it("is 0 for a flat distribution and grows as the mass concentrates", () => {
    const flat = Math.log(1 / 4);
    const uniform = {
      token: "a",
      logprob: flat,
      top: ["a", "b", "c", "d"].map((token) => ({ token, logprob: flat })),
    };
    expect(tokenSelfCertainty(uniform)).toBeCloseTo(0, 12);
    const peaked = {
      token: "a",
      logprob: Math.log(0.97),
      top: [
        { token: "a", logprob: Math.log(0.97) },
        { token: "b", logprob: Math.log(0.01) },
        { token: "c", logprob: Math.log(0.01) },
        { token: "d", logprob: Math.log(0.01) },
      ],
    };
    const leaning = {
      token: "a",
      logprob: Math.log(0.55),
      top: [
        { token: "a", logprob: Math.log(0.55) },
        { token: "b", logprob: Math.log(0.15) },
        { token: "c", logprob: Math.log(0.15) },
        { token: "d", logprob: Math.log(0.15) },
      ],
    };
    expect(tokenSelfCertainty(peaked)).toBeGreaterThan(tokenSelfCertainty(leaning));
    expect(tokenSelfCertainty(leaning)).toBeGreaterThan(0);
    // A sample's certainty is the mean over its tokens.
    expect(selfCertainty([peaked, uniform])).toBeCloseTo(tokenSelfCertainty(peaked) / 2, 12);
  });

  it("Borda weights follow certainty ranks; ties share the better rank", () => {
    expect(bordaWeights([0.1, 0.9, 0.5], 1)).toEqual([1, 3, 2]);
    expect(bordaWeights([0.9, 0.9, 0.1], 2)).toEqual([9, 9, 1]);
  });
});

/**
 * The test server's logprobs fall with each word's position and its alternatives sit a fixed
 * distance below: later tokens are more peaked, so longer answers are more certain. Here the
 * wrong answer comes in five short samples and the right one in three long ones.
 */
const longRight =
  "Working it through carefully step by step we multiply and then add to get the answer is 42.";
const shortWrong = "The answer is 41.";
const seed = 1;

/** Which draw of the run a sample is, whether the backend asks for all n at once or one by one. */
function drawOf(requestSeed: number | undefined, index: number): number {
  for (let draw = 0; draw < 64; draw++) if (sampleSeed(seed, draw) === requestSeed) return draw + index;
  return index;
}

describe("self-certainty over an OpenAI-compatible server", () => {
  let llm: OpenAITestServer;
  beforeAll(async () => {
    llm = await startOpenAITestServer({
      respond: (request, index) => (drawOf(request.seed, index) < 3 ? longRight : shortWrong),
    });
  });
  afterAll(() => llm.close());
  const problem = { id: "p", prompt: "What is 6*7?", task: getTask("math"), reference: "42" };
  const backend = () => createOpenAIBackend({ baseURL: llm.url, model: "test-model", mode: "completion" });
  const ask = (options: Record<string, unknown>) =>
    run({
      problem,
      backend: backend(),
      strategy: "self-certainty",
      options: { n: 8, ...options },
      sampling: { temperature: 1, seed },
    });

  it("picks the most certain sample over the majority, and asks for top logprobs", async () => {
    const majority = await run({
      problem,
      backend: backend(),
      strategy: "self-consistency",
      options: { n: 8 },
      sampling: { temperature: 1, seed },
    });
    const rights = majority.candidates.filter((c) => c.answer === "42").length;
    expect(rights).toBe(3);
    expect(majority.answer).toBe("41");

    const before = llm.requests.length;
    const best = await ask({ select: "best", topLogprobs: 5 });
    expect(best.answer).toBe("42");
    const body = llm.requests[before]!.body;
    expect(body.logprobs).toBe(5);
    const certain = best.candidates.filter((c) => c.answer === "42").map((c) => c.score!);
    const unsure = best.candidates.filter((c) => c.answer === "41").map((c) => c.score!);
    expect(Math.min(...certain)).toBeGreaterThan(Math.max(...unsure));
  });

  it("Borda voting: a gentle power keeps the majority, a steep one follows certainty", async () => {
    expect((await ask({ select: "borda", bordaPower: 0 })).answer).toBe("41");
    expect((await ask({ select: "borda", bordaPower: 0.5 })).answer).toBe("41");
    const steep = await ask({ select: "borda", bordaPower: 3 });
    expect(steep.answer).toBe("42");
    expect(steep.tally[0]).toMatchObject({ answer: "42" });
  });

  it("refuses a backend without logprobs", async () => {
    const replay = createReplayBackend({
      rows: [{ id: "p", prompt: "What is 6*7?", samples: [{ text: "42" }] }],
    });
    const attempt = run({ problem, backend: replay, strategy: "self-certainty" });
    await expect(attempt).rejects.toThrow(InvalidInputError);
    await expect(attempt).rejects.toThrow(/self-certainty reads the model's token distributions/);
  });
});

describe("self-certainty on the bundled model", () => {
  let model: Backend;
  beforeAll(async () => {
    model = await createDefaultBackend({ sequences: 16 });
  });
  afterAll(() => model.close?.());

  it("scores every sample from its token distributions and answers with the most certain", async () => {
    const problems = generateArithmeticProblems({ level: 3, count: 2, seed: 6 }).map(toProblem);
    for (const [i, problem] of problems.entries()) {
      const result = await run({
        problem,
        backend: model,
        strategy: "self-certainty",
        options: { n: 6, select: "best" },
        sampling: { temperature: 1, maxTokens: 96, seed: 50 + i },
      });
      expect(result.candidates).toHaveLength(6);
      for (const c of result.candidates) {
        expect(c.logprobs?.length).toBe(c.tokens);
        expect(c.score).toBeGreaterThan(0);
      }
      const top = Math.max(...result.candidates.filter((c) => c.answer !== undefined).map((c) => c.score!));
      expect(result.candidates.find((c) => c.score === top)!.answer).toBe(result.answer);
    }
  });
});
