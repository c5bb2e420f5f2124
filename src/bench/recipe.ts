/** A recipe fixes everything a benchmark run depends on, so one file reproduces it. */
import { readFile } from "node:fs/promises";
import { dirname, isAbsolute, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { budgetSchema } from "../core/budget.js";
import { InvalidInputError } from "../core/errors.js";
import { parseOrThrow } from "../core/validate.js";
import { acceptsOption, defaultStrategies, sampleBudgetOption } from "../strategies/registry.js";
import type { StrategyLookup } from "../strategies/strategy.js";
import { taskNames } from "../tasks/registry.js";
import { datasetOptionsSchema } from "./datasets.js";

export const defaultBudgets = [1, 2, 4, 8, 16];

const budgetGrid = z
  .array(z.number().int().min(1).max(1024))
  .nonempty()
  .transform((grid) => [...new Set(grid)].sort((a, b) => a - b));

/** A dataset read from a file; unknown keys are refused so that typos do not go unnoticed. */
const fileDataset = datasetOptionsSchema.strict();

const arithmeticDataset = z
  .object({
    name: z.literal("arithmetic"),
    levels: z.array(z.number().int().min(1)).nonempty().default([1, 2, 3, 4, 5]),
    perLevel: z.number().int().positive().default(20),
    seed: z.number().int().default(0),
  })
  .strict();

/** The problems of a replay file (its prompts and references), as recorded. */
const replayDataset = z
  .object({
    name: z.literal("replay"),
    path: z.string().min(1),
    limit: z.number().int().positive().optional(),
  })
  .strict();

const datasetSchema = z.discriminatedUnion("name", [fileDataset, arithmeticDataset, replayDataset]);

const gridValue = z.union([z.number(), z.string(), z.boolean()]);

/**
 * One strategy of the run: a registered name, fixed options (validated by that strategy's own
 * schema), and a grid of option values to sweep, each point one configuration.
 */
const strategyEntry = z.preprocess(
  (value) => (typeof value === "string" ? { name: value } : value),
  z
    .object({
      name: z.string().min(1),
      /** Names the chart line and its configurations (default: the strategy name). */
      label: z.string().min(1).optional(),
      options: z.record(z.string(), z.unknown()).default({}),
      /** Option values to sweep, e.g. `{n: [1, 2, 4, 8]}`; default: `n` over the recipe's grid. */
      grid: z.record(z.string(), z.array(gridValue).nonempty()).optional(),
      /** Verifier of this strategy; default: the recipe's. */
      verifier: z.string().min(1).optional(),
      /** Limits per problem (tokens, calls, wall time). */
      budget: budgetSchema.optional(),
    })
    .strict(),
);

const samplingSchema = z
  .object({
    temperature: z.number().min(0).max(5).default(0.8),
    top_p: z.number().gt(0).max(1).optional(),
    top_k: z.number().int().positive().optional(),
    max_tokens: z.number().int().positive().default(512),
    stop: z.array(z.string().min(1)).optional(),
  })
  .strict();

const recipeShape = z
  .object({
    /** Title of the run in reports. */
    name: z.string().min(1).optional(),
    dataset: datasetSchema,
    /** How answers are read and judged; default: the dataset's own task. */
    task: z.string().optional(),
    /** `openai:URL`, `llamacpp:PATH`, `replay:FILE`; absent: the bundled model. */
    backend: z.string().min(1).optional(),
    /** Model name on an OpenAI-compatible server. */
    model: z.string().min(1).optional(),
    mode: z.enum(["chat", "completion"]).optional(),
    /** Prompt template with `{question}`; default: the task's own prompt. */
    template: z
      .string()
      .refine((t) => t.includes("{question}"), "must contain {question}")
      .optional(),
    sampling: samplingSchema.default(samplingSchema.parse({})),
    strategies: z
      .array(strategyEntry)
      .nonempty()
      .default([{ name: "self-consistency", options: {} }]),
    /** Default verifier for the strategies that need one. */
    verifier: z.string().min(1).optional(),
    /**
     * Grid of sample budgets for the strategies that take one (`n`, or an adaptive strategy's
     * cap); default `defaultBudgets`.
     */
    n: budgetGrid.optional(),
    seed: z.number().int().min(0).default(0),
    /** Problems in flight at once. */
    concurrency: z.number().int().min(1).max(256).default(2),
    metrics: z
      .object({ bootstrapResamples: z.number().int().min(10).optional() })
      .strict()
      .optional(),
  })
  .strict();

const defaultTaskOf: Record<string, string | undefined> = {
  gsm8k: "gsm8k",
  math500: "math",
  aime24: "math",
  amc23: "math",
  humaneval: "code",
  arithmetic: "arithmetic",
};

/** One point of a strategy's grid: what the bench runs with `run()` for every problem. */
export interface BenchConfig {
  /** Unique within the run, e.g. "self-consistency n=8". */
  config: string;
  /** The chart line, e.g. "self-consistency". */
  series: string;
  strategy: string;
  options: Record<string, unknown>;
  /** The value of the first swept option (e.g. n), or 1 when nothing is swept. */
  budget: number;
  verifier?: string;
  limits?: z.infer<typeof budgetSchema>;
}

type Entry = z.output<typeof strategyEntry>;

function gridOf(
  entry: Entry,
  defaultN: number[],
  strategies: StrategyLookup,
): Record<string, (string | number | boolean)[]> {
  if (entry.grid) return entry.grid;
  const budget = sampleBudgetOption(strategies.get(entry.name));
  if (budget !== undefined && entry.options[budget] === undefined) return { [budget]: defaultN };
  return {};
}

function expandEntry(
  entry: Entry,
  recipe: { n?: number[]; verifier?: string },
  strategies: StrategyLookup,
): BenchConfig[] {
  const grid = Object.entries(gridOf(entry, recipe.n ?? defaultBudgets, strategies));
  const budgetOption = sampleBudgetOption(strategies.get(entry.name));
  let points: Record<string, unknown>[] = [{}];
  for (const [key, values] of grid) points = points.flatMap((p) => values.map((v) => ({ ...p, [key]: v })));
  const series = entry.label ?? entry.name;
  return points.map((point) => {
    // The budget column: the swept value, else the sample budget the entry fixed, else one call.
    const fixed = budgetOption === undefined ? undefined : entry.options[budgetOption];
    const first = grid[0] ? point[grid[0][0]] : fixed;
    const suffix = grid.map(([key]) => ` ${key}=${String(point[key])}`).join("");
    return {
      config: `${series}${suffix}`,
      series,
      strategy: entry.name,
      options: { ...entry.options, ...point },
      budget: typeof first === "number" ? first : 1,
      ...((entry.verifier ?? recipe.verifier) ? { verifier: entry.verifier ?? recipe.verifier } : {}),
      ...(entry.budget ? { limits: entry.budget } : {}),
    };
  });
}

/** The recipe schema over a registry: strategy names and options are checked against it. */
export const recipeSchemaFor = (strategies: StrategyLookup) =>
  recipeShape
    .superRefine((recipe, ctx) => {
      const task = recipe.task ?? defaultTaskOf[recipe.dataset.name];
      if (task === undefined)
        ctx.addIssue({
          code: "custom",
          path: ["task"],
          message: "a replay file needs --task (math, gsm8k, …)",
        });
      else if (!taskNames.includes(task))
        ctx.addIssue({
          code: "custom",
          path: ["task"],
          message: `unknown task "${task}" (one of: ${taskNames.join(", ")})`,
        });
      const configs = new Set<string>();
      recipe.strategies.forEach((entry, i) => {
        if (!strategies.has(entry.name)) {
          ctx.addIssue({
            code: "custom",
            path: ["strategies", i, "name"],
            message: `unknown strategy "${entry.name}" (one of: ${strategies
              .list()
              .map((s) => s.name)
              .join(", ")})`,
          });
          return;
        }
        const known = strategies.get(entry.name);
        for (const key of Object.keys(entry.grid ?? {}))
          if (!acceptsOption(known, key))
            ctx.addIssue({
              code: "custom",
              path: ["strategies", i, "grid", key],
              message: `${entry.name} has no option "${key}"`,
            });
        if (known.needsVerifier && (entry.verifier ?? recipe.verifier) === undefined)
          ctx.addIssue({
            code: "custom",
            path: ["strategies", i, "verifier"],
            message: `${entry.name} needs a verifier (set verifier here or at the top level)`,
          });
        for (const config of expandEntry(entry, recipe, strategies)) {
          const parsed = known.options.safeParse(config.options);
          if (!parsed.success)
            for (const issue of parsed.error.issues)
              ctx.addIssue({
                code: "custom",
                path: [
                  "strategies",
                  i,
                  "options",
                  ...issue.path.map((p) => (typeof p === "symbol" ? String(p) : p)),
                ],
                message: issue.message,
              });
          if (configs.has(config.config))
            ctx.addIssue({
              code: "custom",
              path: ["strategies", i, "label"],
              message: `configuration "${config.config}" appears twice: give one entry a label`,
            });
          configs.add(config.config);
        }
      });
    })
    .transform((recipe) => ({ ...recipe, task: recipe.task ?? defaultTaskOf[recipe.dataset.name]! }));

export type Recipe = z.output<ReturnType<typeof recipeSchemaFor>>;
export type RecipeInput = z.input<ReturnType<typeof recipeSchemaFor>>;

/**
 * Validates a recipe object against a strategy registry (the default one unless given); errors
 * name the field, e.g. `recipe.strategies[1].options.n`.
 */
export function parseRecipe(
  value: unknown,
  source = "recipe",
  strategies: StrategyLookup = defaultStrategies,
): Recipe {
  return parseOrThrow(recipeSchemaFor(strategies), value, source);
}

/**
 * Refuses a budget grid that no strategy of a new run takes (e.g. `--n 4,16` with `single` and
 * `self-refine` alone), which would otherwise be ignored without a word.
 */
export function refuseIdleBudgets(recipe: Recipe, strategies: StrategyLookup = defaultStrategies): void {
  if (recipe.n === undefined) return;
  if (recipe.strategies.some((entry) => sampleBudgetOption(strategies.get(entry.name)) !== undefined)) return;
  throw new InvalidInputError(
    "recipe.n",
    `no strategy here takes a sample budget (${recipe.strategies.map((e) => e.name).join(", ")}), so it would change nothing`,
    "drop the budgets (--n), or set the strategies' own options in a recipe file",
  );
}

/** Every configuration the run evaluates, in recipe order. */
export function benchConfigs(recipe: Recipe, strategies: StrategyLookup = defaultStrategies): BenchConfig[] {
  return recipe.strategies.flatMap((entry) => expandEntry(entry, recipe, strategies));
}

/**
 * The raw object of a YAML or JSON recipe file (JSON is valid YAML). Relative file paths in it
 * (the dataset, a replay or GGUF backend) are taken from the recipe's folder, not the shell's.
 */
export async function readRecipeFile(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new InvalidInputError("recipe", `cannot read ${path}: ${(error as Error).message}`);
  }
  let value: unknown;
  try {
    value = parseYaml(text);
  } catch (error) {
    throw new InvalidInputError("recipe", `${path} is not valid YAML: ${(error as Error).message}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw new InvalidInputError("recipe", `${path} must hold a mapping of settings`);
  return resolveRecipePaths(value as Record<string, unknown>, dirname(path));
}

function resolveRecipePaths(recipe: Record<string, unknown>, folder: string): Record<string, unknown> {
  const fromFolder = (file: string) => (isAbsolute(file) ? file : resolve(folder, file));
  const out = { ...recipe };
  const dataset = recipe.dataset as Record<string, unknown> | undefined;
  if (dataset && typeof dataset.path === "string")
    out.dataset = { ...dataset, path: fromFolder(dataset.path) };
  if (typeof recipe.backend === "string") {
    const match = /^(replay|llamacpp):(.+)$/.exec(recipe.backend);
    if (match) out.backend = `${match[1]}:${fromFolder(match[2]!)}`;
  }
  return out;
}

export async function loadRecipe(path: string): Promise<Recipe> {
  return parseRecipe(await readRecipeFile(path));
}
