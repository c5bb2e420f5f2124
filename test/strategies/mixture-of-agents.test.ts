/**
 * Mixture of agents across upstream models: each model is a loopback OpenAI-compatible server
 * of its own (as with different upstreams), reached by name through `GenerateRequest.model`.
 * The routing backend here stands in for a server or pool that serves several models.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createOpenAIBackend } from "../../src/backends/openai.js";
import { createReplayBackend } from "../../src/backends/replay.js";
import type { Backend } from "../../src/core/backend.js";
import { InvalidInputError } from "../../src/core/errors.js";
import { collectTrace } from "../../src/core/trace.js";
import { type Problem, totalTokens } from "../../src/core/types.js";
import { run } from "../../src/run.js";
import { getTask } from "../../src/tasks/registry.js";
import {
  type OpenAITestServer,
  startOpenAITestServer,
  type TestRequestView,
} from "../support/openai-test-server.js";

const right = "17*23 = 340 + 51 = 391. The answer is \\boxed{391}.";
const wrong = (n: number) => `17*23 is about ${n}. The answer is \\boxed{${n}}.`;
const shownAnswers = (request: TestRequestView) =>
  [...request.prompt.matchAll(/^\d+\. (.*)$/gm)].map((m) => m[1]!);

/**
 * alpha works the product out; beta and gamma guess 400. Shown other answers, any model keeps
 * one that shows its work (a line with "= 391"), else the first shown.
 */
const persona =
  (name: string) =>
  (request: TestRequestView): string => {
    const shown = shownAnswers(request);
    if (shown.length > 0) return shown.find((a) => a.includes("= 391")) ?? shown[0]!;
    return name === "alpha" ? right : wrong(400);
  };

const names = ["alpha", "beta", "gamma", "omega"];
const servers: Record<string, OpenAITestServer> = {};
beforeAll(async () => {
  for (const name of names) servers[name] = await startOpenAITestServer({ respond: persona(name) });
});
afterAll(async () => {
  for (const server of Object.values(servers)) await server.close();
});

/** One backend that answers each request with the model it names, each on its own server. */
function modelRouter(fallback: string): Backend {
  const backends = Object.fromEntries(
    names.map((name) => [name, createOpenAIBackend({ baseURL: servers[name]!.url, model: name })]),
  );
  const own = backends[fallback]!;
  return {
    id: `router:${fallback}`,
    capabilities: { ...own.capabilities, modelChoice: true },
    generate: ({ model, ...request }) => backends[model ?? fallback]!.generate(request),
  };
}

const problem: Problem = {
  id: "q",
  prompt: [
    { role: "system", content: "You are careful." },
    { role: "user", content: "What is 17*23? Put the answer in \\boxed{}." },
  ],
  reference: "391",
  task: getTask("math"),
};

describe("mixture of agents", () => {
  it("proposers answer, the aggregator synthesises, and every model's tokens are metered apart", async () => {
    const before = Object.fromEntries(names.map((n) => [n, servers[n]!.requests.length]));
    const trace = collectTrace();
    const result = await run({
      problem,
      backend: modelRouter("omega"),
      strategy: "mixture-of-agents",
      options: { proposers: ["alpha", "beta", "gamma"], aggregator: "omega" },
      sampling: { temperature: 0.7, seed: 1 },
      trace: trace.sink,
    });
    // The proposers' vote says 400; the aggregator, shown all three, answers 391.
    expect(result.tally[0]).toMatchObject({ answer: "400", count: 2 });
    expect(result.answer).toBe("391");
    expect(result.detail).toMatchObject({ aggregated: true });
    const sent = (name: string) => servers[name]!.requests.slice(before[name]);
    for (const name of ["alpha", "beta", "gamma"]) {
      expect(sent(name)).toHaveLength(1);
      expect(sent(name)[0]!.body.model).toBe(name);
    }
    const [aggregation] = sent("omega");
    expect(aggregation!.body.model).toBe("omega");
    const messages = aggregation!.body.messages as { role: string; content: string }[];
    expect(messages.map((m) => m.role)).toEqual(["system", "user"]);
    expect(messages[0]!.content).toMatch(/^You are careful\.\n\n/);
    expect(shownAnswers({ prompt: messages[0]!.content } as TestRequestView)).toHaveLength(3);
    // Per-model usage: one call each, and together exactly what the run spent.
    const byModel = result.detail?.usageByModel as Record<
      string,
      { calls: number; completionTokens: number }
    >;
    expect(Object.keys(byModel).sort()).toEqual(["alpha", "beta", "gamma", "omega"]);
    for (const usage of Object.values(byModel)) expect(usage.calls).toBe(1);
    const sum = Object.values(byModel).reduce((s, u) => s + u.completionTokens, 0);
    expect(sum).toBe(result.usage.completionTokens);
    expect(totalTokens(result.usage)).toBeGreaterThan(sum);
    expect(trace.events.filter((e) => e.kind === "sample").map((e) => e.data?.model)).toEqual([
      "alpha",
      "beta",
      "gamma",
    ]);
  });

  it("later layers see the previous layer's answers", async () => {
    const before = servers.beta!.requests.length;
    const result = await run({
      problem,
      backend: modelRouter("omega"),
      strategy: "mixture-of-agents",
      options: { proposers: ["alpha", "beta", "gamma"], layers: 2 },
      sampling: { temperature: 0.7, seed: 1 },
    });
    const [first, second] = servers.beta!.requests.slice(before);
    expect(JSON.stringify(first!.body.messages)).not.toContain("Answers from models");
    expect(JSON.stringify(second!.body.messages)).toContain("Answers from models");
    // In the second layer every proposer adopts the worked answer: the vote is unanimous.
    expect(result.tally).toEqual([expect.objectContaining({ answer: "391", count: 3 })]);
    // No aggregator named: the backend's own model aggregates.
    expect(Object.keys(result.detail?.usageByModel as object)).toContain("router:omega");
    expect(result.answer).toBe("391");
  });

  it("refuses a backend that serves one model, and a mixture with no proposers", async () => {
    const single = createReplayBackend({
      rows: [{ id: "q", prompt: "What is 17*23?", samples: [{ text: "391" }] }],
    });
    const attempt = run({
      problem,
      backend: single,
      strategy: "mixture-of-agents",
      options: { proposers: ["alpha", "beta"] },
    });
    await expect(attempt).rejects.toThrow(InvalidInputError);
    await expect(attempt).rejects.toThrow(/asks several models by name/);
    await expect(
      run({
        problem,
        backend: modelRouter("omega"),
        strategy: "mixture-of-agents",
        options: { proposers: [] },
      }),
    ).rejects.toThrow(/strategy options\.proposers/);
  });
});
