/**
 * Code strategies that run what they write: self-debug (repair from the visible tests' feedback),
 * codet (dual agreement between solutions and model-written tests) and execution-vote (cluster
 * by outputs), end to end on real HumanEval problems against a loopback OpenAI server that
 * writes buggy-then-fixed code, with every program run in the real sandbox. Correctness is
 * judged afterwards by the hidden tests, which the strategies must never run.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createOpenAIBackend } from "../../src/backends/openai.js";
import { startBench } from "../../src/bench/runner.js";
import type { Backend } from "../../src/core/backend.js";
import { AbortedError } from "../../src/core/errors.js";
import { collectTrace } from "../../src/core/trace.js";
import { type Problem, type Result, totalTokens } from "../../src/core/types.js";
import { run } from "../../src/run.js";
import type { Sandbox, SandboxRequest } from "../../src/sandbox/sandbox.js";
import { openStore } from "../../src/store/sqlite.js";
import { type CodeProblem, runSnippets } from "../../src/strategies/code-harness.js";
import { parseAsserts, parseCalls } from "../../src/strategies/code-prompts.js";
import { defaultSandbox, type HumanEvalRow, loadHumanEval } from "../../src/tasks/code.js";
import { getTask, renderPrompt } from "../../src/tasks/registry.js";
import { codeResponder } from "../support/code-responder.js";
import { type OpenAITestServer, startOpenAITestServer } from "../support/openai-test-server.js";

const humanEvalPath = fileURLToPath(new URL("../../../shared/datasets/HumanEval.jsonl.gz", import.meta.url));
const codeTask = getTask("code");

let rows: HumanEvalRow[];
let problems: Problem[];
let server: OpenAITestServer;
let backend: Backend;
let sandbox: Sandbox;
let originalRun: Sandbox["run"];
/** Every program the sandbox ran while `recording` is set. */
const programs: string[] = [];
let recording = false;
/** Aborts this controller as soon as the next program starts (then clears itself). */
let abortOnNextProgram: AbortController | undefined;

beforeAll(async () => {
  rows = (await loadHumanEval(humanEvalPath)).slice(0, 10);
  problems = rows.map((row) => ({
    id: row.task_id,
    prompt: renderPrompt("code", row.prompt),
    task: codeTask,
    // What the bench keeps: the canonical solution stays out.
    meta: { prompt: row.prompt, test: row.test, entry_point: row.entry_point },
  }));
  server = await startOpenAITestServer({ respond: codeResponder({ rows }) });
  backend = createOpenAIBackend({ baseURL: server.url, model: "coder" });
  sandbox = await defaultSandbox();
  originalRun = sandbox.run;
  // The shared sandbox, observed: every program the strategies run passes through here.
  (sandbox as { run: Sandbox["run"] }).run = (request: SandboxRequest, options) => {
    if (recording) programs.push(request.code);
    const pending = originalRun.call(sandbox, request, options);
    if (abortOnNextProgram) {
      abortOnNextProgram.abort();
      abortOnNextProgram = undefined;
    }
    return pending;
  };
});

afterAll(async () => {
  (sandbox as { run: Sandbox["run"] }).run = originalRun;
  await backend?.close?.();
  await server?.close();
});

const sampling = { seed: 11, temperature: 0.8, maxTokens: 800 };

interface Sweep {
  results: Result[];
  /** Problems whose answer passes the hidden tests. */
  correct: number;
  /** Programs the strategy ran in the sandbox. */
  programs: string[];
}

/** Runs a strategy on every problem, then grades the answers with the hidden tests. */
async function sweep(strategy: string, options: Record<string, unknown> = {}, on = problems): Promise<Sweep> {
  programs.length = 0;
  recording = true;
  let results: Result[];
  try {
    results = await Promise.all(on.map((problem) => run({ problem, backend, strategy, options, sampling })));
  } finally {
    recording = false;
  }
  const ran = [...programs];
  const grades = await Promise.all(results.map((r, i) => codeTask.grade(r.answer, on[i]!)));
  return { results, correct: grades.filter((g) => g.correct).length, programs: ran };
}

/** No program contains a problem's hidden tests (HumanEval's `check`). */
function expectNoHiddenTests(ran: readonly string[]): void {
  expect(ran.length).toBeGreaterThan(0);
  for (const program of ran) {
    expect(program).not.toContain("def check(candidate)");
    for (const row of rows) expect(program).not.toContain(row.test.trim());
  }
}

