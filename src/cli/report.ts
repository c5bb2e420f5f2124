import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { Command } from "commander";
import { compareRuns, formatComparison } from "../bench/compare.js";
import { parseRecipe } from "../bench/recipe.js";
import { computeRunMetrics } from "../bench/result-metrics.js";
import { formatSummary, summarizeRun } from "../bench/summary.js";
import { InvalidInputError } from "../core/errors.js";
import { metricsToCsv, renderReport } from "../report/html.js";
import { defaultDbPath, type MetricRecord, openStore, type RunStore } from "../store/sqlite.js";
import { comparisonFlagsSchema, shownStatus } from "./compare.js";
import { parseFlags } from "./flags.js";

/**
 * The metric rows of a run: the stored ones once it completed, else computed from the results
 * stored so far (a run still going, or one that was interrupted).
 */
async function runMetrics(store: RunStore, runId: string): Promise<MetricRecord[]> {
  const run = store.getRun(runId);
  if (run.status === "completed") return store.getMetrics(runId);
  return computeRunMetrics(store, runId, parseRecipe(run.recipe, `run ${runId} recipe`));
}

interface ReportFlags {
  out?: string;
  json?: boolean;
  csv?: boolean;
  db: string;
  against?: string;
  seed: string;
  confidence: string;
}

export function reportCommand(): Command {
  return new Command("report")
    .description(
      "Accuracy against compute of a run: an HTML report with charts, or its numbers as JSON or CSV.",
    )
    .argument("<runId>", "the run (see `reckon runs`)")
    .option("-o, --out <dir>", "where to write the HTML report (default: reports/<runId>)")
    .option("--json", "print the run summary as JSON instead")
    .option("--csv", "print the metric rows as CSV instead")
    .option("--db <file>", "SQLite database", defaultDbPath)
    .option("--against <runId>", "add a comparison with this run (A) to the report: see `reckon compare`")
    .option("--seed <seed>", "seed of the comparison's bootstrap (with --against)", "0")
    .option("--confidence <level>", "coverage of the comparison's intervals (with --against)", "0.95")
    .action(async (runId: string, rawFlags: ReportFlags) => {
      const { seed, confidence, ...flags } = rawFlags;
      const comparing = parseFlags(comparisonFlagsSchema, { seed, confidence });
      if (flags.json && flags.csv)
        throw new InvalidInputError("--json, --csv", "choose one output format", "--json or --csv, not both");
      if (flags.csv && flags.against)
        throw new InvalidInputError(
          "--against",
          "the CSV holds this run's metrics only",
          "use --json or the HTML report",
        );
      const store = openStore(flags.db, { create: false });
      try {
        const run = store.getRun(runId);
        // First: an unknown or unrelated run is refused before any figure is computed.
        const against =
          flags.against === undefined
            ? undefined
            : compareRuns(store, flags.against, runId, { ...comparing, statusOf: shownStatus });
        const rows = await runMetrics(store, runId);
        const summary = summarizeRun(store, runId, rows);
        if (flags.json) {
          process.stdout.write(`${JSON.stringify(against ? { ...summary, against } : summary, null, 2)}\n`);
          return;
        }
        if (flags.csv) {
          process.stdout.write(metricsToCsv(rows));
          return;
        }
        const out = flags.out ?? join("reports", runId);
        try {
          mkdirSync(out, { recursive: true });
        } catch (error) {
          // An existing file, or a file on the way: the report is a folder of several files.
          throw new InvalidInputError(
            "--out",
            `cannot create the report folder ${out}: ${(error as Error).message}`,
            "--out names a folder (HTML, SVG charts, CSV and JSON go in it)",
          );
        }
        const recipe = run.recipe as { name?: string; dataset?: { name?: string }; model?: string };
        const files = await renderReport(
          {
            title: `${recipe.name ?? `Run ${runId}`}${run.status === "completed" ? "" : ` (${run.status}, partial)`}`,
            run: {
              id: runId,
              recipe: run.recipe as Record<string, unknown>,
              model: recipe.model ?? run.backend,
              dataset: recipe.dataset?.name,
              createdAt: run.createdAt,
              status: run.status,
              ...(run.error ? { error: run.error } : {}),
              samples: summary.samples,
            },
            metrics: rows,
            comparisons: summary.comparisons,
            ...(against ? { against } : {}),
          },
          out,
        );
        const comparison = against
          ? `\ncompared with run ${against.a.runId}:\n${formatComparison(against)}`
          : "";
        process.stdout.write(`${formatSummary(summary)}${comparison}report: ${files.html}\n`);
      } finally {
        store.close();
      }
    });
}
