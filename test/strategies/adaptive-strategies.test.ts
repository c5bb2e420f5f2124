/** esc, adaptive-consistency, deepconf and auto on the bundled model; deepconf's refusal on a loopback server. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createOpenAIBackend } from "../../src/backends/openai.js";
import { fitPolicy, type PolicyRow } from "../../src/control/policy.js";
import type { Backend } from "../../src/core/backend.js";
import { InvalidInputError } from "../../src/core/errors.js";
import { collectTrace } from "../../src/core/trace.js";
import { createDefaultBackend, generateArithmeticProblems, run, toProblem } from "../../src/index.js";
import { majoritySettledProbability } from "../../src/strategies/adaptive-stopping.js";
import { arithmeticTask } from "../../src/tasks/arithmetic.js";
import { startOpenAITestServer } from "../support/openai-test-server.js";

const sampling = { temperature: 1, topK: 0, topP: 1, maxTokens: 96 };
const sumTokens = (candidates: { tokens: number }[]) => candidates.reduce((s, c) => s + c.tokens, 0);
const easy = generateArithmeticProblems({ level: 1, count: 3, seed: 21 }).map(toProblem);
const hard = generateArithmeticProblems({ level: 5, count: 2, seed: 21 }).map(toProblem);

let backend: Backend;
beforeAll(async () => {
  backend = await createDefaultBackend({ threads: 1 });
});
afterAll(() => backend.close?.());

describe("esc", () => {
  it("stops at the first window that agrees, and votes like self-consistency over the same draws", async () => {
    for (const [i, problem] of easy.entries()) {
      const { sink, events } = collectTrace();
      const result = await run({
        problem,
        backend,
        strategy: "esc",
        options: { windowSize: 4, maxSamples: 32 },
        sampling: { ...sampling, seed: i },
        trace: sink,
      });
      const detail = result.detail as { samples: number; windows: number };
      expect(result.stopReason).toBe("early-stop");
      expect(detail.samples).toBe(result.candidates.length);
      expect(detail.samples).toBe(4 * detail.windows);
      const last = result.candidates.slice(-4).map((c) => c.answer);
      expect(new Set(last).size).toBe(1);
      expect(last[0]).toBeDefined();
      expect(result.usage.completionTokens).toBe(sumTokens(result.candidates));
      expect(events.some((e) => e.kind === "stopped-early")).toBe(true);
      // Windows continue the draw index, so the samples are those of one self-consistency call.
      const voted = await run({
        problem,
        backend,
        strategy: "self-consistency",
        options: { n: detail.samples },
        sampling: { ...sampling, seed: i },
      });
      expect(voted.candidates.map((c) => c.answer)).toEqual(result.candidates.map((c) => c.answer));
      expect(result.answer).toBe(voted.answer);
    }
  });
});

describe("adaptive-consistency", () => {
  it("stops once the Beta posterior settles, and spends more on hard problems than on easy ones", async () => {
    const samples = async (problems: typeof easy) => {
      let total = 0;
      for (const [i, problem] of problems.entries()) {
        const result = await run({
          problem,
          backend,
          strategy: "adaptive-consistency",
          options: { windowSize: 2, minSamples: 2, maxSamples: 24 },
          sampling: { ...sampling, seed: 50 + i },
        });
        if (result.stopReason === "early-stop") {
          const [top, second] = [result.tally[0]?.count ?? 0, result.tally[1]?.count ?? 0];
          expect(majoritySettledProbability(top, second)).toBeGreaterThanOrEqual(0.95);
          expect(result.candidates.length).toBeLessThan(24);
        } else expect(result.candidates).toHaveLength(24);
        total += result.candidates.length;
      }
      return total / problems.length;
    };
    const onEasy = await samples(easy);
    const onHard = await samples(hard);
    expect(onEasy).toBeLessThanOrEqual(8);
    expect(onHard).toBeGreaterThan(onEasy);
  });
});

describe("deepconf", () => {
  it("offline: keeps the most confident share and weights votes by confidence", async () => {
    const result = await run({
      problem: hard[0]!,
      backend,
      strategy: "deepconf",
      options: { mode: "offline", n: 16, keep: 0.5 },
      sampling: { ...sampling, seed: 3 },
    });
    const detail = result.detail as { kept: number; samples: number; threshold: number };
    expect(detail.samples).toBe(16);
    expect(detail.kept).toBeGreaterThanOrEqual(8);
    expect(detail.kept).toBeLessThan(16);
    expect(result.tally.reduce((s, t) => s + t.count, 0)).toBeLessThanOrEqual(detail.kept);
    for (const c of result.candidates) expect(c.logprobs?.length).toBe(c.tokens);
    // keep everything, unweighted: plain majority over the same draws.
    const plain = await run({
      problem: hard[0]!,
      backend,
      strategy: "deepconf",
      options: { mode: "offline", n: 16, keep: 1, weighted: false },
      sampling: { ...sampling, seed: 3 },
    });
    const counts = new Map<string, number>();
    for (const c of plain.candidates) if (c.answer) counts.set(c.answer, (counts.get(c.answer) ?? 0) + 1);
    expect(plain.tally[0]!.count).toBe(Math.max(...counts.values()));
  });

  it("online: abandons traces whose confidence falls below the warm-up threshold, and meters their tokens", async () => {
    const { sink, events } = collectTrace();
    const result = await run({
      problem: hard[1]!,
      backend,
      strategy: "deepconf",
      options: { n: 24, warmup: 8, keep: 0.5, confidence: "sampled", window: 4 },
      sampling: { ...sampling, seed: 4 },
      trace: sink,
    });
    const detail = result.detail as { samples: number; abandoned: number; kept: number; threshold: number };
    expect(detail.samples).toBe(result.candidates.length);
    expect(detail.abandoned).toBeGreaterThan(0);
    const pruned = events.filter((e) => e.kind === "pruned");
    expect(pruned).toHaveLength(detail.abandoned);
    for (const e of pruned) expect(e.score!).toBeLessThan(detail.threshold);
    const abandoned = result.candidates
      .slice(8)
      .filter((c) => c.answer === undefined && c.finishReason === "aborted");
    expect(abandoned.length).toBeGreaterThan(0);
    // Abandoned traces stop early: shorter on average than the finished ones.
    const finished = result.candidates.filter((c) => c.finishReason === "eos");
    expect(sumTokens(abandoned) / abandoned.length).toBeLessThan(sumTokens(finished) / finished.length);
    expect(result.usage.completionTokens).toBe(sumTokens(result.candidates));
  });

  it("refuses a backend without logprobs, naming it", async () => {
    const server = await startOpenAITestServer();
    try {
      const noLogprobs = createOpenAIBackend({ baseURL: server.url, model: "m", logprobs: false });
      const attempt = run({
        problem: { id: "q", prompt: "Q: 1+1=?\n", task: arithmeticTask },
        backend: noLogprobs,
        strategy: "deepconf",
      });
      await expect(attempt).rejects.toThrow(InvalidInputError);
      await expect(attempt).rejects.toThrow(/deepconf needs per-token log-probabilities and openai:m/);
      expect(server.requests).toHaveLength(0);
    } finally {
      await server.close();
    }
  });
});

describe("auto", () => {
  it("probes, bins by difficulty and runs what the policy picks", async () => {
    // A dev split from real runs: the probe (2 samples) and self-consistency at 8 samples.
    const dev = [
      ...generateArithmeticProblems({ level: 1, count: 10, seed: 5 }),
      ...generateArithmeticProblems({ level: 5, count: 10, seed: 5 }),
    ].map(toProblem);
    const rows: PolicyRow[] = [];
    for (const [i, problem] of dev.entries())
      for (const [config, strategy, options] of [
        ["self-consistency n=2", "self-consistency", { n: 2 }],
        ["self-consistency n=8", "self-consistency", { n: 8 }],
        ["esc", "esc", { windowSize: 4, maxSamples: 16 }],
      ] as const) {
        const result = await run({ problem, backend, strategy, options, sampling: { ...sampling, seed: i } });
        rows.push({
          problemId: problem.id,
          config,
          strategy,
          options,
          correct: (await problem.task.grade(result.answer, problem)).correct,
          usage: result.usage,
          candidates: result.candidates,
        });
      }
    const policy = fitPolicy(rows, {
      task: arithmeticTask,
      model: backend.id,
      probe: "self-consistency n=2",
      objective: { kind: "max-accuracy", maxTokens: 1e9 },
      bins: 2,
      minProblems: 20,
    });
    const { sink, events } = collectTrace();
    const result = await run({
      problem: hard[0]!,
      backend,
      strategy: "auto",
      options: { policy },
      sampling: { ...sampling, seed: 9 },
      trace: sink,
    });
    const detail = result.detail as {
      bin: number;
      choice: string;
      probe: { tokens: number };
      tokens: number;
    };
    const bin = policy.bins[detail.bin]!;
    expect(detail.choice).toBe(bin.use === "probe" ? "probe" : bin.use.config);
    // The probe ran in its own scope, and auto's usage covers the probe and the chosen strategy.
    expect(events.some((e) => e.kind === "scope" && e.text === "probe: self-consistency n=2")).toBe(true);
    expect(detail.tokens).toBeGreaterThanOrEqual(detail.probe.tokens);
    expect(result.usage.completionTokens + result.usage.promptTokens).toBe(detail.tokens);

    const other = { ...policy, model: "openai:someone-else" };
    await expect(
      run({ problem: hard[0]!, backend, strategy: "auto", options: { policy: other } }),
    ).rejects.toThrow(/policy.model/);
  });
});