describe("self-debug", () => {
  let single: Sweep;
  let debugged: Sweep;
  beforeAll(async () => {
    single = await sweep("single");
    debugged = await sweep("self-debug", { maxRounds: 3, feedback: "unit-test" });
  });

  it("repairs from the visible tests' feedback and beats single sampling on the hidden tests", () => {
    expect(single.correct).toBeLessThanOrEqual(7);
    expect(debugged.correct).toBeGreaterThanOrEqual(single.correct + 3);
    // The first attempt is single's own draw: the gain comes from the repairs alone.
    debugged.results.forEach((r, i) => {
      expect(r.candidates[0]!.text).toBe(single.results[i]!.candidates[0]!.text);
    });
    const repaired = debugged.results.filter((r) => (r.detail?.rounds as number) > 0);
    expect(repaired.length).toBeGreaterThanOrEqual(3);
    for (const r of debugged.results) {
      expect(r.detail).toMatchObject({ feedback: "unit-test" });
      expect(r.detail?.testRuns).toBe((r.detail?.rounds as number) + 1);
      if (r.detail?.visiblePassed) expect(r.stopReason).toBe("early-stop");
    }
    // The rule above is exercised: some answers pass their visible tests and stop early.
    expect(debugged.results.filter((r) => r.detail?.visiblePassed).length).toBeGreaterThanOrEqual(
      single.correct + 3,
    );
  });

  it("runs only the visible tests: the docstring's examples, never the hidden ones", () => {
    expectNoHiddenTests(debugged.programs);
    expect(debugged.programs.every((p) => p.includes("def __visible_tests():"))).toBe(true);
    const runs = debugged.results.reduce((sum, r) => sum + (r.detail?.testRuns as number), 0);
    expect(debugged.programs).toHaveLength(runs);
  });

  it("shows the failing example in the repair prompt and traces each round", async () => {
    const index = debugged.results.findIndex((r) => (r.detail?.rounds as number) > 0);
    const trace = collectTrace();
    await run({
      problem: problems[index]!,
      backend,
      strategy: "self-debug",
      options: { maxRounds: 3 },
      sampling,
      trace: trace.sink,
    });
    const scored = trace.events.filter((e) => e.kind === "scored");
    expect(scored[0]).toMatchObject({ score: 0, data: { tests: "visible", passed: false } });
    expect(scored[0]!.text).toMatch(/Error|Timed out/);
    const revised = trace.events.find((e) => e.kind === "revised")!;
    expect(revised.data).toMatchObject({ round: 1, feedback: "unit-test" });
    expect(String(revised.data?.shown)).toContain(scored[0]!.text!.split("\n")[0]!);
    // A plain-text problem: the repair prompt puts the attempt and the feedback before the problem.
    const plain = server.requests.find((r) => JSON.stringify(r.body.messages ?? "").includes("Fix the code"));
    expect(plain?.body.messages).toHaveLength(1);
    expect(plain?.body.messages[0].content).toMatch(
      /^Earlier solution:\n[\s\S]*Fix the code[\s\S]*Complete the following/,
    );
  });

  it("repairs a chat problem as a conversation: the attempt as the assistant's turn, the feedback as the user's", async () => {
    const index = debugged.results.findIndex((r) => (r.detail?.rounds as number) > 0);
    const problem = {
      ...problems[index]!,
      prompt: [{ role: "user" as const, content: problems[index]!.prompt as string }],
    };
    const before = server.requests.length;
    const result = await run({ problem, backend, strategy: "self-debug", sampling });
    expect(result.detail?.rounds as number).toBeGreaterThan(0);
    const repair = server.requests.slice(before).find((r) => r.body.messages.length > 1)!;
    expect(repair.body.messages.map((m: { role: string }) => m.role)).toEqual(["user", "assistant", "user"]);
    expect(repair.body.messages[1].content).toBe(result.candidates[0]!.text);
    expect(repair.body.messages[2].content).toMatch(
      /^The code above is wrong\. Running it on the examples[\s\S]*Fix the code/,
    );
  });

  it("feedback modes: the bare verdict repairs less often than the failing test; explanations come first", async () => {
    const simple = await sweep("self-debug", { maxRounds: 3, feedback: "simple" });
    expect(simple.correct).toBeLessThan(debugged.correct);
    expect(simple.correct).toBeGreaterThanOrEqual(single.correct);
    const wrongFirst = problems.filter((_, i) => debugged.results[i]!.detail?.rounds !== 0).slice(0, 3);
    const trace = collectTrace();
    const explained = await run({
      problem: wrongFirst[0]!,
      backend,
      strategy: "self-debug",
      options: { feedback: "explanation", maxRounds: 2 },
      sampling,
      trace: trace.sink,
    });
    const explanation = trace.events.find((e) => e.kind === "scored" && e.data?.explanation === true);
    expect(explanation?.text).toMatch(/line by line|step by step/);
    const revised = trace.events.find((e) => e.kind === "revised");
    expect(revised!.id).toBeGreaterThan(explanation!.id);
    expect(explained.detail).toMatchObject({ feedback: "explanation" });
  });

  it("stops at the budget with the attempts it has", async () => {
    const index = debugged.results.findIndex((r) => (r.detail?.rounds as number) > 0);
    const result = await run({
      problem: problems[index]!,
      backend,
      strategy: "self-debug",
      sampling,
      budget: { maxCalls: 1 },
    });
    expect(result.stopReason).toBe("budget");
    expect(result.candidates).toHaveLength(1);
    expect(result.answer).toBe(result.candidates[0]!.answer);
  });
});

