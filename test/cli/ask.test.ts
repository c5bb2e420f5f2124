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

  it("--n sets an adaptive strategy's sample cap, not only a sample count", async () => {
    // esc draws windows of 8 by default; a cap of 5 stops it inside the first window.
    const run = await ask(["--strategy", "esc", "--n", "5", "--seed", "3", "--json"]);
    expect(run.code, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout);
    expect(result.detail.maxSamples).toBe(5);
    expect(result.candidates).toHaveLength(5);
  });

  it("--json gives the answer, every candidate with its extracted answer, the tally and the usage", async () => {
    const run = await ask(["--n", "5", "--seed", "3", "--json"]);
    const result = JSON.parse(run.stdout);
    expect(result.candidates).toHaveLength(5);
    for (const c of result.candidates) expect(c.text).toContain(`\\boxed{${c.answer}}`);
    expect(result.tally.reduce((sum: number, t: { count: number }) => sum + t.count, 0)).toBe(5);
    expect(result.answer).toBe(result.tally[0].answer);
    expect(result.usage.calls).toBe(1);
    const kinds: string[] = result.trace.map((e: { kind: string }) => e.kind);
    expect(kinds.filter((kind) => kind === "sample")).toHaveLength(5);
    expect(kinds).toContain("voted");
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
    expect(result.trace.map((e: { kind: string }) => e.kind)).toContain("budget-exhausted");
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

describe("reckon ask input and flags", () => {
  it("sends a question with dollar signs unchanged through a template", async () => {
    const question = "It costs $$5, or $& and $' and $` in LaTeX";
    const run = await reckon([
      "ask",
      question,
      "--template",
      "Q: {question}\nA:",
      "--endpoint",
      server.url,
      "--model",
      "weak-model",
      "--n",
      "1",
      "--json",
    ]);
    expect(run.code, run.stderr).toBe(0);
    const sent = server.requests.map((r) => JSON.stringify(r.body));
    expect(sent.some((body) => body.includes(JSON.stringify(`Q: ${question}\nA:`).slice(1, -1)))).toBe(true);
  });

  it("refuses a template without {question} and an empty question, as bench does", async () => {
    const noPlaceholder = await ask(["--template", "Answer briefly."]);
    expect(noPlaceholder.code).toBe(2);
    expect(noPlaceholder.stderr).toMatch(/--template: must contain the \{question\} placeholder/);
    for (const question of ["", "  \n "]) {
      const empty = await reckon(["ask", question, "--endpoint", server.url, "--model", "weak-model"]);
      expect(empty.code).toBe(2);
      expect(empty.stderr).toMatch(/invalid question: it is empty/);
    }
    expect(server.requests.every((r) => !JSON.stringify(r.body).includes("Answer briefly."))).toBe(true);
  });

  it("warns that the bundled model only knows its arithmetic format, and still answers", async () => {
    const offTopic = await reckon(["ask", "What is the capital of France?", "--n", "2", "--seed", "1"]);
    expect(offTopic.code, offTopic.stderr).toBe(0);
    expect(offTopic.stderr).toMatch(
      /warning: the bundled model only solves arithmetic problems such as 'Q: 12\*3\+5=\?'/,
    );
    expect(offTopic.stdout).toMatch(/^answer: /m);

    for (const question of ["Q: 12*3+5=?", "12 * 3 + 5"]) {
      const arithmetic = await reckon(["ask", question, "--n", "2", "--seed", "1"]);
      expect(arithmetic.code, arithmetic.stderr).toBe(0);
      expect(arithmetic.stderr).not.toMatch(/warning/);
    }
  });
});

describe("reckon ask against a failing or stalled server", () => {
  const answer = () => "So the answer is \\boxed{4}.";
  const askServer = (url: string, args: string[]) =>
    reckon(["ask", "What is 2+2?", "--endpoint", url, "--model", "m", "--n", "2", ...args]);

  it("--retries bounds the retries, and each retry is printed as it happens", async () => {
    const failing = await startOpenAITestServer({
      respond: answer,
      faults: () => ({ kind: "status", status: 503, message: "overloaded" }),
    });
    try {
      const run = await askServer(failing.url, ["--retries", "2"]);
      expect(run.code).toBe(2);
      expect(failing.requests).toHaveLength(3);
      expect(run.stderr.match(/^reckon: .*503.*; retry \d in \d+\.\d s$/gm)).toHaveLength(2);
      expect(run.stderr).toMatch(/retry 1 in/);
      expect(run.stderr).toMatch(/retry 2 in/);
      expect(run.stderr).toMatch(/gave up after 3 attempts/);

      const once = await askServer(failing.url, ["--retries", "0"]);
      expect(once.code).toBe(2);
      expect(once.stderr).not.toMatch(/retry/);
      expect(failing.requests).toHaveLength(4);
    } finally {
      await failing.close();
    }
  });

  it("--timeout gives up on a stalled attempt after that many seconds and retries", async () => {
    const stalled = await startOpenAITestServer({
      respond: answer,
      faults: { 1: { kind: "slow", delayMs: 60_000 } },
    });
    try {
      const started = Date.now();
      const run = await askServer(stalled.url, ["--timeout", "0.5", "--json"]);
      expect(run.code, run.stderr).toBe(0);
      expect(Date.now() - started).toBeLessThan(20_000);
      expect(run.stderr).toMatch(/did not answer within 500 ms; retry 1 in/);
      expect(JSON.parse(run.stdout).answer).toBe("4");

      expect((await askServer(stalled.url, ["--timeout", "0"])).stderr).toMatch(/--timeout/);
      expect((await askServer(stalled.url, ["--retries", "-1"])).stderr).toMatch(/--retries/);
    } finally {
      await stalled.close();
    }
  });

  it("prints a progress line every 5 s while waiting, except with --json", async () => {
    const slow = await startOpenAITestServer({ respond: answer, latencyMs: 6000 });
    try {
      const [plain, json] = await Promise.all([askServer(slow.url, []), askServer(slow.url, ["--json"])]);
      expect(plain.code, plain.stderr).toBe(0);
      expect(plain.stderr).toMatch(/^ask: 0\/2 samples, 0 tokens, 5 s$/m);
      expect(json.code, json.stderr).toBe(0);
      expect(json.stderr).toBe("");
    } finally {
      await slow.close();
    }
  }, 30_000);
});
