import { Command } from "commander";
import { z } from "zod";
import { compareRuns, formatComparison } from "../bench/compare.js";
import { runInUse } from "../bench/runner.js";
import type { RunRecord } from "../store/sqlite.js";
import { defaultDbPath, openStore } from "../store/sqlite.js";
import { parseFlags } from "./flags.js";

/** `--seed`, `--confidence` and `--resamples` of the comparisons (`compare`, `report --against`). */
export const comparisonFlagsSchema = z.object({
  seed: z.coerce
    .number()
    .int()
    .min(0)
    .max(2 ** 32 - 1)
    .default(0),
  confidence: z.coerce
    .number()
    .gt(0, "must be between 0 and 1")
    .lt(1, "must be between 0 and 1")
    .default(0.95),
  resamples: z.coerce.number().int().min(100).max(1_000_000).default(2000),
});

/** A run marked running whose process is gone was killed: shown as "interrupted", as `reckon runs` does. */
export const shownStatus = (run: RunRecord): string =>
  run.status === "running" && !runInUse(run) ? "interrupted" : run.status;

export function compareCommand(): Command {
  return new Command("compare")
    .description(
      "Compare two bench runs: per configuration both ran, accuracy B − A on the problems both answered, with a paired bootstrap CI.",
    )
    .argument("<runA>", "the baseline run (see `reckon runs`)")
    .argument("<runB>", "the run compared against it")
    .option("--db <file>", "SQLite database", defaultDbPath)
    .option("--json", "print the comparison as JSON")
    .option("--confidence <level>", "coverage of the intervals", "0.95")
    .option("--seed <seed>", "seed of the bootstrap resamples", "0")
    .option("--resamples <count>", "bootstrap resamples per configuration", "2000")
    .action((runA: string, runB: string, rawFlags: Record<string, unknown>) => {
      const { db, json, ...rest } = rawFlags as { db: string; json?: boolean };
      const flags = parseFlags(comparisonFlagsSchema, rest);
      const store = openStore(db, { create: false });
      try {
        const comparison = compareRuns(store, runA, runB, { ...flags, statusOf: shownStatus });
        if (json) {
          process.stdout.write(`${JSON.stringify(comparison, null, 2)}\n`);
          // In the JSON too, as `warnings`; on stderr so that a person running a script sees them.
          for (const warning of comparison.warnings) process.stderr.write(`reckon: warning: ${warning}\n`);
        } else process.stdout.write(formatComparison(comparison));
      } finally {
        store.close();
      }
    });
}
