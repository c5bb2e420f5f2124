import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { Command } from "commander";
import { wholeSampleDigest } from "../bench/problem-set.js";
import { parseRecipe } from "../bench/recipe.js";
import { type ReplayRow, writeReplayRows } from "../bench/replay-format.js";
import { InvalidInputError } from "../core/errors.js";
import { defaultDbPath, openStore, type RunStore } from "../store/sqlite.js";

/**
 * A run's samples as replay rows: each problem's main pool of draws in index order (what
 * `--backend replay:FILE` serves back), with the verifier score a strategy gave each sample and
 * a reasoning model's thinking.
 */
export function runToReplayRows(store: RunStore, runId: string): ReplayRow[] {
  const recipe = parseRecipe(store.getRun(runId).recipe, `run ${runId} recipe`);
  return store.getProblems(runId).map((p) => {
    const scores = new Map<string, number>();
    for (const r of store.getResults(runId, { problemId: p.problemId }))
      for (const c of r.candidates)
        if (c.score !== undefined && !scores.has(c.text)) scores.set(c.text, c.score);
    return {
      id: p.problemId,
      prompt: p.prompt,
      reference: p.reference,
      samples: store.draws.ofRequest(runId, p.problemId, wholeSampleDigest(recipe, p)).map((d) => ({
        text: d.completion.text,
        ...(scores.has(d.completion.text) ? { reward: scores.get(d.completion.text)! } : {}),
        tokens: d.completion.tokens,
        ...(d.completion.reasoning === undefined ? {} : { reasoning: d.completion.reasoning }),
        ...(d.completion.reasoningTokens === undefined
          ? {}
          : { reasoning_tokens: d.completion.reasoningTokens }),
        finish_reason: d.completion.finishReason,
      })),
      meta: { ...p.meta, question: p.question, level: p.level, subject: p.subject },
    };
  });
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
