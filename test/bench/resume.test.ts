/**
 * A bench process killed with SIGKILL mid-run resumes to exactly the result of a run that was
 * never interrupted: a real child process, a real SQLite file, a real HTTP server on loopback.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDefaultBackend } from "../../src/backends/embedded.js";
import { createReplayBackend } from "../../src/backends/replay.js";
import { loadDataset } from "../../src/bench/datasets.js";
import type { RecipeInput } from "../../src/bench/recipe.js";
import { writeReplayRows } from "../../src/bench/replay-format.js";
import { resumeBench, startBench } from "../../src/bench/runner.js";
import { AbortedError } from "../../src/core/errors.js";
import { openStore } from "../../src/store/sqlite.js";
import { makeMathReplayRows } from "../../tools/make-math-replay.js";
import { arithmeticResponder } from "../support/arithmetic-responder.js";
import { type OpenAITestServer, startOpenAITestServer } from "../support/openai-test-server.js";

const dataset = { levels: [1, 2], perLevel: 3, seed: 5 };
const problems = dataset.levels.length * dataset.perLevel;
const pool = 8;
/** Requests answered before the server stalls, so the kill lands mid-run whatever the machine's speed. */
const answeredBeforeKill = 5;

let server: OpenAITestServer;
let stalled = true;
/** Requests numbered above this one stall while `stalled` is set. */
let stallAfter = answeredBeforeKill;
let dir: string;
let db: string;

