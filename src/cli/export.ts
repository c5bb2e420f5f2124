import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { Command } from "commander";
import { type ReplayRow, writeReplayRows } from "../bench/replay-format.js";
import { InvalidInputError } from "../core/errors.js";
import { defaultDbPath, openStore, type RunStore, type SampleRecord } from "../store/sqlite.js";

/** A run's samples as replay rows: `--backend replay:FILE` serves them back in the same order. */
export function runToReplayRows(store: RunStore, runId: string): ReplayRow[] {
  store.getRun(runId);
  const byProblem = new Map<string, SampleRecord[]>();
  for (const s of store.getSamples(runId))
    byProblem.set(s.problemId, [...(byProblem.get(s.problemId) ?? []), s]);
  return store.getProblems(runId).map((p) => ({
    id: p.problemId,
    prompt: p.prompt,
    reference: p.reference,
    samples: (byProblem.get(p.problemId) ?? []).map((s) => ({
      text: s.text,
      ...(s.score === undefined ? {} : { reward: s.score }),
      tokens: s.tokens,
      finish_reason: s.finishReason,
    })),
    meta: { question: p.question, level: p.level, subject: p.subject },
  }));
}

export function exportCommand(): Command {
  return new Command("export")
    .description("Write a run's samples as replay JSONL, to re-score or re-vote them offline.")
    .argument("<runId>", "the run (see `reckon runs`)")
    .option("-o, --out <file>", "output file (default: stdout)")
    .option("--db <file>", "SQLite database", defaultDbPath)
    .action((runId: string, flags: { out?: string; db: string }) => {
      const store = openStore(flags.db, { create: false });
      try {
        const text = writeReplayRows(runToReplayRows(store, runId));
        if (flags.out) writeOut(flags.out, text);
        else process.stdout.write(text);
      } finally {
        store.close();
      }
    });
}

/** Writes the file, creating its folder as `reckon report` does; mistakes name `--out`. */
function writeOut(path: string, text: string): void {
  try {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
  } catch (error) {
    throw new InvalidInputError("--out", `cannot write ${path}: ${(error as Error).message}`);
  }
}
