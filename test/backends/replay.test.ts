import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { beforeAll, describe, expect, it } from "vitest";
import { createReplayBackend, replayRewardVerifier } from "../../src/backends/replay.js";
import { loadDataset } from "../../src/bench/datasets.js";
import { expectedSelection, passAtK } from "../../src/bench/pool-estimates.js";
import {
  parseReplayRows,
  type ReplayRow,
  readReplayFile,
  writeReplayRows,
} from "../../src/bench/replay-format.js";
import { BackendError, InvalidInputError } from "../../src/core/errors.js";
import { seededRandom } from "../../src/core/random.js";
import type { Candidate } from "../../src/core/types.js";
import { run } from "../../src/run.js";
import { bestOfN } from "../../src/strategies/best-of-n.js";
import { selfConsistency } from "../../src/strategies/self-consistency.js";
import { mathTask } from "../../src/tasks/math.js";
import { renderPrompt } from "../../src/tasks/registry.js";

const dir = mkdtempSync(join(tmpdir(), "reckon-replay-"));
const replayPath = join(dir, "math-replay.jsonl");

beforeAll(() => {
  // The real tool, as a user runs it: 60 MATH-500 problems, 8 samples each.
  execFileSync(
    "npx",
    [
      "tsx",
      "tools/make-math-replay.ts",
      "--out",
      replayPath,
      "--limit",
      "60",
      "--samples",
      "8",
      "--seed",
      "3",
    ],
    { stdio: "pipe" },
  );
});

describe("make-math-replay output", () => {
  it("holds seeded, gradeable MATH-500 samples with the math prompt", async () => {
    const rows = await readReplayFile(replayPath);
    expect(rows).toHaveLength(60);
    const dataset = new Map((await loadDataset({ name: "math500" })).map((r) => [r.id, r]));
    let correct = 0;
    for (const row of rows) {
      const source = dataset.get(row.id)!;
      expect(row.prompt).toBe(renderPrompt("math", source.question));
      expect(row.reference).toBe(source.reference);
      expect(row.samples).toHaveLength(8);
      for (const sample of row.samples) {
        const answer = mathTask.extractAnswer(sample.text);
        expect(answer).toBeDefined();
        const ok = mathTask.isCorrect(answer!, row.reference!);
        // Correct samples are the reference solution; wrong ones carry a changed answer.
        expect(sample.text.includes(String(source.meta!.solution))).toBe(ok);
        if (ok) correct++;
        expect(sample.reward).toBeGreaterThan(0);
        expect(sample.step_rewards!.at(-1)).toBe(sample.reward);
      }
      expect(new Set(row.samples.map((s) => s.text)).size).toBe(8);
    }
    expect(correct / (60 * 8)).toBeGreaterThan(0.25);
    expect(correct / (60 * 8)).toBeLessThan(0.75);

    const again = join(dir, "again.jsonl");
    execFileSync(
      "npx",
      ["tsx", "tools/make-math-replay.ts", "--out", again, "--limit", "60", "--seed", "3"],
      {
        stdio: "pipe",
      },
    );
    expect(readFileSync(again, "utf8")).toBe(readFileSync(replayPath, "utf8"));
  });

  it("gives a reward signal that best-of-n can use: rm@k beats maj@1", async () => {
    const rows = await readReplayFile(replayPath);
    const pools = rows.map((row) => {
      const candidates: Candidate[] = row.samples.map((s) => ({
        text: s.text,
        answer: mathTask.extractAnswer(s.text),
        score: s.reward,
        tokens: Math.ceil(s.text.length / 4),
        finishReason: "eos",
      }));
      const isCorrect = (answer: string) => mathTask.isCorrect(answer, row.reference!);
      return {
        candidates,
        isCorrect,
        correct: candidates.filter((c) => c.answer && isCorrect(c.answer)).length,
      };
    });
    // Mean over problems of each strategy's own selection rule on k-subsets of the 8 samples.
    const atK = (select: NonNullable<typeof bestOfN.fromPool>["select"], k: number) =>
      pools.reduce(
        (sum, p) => sum + expectedSelection(p.candidates, k, select, mathTask, p.isCorrect, seededRandom(k)),
        0,
      ) / pools.length;
    const rm = (k: number) => atK(bestOfN.fromPool!.select, k);
    const maj = (k: number) => atK(selfConsistency.fromPool!.select, k);
    const pass = (k: number) => pools.reduce((sum, p) => sum + passAtK(8, p.correct, k), 0) / pools.length;
    // One sample is one sample, however it would have been chosen.
    expect(rm(1)).toBeCloseTo(maj(1), 12);
    expect(pass(1)).toBeCloseTo(maj(1), 12);
    expect(rm(8)).toBeGreaterThan(maj(1));
    expect(rm(4)).toBeGreaterThan(maj(1));
    expect(pass(8)).toBeGreaterThanOrEqual(rm(8));
    expect(pass(4)).toBeGreaterThanOrEqual(rm(4));
  });
});

