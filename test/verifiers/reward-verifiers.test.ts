/** Reward models over real loopback HTTP servers: ORM, PRM (both conventions), garbage answers. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BackendError, InvalidInputError } from "../../src/core/errors.js";
import type { Candidate, Problem } from "../../src/core/types.js";
import type { VerifierContext } from "../../src/core/verifier.js";
import { arithmeticTask } from "../../src/tasks/arithmetic.js";
import { prmSpec, processRewardModelVerifier } from "../../src/verifiers/prm.js";
import { resolveVerifier } from "../../src/verifiers/registry.js";
import { rewardModelSpec, rewardModelVerifier } from "../../src/verifiers/reward-model.js";
import { startPrmServer, type TestServer } from "../support/prm-server.js";
import { startRewardServer } from "../support/reward-server.js";

const problem: Problem = { id: "p", prompt: "Q: 12*7+45-9*3=?\n", reference: "102", task: arithmeticTask };
const candidate = (text: string): Candidate => ({
  text,
  finishReason: "eos",
  tokens: 10,
  answer: arithmeticTask.extractAnswer(text),
});
const round = (x: number) => Math.round(x * 1e6) / 1e6;
const right = candidate("12*7=84\n9*3=27\n84+45=129\n129-27=102\nA: 102");
const slip = candidate("12*7=84\n9*3=27\n84+45=119\n119-27=92\nA: 92");

function usageContext() {
  const spent = { tokens: 0, calls: 0, estimated: false };
  const ctx: VerifierContext = {
    recordUsage: ({ tokens, calls, estimated }) => {
      spent.tokens += tokens;
      spent.calls += calls;
      spent.estimated ||= estimated === true;
    },
  };
  return { ctx, spent };
}

describe("process reward model over HTTP", () => {
  let shepherd: TestServer;
  let qwen: TestServer;
  beforeAll(async () => {
    shepherd = await startPrmServer({ style: "math-shepherd" });
    qwen = await startPrmServer({ style: "qwen" });
  });
  afterAll(async () => {
    await shepherd.close();
    await qwen.close();
  });

  it("scores steps in Math-Shepherd style through vLLM's pooling API, P(+) at each ки tag", async () => {
    const prm = processRewardModelVerifier({
      url: shepherd.url,
      protocol: "vllm-pooling",
      model: "math-shepherd",
    });
    const { ctx, spent } = usageContext();
    const steps = await prm.scoreSteps!(problem, "12*7=84\n9*3=27\n", ["84+45=119\n", "119-27=92\n"], ctx);
    expect(steps.map(round)).toEqual([0.1, 0.9]); // a wrong sum, then a right step from the stated value
    const sent = shepherd.requests.at(-1)!;
    expect(sent.path).toBe("/pooling");
    expect(sent.body.model).toBe("math-shepherd");
    expect(sent.body.input[0]).toBe("Q: 12*7+45-9*3=?\n12*7=84 ки\n9*3=27 ки\n84+45=119 ки\n119-27=92 ки");
    expect(spent.calls).toBe(1);
    expect(spent.tokens).toBeGreaterThan(0);
    expect(spent.estimated).toBe(false); // the server reported usage
  });

  it("scores steps in Qwen2.5-Math-PRM style: a chat with <extra_0> after each step, P(good) second", async () => {
    const prm = processRewardModelVerifier({ url: qwen.url, protocol: "vllm-pooling", style: "qwen" });
    const { ctx } = usageContext();
    expect((await prm.scoreSteps!(problem, "", ["12*7=84\n", "9*3=28\n"], ctx)).map(round)).toEqual([
      0.9, 0.1,
    ]);
    const messages = qwen.requests.at(-1)!.body.messages;
    expect(messages.map((m: { role: string }) => m.role)).toEqual(["system", "user", "assistant"]);
    expect(messages[2].content).toBe("12*7=84<extra_0>9*3=28<extra_0>");
  });

  it("aggregates step scores into a candidate score (min, product, last, mean) and batches", async () => {
    const { ctx, spent } = usageContext();
    const score = (aggregation: "min" | "product" | "last" | "mean") =>
      processRewardModelVerifier({ url: `${shepherd.url}/score`, aggregation, batchSize: 8 }).score(
        problem,
        [right, slip],
        ctx,
      );
    const min = await score("min");
    expect(min[0]).toBeCloseTo(0.9);
    expect(min[1]).toBeCloseTo(0.1);
    expect((await score("product"))[0]).toBeCloseTo(0.9 ** 5);
    // The slip's last lines follow consistently from its wrong sum: only min and mean see it.
    expect((await score("last"))[1]).toBeCloseTo(0.9);
    expect((await score("mean"))[1]).toBeCloseTo((0.9 * 4 + 0.1) / 5);
    expect(spent.calls).toBe(4); // one batched request per call
  });

  it("is reached by name: prm:URL[:aggregation], with /pooling meaning vLLM", async () => {
    expect(prmSpec(`${shepherd.url}/pooling:product`)).toEqual({
      url: shepherd.url,
      protocol: "vllm-pooling",
      aggregation: "product",
    });
    const verifier = await resolveVerifier(`prm:${shepherd.url}/pooling:min`, { task: "arithmetic" });
    const { ctx } = usageContext();
    const scores = await verifier.score(problem, [right, slip], ctx);
    expect(scores[0]).toBeCloseTo(0.9);
    expect(scores[1]).toBeCloseTo(0.1);
    await expect(resolveVerifier("prm", { task: "math" })).rejects.toThrow(
      /prm needs the process reward model's URL/,
    );
  });

  it.each([
    ["html", /did not answer JSON: <html>/],
    ["not-json", /did not answer JSON/],
    ["wrong-shape", /unexpected shape: data: /],
    ["wrong-count", /answered 1 step scores for 4 steps/],
    ["status-500", /answered HTTP 500: .*CUDA out of memory/],
  ] as const)("names the server and the problem when it answers garbage (%s)", async (garbage, message) => {
    const server = await startPrmServer({ garbage });
    try {
      const prm = processRewardModelVerifier({ url: server.url, protocol: "vllm-pooling", maxRetries: 0 });
      const { ctx } = usageContext();
      const failure = prm.scoreSteps!(
        problem,
        "",
        ["12*7=84\n", "9*3=27\n", "84+45=129\n", "129-27=102\n"],
        ctx,
      );
      await expect(failure).rejects.toThrow(BackendError);
      await expect(failure).rejects.toThrow(message);
      await expect(failure).rejects.toThrow(`process reward model at ${server.url}/pooling`);
    } finally {
      await server.close();
    }
  });

  it("refuses bad options naming the field", () => {
    expect(() => processRewardModelVerifier({ url: "not a url" })).toThrow(InvalidInputError);
    expect(() => processRewardModelVerifier({ url: "not a url" })).toThrow(/invalid prm\.url/);
    expect(() => processRewardModelVerifier({ url: "http://x", aggregation: "max" as "min" })).toThrow(
      /prm\.aggregation/,
    );
  });

  it("says so when nothing listens at the URL", async () => {
    const prm = processRewardModelVerifier({ url: "http://127.0.0.1:9/score", maxRetries: 0 });
    const { ctx } = usageContext();
    await expect(prm.score(problem, [right], ctx)).rejects.toThrow(/could not be reached/);
  });
});

describe("outcome reward model over HTTP", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startRewardServer();
  });
  afterAll(() => server.close());

  it("scores whole candidates with vLLM's pooling API (the last token's reward), in batches", async () => {
    const orm = rewardModelVerifier({ url: server.url, protocol: "vllm-pooling", batchSize: 2 });
    const { ctx, spent } = usageContext();
    const candidates = [right, slip, right, candidate("12*7=84\n")];
    const scores = await orm.score(problem, candidates, ctx);
    expect(scores[0]).toBe(1);
    expect(scores[1]).toBeLessThan(1);
    expect(scores[2]).toBe(1);
    expect(scores[3]).toBe(0.5); // no answer yet: the checker halves it
    expect(spent.calls).toBe(2);
    expect(server.requests.at(-1)!.body.input).toHaveLength(2);
  });

  it("speaks the plain {input} → {score} JSON contract, and is reached as orm:URL", async () => {
    expect(rewardModelSpec(`${server.url}/pooling`)).toEqual({ url: server.url, protocol: "vllm-pooling" });
    const orm = await resolveVerifier(`orm:${server.url}/score`, { task: "arithmetic" });
    const { ctx } = usageContext();
    expect(await orm.score(problem, [slip, right], ctx)).toEqual([expect.any(Number), 1]);
    expect(server.requests.at(-1)!.body).toEqual({
      input: [problem.prompt + slip.text, problem.prompt + right.text],
    });
  });

  it("fails clearly on a wrong number of scores or a wrong shape", async () => {
    for (const [garbage, message] of [
      ["wrong-count", /answered 3 scores for 2 inputs/],
      ["wrong-shape", /unexpected shape: score/],
    ] as const) {
      const bad = await startRewardServer({ garbage });
      try {
        const orm = rewardModelVerifier({ url: `${bad.url}/score`, maxRetries: 0 });
        const { ctx } = usageContext();
        await expect(orm.score(problem, [right, slip], ctx)).rejects.toThrow(message);
      } finally {
        await bad.close();
      }
    }
  });
});
