import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { migrations } from "../../src/store/migrations.js";
import { openStore, type SampleRecord, StoreError } from "../../src/store/sqlite.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "reckon-store-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const sample = (index: number, extra: Partial<SampleRecord> = {}): SampleRecord => ({
  problemId: "p1",
  index,
  text: `answer ${index}`,
  tokens: 10 + index,
  latencyMs: 5.5,
  finishReason: "eos",
  answer: String(index % 2),
  answerKey: String(index % 2),
  correct: index % 2 === 0,
  ...extra,
});

describe("RunStore", () => {
  it("round-trips a run, its problems, samples and metrics through a file on disk", () => {
    const path = join(dir, "nested", "db.sqlite");
    const store = openStore(path);
    const recipe = { dataset: { name: "math500" }, seed: 3 };
    store.createRun({ id: "r1", recipe, seed: 3, backend: "replay:x" });
    store.addProblems("r1", [
      {
        problemId: "p1",
        position: 0,
        question: "1+1?",
        prompt: "Q: 1+1?",
        reference: "2",
        level: 2,
        subject: "Algebra",
      },
      { problemId: "p2", position: 1, question: "2+2?", prompt: "Q: 2+2?", reference: "4" },
    ]);
    store.addSamples("r1", [sample(0), sample(1, { answer: undefined, answerKey: undefined, score: 0.25 })]);
    store.addSamples("r1", [sample(0, { problemId: "p2" })]);
    store.replaceMetrics("r1", [
      {
        strategy: "self-consistency",
        metric: "maj@k",
        k: 2,
        value: 0.5,
        ciLow: 0,
        ciHigh: 1,
        meanTokens: 21,
        problems: 2,
      },
      {
        strategy: "self-consistency",
        metric: "maj@k",
        k: 2,
        level: 2,
        value: 1,
        ciLow: 1,
        ciHigh: 1,
        meanTokens: 21,
        problems: 1,
      },
    ]);
    store.setRunStatus("r1", "completed");
    store.close();

    const reopened = openStore(path);
    const run = reopened.getRun("r1");
    expect(run).toMatchObject({ id: "r1", recipe, seed: 3, status: "completed", backend: "replay:x" });
    expect(run.finishedAt).toBeDefined();
    expect(reopened.getProblems("r1").map((p) => [p.problemId, p.level, p.subject])).toEqual([
      ["p1", 2, "Algebra"],
      ["p2", undefined, undefined],
    ]);
    expect(reopened.getSamples("r1", "p1")).toEqual([
      sample(0),
      sample(1, { answer: undefined, answerKey: undefined, score: 0.25 }),
    ]);
    expect(reopened.getSamples("r1").map((s) => [s.problemId, s.index])).toEqual([
      ["p1", 0],
      ["p1", 1],
      ["p2", 0],
    ]);
    expect(reopened.countSamples("r1")).toBe(3);
    expect(reopened.getMetrics("r1").map((m) => m.level)).toEqual([undefined, 2]);
    expect(reopened.db.pragma("journal_mode", { simple: true })).toBe("wal");
    expect(reopened.schemaVersion()).toBe(migrations.at(-1)!.version);
    reopened.close();
  });

  it("refuses a second sample with the same index and keeps the first", () => {
    const store = openStore(join(dir, "db.sqlite"));
    store.createRun({ id: "r1", recipe: {}, seed: 0 });
    store.addProblems("r1", [{ problemId: "p1", position: 0, question: "q", prompt: "q", reference: "1" }]);
    store.addSamples("r1", [sample(0)]);
    // The whole response is rejected: sample 1 must not land without sample 0.
    expect(() => store.addSamples("r1", [sample(1), sample(0, { text: "other" })])).toThrow(/UNIQUE/);
    expect(store.getSamples("r1").map((s) => s.text)).toEqual(["answer 0"]);
    store.close();
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