beforeAll(async () => {
  server = await startOpenAITestServer({
    respond: arithmeticResponder(dataset),
    faults: (n) => (stalled && n > stallAfter ? { kind: "slow", delayMs: 600_000 } : undefined),
  });
  dir = mkdtempSync(join(tmpdir(), "reckon-resume-"));
  db = join(dir, "runs.sqlite");
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

const benchArgs = () => [
  "bench",
  "--dataset",
  "arithmetic",
  "--levels",
  dataset.levels.join(","),
  "--per-level",
  String(dataset.perLevel),
  "--dataset-seed",
  String(dataset.seed),
  "--backend",
  `openai:${server.url}`,
  "--model",
  "test-model",
  "--mode",
  "completion",
  "--strategy",
  "single,self-consistency",
  "--n",
  "1,2,4,8",
  "--seed",
  "3",
  "--concurrency",
  "2",
  "--db",
  db,
  "--json",
];

function reckon(args: string[]): ChildProcess & {
  done: Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>;
} {
  const child = spawn(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...args], {
    cwd: process.cwd(),
    env: { ...process.env, CI: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  const output = { stderr: "" };
  child.stdout!.on("data", (d) => {
    stdout += d;
  });
  child.stderr!.on("data", (d) => {
    stderr += d;
    output.stderr = stderr;
  });
  const done = new Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>(
    (resolve) => child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return Object.assign(child, { done, output });
}

/** Draws of the run as another process sees them, or 0 before the child has created it. */
function storedSamples(runId: string): number {
  try {
    const reader = new Database(db, { readonly: true, fileMustExist: true });
    try {
      const row = reader.prepare("SELECT COUNT(*) AS n FROM draws WHERE run_id = ?").get(runId) as {
        n: number;
      };
      return row.n;
    } finally {
      reader.close();
    }
  } catch {
    return 0;
  }
}

async function until(
  condition: () => boolean,
  what: string,
  child: { exitCode: number | null },
): Promise<void> {
  while (!condition()) {
    if (child.exitCode !== null) throw new Error(`the bench exited (${child.exitCode}) before ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** What a run answered, without timings: a resumed run must match an uninterrupted one exactly. */
const answers = (store: ReturnType<typeof openStore>, runId: string) =>
  store.getResults(runId).map(({ problemId, config, answer, correct, stopReason, candidates, usage }) => ({
    problemId,
    config,
    answer,
    correct,
    stopReason,
    texts: candidates.map((c) => c.text),
    tokens: [usage.promptTokens, usage.completionTokens, usage.calls],
  }));

describe("resuming an interrupted run", () => {
  it("after kill -9 shows the run interrupted, reuses every stored draw, draws none twice and ends as an uninterrupted run", async () => {
    const killed = reckon([...benchArgs(), "--run-id", "killed"]);
    await until(
      () => storedSamples("killed") >= answeredBeforeKill,
      `${answeredBeforeKill} samples were stored`,
      killed,
    );
    // A second process on the same run is refused while the first works on it.
    const second = await reckon(["bench", "--resume", "killed", "--db", db]).done;
    expect(second.code).toBe(2);
    expect(second.stderr).toMatch(/run killed is in use by process \d+/);
    killed.kill("SIGKILL");
    const exit = await killed.done;
    expect(exit.signal).toBe("SIGKILL");

    const store = openStore(db);
    try {
      const storedAtKill = store.draws.count("killed");
      // Requests ask for 1 or 2 samples each, so the answered ones stored at least as many.
      expect(storedAtKill).toBeGreaterThanOrEqual(answeredBeforeKill);
      expect(storedAtKill).toBeLessThan(problems * pool);
      const runs = JSON.parse((await reckon(["runs", "--db", db, "--json"]).done).stdout);
      expect(runs.find((r: { runId: string }) => r.runId === "killed").status).toBe("interrupted");

      // A report works on the interrupted run, from the results stored so far.
      const partial = await reckon(["report", "killed", "--json", "--db", db]).done;
      expect(partial.code).toBe(0);
      expect(JSON.parse(partial.stdout)).toMatchObject({ status: "running", samples: storedAtKill });

      stalled = false;
      const requestsBeforeResume = server.requests.length;
      const resumed = await reckon(["bench", "--resume", "killed", "--db", db, "--json"]).done;
      expect(resumed.stderr).toBe("");
      expect(resumed.code).toBe(0);
      // Only the missing samples were asked for: nothing stored was drawn again.
      const asked = server.requests
        .slice(requestsBeforeResume)
        .reduce((sum, r) => sum + Number(r.body.n ?? 1), 0);
      expect(asked).toBe(problems * pool - storedAtKill);
      const summary = JSON.parse(resumed.stdout);
      expect(summary.runId).toBe("killed");
      expect(summary.status).toBe("completed");
      expect(summary.samples).toBe(problems * pool);

      const fresh = await reckon([...benchArgs(), "--run-id", "fresh"]).done;
      expect(fresh.code).toBe(0);
      expect(store.draws.count("killed")).toBe(problems * pool);
      expect(answers(store, "killed")).toEqual(answers(store, "fresh"));
      expect(store.getMetrics("killed")).toEqual(store.getMetrics("fresh"));
      expect(JSON.parse(fresh.stdout).strategies).toEqual(summary.strategies);
      expect(summary.strategies["self-consistency"].map((r: { n: number }) => r.n)).toEqual([1, 2, 4, 8]);
    } finally {
      store.close();
    }
  });

  it("on SIGTERM marks the run aborted, says how to continue, and the resume completes it", async () => {
    stalled = true;
    stallAfter = server.requests.length + 3;
    const child = reckon([...benchArgs(), "--run-id", "terminated"]);
    await until(() => storedSamples("terminated") >= 3, "3 samples were stored", child);
    child.kill("SIGTERM");
    const exit = await child.done;
    expect(exit.code).toBe(2);
    expect(exit.stderr).toContain("run terminated interrupted");
    expect(exit.stderr).toContain("reckon bench --resume terminated --db");
    const store = openStore(db);
    try {
      expect(store.getRun("terminated").status).toBe("aborted");
      stalled = false;
      const resumed = await reckon(["bench", "--resume", "terminated", "--db", db, "--json"]).done;
      expect(resumed.code).toBe(0);
      expect(store.getRun("terminated").status).toBe("completed");
      expect(answers(store, "terminated")).toEqual(answers(store, "fresh"));
      expect(store.getMetrics("terminated")).toEqual(store.getMetrics("fresh"));
    } finally {
      store.close();
    }
  });

  it("continues a replayed run at the recorded sample where it stopped", async () => {
    const problems = await loadDataset({
      name: "math500",
      path: "../shared/datasets/math500-test.jsonl",
      limit: 6,
    });
    const replayPath = join(dir, "math500.jsonl");
    writeFileSync(replayPath, writeReplayRows(makeMathReplayRows(problems, { samples: 8, seed: 2 })));
    const recipe: RecipeInput = {
      dataset: { name: "math500", path: "../shared/datasets/math500-test.jsonl", limit: 6 },
      backend: `replay:${replayPath}`,
      strategies: ["self-consistency", { name: "best-of-n", verifier: "reward" }],
      n: [1, 2, 4, 8],
      concurrency: 2,
    };
    const store = openStore(join(dir, "replay.sqlite"));
    // A fresh backend per process: its own cursors start at the first recorded sample.
    const replay = () => ({ store, backend: createReplayBackend({ path: replayPath }) });
    try {
      await startBench(recipe, { ...replay(), runId: "whole" });
      const controller = new AbortController();
      await expect(
        startBench(recipe, {
          ...replay(),
          runId: "cut",
          signal: controller.signal,
          onProgress: (p) => {
            if (p.resultsDone >= 10) controller.abort();
          },
        }),
      ).rejects.toBeInstanceOf(AbortedError);
      expect(store.draws.count("cut")).toBeLessThan(48);
      await resumeBench("cut", replay());
      expect(answers(store, "cut")).toEqual(answers(store, "whole"));
      expect(store.getMetrics("cut")).toEqual(store.getMetrics("whole"));
    } finally {
      store.close();
    }
  });

  it("on the embedded model, whose prompt cache a restart empties, resumes to the same tokens as an uninterrupted run", async () => {
    const recipe: RecipeInput = {
      dataset: { name: "arithmetic", levels: [1, 2], perLevel: 2, seed: 4 },
      strategies: ["single", "self-consistency"],
      n: [1, 2, 4],
      seed: 2,
      concurrency: 1,
      sampling: { max_tokens: 32 },
      metrics: { bootstrapResamples: 100 },
    };
    const store = openStore(join(dir, "embedded.sqlite"));
    // A fresh engine per "process", as a restart gives: nothing of earlier prompts is cached.
    const fresh = async () => ({ store, backend: await createDefaultBackend({ sequences: 4 }) });
    const closing = async <T>(
      options: { backend: { close?: () => Promise<void> } },
      work: () => Promise<T>,
    ) => {
      try {
        return await work();
      } finally {
        await options.backend.close?.();
      }
    };
    try {
      const whole = await fresh();
      await closing(whole, () => startBench(recipe, { ...whole, runId: "engine-whole" }));
      const cut = await fresh();
      const controller = new AbortController();
      await closing(cut, () =>
        expect(
          startBench(recipe, {
            ...cut,
            runId: "engine-cut",
            signal: controller.signal,
            // Stop once the first problem is done: the next one starts in a new engine.
            onProgress: (p) => {
              if (p.resultsDone >= 4) controller.abort();
            },
          }),
        ).rejects.toBeInstanceOf(AbortedError),
      );
      const again = await fresh();
      await closing(again, () => resumeBench("engine-cut", again));
      expect(answers(store, "engine-cut")).toEqual(answers(store, "engine-whole"));
      const tokens = (runId: string) =>
        store
          .getMetrics(runId)
          .map((m) => [m.strategy, m.metric, m.k, m.level, m.meanTokens, m.meanTotalTokens]);
      expect(tokens("engine-cut")).toEqual(tokens("engine-whole"));
      expect(store.getMetrics("engine-cut")).toEqual(store.getMetrics("engine-whole"));
    } finally {
      store.close();
    }
  });
});
