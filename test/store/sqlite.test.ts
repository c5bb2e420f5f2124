import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Usage } from "../../src/core/types.js";
import { migrations } from "../../src/store/migrations.js";
import { resultKey } from "../../src/store/results.js";
import {
  type DrawRecord,
  migrate,
  openStore,
  type ProblemRecord,
  type ResultRecord,
  type RunStore,
  StoreError,
} from "../../src/store/sqlite.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "reckon-store-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const usage = (completionTokens: number): Usage => ({
  promptTokens: 12.5,
  completionTokens,
  calls: 0.5,
  latencyMs: 3.25,
  estimated: false,
  cachedPromptTokens: 4,
});

const draw = (
  problemId: string,
  digest: string,
  index: number,
  extra: Partial<DrawRecord> = {},
): DrawRecord => ({
  problemId,
  digest,
  index,
  completion: { text: `${problemId} ${digest} #${index}`, finishReason: "eos", tokens: 10 + index },
  usage: usage(10 + index),
  ...extra,
});

const problems: ProblemRecord[] = [
  {
    problemId: "p1",
    position: 0,
    question: "1+1?",
    prompt: "Q: 1+1?",
    reference: "2",
    level: 2,
    subject: "Algebra",
    meta: { tests: ["assert f() == 2"], entryPoint: "f", nested: { a: [1, null] } },
  },
  // Stored second but listed first: order is the dataset's position, not insertion.
  { problemId: "p0", position: -1, question: "2+2?", prompt: "Q: 2+2?", reference: "4" },
];

const result = (problemId: string, config: string, extra: Partial<ResultRecord> = {}): ResultRecord => ({
  problemId,
  config,
  strategy: config.split(" ")[0]!,
  series: config.split(" ")[0]!,
  budget: Number(/n=(\d+)/.exec(config)?.[1] ?? 1),
  options: /n=/.test(config) ? { n: Number(/n=(\d+)/.exec(config)![1]) } : {},
  answer: "2",
  correct: true,
  stopReason: "completed",
  usage: { ...usage(20), verifierTokens: 7, verifierCalls: 1 },
  candidates: [
    { text: "so 2", answer: "2", score: 0.75, tokens: 10, finishReason: "eos" },
    { text: "hmm", tokens: 12, finishReason: "length" },
  ],
  trace: [
    { id: 0, kind: "scope", text: config, at: 0 },
    { id: 1, parent: 0, kind: "voted", at: 1.5, data: { tally: [{ answer: "2", count: 1, score: 1 }] } },
  ],
  ...extra,
});

function newStore(path = join(dir, "db.sqlite")): RunStore {
  const store = openStore(path);
  store.createRun({
    id: "r1",
    recipe: { dataset: { name: "math500" } },
    seed: 3,
    backend: "replay:x",
    problems,
  });
  return store;
}

