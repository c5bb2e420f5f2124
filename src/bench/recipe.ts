/** A recipe fixes everything a benchmark run depends on, so one file reproduces it. */
import { readFile } from "node:fs/promises";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { InvalidInputError } from "../core/errors.js";
import { parseOrThrow } from "../core/validate.js";
import { taskNames } from "../tasks/registry.js";
import { datasetOptionsSchema } from "./datasets.js";

/** Strategies the bench evaluates from one shared sample pool, and the metric each one is. */
export const benchStrategies = {
  single: "maj@k",
  "self-consistency": "maj@k",
  "best-of-n": "rm@k",
  "weighted-majority": "wmaj@k",
} as const;
export type BenchStrategyName = keyof typeof benchStrategies;
const strategyNames = Object.keys(benchStrategies) as [BenchStrategyName, ...BenchStrategyName[]];
const needsScorer = (name: BenchStrategyName) => name === "best-of-n" || name === "weighted-majority";

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

const datasetSchema = z.discriminatedUnion("name", [fileDataset, arithmeticDataset]);

const strategyEntry = z.preprocess(
  (value) => (typeof value === "string" ? { name: value } : value),
  z
    .object({
      name: z.enum(strategyNames),
      /** Budgets for this strategy; default: the recipe's grid. */
      n: budgetGrid.optional(),
      /** Verifier whose scores best-of-n and weighted-majority use. */
      scorer: z.string().min(1).optional(),
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
    /** Model name on an OpenAI-compatible server. The API key comes from $OPENAI_API_KEY, never a recipe. */
    model: z.string().min(1).optional(),
    mode: z.enum(["chat", "completion"]).optional(),
    /** Prompt with a `{question}` placeholder; default: the task's own prompt. */
    template: z
      .string()
      .refine((t) => t.includes("{question}"), "must contain the {question} placeholder")
      .optional(),
    sampling: samplingSchema.prefault({}),
    strategies: z
      .array(strategyEntry)
      .nonempty()
      .default([{ name: "self-consistency" }]),
    /** Default scorer for the strategies that need one. */
    scorer: z.string().min(1).optional(),
    /** Budget grid: the pool per problem is its largest value, every smaller budget reuses it. */
    n: budgetGrid.default(defaultBudgets),
    seed: z.number().int().min(0).default(0),
    /** Problems in flight at once. */
    concurrency: z.number().int().min(1).max(256).default(2),
    /** Samples per backend call; each call's samples are stored together. */
    chunkSize: z.number().int().min(1).max(1024).default(8),
    metrics: z
      .object({
        bootstrapResamples: z.number().int().min(10).optional(),
        subsetDraws: z.number().int().min(1).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

const defaultTaskOf: Record<string, string> = {
  gsm8k: "gsm8k",
  math500: "math",
  aime24: "math",
  amc23: "math",
  humaneval: "code",
  arithmetic: "arithmetic",
};

export const recipeSchema = recipeShape
  .superRefine((recipe, ctx) => {
    const task = recipe.task ?? defaultTaskOf[recipe.dataset.name]!;
    if (!taskNames.includes(task))
      ctx.addIssue({
        code: "custom",
        path: ["task"],
        message: `unknown task "${task}" (one of: ${taskNames.join(", ")})`,
      });
    const scorers = new Set<string>();
    recipe.strategies.forEach((strategy, i) => {
      if (strategy.name === "single" && strategy.n && strategy.n.some((k) => k !== 1))
        ctx.addIssue({
          code: "custom",
          path: ["strategies", i, "n"],
          message: "single uses exactly one sample",
        });
      const scorer = strategy.scorer ?? recipe.scorer;
      if (needsScorer(strategy.name) && scorer === undefined)
        ctx.addIssue({
          code: "custom",
          path: ["strategies", i, "scorer"],
          message: `${strategy.name} needs a scorer (set scorer here or at the top level)`,
        });
      if (needsScorer(strategy.name) && scorer !== undefined) scorers.add(scorer);
    });
    if (scorers.size > 1)
      ctx.addIssue({
        code: "custom",
        path: ["scorer"],
        message: `one run scores its samples with one scorer; got ${[...scorers].join(", ")}`,
      });
  })
  .transform((recipe) => ({ ...recipe, task: recipe.task ?? defaultTaskOf[recipe.dataset.name]! }));

export type Recipe = z.output<typeof recipeSchema>;
export type RecipeInput = z.input<typeof recipeSchema>;

/** Validates a recipe object; errors name the field, e.g. `recipe.strategies[1].n`. */
export function parseRecipe(value: unknown, source = "recipe"): Recipe {
  return parseOrThrow(recipeSchema, value, source);
}

/** The raw object of a YAML or JSON recipe file (JSON is valid YAML). */
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
  return value as Record<string, unknown>;
}

export async function loadRecipe(path: string): Promise<Recipe> {
  return parseRecipe(await readRecipeFile(path));
}

/**
 * The scorer whose scores every sample gets stored with: the one the strategies name, else the
 * recipe's own (scores are kept for later analysis even when no strategy here uses them).
 */
export function recipeScorer(recipe: Recipe): string | undefined {
  for (const strategy of recipe.strategies)
    if (needsScorer(strategy.name) && (strategy.scorer ?? recipe.scorer))
      return strategy.scorer ?? recipe.scorer;
  return recipe.scorer;
}

/** Every budget the run reports: the grid, each strategy's own, and 1 for `single`. */
export function budgetsOf(recipe: Recipe): number[] {
  const all = new Set<number>(recipe.n);
  for (const strategy of recipe.strategies) {
    for (const k of strategy.n ?? []) all.add(k);
    if (strategy.name === "single") all.add(1);
  }
  return [...all].sort((a, b) => a - b);
}

/** Samples drawn per problem: the largest budget, since smaller ones are subsets of it. */
export const poolSize = (recipe: Recipe): number => Math.max(...budgetsOf(recipe));