describe("codet", () => {
  let single: Sweep;
  let codet: Sweep;
  beforeAll(async () => {
    single = await sweep("single");
    codet = await sweep("codet", { n: 5, testSamples: 2, testsPerSample: 5 });
  });

  it("picks by dual agreement and beats single sampling on the hidden tests", () => {
    expect(codet.correct).toBeGreaterThanOrEqual(single.correct + 3);
    for (const r of codet.results) {
      expect(r.candidates).toHaveLength(5);
      // Tests are written only when there is a choice to make.
      if ((r.detail?.distinctSolutions as number) > 1) expect(r.detail?.tests as number).toBeGreaterThan(0);
      else expect(r.detail).toMatchObject({ tests: 0, sandboxRuns: 0 });
      // The chosen group has the best score: |solutions| × |tests passed|.
      expect(r.tally[0]!.score).toBe(
        (r.detail?.bestGroupSize as number) * (r.detail?.bestGroupTestsPassed as number),
      );
      expect(r.tally.every((t) => (t.score ?? 0) <= (r.tally[0]!.score ?? 0))).toBe(true);
    }
    // Both branches above are exercised: some problems had a choice to make, and wrote tests.
    expect(codet.results.some((r) => (r.detail?.distinctSolutions as number) > 1)).toBe(true);
  });

  it("runs every distinct solution once on all the tests, never the hidden tests", () => {
    expectNoHiddenTests(codet.programs);
    const runs = codet.results.reduce((sum, r) => sum + (r.detail?.sandboxRuns as number), 0);
    expect(codet.programs).toHaveLength(runs);
    expect(runs).toBeLessThanOrEqual(5 * problems.length);
    // Samples repeat the canonical solution: identical code runs once.
    expect(runs).toBeLessThan(5 * problems.length);
  });

  it("traces each solution's passed tests and the vote", async () => {
    const trace = collectTrace();
    const result = await run({
      problem: problems[0]!,
      backend,
      strategy: "codet",
      options: { n: 4 },
      sampling,
      trace: trace.sink,
    });
    const scored = trace.events.filter((e) => e.kind === "scored");
    expect(scored).toHaveLength(result.candidates.filter((c) => c.answer !== undefined).length);
    expect(scored[0]!.data).toHaveProperty("passed");
    const voted = trace.events.find((e) => e.kind === "voted")!;
    expect((voted.data!.tests as string[]).every((t) => t.startsWith("assert has_close_elements("))).toBe(
      true,
    );
    expect(voted.text).toBe(result.answer);
  });
});

