/**
 * Ordinary mistakes a new user makes with the CLI (a typo in a flag, a wrong path, a filter that
 * matches nothing): each one exits 2 with a message naming what to fix, never a stack trace,
 * and never leaves something behind (an empty database, a run that never started).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadDataset } from "../../src/bench/datasets.js";
import { parseReplayRows, writeReplayRows } from "../../src/bench/replay-format.js";
import { makeMathReplayRows } from "../../tools/make-math-replay.js";
import { type CliRun, reckon } from "../support/cli.js";

const datasetPath = "../shared/datasets/math500-test.jsonl";
let dir: string;
let replayPath: string;
let db: string;
const runId = "run-1.a_b";

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "reckon-mistakes-"));
  replayPath = join(dir, "math500.jsonl");
  db = join(dir, "runs.sqlite");
  const problems = await loadDataset({ name: "math500", path: datasetPath, limit: 4 });
  writeFileSync(replayPath, writeReplayRows(makeMathReplayRows(problems, { samples: 4, seed: 4 })));
  const run = await reckon([...benchArgs(), "--run-id", runId, "--json"]);
  expect(run.code, run.stderr).toBe(0);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const benchArgs = () => [
  "bench",
  "--dataset",
  "math500",
  "--dataset-path",
  datasetPath,
  "--limit",
  "4",
  "--task",
  "math",
  "--backend",
  `replay:${replayPath}`,
  "--n",
  "1,2,4",
  "--db",
  db,
];

/** A refusal as a user should see it: exit 2, the message, and no stack trace. */
function expectRefusal(run: CliRun, message: RegExp): void {
  expect(run.code, run.stderr).toBe(2);
  expect(run.stderr).toMatch(message);
  expect(run.stderr).not.toMatch(/^\s+at /m);
  expect(run.stderr).not.toMatch(/unexpected error/);
}

describe("flags", () => {
  it("an unknown option or argument exits 2 on every command, as documented", async () => {
    const runs = await Promise.all(
      [
        ["ask", "Q: 1+2=?", "--bogus"],
        ["bench", "--bogus"],
        ["demo", "--bogus"],
        ["runs", "--bogus"],
        ["runs", "extra"],
        ["report", runId, "--bogus"],
        ["export", runId, "--bogus"],
        ["strategies", "--bogus"],
        ["grade", "--task", "math", "--bogus"],
      ].map((args) => reckon(args)),
    );
    for (const run of runs) expectRefusal(run, /error: (unknown option '--bogus'|too many arguments)/);
    const help = await reckon(["runs", "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("--db");
  });

  it("report refuses --json with --csv instead of picking one", async () => {
    expectRefusal(await reckon(["report", runId, "--db", db, "--json", "--csv"]), /--json, --csv/);
  });

  it("--run-id takes only plain characters, since it names files and folders", async () => {
    for (const bad of ["bad id/../x", ".hidden", "a/b", "x y"]) {
      const run = await reckon([...benchArgs(), "--run-id", bad, "--json"]);
      expectRefusal(run, /--run-id: use only letters, digits/);
    }
    const runs = JSON.parse((await reckon(["runs", "--db", db, "--json"])).stdout) as { runId: string }[];
    expect(runs.map((r) => r.runId)).toEqual([runId]);
  });
});

describe("dataset filters", () => {
  it("a subject or level that matches nothing is refused with the valid values, and no run is left", async () => {
    const subject = await reckon([...benchArgs(), "--subjects", "Algebr"]);
    expectRefusal(
      subject,
      /math500 has no subject "Algebr"[\s\S]*use one of: Algebra, Counting & Probability/,
    );
    // Nothing started, so nothing to resume.
    expect(subject.stderr).not.toMatch(/--resume/);
    const level = await reckon([...benchArgs(), "--levels", "9", "--json"]);
    expectRefusal(level, /math500 has no level "9"[\s\S]*use one of: 1, 2, 3, 4, 5/);
    const runs = JSON.parse((await reckon(["runs", "--db", db, "--json"])).stdout) as unknown[];
    expect(runs).toHaveLength(1);
  });
});

describe("databases", () => {
  it("runs, report and export say a database does not exist instead of creating an empty one", async () => {
    const missing = join(dir, "typo.sqlite");
    for (const args of [["runs"], ["report", runId], ["export", runId], ["bench", "--resume", runId]]) {
      const run = await reckon([...args, "--db", missing]);
      expectRefusal(run, /database .*typo\.sqlite does not exist/);
    }
    expect(existsSync(missing)).toBe(false);
  });

  it("names a file that is not a database and a folder given as --db", async () => {
    const notes = join(dir, "notes.txt");
    writeFileSync(notes, "not a database\n".repeat(200));
    expectRefusal(
      await reckon(["runs", "--db", notes]),
      /cannot open database .*notes\.txt: file is not a database/,
    );
    expectRefusal(await reckon(["runs", "--db", dir]), /is a folder, not a database/);
    expect(readFileSync(notes, "utf8")).toBe("not a database\n".repeat(200));
  });
});

describe("output paths", () => {
  it("report --out onto a file, or under one, is refused and the file left alone", async () => {
    const file = join(dir, "taken.txt");
    writeFileSync(file, "keep me");
    expectRefusal(
      await reckon(["report", runId, "--db", db, "--out", file]),
      /--out: cannot create the report folder/,
    );
    expectRefusal(
      await reckon(["report", runId, "--db", db, "--out", join(file, "report")]),
      /--out: cannot create the report folder/,
    );
    expect(readFileSync(file, "utf8")).toBe("keep me");
  });

  it("export --out creates a missing folder, as report does, and refuses a path under a file", async () => {
    const out = join(dir, "exports", "new", "run.jsonl");
    const run = await reckon(["export", runId, "--db", db, "--out", out]);
    expect(run.code, run.stderr).toBe(0);
    const rows = parseReplayRows(readFileSync(out, "utf8"), "run.jsonl");
    expect(rows).toHaveLength(4);
    expect(rows.every((row) => row.samples.length === 4)).toBe(true);

    const file = join(dir, "plain.txt");
    writeFileSync(file, "x");
    expectRefusal(
      await reckon(["export", runId, "--db", db, "--out", join(file, "run.jsonl")]),
      /--out: cannot write/,
    );
  });
});

describe("reckon grade input", () => {
  it("refuses a folder", async () => {
    const folder = join(dir, "answers");
    mkdirSync(folder, { recursive: true });
    expectRefusal(await reckon(["grade", "--task", "math", folder]), /answers is a folder/);
  });

  it("reads a file that starts with a UTF-8 byte order mark", async () => {
    const file = join(dir, "bom.jsonl");
    const rows = [
      { response: "So the answer is \\boxed{4}.", reference: "4" },
      { response: "The answer is 5.", reference: "4" },
    ];
    writeFileSync(file, `\uFEFF${rows.map((r) => JSON.stringify(r)).join("\r\n")}\r\n`);
    const run = await reckon(["grade", "--task", "math", file]);
    expect(run.code, run.stderr).toBe(0);
    const graded = run.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { correct: boolean });
    expect(graded.map((r) => r.correct)).toEqual([true, false]);
  });
});
