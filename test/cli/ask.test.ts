/** `reckon ask` as a user runs it, against a real OpenAI-compatible server on loopback. */
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveBackend } from "../../src/backends/resolve.js";
import { run } from "../../src/run.js";
import { getTask } from "../../src/tasks/registry.js";
import { reckon } from "../support/cli.js";
import { type OpenAITestServer, startOpenAITestServer } from "../support/openai-test-server.js";

// A weak model: right (391) in 40% of samples, otherwise one of ten plausible slips. Each
// sample is a pure function of (seed, sample index), like a seeded sampler.
const wrongAnswers = [381, 401, 390, 491, 371, 392, 389, 291, 319, 397];
function sampleAnswer(seed: number, index: number): number {
  const u = createHash("sha256").update(`${seed}/${index}`).digest().readUInt32BE(0) / 2 ** 32;
  return u < 0.4 ? 391 : wrongAnswers[Math.floor(((u - 0.4) / 0.6) * wrongAnswers.length)]!;
}

let server: OpenAITestServer;
beforeAll(async () => {
  server = await startOpenAITestServer({
    models: ["weak-model"],
    respond: (request, i) => {
      const answer = sampleAnswer(request.seed ?? 0, i);
      return `17*23 = 17*20 + 17*3 = ${answer - 51} + 51. So the answer is \\boxed{${answer}}.`;
    },
  });
});
afterAll(() => server.close());

const ask = (args: string[]) =>
  reckon(["ask", "What is 17*23?", "--endpoint", server.url, "--model", "weak-model", ...args]);

describe("reckon ask", () => {
  it("self-consistency over 16 samples is right far more often than a single sample", async () => {
    const backend = await resolveBackend({ endpoint: server.url, model: "weak-model" });
    const problem = { id: "q", prompt: "What is 17*23?", task: getTask("math") };
    const seeds = Array.from({ length: 80 }, (_, i) => 1000 + i);
    const accuracy = async (strategy: string, options: Record<string, unknown>) => {
      const answers = await Promise.all(
        seeds.map((seed) =>
          run({ problem, backend, strategy, options, sampling: { seed } }).then((r) => r.answer),
        ),
      );
      return answers.filter((a) => a === "391").length / seeds.length;
    };
    const single = await accuracy("single", {});
    const voted = await accuracy("self-consistency", { n: 16 });
    expect(single).toBeLessThan(0.5);
    expect(voted).toBeGreaterThan(0.85);
    expect(voted - single).toBeGreaterThan(0.35);

    // The same through the CLI, seed by seed.
    const cliRuns = await Promise.all(
      [1, 2, 3, 4].map((seed) =>
        ask(["--strategy", "self-consistency", "--n", "16", "--seed", String(seed), "--json"]),
      ),
    );
    for (const r of cliRuns) expect(JSON.parse(r.stdout).answer, r.stderr).toBe("391");
  });

  it("prints the answer, the vote distribution and the usage", async () => {
    const run = await ask(["--strategy", "self-consistency", "--n", "16", "--seed", "7"]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^answer: 391$/m);
    expect(run.stdout).toMatch(/self-consistency over 16 samples/);
    expect(run.stdout).toMatch(/^ {2}391 +#+ +\d+\/16$/m);
    expect(run.stdout).toMatch(/^usage: 1 call, \d+ prompt \+ \d+ completion tokens/m);
  });

  it("--json gives the answer, every candidate with its extracted answer, the tally and the usage", async () => {
    const run = await ask(["--n", "5", "--seed", "3", "--json"]);
    const result = JSON.parse(run.stdout);
    expect(result.candidates).toHaveLength(5);
    for (const c of result.candidates) expect(c.text).toContain(`\\boxed{${c.answer}}`);
    expect(result.tally.reduce((sum: number, t: { count: number }) => sum + t.count, 0)).toBe(5);
    expect(result.answer).toBe(result.tally[0].answer);
    expect(result.usage.calls).toBe(1);
    expect(result.trace.map((e: { type: string }) => e.type)).toEqual(["sampled", "voted"]);
    expect(result.usage.completionTokens).toBeGreaterThan(0);
  });

  it("stops at the token budget with a partial result", async () => {
    const run = await ask([
      "--n",
      "8",
      "--seed",
      "3",
      "--json",
      "--budget-tokens",
      "60",
      "--max-tokens",
      "100",
    ]);
    expect(run.code, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout);
    expect(result.stopReason).toBe("budget");
    expect(result.trace.map((e: { type: string }) => e.type)).toContain("budget-exhausted");
    expect(result.usage.promptTokens + result.usage.completionTokens).toBeLessThanOrEqual(60 + 20);
  });

  it("exits 2 with a clear message on bad flags and unreachable endpoints", async () => {
    const badN = await ask(["--n", "zero"]);
    expect(badN.code).toBe(2);
    expect(badN.stderr).toMatch(/--n/);

    const unknownStrategy = await ask(["--strategy", "telepathy"]);
    expect(unknownStrategy.code).toBe(2);
    expect(unknownStrategy.stderr).toMatch(/unknown strategy "telepathy"/);

    const unreachable = await reckon(["ask", "hi", "--endpoint", "http://127.0.0.1:9/v1", "--model", "m"]);
    expect(unreachable.code).toBe(2);
    expect(unreachable.stderr).toMatch(/127\.0\.0\.1:9/);

    const wrongModel = await reckon(["ask", "hi", "--endpoint", server.url, "--model", "no-such-model"]);
    expect(wrongModel.code).toBe(2);
    expect(wrongModel.stderr).toMatch(/model/i);
  });
});
