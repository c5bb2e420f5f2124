/** `reckon tune` end to end: a real bench run on the bundled model, a policy fitted from it, applied by `reckon ask`. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parsePolicy } from "../../src/control/policy.js";
import { reckon } from "../support/cli.js";

const dir = mkdtempSync(join(tmpdir(), "reckon-tune-"));
const db = join(dir, "runs.sqlite");
let runId: string;

beforeAll(async () => {
  const recipe = join(dir, "dev.yaml");
  writeFileSync(
    recipe,
    [
      "name: tune dev split",
      "dataset: { name: arithmetic, levels: [1, 5], perLevel: 12, seed: 3 }",
      "sampling: { temperature: 1.0, max_tokens: 96 }",
      "strategies:",
      "  - self-consistency",
      "  - name: esc",
      "    options: { windowSize: 4, maxSamples: 12 }",
      "n: [2, 8]",
      "seed: 0",
    ].join("\n"),
  );
  const bench = await reckon(["bench", recipe, "--db", db, "--json"]);
  expect(bench.code, bench.stderr).toBe(0);
  runId = (JSON.parse(bench.stdout) as { runId: string }).runId;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("reckon tune", () => {
  it("fits a policy that reckon ask --strategy auto applies", async () => {
    const out = join(dir, "policy.json");
    const tune = await reckon(["tune", runId, "--out", out, "--db", db, "--bins", "2"]);
    expect(tune.code, tune.stderr).toBe(0);
    expect(tune.stdout).toMatch(/fitted on 24 problems/);
    const policy = parsePolicy(JSON.parse(readFileSync(out, "utf8")), {
      task: "arithmetic",
      model: "llamacpp:reckon-tiny",
    });
    expect(policy.probe.config).toBe("self-consistency n=2");
    expect(policy.fittedOn.configs).toHaveLength(3);
    expect(policy.fittedOn.runId).toBe(runId);

    const ask = await reckon([
      "ask",
      "Q: 12*3+5=?",
      "--strategy",
      "auto",
      "--policy",
      out,
      "--seed",
      "1",
      "--json",
    ]);
    expect(ask.code, ask.stderr).toBe(0);
    const result = JSON.parse(ask.stdout) as { strategy: string; answer: string; detail: { choice: string } };
    expect(result.strategy).toBe("auto");
    expect(result.answer).toBe("41");
    expect(["probe", ...policy.fittedOn.configs]).toContain(result.detail.choice);
  });

  it("says what a run lacks, and refuses a policy for another task", async () => {
    const few = await reckon([
      "tune",
      runId,
      "--out",
      join(dir, "x.json"),
      "--db",
      db,
      "--min-problems",
      "50",
    ]);
    expect(few.code).toBe(2);
    expect(few.stderr).toMatch(
      /has 24 problem\(s\) with results for every configuration; fitting needs at least 50/,
    );
    const out = join(dir, "policy.json");
    const ask = await reckon([
      "ask",
      "What is 2+2?",
      "--task",
      "math",
      "--strategy",
      "auto",
      "--policy",
      out,
    ]);
    expect(ask.code).toBe(2);
    expect(ask.stderr).toMatch(/policy.task: the policy was fitted for task "arithmetic", not "math"/);
  });
});