describe("RunStore", () => {
  it("round-trips a run, its problems (with meta) and metrics through a file on disk", () => {
    const path = join(dir, "nested", "db.sqlite");
    const store = openStore(path);
    const recipe = { dataset: { name: "math500" }, seed: 3 };
    store.createRun({ id: "r1", recipe, seed: 3, backend: "replay:x", problems: [problems[0]!] });
    store.addProblems("r1", [problems[1]!, { ...problems[0]!, question: "changed" }]);
    const metrics = [
      {
        strategy: "self-consistency n=2",
        series: "self-consistency",
        metric: "accuracy",
        k: 2,
        value: 0.5,
        ciLow: 0,
        ciHigh: 1,
        meanTokens: 21,
        meanTotalTokens: 40.5,
        problems: 2,
      },
      // The same configuration and budget under another metric: its pool estimate.
      {
        strategy: "self-consistency n=2",
        series: "self-consistency",
        metric: "maj@k",
        k: 2,
        value: 0.25,
        ciLow: 0,
        ciHigh: 0.5,
        meanTokens: 0,
        problems: 2,
      },
      {
        strategy: "oracle",
        metric: "pass@k",
        k: 2,
        level: 2,
        value: 1,
        ciLow: 1,
        ciHigh: 1,
        meanTokens: 21,
        problems: 1,
      },
    ];
    store.replaceMetrics("r1", metrics);
    store.setRunStatus("r1", "completed");
    store.close();

    const reopened = openStore(path);
    const run = reopened.getRun("r1");
    expect(run).toMatchObject({ id: "r1", recipe, seed: 3, status: "completed", backend: "replay:x" });
    expect(run.finishedAt).toBeDefined();
    expect(run.heartbeatAt).toBeUndefined();
    // Problems already recorded are left as they were; meta comes back as stored.
    expect(reopened.getProblems("r1")).toEqual([
      { ...problems[1]!, level: undefined, subject: undefined },
      problems[0],
    ]);
    expect(reopened.getMetrics("r1")).toEqual(metrics.map((m) => ({ level: undefined, ...m })));
    // Replacing metrics leaves only the new ones.
    reopened.replaceMetrics("r1", [metrics[0]!]);
    expect(reopened.getMetrics("r1")).toHaveLength(1);
    expect(reopened.db.pragma("journal_mode", { simple: true })).toBe("wal");
    expect(reopened.schemaVersion()).toBe(migrations.at(-1)!.version);
    reopened.close();
  });

  it("stores draws by problem, request digest and index, and finds ranges of them", () => {
    const store = newStore();
    store.draws.add("r1", [draw("p1", "aaa", 0), draw("p1", "aaa", 1), draw("p1", "aaa", 2)]);
    const withExtras = draw("p1", "bbb", 0, {
      completion: {
        text: "stopped",
        finishReason: "stop-sequence",
        stopSequence: "\n\n",
        tokens: 3,
        logprobs: [{ token: "stop", logprob: -0.5, top: [{ token: "stop", logprob: -0.5 }] }],
      },
    });
    store.draws.add("r1", [withExtras, draw("p1", "bbb", 3)]);
    store.draws.add("r1", [draw("p0", "aaa", 0)]);

    const found = store.draws.find("r1", "p1", "aaa", 1, 5);
    expect([...found.keys()]).toEqual([1, 2]);
    expect(found.get(1)).toMatchObject(draw("p1", "aaa", 1));
    expect(store.draws.find("r1", "p1", "aaa", 3, 2).size).toBe(0);
    expect(store.draws.find("r1", "p1", "ccc", 0, 10).size).toBe(0);
    expect(store.draws.find("r2", "p1", "aaa", 0, 10).size).toBe(0);
    // Everything a completion carries comes back: stop sequence, logprobs, this draw's usage share.
    expect(store.draws.find("r1", "p1", "bbb", 0, 1).get(0)).toEqual(withExtras);

    // By problem position, then digest, then index.
    expect(store.draws.list("r1").map((d) => [d.problemId, d.digest, d.index])).toEqual([
      ["p0", "aaa", 0],
      ["p1", "aaa", 0],
      ["p1", "aaa", 1],
      ["p1", "aaa", 2],
      ["p1", "bbb", 0],
      ["p1", "bbb", 3],
    ]);
    expect(store.draws.list("r1", "p0")).toMatchObject([draw("p0", "aaa", 0)]);
    expect(store.draws.count("r1")).toBe(6);

    // All draws of one request, in index order, whatever order they were stored in.
    store.draws.add("r1", [draw("p1", "bbb", 2), draw("p1", "bbb", 1)]);
    expect(store.draws.ofRequest("r1", "p1", "bbb").map((d) => [d.digest, d.index])).toEqual([
      ["bbb", 0],
      ["bbb", 1],
      ["bbb", 2],
      ["bbb", 3],
    ]);
    expect(store.draws.ofRequest("r1", "p1", "aaa").map((d) => d.index)).toEqual([0, 1, 2]);
    expect(store.draws.ofRequest("r1", "nope", "aaa")).toEqual([]);
    store.close();
  });

  it("refuses a second draw with the same index and keeps the first, all of a response or none", () => {
    const store = newStore();
    store.draws.add("r1", [draw("p1", "aaa", 0)]);
    // The whole response is rejected: draw 1 must not land without draw 0.
    expect(() =>
      store.draws.add("r1", [
        draw("p1", "aaa", 1),
        draw("p1", "aaa", 0, { completion: { text: "other", finishReason: "eos", tokens: 1 } }),
      ]),
    ).toThrow(/UNIQUE/);
    expect(store.draws.list("r1").map((d) => d.completion.text)).toEqual(["p1 aaa #0"]);
    // A draw of a problem the run does not have is refused.
    expect(() => store.draws.add("r1", [draw("p9", "aaa", 0)])).toThrow(/FOREIGN KEY/);
    expect(() => store.draws.add("r1", [draw("p1", "aaa", -1)])).toThrow(/CHECK/);
    expect(store.draws.count("r1")).toBe(1);
    store.close();
  });

  it("stores one result per problem and configuration, and lists them by problem, then as stored", () => {
    const store = newStore();
    const unanswered = result("p1", "best-of-n n=4", {
      answer: undefined,
      correct: false,
      stopReason: "budget",
      detail: { reason: "tokens", spent: 1200 },
    });
    store.results.add("r1", result("p1", "self-consistency n=2"));
    store.results.add("r1", unanswered);
    store.results.add("r1", result("p0", "self-consistency n=2", { answer: "4" }));
    store.results.add("r1", result("p0", "single"));

    expect(store.getResults("r1").map((r) => [r.problemId, r.config])).toEqual([
      ["p0", "self-consistency n=2"],
      ["p0", "single"],
      ["p1", "self-consistency n=2"],
      ["p1", "best-of-n n=4"],
    ]);
    expect(store.getResults("r1", { problemId: "p1" })).toEqual([
      result("p1", "self-consistency n=2"),
      unanswered,
    ]);
    expect(
      store.getResults("r1", { config: "self-consistency n=2" }).map((r) => [r.problemId, r.answer]),
    ).toEqual([
      ["p0", "4"],
      ["p1", "2"],
    ]);
    expect(store.getResults("r1", { problemId: "p1", config: "best-of-n n=4" })).toEqual([unanswered]);
    expect(store.getResults("r1", { problemId: "p1", config: "single" })).toEqual([]);
    expect(store.getResults("r2")).toEqual([]);
    // Optional fields stay absent rather than null.
    const [stored] = store.getResults("r1", { problemId: "p0", config: "single" });
    expect("detail" in stored!).toBe(false);
    expect("answer" in store.getResults("r1", { config: "best-of-n n=4" })[0]!).toBe(false);

    expect(store.results.keys("r1")).toEqual(
      new Set([
        resultKey("p0", "self-consistency n=2"),
        resultKey("p0", "single"),
        resultKey("p1", "self-consistency n=2"),
        resultKey("p1", "best-of-n n=4"),
      ]),
    );
    expect(store.results.count("r1")).toBe(4);
    // A configuration answers a problem once.
    expect(() => store.results.add("r1", result("p1", "best-of-n n=4"))).toThrow(/UNIQUE/);
    expect(() => store.results.add("r1", result("p9", "single"))).toThrow(/FOREIGN KEY/);
    expect(store.getResults("r1", { config: "best-of-n n=4" })).toEqual([unanswered]);
    store.close();
  });

  it("records the heartbeat and owner of a run, and its status", () => {
    const store = newStore();
    expect(store.getRun("r1")).toMatchObject({ status: "running" });
    expect(store.getRun("r1").ownerPid).toBeUndefined();
    const before = Date.now();
    store.heartbeat("r1", 4242);
    const run = store.getRun("r1");
    expect(run.ownerPid).toBe(4242);
    expect(Date.parse(run.heartbeatAt!)).toBeGreaterThanOrEqual(before - 1);
    expect(Date.parse(run.heartbeatAt!)).toBeLessThanOrEqual(Date.now() + 1);
    store.heartbeat("r1");
    expect(store.getRun("r1").ownerPid).toBe(process.pid);

    store.setRunStatus("r1", "failed", "backend down");
    expect(store.getRun("r1")).toMatchObject({ status: "failed", error: "backend down" });
    expect(store.getRun("r1").finishedAt).toBeDefined();
    store.setRunStatus("r1", "running");
    expect(store.getRun("r1").finishedAt).toBeUndefined();
    expect(store.getRun("r1").error).toBeUndefined();
    store.createRun({ id: "r0", recipe: {}, seed: 0 });
    expect(store.listRuns().map((r) => r.id)).toEqual(["r0", "r1"]);
    store.close();
  });

  it("upgrades a version-1 database in place, keeping its runs, problems and metrics", () => {
    const path = join(dir, "old.sqlite");
    const old = new Database(path);
    migrate(
      old,
      migrations.filter((m) => m.version === 1),
    );
    old
      .prepare(
        "INSERT INTO runs (id, recipe, seed, status, created_at) VALUES ('old', '{\"seed\":1}', 1, 'completed', '2025-01-01T00:00:00Z')",
      )
      .run();
    old
      .prepare(
        "INSERT INTO problems (run_id, problem_id, position, question, prompt, reference, level) VALUES ('old', 'p1', 0, 'q', 'Q: q', '7', 3)",
      )
      .run();
    old
      .prepare(
        "INSERT INTO samples (run_id, problem_id, sample_index, text, tokens, latency_ms, finish_reason, correct, created_at) VALUES ('old', 'p1', 0, 'A: 7', 4, 1, 'eos', 1, 'now')",
      )
      .run();
    old
      .prepare(
        "INSERT INTO metrics (run_id, strategy, metric, k, value, ci_low, ci_high, mean_tokens, problems) VALUES ('old', 'self-consistency', 'maj@k', 4, 0.5, 0.25, 0.75, 30, 1)",
      )
      .run();
    expect(old.prepare("SELECT MAX(version) AS v FROM schema_migrations").get()).toEqual({ v: 1 });
    old.close();

    const store = openStore(path);
    expect(store.schemaVersion()).toBe(migrations.at(-1)!.version);
    expect(store.getRun("old")).toMatchObject({ id: "old", recipe: { seed: 1 }, status: "completed" });
    expect(store.getRun("old").heartbeatAt).toBeUndefined();
    expect(store.getProblems("old")).toEqual([
      {
        problemId: "p1",
        position: 0,
        question: "q",
        prompt: "Q: q",
        reference: "7",
        level: 3,
        subject: undefined,
      },
    ]);
    expect(store.getMetrics("old")).toEqual([
      {
        strategy: "self-consistency",
        metric: "maj@k",
        k: 4,
        level: undefined,
        value: 0.5,
        ciLow: 0.25,
        ciHigh: 0.75,
        meanTokens: 30,
        problems: 1,
      },
    ]);
    // The old run takes the new tables and columns.
    store.draws.add("old", [draw("p1", "aaa", 0)]);
    store.results.add("old", result("p1", "single"));
    store.heartbeat("old", 7);
    expect(store.draws.count("old")).toBe(1);
    expect(store.getResults("old")).toEqual([result("p1", "single")]);
    expect(store.getRun("old").ownerPid).toBe(7);
    // Metrics are now unique per metric too: accuracy and a pool estimate at the same k.
    store.replaceMetrics("old", [
      { strategy: "c", metric: "accuracy", k: 4, value: 1, ciLow: 1, ciHigh: 1, meanTokens: 1, problems: 1 },
      { strategy: "c", metric: "maj@k", k: 4, value: 1, ciLow: 1, ciHigh: 1, meanTokens: 0, problems: 1 },
    ]);
    expect(store.getMetrics("old").map((m) => m.metric)).toEqual(["accuracy", "maj@k"]);
    store.close();
    // Opening it again applies nothing twice.
    const again = new Database(path);
    expect(again.prepare("SELECT version FROM schema_migrations ORDER BY version").all()).toEqual(
      migrations.map((m) => ({ version: m.version })),
    );
    again.close();
  });

  it("records each migration once and refuses a database from a newer reckon", () => {
    const path = join(dir, "db.sqlite");
    openStore(path).close();
    openStore(path).close();
    const raw = new Database(path);
    expect(raw.prepare("SELECT COUNT(*) AS n FROM schema_migrations").get()).toEqual({
      n: migrations.length,
    });
    raw.prepare("INSERT INTO schema_migrations VALUES (999, 'future', 'now')").run();
    raw.close();
    expect(() => openStore(path)).toThrow(StoreError);
  });

  it("names the missing run", () => {
    const store = openStore(join(dir, "db.sqlite"));
    expect(() => store.getRun("nope")).toThrow(/no run nope/);
    store.close();
  });

  it("opens an existing database only, when told not to create one, without creating a file", () => {
    const missing = join(dir, "typo", "db.sqlite");
    expect(() => openStore(missing, { create: false })).toThrow(StoreError);
    expect(() => openStore(missing, { create: false })).toThrow(/database .*typo.db\.sqlite does not exist/);
    expect(existsSync(join(dir, "typo"))).toBe(false);

    const path = join(dir, "db.sqlite");
    openStore(path).close();
    const store = openStore(path, { create: false });
    expect(store.listRuns()).toEqual([]);
    store.close();
  });

  it("names the path when it is a folder, a file that is not a database, or under a file", () => {
    mkdirSync(join(dir, "folder"));
    expect(() => openStore(join(dir, "folder"))).toThrow(/folder.* is a folder, not a database/);

    const text = join(dir, "notes.txt");
    writeFileSync(text, "these are notes, not SQLite\n".repeat(100));
    expect(() => openStore(text)).toThrow(StoreError);
    expect(() => openStore(text, { create: false })).toThrow(
      /cannot open database .*notes\.txt: file is not a database/,
    );

    expect(() => openStore(join(text, "db.sqlite"))).toThrow(StoreError);
    expect(() => openStore(join(text, "db.sqlite"))).toThrow(
      /cannot create database .*notes\.txt.db\.sqlite/,
    );
  });
});