describe("replay backend", () => {
  it("serves each prompt's samples in order with a per-prompt cursor", async () => {
    const rows = await readReplayFile(replayPath);
    const backend = createReplayBackend({ path: replayPath });
    expect(backend.id).toBe("replay:math-replay.jsonl");
    expect(backend.capabilities.continuation).toBe(false);
    const [first, second] = rows;
    const a = await backend.generate({ prompt: first!.prompt, n: 3 });
    const b = await backend.generate({ prompt: second!.prompt, n: 8 });
    const c = await backend.generate({ prompt: first!.prompt, n: 5 });
    expect([...a.completions, ...c.completions].map((x) => x.text)).toEqual(
      first!.samples.map((s) => s.text),
    );
    expect(b.completions.map((x) => x.text)).toEqual(second!.samples.map((s) => s.text));
    expect(backend.remaining(first!.prompt)).toBe(0);

    const error = await backend.generate({ prompt: first!.prompt, n: 1 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendError);
    expect(String((error as Error).message)).toMatch(/only 0 of 8 recorded remain/);
    backend.reset();
    expect((await backend.generate({ prompt: first!.prompt, n: 1 })).completions[0]!.text).toBe(
      first!.samples[0]!.text,
    );
  });

  it("estimates usage from characters unless tokens are recorded", async () => {
    const estimated = createReplayBackend({
      rows: [{ id: "p", prompt: "What is 2+2?", samples: [{ text: "It is \\boxed{4}." }] }],
    });
    const r1 = await estimated.generate({ prompt: "What is 2+2?", n: 1 });
    expect(r1.usage).toMatchObject({ promptTokens: 3, completionTokens: 4, calls: 1, estimated: true });
    expect(r1.completions[0]).toMatchObject({ tokens: 4, finishReason: "eos" });

    const recorded = createReplayBackend({
      rows: [
        {
          id: "p",
          prompt: "What is 2+2?",
          prompt_tokens: 9,
          samples: [
            { text: "4", tokens: 17, finish_reason: "length" },
            { text: "5", tokens: 3 },
          ],
        },
      ],
    });
    const r2 = await recorded.generate({ prompt: "What is 2+2?", n: 2 });
    expect(r2.usage).toMatchObject({ promptTokens: 9, completionTokens: 20, estimated: false });
    expect(r2.completions[0]!.finishReason).toBe("length");
  });

  it("matches chat prompts by the last user message and rejects unknown prompts and continuations", async () => {
    const backend = createReplayBackend({
      rows: [{ id: "p", prompt: "Solve x+1=2.", samples: [{ text: "x = \\boxed{1}" }] }],
    });
    const chat = await backend.generate({
      prompt: [
        { role: "system", content: "Be brief." },
        { role: "user", content: "Solve x+1=2." },
      ],
      n: 1,
    });
    expect(chat.completions[0]!.text).toBe("x = \\boxed{1}");
    await expect(backend.generate({ prompt: "Solve x+1=3.", n: 1 })).rejects.toThrow(/no recorded samples/);
    await expect(backend.generate({ prompt: "Solve x+1=2.", n: 1, continuation: "x =" })).rejects.toThrow(
      BackendError,
    );
  });

  it("scores candidates with their recorded rewards, through best-of-n", async () => {
    const rows = await readReplayFile(replayPath);
    const row = rows[5]!;
    const backend = createReplayBackend({ path: replayPath });
    const verifier = replayRewardVerifier(backend)!;
    expect(verifier.name).toBe("reward");
    expect(backend.recordedReward(row.samples[2]!.text, row.prompt)).toBe(row.samples[2]!.reward);
    expect(backend.recordedStepRewards(row.samples[2]!.text)).toEqual(row.samples[2]!.step_rewards);

    const problem = { id: row.id, prompt: row.prompt, reference: row.reference, task: mathTask };
    const result = await run({ problem, backend, strategy: "best-of-n", options: { n: 8 }, verifier });
    const best = row.samples.reduce((a, b) => (b.reward! > a.reward! ? b : a));
    expect(result.answer).toBe(mathTask.extractAnswer(best.text));
    expect(result.candidates.map((c) => c.score)).toEqual(row.samples.map((s) => s.reward));

    await expect(
      verifier.score(
        problem,
        [{ text: "never replayed", answer: undefined, tokens: 1, finishReason: "eos" }],
        {
          recordUsage: () => {},
        },
      ),
    ).rejects.toThrow(InvalidInputError);
  });
});

describe("replay format", () => {
  const row: ReplayRow = {
    id: "a",
    prompt: "p",
    reference: "1",
    samples: [{ text: "t", reward: 0.5, step_rewards: [0.2, 0.5] }],
  };

  it("round-trips through writeReplayRows and reads gzipped files", async () => {
    const text = writeReplayRows([row, { ...row, id: "b" }]);
    expect(text.split("\n")).toHaveLength(3);
    expect(parseReplayRows(text)).toEqual([row, { ...row, id: "b" }]);
    const gz = join(dir, "rows.jsonl.gz");
    writeFileSync(gz, gzipSync(text));
    expect(await readReplayFile(gz)).toHaveLength(2);
  });

  it("names the line and field of a bad row", () => {
    const bad = `${JSON.stringify(row)}\n${JSON.stringify({ ...row, samples: [{ text: "x" }, { text: "y", reward: "high" }] })}\n`;
    const error = (() => {
      try {
        parseReplayRows(bad, "run.jsonl");
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as InvalidInputError).field).toBe('run.jsonl line 2, field "samples[1].reward"');
    expect(() => parseReplayRows("{oops\n")).toThrow(/line 1: not valid JSON/);
    expect(() => writeReplayRows([{ ...row, id: "" }])).toThrow(/field "id"/);
  });
});
