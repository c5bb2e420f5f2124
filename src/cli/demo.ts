import { Command } from "commander";
import { z } from "zod";
import type { RecipeInput } from "../bench/recipe.js";
import { parseRecipe } from "../bench/recipe.js";
import { newRunId } from "../bench/runner.js";
import { type BudgetResult, oracleLegend, type RunSummary } from "../bench/summary.js";
import { defaultDbPath, openStore } from "../store/sqlite.js";
import { executeBench } from "./bench-session.js";
import { parseFlags } from "./flags.js";

const listOfInts = z
  .string()
  .transform((text) => text.split(",").map((part) => Number(part.trim())))
  .pipe(z.array(z.number().int().min(1)).nonempty());

const demoFlagsSchema = z.object({
  levels: listOfInts,
  perLevel: z.coerce.number().int().min(1).max(1000),
  n: listOfInts,
  seed: z.coerce.number().int().min(0),
  temperature: z.coerce.number().min(0).max(5),
  verifier: z.string().min(1),
  model: z.string().min(1).optional(),
  db: z.string().min(1),
  json: z.boolean().optional(),
  quiet: z.boolean().optional(),
});

/**
 * The out-of-the-box tour: the bundled model on seeded arithmetic problems of every level,
 * each strategy at each budget, from one stored pool of samples per problem.
 */
export function demoCommand(): Command {
  return new Command("demo")
    .description("Run the bundled model on arithmetic problems with several strategies and budgets, offline.")
    .option("--levels <list>", "difficulty levels", "1,2,3,4,5")
    .option("--per-level <count>", "problems per level", "40")
    .option("-n, --n <list>", "budget grid (samples per problem)", "1,2,4,8,16")
    .option("--seed <int>", "problems and samples are reproducible from this seed", "0")
    .option("-t, --temperature <t>", "sampling temperature", "1.0")
    .option(
      "--verifier <name>",
      "verifier of best-of-n and weighted-majority (step-checker[:NOISE])",
      "step-checker",
    )
    .option("--model <path>", "another GGUF trained on the same task (default: models/reckon-tiny.gguf)")
    .option("--db <file>", "SQLite database the samples are stored in", defaultDbPath)
    .option("--json", "print the run summary as JSON")
    .option("-q, --quiet", "no progress bar")
    .action(async (rawFlags: Record<string, unknown>) => {
      const flags = parseFlags(demoFlagsSchema, rawFlags);
      const recipe = parseRecipe({
        name: "demo: arithmetic on the bundled model",
        dataset: { name: "arithmetic", levels: flags.levels, perLevel: flags.perLevel, seed: flags.seed },
        backend: flags.model === undefined ? undefined : `llamacpp:${flags.model}`,
        sampling: { temperature: flags.temperature, max_tokens: 128 },
        strategies: ["single", "self-consistency", "best-of-n", "weighted-majority"],
        verifier: flags.verifier,
        n: flags.n,
        seed: flags.seed,
        concurrency: 2,
      } satisfies RecipeInput);
      const store = openStore(flags.db);
      try {
        const runId = newRunId();
        const summary = await executeBench({
          store,
          dbPath: flags.db,
          recipe,
          runId,
          resume: false,
          ...flags,
        });
        process.stdout.write(
          flags.json ? `${JSON.stringify(summary, null, 2)}\n` : formatDemo(summary, flags.db),
        );
      } finally {
        store.close();
      }
    });
}

const percent = (x: number) => `${(100 * x).toFixed(1)}%`;

/** Accuracy and generated tokens per strategy and budget, then the largest budget by level. */
export function formatDemo(summary: RunSummary, dbPath: string): string {
  // The oracle (any sample right) is the ceiling the others approach: list it last.
  const names = Object.keys(summary.strategies).sort(
    (a, b) => Number(a === "oracle") - Number(b === "oracle"),
  );
  const budgets = [...new Set(names.flatMap((s) => summary.strategies[s]!.map((r) => r.n)))].sort(
    (a, b) => a - b,
  );
  const at = (rows: BudgetResult[] | undefined, n: number) => rows?.find((r) => r.n === n);
  const width = Math.max(...names.map((s) => s.length), "strategy".length);
  const cell = 22;
  const lines = [
    `${summary.problems} problems, ${summary.samples} samples, ${summary.completionTokens} generated tokens (${summary.backend ?? "bundled model"})`,
    "",
    "accuracy (tokens per problem actually spent: generated / total with prompts) by budget n",
    `${"strategy".padEnd(width)}  ${budgets.map((n) => `n=${n}`.padEnd(cell)).join("")}`.trimEnd(),
  ];
  for (const name of names) {
    const cells = budgets.map((n) => {
      const r = at(summary.strategies[name], n);
      const total = Math.round(r?.meanTotalTokens ?? r?.meanTokens ?? 0);
      return (r ? `${percent(r.accuracy)} (${Math.round(r.meanTokens)}/${total})` : "").padEnd(cell);
    });
    lines.push(`${name.padEnd(width)}  ${cells.join("")}`.trimEnd());
  }
  if (names.includes("oracle")) lines.push(oracleLegend);
  const levels = Object.keys(summary.byLevel).sort((a, b) => Number(a) - Number(b));
  if (levels.length > 0) {
    const top = budgets[budgets.length - 1]!;
    lines.push(
      "",
      `by level, at n=${top} (single at n=1)`,
      `${"level".padEnd(6)}${names.map((s) => s.padEnd(cell)).join("")}`.trimEnd(),
    );
    for (const level of levels) {
      const cells = names.map((name) => {
        const r = at(summary.byLevel[level]![name], name === "single" ? 1 : top);
        return (r ? percent(r.accuracy) : "").padEnd(cell);
      });
      lines.push(`${level.padEnd(6)}${cells.join("")}`.trimEnd());
    }
  }
  const db = dbPath === defaultDbPath ? "" : ` --db ${dbPath}`;
  lines.push("", `charts: reckon report ${summary.runId}${db} --out reports/${summary.runId}`);
  return `${lines.join("\n")}\n`;
}
