/**
 * What `reckon bench` says while it runs when nobody watches a terminal (CI logs, pipes): plain
 * progress lines, the command that resumes the run, retries of a failing server as they happen,
 * and what the oracle row of its tables means.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadDataset } from "../../src/bench/datasets.js";
import { writeReplayRows } from "../../src/bench/replay-format.js";
import type { RunSummary } from "../../src/bench/summary.js";
import { formatDemo } from "../../src/cli/demo.js";
import { makeMathReplayRows } from "../../tools/make-math-replay.js";
import { reckon } from "../support/cli.js";
import { startOpenAITestServer } from "../support/openai-test-server.js";

const datasetPath = "../shared/datasets/math500-test.jsonl";
let dir: string;
let replayPath: string;
let db: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "reckon-bench-output-"));
  replayPath = join(dir, "math500.jsonl");
  db = join(dir, "runs.sqlite");
  const problems = await loadDataset({ name: "math500", path: datasetPath, limit: 10 });
  writeFileSync(replayPath, writeReplayRows(makeMathReplayRows(problems, { samples: 4, seed: 4 })));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const benchArgs = (backend: string, limit = 10) => [
  "bench",
  "--dataset",
  "math500",
  "--dataset-path",
  datasetPath,
  "--limit",
  String(limit),
  "--task",
  "math",
  "--backend",
  backend,
  "--n",
  "1,2,4",
  "--db",
  db,
];

describe("reckon bench output", () => {
  it("prints plain progress lines and the resume command on stderr outside a terminal, nothing with --json", async () => {
    // The test helper runs the CLI with CI=true and pipes: no terminal.
    const run = await reckon([...benchArgs(`replay:${replayPath}`), "--run-id", "plain"]);
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stderr.trimEnd().split("\n");
    expect(lines[0]).toBe(
      `run plain: if interrupted, continue with \`reckon bench --resume plain --db ${db}\``,
    );
    const progress = lines.filter((line) => line.startsWith("bench: "));
    // One self-consistency result per budget and problem.
    expect(progress[0]).toMatch(/^bench: 0% \| problems 0\/10 \| results 0\/30 /);
    expect(progress.at(-1)).toMatch(/^bench: 100% \| .*results 30\/30 /);
    // A line per tenth at most, not per sample or per result.
    expect(progress.length).toBeLessThanOrEqual(11);
    // No bar redrawn in place, no terminal escapes.
    expect(run.stderr).not.toContain("\r");
    expect(run.stderr).not.toContain("\u001b[");
    // pass@k is named for what it is, with what it bounds and what it does not.
    expect(run.stdout).toMatch(/^pass@k\s+\d/m);
    expect(run.stdout).not.toMatch(/^oracle/m);
    expect(run.stdout).toMatch(
      /^pass@k = expected coverage of k independent whole-solution draws \(unbiased estimator\): the ceiling of methods that draw k and select; search and revision methods see other text, so compare their own coverage$/m,
    );
    // Each configuration's own ceiling: whether any candidate it saw was right.
    expect(run.stdout).toMatch(
      /^coverage % \[95% CI\]: problems where any candidate the configuration saw was right/m,
    );
    expect(run.stdout).toMatch(/^self-consistency\s+\d+\.\d \[[\d.]+,[\d.]+\]/m);
    // The figures phase reports its own progress after the results.
    expect(run.stderr).toMatch(/^metrics: 100% \| coverage, pass@k and pool estimates: problems 10\/10/m);

    const json = await reckon([...benchArgs(`replay:${replayPath}`), "--run-id", "quiet", "--json"]);
    expect(json.code, json.stderr).toBe(0);
    expect(json.stderr).toBe("");
    const summary = JSON.parse(json.stdout) as RunSummary;
    expect(summary.samples).toBe(40);

    // The demo table explains its oracle row too.
    expect(formatDemo(summary, db)).toMatch(
      /^pass@k = expected coverage of k independent whole-solution draws/m,
    );
  });

  it("--retries and --timeout reach the server's requests, and each retry is printed as it happens", async () => {
    const server = await startOpenAITestServer({
      respond: () => "So the answer is \\boxed{4}.",
      faults: { 1: { kind: "status", status: 503 }, 2: { kind: "slow", delayMs: 60_000 } },
    });
    try {
      const run = await reckon([
        ...benchArgs(`openai:${server.url}`, 1),
        "--model",
        "m",
        "--run-id",
        "flaky",
        "--concurrency",
        "1",
        "--retries",
        "2",
        // Long enough for the 503 to arrive first on a loaded machine; the slow answer never does.
        "--timeout",
        "3",
        "--json",
      ]);
      expect(run.code, run.stderr).toBe(0);
      const retries = run.stderr.split("\n").filter((line) => /; retry \d in /.test(line));
      expect(retries).toHaveLength(2);
      expect(retries[0]).toMatch(/503.*; retry 1 in/);
      expect(retries[1]).toMatch(/did not answer within 3000 ms; retry 2 in/);
      expect((JSON.parse(run.stdout) as RunSummary).samples).toBe(4);

      const giveUp = await reckon([
        ...benchArgs(`openai:${server.url}`, 1),
        "--model",
        "m",
        "--run-id",
        "impatient",
        "--retries",
        "x",
      ]);
      expect(giveUp.code).toBe(2);
      expect(giveUp.stderr).toMatch(/--retries/);
    } finally {
      await server.close();
    }
  });
});
