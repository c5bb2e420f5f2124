/**
 * Results reference the draws they were served instead of copying their text, in new runs and
 * in databases written before (upgraded in place), and read back exactly as they were stored.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import type { TraceEvent } from "../../src/core/trace.js";
import type { DrawRecord } from "../../src/store/draws.js";
import { migrations } from "../../src/store/migrations.js";
import type { ResultRecord } from "../../src/store/results.js";
import { migrate, openStore } from "../../src/store/sqlite.js";

const dir = mkdtempSync(join(tmpdir(), "reckon-results-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const longText = (i: number) =>
  `Step one of sample ${i}. ${"We reason at length. ".repeat(40)}The answer is ${i % 3}.`;
const usage = { promptTokens: 10, completionTokens: 5, calls: 1, latencyMs: 1, estimated: false };

function result(draws: { id?: number; text: string }[], problemId = "p1"): ResultRecord {
  const trace: TraceEvent[] = [
    { id: 0, kind: "call", tokens: 20, at: 1000, data: { n: draws.length } },
    ...draws.map(
      (d, i): TraceEvent => ({ id: i + 1, parent: 0, kind: "sample", text: d.text, tokens: 5, at: 1000 + i }),
    ),
    { id: 99, kind: "answer", text: "1", at: 2000 },
  ];
  return {
    problemId,
    config: "self-consistency n=3",
    strategy: "self-consistency",
    series: "self-consistency",
    budget: 3,
    options: { n: 3 },
    answer: "1",
    correct: true,
    stopReason: "completed",
    usage,
    candidates: draws.map((d, i) => ({
      text: d.text,
      answer: String(i % 3),
      ...(i === 1 ? { score: 0.5 } : {}),
      tokens: 5,
      finishReason: "eos" as const,
      ...(d.id === undefined ? {} : { draw: d.id }),
    })),
    trace,
  };
}

describe("results by reference", () => {
  it("stores a candidate that is a draw as its id, and reads its text, tokens and trace back", () => {
    const store = openStore(join(dir, "new.sqlite"));
    try {
      store.createRun({
        id: "r",
        recipe: {},
        seed: 0,
        problems: [{ problemId: "p1", position: 0, question: "q", prompt: "q", reference: "1" }],
      });
      const drawn = [0, 1, 2].map(
        (i): DrawRecord => ({
          problemId: "p1",
          digest: "d",
          index: i,
          completion: { text: longText(i), finishReason: "eos" as const, tokens: 5 },
          usage,
        }),
      );
      store.draws.add("r", drawn);
      expect(drawn.every((d) => typeof d.id === "number")).toBe(true);
      // Two candidates are draws; the third (say, a revision) is not, and keeps its text.
      const stored = result([
        { id: drawn[0]!.id, text: longText(0) },
        { id: drawn[1]!.id, text: longText(1) },
        { text: "a revised answer: 2" },
      ]);
      store.results.add("r", stored);

      const row = store.db.prepare("SELECT candidates, trace FROM results").get() as {
        candidates: string;
        trace: string;
      };
      // No draw's text is copied into the result row.
      for (const i of [0, 1]) expect(row.candidates + row.trace).not.toContain(longText(i));
      expect(row.candidates).toContain("a revised answer: 2");

      const [back] = store.getResults("r");
      expect(back).toEqual(stored);
      expect(store.results.candidateAnswers("r", "p1", "self-consistency n=3")).toEqual([
        { draw: drawn[0]!.id, answer: "0" },
        { draw: drawn[1]!.id, answer: "1", score: 0.5 },
        { answer: "2" },
      ]);
      expect(store.results.facts("r")).toMatchObject([{ problemId: "p1", correct: true, samples: 3 }]);
    } finally {
      store.close();
    }
  });

  it("upgrades a database whose results copied their draws' texts, keeping what they read as", () => {
    const path = join(dir, "v2.sqlite");
    const old = new Database(path);
    migrate(
      old,
      migrations.filter((m) => m.version <= 2),
    );
    old
      .prepare(
        "INSERT INTO runs (id, recipe, seed, status, created_at) VALUES ('r', '{}', 0, 'completed', 'x')",
      )
      .run();
    old
      .prepare(
        "INSERT INTO problems (run_id, problem_id, position, question, prompt, reference) VALUES ('r', 'p1', 0, 'q', 'q', '1')",
      )
      .run();
    const insertDraw = old.prepare(
      `INSERT INTO draws (run_id, problem_id, digest, sample_index, text, tokens, finish_reason, usage, created_at)
       VALUES ('r', 'p1', 'd', ?, ?, 5, 'eos', ?, 'x')`,
    );
    for (const i of [0, 1, 2]) insertDraw.run(i, longText(i), JSON.stringify(usage));
    // A version-2 result: every candidate and sample event holds the text itself.
    const legacy = result([{ text: longText(0) }, { text: longText(2) }, { text: "a revised answer: 2" }]);
    old
      .prepare(
        `INSERT INTO results (run_id, problem_id, config, strategy, series, budget, options, answer, correct,
           stop_reason, usage, candidates, trace, created_at)
         VALUES ('r', 'p1', ?, ?, ?, ?, ?, ?, 1, 'completed', ?, ?, ?, 'x')`,
      )
      .run(
        legacy.config,
        legacy.strategy,
        legacy.series,
        legacy.budget,
        JSON.stringify(legacy.options),
        legacy.answer,
        JSON.stringify(usage),
        JSON.stringify(legacy.candidates),
        JSON.stringify(legacy.trace),
      );
    const sizeBefore = (
      old.prepare("SELECT length(candidates) + length(trace) AS n FROM results").get() as { n: number }
    ).n;
    old.close();

    const store = openStore(path);
    try {
      expect(store.schemaVersion()).toBeGreaterThanOrEqual(3);
      const row = store.db.prepare("SELECT candidates, trace FROM results").get() as {
        candidates: string;
        trace: string;
      };
      expect(row.candidates + row.trace).not.toContain(longText(0));
      expect(row.candidates.length + row.trace.length).toBeLessThan(sizeBefore / 4);
      const [back] = store.getResults("r");
      // The same result, now naming the draws it is.
      expect(back!.candidates.map(({ draw: _draw, ...c }) => c)).toEqual(legacy.candidates);
      expect(back!.candidates.map((c) => c.draw === undefined)).toEqual([false, false, true]);
      expect(back!.trace).toEqual(legacy.trace);
      expect(store.draws.count("r")).toBe(3);
    } finally {
      store.close();
    }
  });
});
