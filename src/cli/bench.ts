import { Command } from "commander";
import { parseRecipe, type Recipe, readRecipeFile } from "../bench/recipe.js";
import { newRunId } from "../bench/runner.js";
import { formatSummary } from "../bench/summary.js";
import { InvalidInputError } from "../core/errors.js";
import { defaultDbPath, openStore } from "../store/sqlite.js";
import { type BenchFlags, benchFlagsSchema, recipeFlags, recipeFromFlags } from "./bench-flags.js";
import { executeBench } from "./bench-session.js";
import { fetchBenchDataset } from "./datasets.js";
import { apiKeyFromEnv, parseFlags, retriesOption, timeoutOption } from "./flags.js";
import { pathsCreatedBy, removeCreated } from "./new-database.js";

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function benchCommand(): Command {
  return new Command("bench")
    .description(
      "Measure accuracy against compute: run every strategy at every budget on every problem, sharing and storing each sample drawn.",
    )
    .argument("[recipe]", "YAML or JSON recipe file (flags override its settings)")
    .option("--dataset <name>", "gsm8k, math500, aime24, amc23, humaneval or arithmetic")
    .option(
      "--dataset-path <file>",
      "any JSONL file of problems (default: the named dataset, fetched on first use; see `reckon datasets`)",
    )
    .option("--fields <map>", "the dataset's fields in the file, e.g. prompt=question,answer=final")
    .option("--limit <count>", "use this many problems (shuffled first when --dataset-seed is set)")
    .option("--levels <list>", "only these difficulty levels, e.g. 1,2,3")
    .option("--subjects <list>", "only these subjects (MATH)")
    .option("--per-level <count>", "arithmetic problems per level")
    .option("--dataset-seed <int>", "shuffle (or generate) the dataset with this seed")
    .option("--task <name>", "how answers are read and judged (default: the dataset's)")
    .option("--template <text>", "prompt template with {question}")
    .option("--backend <spec>", "openai:URL, llamacpp:PATH or replay:FILE (default: the bundled model)")
    .option("--model <name>", "model name on an OpenAI-compatible server")
    .option(
      "--api-key-env <name>",
      "read the server's API key from this environment variable (default: $OPENAI_API_KEY)",
    )
    .option("--mode <mode>", "chat or completion (openai backend)")
    .option("-s, --strategy <list>", "registered strategies (see `reckon strategies`), comma-separated")
    .option(
      "--options <json>",
      "options of the one strategy, as JSON, e.g. '{\"batchSize\": 4}' (see `reckon strategies`)",
    )
    .option("-n, --n <list>", "budget grid, e.g. 1,2,4,8,16")
    .option("--verifier <name>", "verifier for best-of-n and weighted-majority (e.g. reward)")
    .option("-t, --temperature <t>", "sampling temperature")
    .option("--top-p <p>", "nucleus sampling")
    .option("--max-tokens <count>", "tokens per sample")
    .option("--stop <text>", "stop sequence (repeatable)", collect)
    .option("--seed <int>", "run seed: the same seed draws the same samples")
    .option("--concurrency <count>", "problems in flight")
    .option("--name <title>", "title of the run in reports")
    .option("--db <file>", "SQLite database", defaultDbPath)
    .option("--resume <runId>", "continue an interrupted run (only --backend may change where it is served)")
    .option("--run-id <id>", "id for a new run (default: time plus random suffix)")
    .option("--json", "print one JSON summary on stdout")
    .option("-q, --quiet", "no progress output")
    .addOption(timeoutOption())
    .addOption(retriesOption())
    .action(async (recipePath: string | undefined, rawFlags: Record<string, unknown>) => {
      const flags = parseFlags(benchFlagsSchema, rawFlags);
      // Read before anything is created; kept out of the recipe, so never stored.
      const apiKey = apiKeyFromEnv(flags.apiKeyEnv);
      // Only a new run may create the database; resuming names a run that must be in it. A
      // database created here that holds no run in the end (the run was refused) is removed.
      const created = flags.resume === undefined ? pathsCreatedBy(flags.db) : [];
      const store = openStore(flags.db, { create: flags.resume === undefined });
      try {
        const { recipe, runId } = await planRun(recipePath, flags, store);
        if (flags.resume === undefined)
          await fetchBenchDataset(recipe.dataset, { quiet: flags.json || flags.quiet });
        const summary = await executeBench({
          store,
          dbPath: flags.db,
          recipe,
          runId,
          resume: flags.resume !== undefined,
          backend: flags.backend,
          apiKey,
          json: flags.json,
          quiet: flags.quiet,
          timeout: flags.timeout,
          retries: flags.retries,
        });
        process.stdout.write(flags.json ? `${JSON.stringify(summary, null, 2)}\n` : formatSummary(summary));
      } finally {
        const unused = created.length > 0 && store.listRuns().length === 0;
        store.close();
        if (unused) removeCreated(created);
      }
    });
}

async function planRun(
  recipePath: string | undefined,
  flags: BenchFlags,
  store: ReturnType<typeof openStore>,
): Promise<{ recipe: Recipe; runId: string }> {
  if (flags.resume) {
    const changed = recipeFlags.find((key) => flags[key] !== undefined);
    if (recipePath !== undefined || changed !== undefined)
      throw new InvalidInputError(
        changed ? `--${changed.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}` : "recipe",
        "a resumed run keeps the recipe it started with",
        "drop it, or start a new run",
      );
    const run = store.getRun(flags.resume);
    return { recipe: parseRecipe(run.recipe, `run ${run.id} recipe`), runId: run.id };
  }
  const base = recipePath === undefined ? {} : await readRecipeFile(recipePath);
  const raw = recipeFromFlags(flags, base);
  // A replay file holds every prompt and reference: it is a benchmark by itself.
  const replay = typeof raw.backend === "string" ? /^replay:(.+)$/.exec(raw.backend)?.[1] : undefined;
  const dataset = raw.dataset as Record<string, unknown> | undefined;
  if (replay !== undefined && dataset?.name === undefined)
    raw.dataset = { ...dataset, name: "replay", path: replay };
  if (raw.dataset === undefined)
    throw new InvalidInputError(
      "dataset",
      "no dataset given",
      "pass a recipe file, --dataset NAME, or --backend replay:FILE (its prompts and references)",
    );
  const runId = flags.runId ?? newRunId();
  if (store.findRun(runId)) throw new InvalidInputError("--run-id", `run ${runId} already exists`);
  return { recipe: parseRecipe(raw), runId };
}