/**
 * A store that fails safe: a damaged file, a full disk and a read-only folder give one-line
 * StoreErrors that say what to do, and reading needs no write access. The disk and the folder
 * are real: a small tmpfs and a read-only bind mount, in a mount namespace of their own.
 */
describe("store faults", () => {
  const oneLine = (error: unknown) => {
    expect(error).toBeInstanceOf(StoreError);
    const [first, ...rest] = (error as Error).message.split("\n");
    expect(first).not.toMatch(/^\s+at /);
    expect(rest.every((line) => line.startsWith("  hint: "))).toBe(true);
    return (error as Error).message;
  };
  const thrown = (work: () => unknown): unknown => {
    try {
      work();
    } catch (error) {
      return error;
    }
    throw new Error("expected an error");
  };

  /** A database of one run with enough draws to span many pages. */
  const filled = (path: string) => {
    const store = openStore(path);
    store.createRun({ id: "r1", recipe: { name: "x" }, seed: 0, problems });
    for (let i = 0; i < 400; i++) store.draws.add("r1", [draw("p1", `d${i}`, 0)]);
    store.setRunStatus("r1", "completed");
    store.close();
  };

  it("refuses a file damaged mid-file before any run starts in it, in one line", () => {
    const path = join(dir, "damaged.sqlite");
    filled(path);
    const bytes = readFileSync(path);
    // Overwrite pages in the middle of the file, past the header and the schema.
    bytes.fill(0x5a, Math.floor(bytes.length / 2), Math.floor(bytes.length / 2) + 8192);
    writeFileSync(path, bytes);
    for (const options of [{}, { create: false }, { readonly: true }]) {
      const message = oneLine(thrown(() => openStore(path, options)));
      expect(message).toMatch(/is damaged[\s\S]*\.recover/);
    }
  });

  const root = process.getuid?.() === 0 && existsSync("/usr/bin/unshare");
  /** Runs `script` (TypeScript, given the folder) with `setup` done in a private mount namespace. */
  const inMountNamespace = (setup: string, script: string): { status: number | null; out: string } => {
    const file = join(dir, "script.ts");
    writeFileSync(file, script);
    const tsx = join(process.cwd(), "node_modules/.bin/tsx");
    const result = spawnSync(
      "/usr/bin/unshare",
      ["--mount", "--propagation", "private", "sh", "-c", `${setup} && exec "${tsx}" "${file}"`],
      { encoding: "utf8", timeout: 60_000, cwd: process.cwd() },
    );
    return { status: result.status, out: `${result.stdout}${result.stderr}` };
  };
  const storeModule = join(process.cwd(), "src/store/sqlite.ts");

  it.skipIf(!root)("reads a database in a read-only folder, and refuses to write there in one line", () => {
    const folder = join(dir, "ro");
    mkdirSync(folder);
    filled(join(folder, "reckon.sqlite"));
    const { status, out } = inMountNamespace(
      `mount --bind "${folder}" "${folder}" && mount -o remount,ro,bind "${folder}"`,
      `import { openStore } from ${JSON.stringify(storeModule)};
const path = ${JSON.stringify(join(folder, "reckon.sqlite"))};
for (const options of [{ create: false }, { readonly: true }]) {
  const store = openStore(path, options);
  console.log("runs", store.listRuns().map((r) => r.id + ":" + r.status).join(","), store.draws.count("r1"));
  store.close();
}
try { openStore(path); } catch (error) { console.log("write:", (error as Error).name, (error as Error).message.split("\\n")[0]); }
`,
    );
    expect(out).toContain("runs r1:completed 400\nruns r1:completed 400\n");
    expect(out).toMatch(/write: StoreError database .* cannot be written here/);
    expect(out).not.toMatch(/^\s+at /m);
    expect(status).toBe(0);
  });

  it.skipIf(!root)("says in one line that the disk is full, and keeps what was written", () => {
    const folder = join(dir, "small");
    mkdirSync(folder);
    const { status, out } = inMountNamespace(
      `mount -t tmpfs -o size=400k tmpfs "${folder}"`,
      `import { openStore } from ${JSON.stringify(storeModule)};
const path = ${JSON.stringify(join(folder, "reckon.sqlite"))};
const store = openStore(path);
store.createRun({ id: "r1", recipe: {}, seed: 0, problems: [{ problemId: "p", position: 0, question: "q", prompt: "q", reference: "1" }] });
let added = 0;
try {
  for (; added < 100000; added++)
    store.draws.add("r1", [{ problemId: "p", digest: "d" + added, index: 0, completion: { text: "x".repeat(2000), finishReason: "eos", tokens: 1 }, usage: { promptTokens: 1, completionTokens: 1, calls: 1, latencyMs: 1, estimated: false } }]);
} catch (error) {
  console.log("full:", (error as Error).name, (error as Error).message.split("\\n")[0]);
  console.log("hint:", (error as Error).message.split("\\n")[1] ?? "");
}
console.log("kept", added > 0);
`,
    );
    expect(out).toMatch(/full: StoreError the disk holding .* is full/);
    expect(out).toMatch(/hint: .*--resume/);
    expect(out).toContain("kept true");
    expect(status).toBe(0);
  });
});