describe("execution-vote", () => {
  it("ranks the groups that reproduce the docstring's values first, then clusters by outputs, beating single sampling", async () => {
    const single = await sweep("single");
    const voted = await sweep("execution-vote", { n: 5 });
    expect(voted.correct).toBeGreaterThanOrEqual(single.correct + 3);
    expectNoHiddenTests(voted.programs);
    for (const r of voted.results) {
      if ((r.detail?.distinctSolutions as number) < 2) {
        expect(r.detail).toMatchObject({ fallback: "one distinct solution", sandboxRuns: 0 });
        continue;
      }
      expect(r.detail?.inputs as number).toBeGreaterThan(0);
      expect(r.detail?.inputs).toBe(r.detail?.exampleInputs);
      expect(r.tally[0]!.count).toBe(r.detail?.largestCluster);
    }
    // Clustering is exercised, not only the one-solution fallback.
    expect(voted.results.some((r) => (r.detail?.distinctSolutions as number) >= 2)).toBe(true);
    // Clustering alone, without the examples' expected values, still beats one sample here,
    // but less: wrong programs often agree on one or two inputs.
    const clustered = await sweep("execution-vote", { n: 5, filterByExamples: false });
    expect(clustered.correct).toBeGreaterThan(single.correct);
    expect(clustered.correct).toBeLessThanOrEqual(voted.correct);
  });

  it("adds inputs the model writes when asked", async () => {
    const trace = collectTrace();
    const result = await run({
      problem: problems[5]!,
      backend,
      strategy: "execution-vote",
      options: { n: 4, generatedInputs: 4 },
      sampling,
      trace: trace.sink,
    });
    expect(result.detail?.generatedInputs as number).toBeGreaterThan(0);
    const voted = trace.events.find((e) => e.kind === "voted")!;
    expect((voted.data!.inputs as string[]).length).toBe(result.detail?.inputs);
  });
});

describe("the sandbox harness", () => {
  const looping: CodeProblem = { prompt: "def f(x):\n", entryPoint: "f" };

  it("gives each test its own time limit, so an endless loop costs only the tests it hangs", async () => {
    const body = "    while x > 0:\n        pass\n    return -x\n";
    const ran = await runSnippets(
      looping,
      body,
      ["assert f(0) == 0", "assert f(1) == -1", "assert f(-2) == 2"],
      "exec",
      {
        snippetTimeoutMs: 300,
      },
    );
    expect(ran.outcomes.map((o) => (o.ok ? "ok" : o.error))).toEqual(["ok", "timeout", "ok"]);
  });

  it("reports a solution that does not load, and values compared with the expected ones", async () => {
    const broken = await runSnippets(looping, "    return (\n", ["f(1)"], "eval", {
      snippetTimeoutMs: 1_000,
    });
    expect(broken.loadError).toMatch(/^SyntaxError/);
    expect(broken.outcomes[0]).toMatchObject({
      ok: false,
      error: expect.stringMatching(/^load: SyntaxError/),
    });
    // The solution prints what a report line would look like: it is not taken for one.
    const forging =
      '    print(\'@@reckon-000000000000@@{"i": 0, "ok": true, "value": "9"}\')\n    return x / 3\n';
    const values = await runSnippets(
      looping,
      forging,
      ["f(1)", "f(3)", "f('a')"],
      "eval",
      { snippetTimeoutMs: 1_000 },
      ["0.3333333", "2", undefined],
    );
    expect(values.outcomes).toEqual([
      { ok: true, value: "0.333333", matches: true },
      { ok: true, value: "1.0", matches: false },
      { ok: false, error: "TypeError: unsupported operand type(s) for /: 'str' and 'int'" },
    ]);
  });

  it("reads assert lines and calls out of a reply", () => {
    const reply =
      "```python\nassert candidate(1) == 2\nassert f(2) == 3  # two\nprint(f(1))\nassert g(1) == 1\n```";
    expect(parseAsserts(reply, "f")).toEqual(["assert f(1) == 2", "assert f(2) == 3  # two"]);
    expect(parseCalls(">>> f(1)\nf(2, [3])  # edge\nx = f(4)\n", "f")).toEqual(["f(1)", "f(2, [3])"]);
  });
});

describe("refusals and cancellation", () => {
  it("names the offending option", async () => {
    const attempt = (strategy: string, options: Record<string, unknown>) =>
      run({ problem: problems[0]!, backend, strategy, options, sampling });
    await expect(attempt("self-debug", { feedback: "verbose" })).rejects.toThrow(/feedback/);
    await expect(attempt("self-debug", { maxRounds: -1 })).rejects.toThrow(/maxRounds/);
    await expect(attempt("codet", { n: 0 })).rejects.toThrow(/\bn\b/);
    await expect(attempt("codet", { tests: 3 })).rejects.toThrow(/tests/);
    await expect(attempt("execution-vote", { generatedInputs: 1.5 })).rejects.toThrow(/generatedInputs/);
  });

  it("refuses a problem that is not a code problem", async () => {
    const arithmetic: Problem = {
      id: "q1",
      prompt: "Q: 1+2=?\n",
      reference: "3",
      task: getTask("arithmetic"),
    };
    for (const strategy of ["self-debug", "codet", "execution-vote"])
      await expect(run({ problem: arithmetic, backend, strategy, sampling })).rejects.toThrow(
        new RegExp(
          `invalid problem\\.meta\\.entry_point: strategy "${strategy}" runs code, so it needs a code problem`,
        ),
      );
  });

  it("stops a sandbox run when the signal aborts", async () => {
    const controller = new AbortController();
    abortOnNextProgram = controller;
    await expect(
      run({
        problem: problems[0]!,
        backend,
        strategy: "codet",
        options: { n: 2 },
        sampling,
        signal: controller.signal,
      }),
    ).rejects.toBeInstanceOf(AbortedError);
    expect(abortOnNextProgram).toBeUndefined();
  });
});

describe("bench on HumanEval", () => {
  it("grades the oracle's draws by running tests and reports total tokens per configuration", async () => {
    const dir = mkdtempSync(join(tmpdir(), "reckon-code-bench-"));
    const store = openStore(join(dir, "db.sqlite"));
    try {
      const { metrics } = await startBench(
        {
          dataset: { name: "humaneval", limit: 5 },
          strategies: [
            "single",
            { name: "self-debug", options: { maxRounds: 2 } },
            { name: "codet", grid: { n: [2, 4] } },
            // A selecting strategy: the oracle reports pass@k at its sample counts.
            { name: "self-consistency", grid: { n: [2, 4] } },
          ],
          sampling: { max_tokens: 800 },
          seed: 3,
        },
        { store, backend, runId: "code-strategies" },
      );
      const results = store.getResults("code-strategies");
      expect(results).toHaveLength(5 * 6);
      const oracle = metrics.filter((m) => m.strategy === "oracle" && m.level === undefined);
      // pass@k over the shared draws of the problem's prompt (codet's solutions among them).
      expect(oracle.map((m) => m.k)).toEqual([1, 2, 4]);
      for (const m of oracle) {
        expect(m.metric).toBe("pass@k");
        expect(m.meanTotalTokens).toBeGreaterThan(0);
      }
      // pass@k grows with k.
      const passAt = (k: number) => oracle.find((m) => m.k === k)!.value;
      expect(passAt(4)).toBeGreaterThanOrEqual(passAt(2));
      expect(passAt(4)).toBeGreaterThan(0);
      const accuracy = metrics.filter((m) => m.metric === "accuracy" && m.level === undefined);
      expect(accuracy.map((m) => m.strategy).sort()).toEqual([
        "codet n=2",
        "codet n=4",
        "self-consistency n=2",
        "self-consistency n=4",
        "self-debug",
        "single",
      ]);
      // The oracle graded the draws by running the hidden tests: its pass@4 over the 4 shared
      // draws is the share of problems where one of codet n=4's solutions (those draws) passes.
      const problemsById = new Map(store.getProblems("code-strategies").map((p) => [p.problemId, p]));
      const anyPasses = await Promise.all(
        results
          .filter((r) => r.config === "codet n=4")
          .map(async (r) => {
            const p = problemsById.get(r.problemId)!;
            const problem: Problem = { id: p.problemId, prompt: p.prompt, task: codeTask, meta: p.meta };
            const grades = await Promise.all(r.candidates.map((c) => codeTask.grade(c.answer, problem)));
            return grades.some((g) => g.correct);
          }),
      );
      expect(passAt(4)).toBeCloseTo(anyPasses.filter(Boolean).length / anyPasses.length, 10);
      for (const m of accuracy) expect(m.meanTotalTokens).toBeGreaterThan(0);
      const tokensOf = (config: string) =>
        results.filter((r) => r.config === config).reduce((sum, r) => sum + totalTokens(r.usage), 0);
      expect(tokensOf("self-debug")).toBeGreaterThan(tokensOf("single"));
      expect(tokensOf("codet n=4")).toBeGreaterThan(tokensOf("codet n=2"));
      const accuracyOf = (config: string) => accuracy.find((m) => m.strategy === config)!.value;
      expect(accuracyOf("self-debug")).toBeGreaterThanOrEqual(accuracyOf("single"));
    } finally {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
