import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { loadProblemSet } from "../../src/bench/problem-set.js";
import {
  benchConfigs,
  loadRecipe,
  parseRecipe,
  readRecipeFile,
  refuseIdleBudgets,
} from "../../src/bench/recipe.js";
import { recipeFromFlags } from "../../src/cli/bench-flags.js";
import { InvalidInputError } from "../../src/core/errors.js";
import { createStrategyRegistry } from "../../src/strategies/registry.js";
import type { StrategyLookup } from "../../src/strategies/strategy.js";
import { defineStrategy } from "../../src/strategies/strategy.js";

const dir = mkdtempSync(join(tmpdir(), "reckon-recipe-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function fieldOf(value: unknown, strategies?: StrategyLookup): string {
  try {
    parseRecipe(value, "recipe", strategies);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidInputError);
    return (error as InvalidInputError).field;
  }
  throw new Error("recipe was accepted");
}

// A strategy of user code, known to recipes read with a registry that holds it.
const withFirstOf = createStrategyRegistry([
  defineStrategy({
    name: "recipe-test-first-of",
    description: "The first of k samples (a test strategy).",
    options: z
      .object({ k: z.number().int().min(1).default(2), n: z.number().int().min(1).optional() })
      .strict(),
    needsVerifier: false,
    async run() {
      return { answer: undefined, candidates: [], tally: [], chosen: undefined, stopReason: "completed" };
    },
  }),
]);

describe("recipes", () => {
  it("fills defaults, including the dataset's own task", () => {
    const recipe = parseRecipe({ dataset: { name: "math500", limit: 5 } });
    expect(recipe.task).toBe("math");
    expect(recipe.strategies).toEqual([{ name: "self-consistency", options: {} }]);
    // No grid written: the default one applies, and a new run does not count it as asked for.
    expect(recipe.n).toBeUndefined();
    expect(recipe.sampling.max_tokens).toBeGreaterThan(0);
    expect(parseRecipe({ dataset: { name: "arithmetic" } })).toMatchObject({
      task: "arithmetic",
      dataset: { name: "arithmetic", levels: [1, 2, 3, 4, 5] },
    });
    expect(benchConfigs(recipe).map((c) => c.config)).toEqual([
      "self-consistency n=1",
      "self-consistency n=2",
      "self-consistency n=4",
      "self-consistency n=8",
      "self-consistency n=16",
    ]);
  });

  it("names the offending field of a bad recipe", () => {
    const base = { dataset: { name: "gsm8k" } };
    expect(
      fieldOf({ ...base, strategies: ["single", { name: "self-consistency", options: { n: 0 } }] }),
    ).toBe("recipe.strategies[1].options.n");
    expect(
      fieldOf({ ...base, strategies: ["single", { name: "self-consistency", grid: { n: [2, 0] } }] }),
    ).toBe("recipe.strategies[1].options.n");
    expect(
      fieldOf({ ...base, strategies: [{ name: "self-consistency", options: { batchSize: "all" } }] }),
    ).toBe("recipe.strategies[0].options.batchSize");
    // A strategy's own cross-option rule names the option too.
    expect(
      fieldOf({
        ...base,
        verifier: "reward",
        strategies: [{ name: "beam-search", options: { n: 6, beamWidth: 4 } }],
      }),
    ).toBe("recipe.strategies[0].options.beamWidth");
    expect(fieldOf({ ...base, strategies: ["single", { name: "self-consistency", grid: { k: [1] } }] })).toBe(
      "recipe.strategies[1].grid.k",
    );
    expect(fieldOf({ ...base, strategies: ["single", { name: "self-consistency", grid: { n: [] } }] })).toBe(
      "recipe.strategies[1].grid.n",
    );
    expect(fieldOf({ ...base, strategies: ["single", { name: "best-of-n" }] })).toBe(
      "recipe.strategies[1].verifier",
    );
    expect(fieldOf({ ...base, strategies: ["self-consistency", "self-consistency"] })).toBe(
      "recipe.strategies[1].label",
    );
    expect(fieldOf({ ...base, strategies: [{ name: "beam" }] })).toBe("recipe.strategies[0].name");
    // The old shape (a grid per strategy as `n`) is refused rather than ignored.
    expect(fieldOf({ ...base, strategies: [{ name: "self-consistency", n: [2] }] })).toBe(
      "recipe.strategies[0]",
    );
    expect(fieldOf({ ...base, strategies: [{ name: "single", budget: { maxTokens: -5 } }] })).toBe(
      "recipe.strategies[0].budget.maxTokens",
    );
    expect(fieldOf({ ...base, chunkSize: 8 })).toBe("recipe");
    expect(fieldOf({ ...base, sampling: { temperature: -1 } })).toBe("recipe.sampling.temperature");
    expect(fieldOf({ ...base, sampling: { topp: 1 } })).toBe("recipe.sampling");
    expect(fieldOf({ dataset: { name: "gsm8k", limit: "ten" } })).toBe("recipe.dataset.limit");
    expect(fieldOf({ dataset: { name: "nope" } })).toBe("recipe.dataset.name");
    expect(fieldOf({ ...base, task: "poetry" })).toBe("recipe.task");
    expect(fieldOf({ ...base, template: "no placeholder" })).toBe("recipe.template");
    expect(fieldOf({})).toBe("recipe.dataset");
  });

  it("expands every strategy's grid into configurations, in recipe order", () => {
    const recipe = parseRecipe({
      dataset: { name: "gsm8k" },
      n: [4, 2, 2],
      verifier: "reward",
      strategies: [
        "single",
        "self-consistency",
        { name: "best-of-n", grid: { n: [8, 1] }, verifier: "prm", budget: { maxTokens: 5000 } },
        { name: "weighted-majority", label: "wm-batched", options: { batchSize: 2 } },
        { name: "self-consistency", label: "sc-fixed", options: { n: 3 } },
      ],
    });
    expect(recipe.n).toEqual([2, 4]);
    expect(benchConfigs(recipe)).toEqual([
      { config: "single", series: "single", strategy: "single", options: {}, budget: 1, verifier: "reward" },
      {
        config: "self-consistency n=2",
        series: "self-consistency",
        strategy: "self-consistency",
        options: { n: 2 },
        budget: 2,
        verifier: "reward",
      },
      {
        config: "self-consistency n=4",
        series: "self-consistency",
        strategy: "self-consistency",
        options: { n: 4 },
        budget: 4,
        verifier: "reward",
      },
      // A grid is swept in the order written; the entry's verifier and limits win over the recipe's,
      // which every other configuration gets (a strategy may use a verifier it does not need).
      {
        config: "best-of-n n=8",
        series: "best-of-n",
        strategy: "best-of-n",
        options: { n: 8 },
        budget: 8,
        verifier: "prm",
        limits: { maxTokens: 5000 },
      },
      {
        config: "best-of-n n=1",
        series: "best-of-n",
        strategy: "best-of-n",
        options: { n: 1 },
        budget: 1,
        verifier: "prm",
        limits: { maxTokens: 5000 },
      },
      {
        config: "wm-batched n=2",
        series: "wm-batched",
        strategy: "weighted-majority",
        options: { batchSize: 2, n: 2 },
        budget: 2,
        verifier: "reward",
      },
      {
        config: "wm-batched n=4",
        series: "wm-batched",
        strategy: "weighted-majority",
        options: { batchSize: 2, n: 4 },
        budget: 4,
        verifier: "reward",
      },
      // A fixed n means no default grid: one configuration, in the table under its n.
      {
        config: "sc-fixed",
        series: "sc-fixed",
        strategy: "self-consistency",
        options: { n: 3 },
        budget: 3,
        verifier: "reward",
      },
    ]);
  });

  it("sweeps several options as a product, the first one giving the budget", () => {
    const recipe = parseRecipe({
      dataset: { name: "arithmetic" },
      verifier: "step-checker",
      strategies: [{ name: "beam-search", grid: { n: [4, 8], beamWidth: [2, 4] } }],
    });
    expect(benchConfigs(recipe).map((c) => [c.config, c.budget, c.options])).toEqual([
      ["beam-search n=4 beamWidth=2", 4, { n: 4, beamWidth: 2 }],
      ["beam-search n=4 beamWidth=4", 4, { n: 4, beamWidth: 4 }],
      ["beam-search n=8 beamWidth=2", 8, { n: 8, beamWidth: 2 }],
      ["beam-search n=8 beamWidth=4", 8, { n: 8, beamWidth: 4 }],
    ]);
    // Each point is validated by the strategy's schema: 6 is not divisible by 4.
    expect(
      fieldOf({
        dataset: { name: "arithmetic" },
        verifier: "step-checker",
        strategies: [{ name: "beam-search", grid: { n: [4, 6], beamWidth: [2, 4] } }],
      }),
    ).toBe("recipe.strategies[0].options.beamWidth");
  });

  it("sweeps an adaptive strategy's sample cap with n, and places it under the samples it may draw", () => {
    const recipe = parseRecipe({
      dataset: { name: "gsm8k" },
      n: [4, 16],
      strategies: [
        "esc",
        "adaptive-consistency",
        { name: "esc", label: "esc-16", options: { maxSamples: 16 } },
        "self-refine",
      ],
    });
    expect(benchConfigs(recipe).map((c) => [c.config, c.options, c.budget])).toEqual([
      ["esc maxSamples=4", { maxSamples: 4 }, 4],
      ["esc maxSamples=16", { maxSamples: 16 }, 16],
      ["adaptive-consistency maxSamples=4", { maxSamples: 4 }, 4],
      ["adaptive-consistency maxSamples=16", { maxSamples: 16 }, 16],
      ["esc-16", { maxSamples: 16 }, 16],
      // Beside strategies that take it, one without a sample budget runs once, labelled without n.
      ["self-refine", {}, 1],
    ]);
    expect(() => refuseIdleBudgets(recipe)).not.toThrow();
  });

  it("refuses budgets that no strategy of a new run would use", () => {
    const idle = parseRecipe({
      dataset: { name: "gsm8k" },
      n: [4, 16],
      strategies: ["single", "self-refine"],
    });
    expect(() => refuseIdleBudgets(idle)).toThrow(
      /invalid recipe.n: no strategy here takes a sample budget \(single, self-refine\)/,
    );
    // Without a grid written, nothing was asked for: the run goes ahead.
    expect(() =>
      refuseIdleBudgets(parseRecipe({ dataset: { name: "gsm8k" }, strategies: ["single"] })),
    ).not.toThrow();
  });

  it("accepts a strategy registered by user code, with a default grid over n when it takes n", () => {
    const recipe = parseRecipe(
      {
        dataset: { name: "gsm8k" },
        n: [1, 3],
        strategies: [
          "recipe-test-first-of",
          { name: "recipe-test-first-of", label: "first", grid: { k: [2, 5] } },
        ],
      },
      "recipe",
      withFirstOf,
    );
    expect(benchConfigs(recipe, withFirstOf).map((c) => [c.config, c.strategy, c.options, c.budget])).toEqual(
      [
        ["recipe-test-first-of n=1", "recipe-test-first-of", { n: 1 }, 1],
        ["recipe-test-first-of n=3", "recipe-test-first-of", { n: 3 }, 3],
        ["first k=2", "recipe-test-first-of", { k: 2 }, 2],
        ["first k=5", "recipe-test-first-of", { k: 5 }, 5],
      ],
    );
    expect(
      fieldOf(
        {
          dataset: { name: "gsm8k" },
          strategies: [{ name: "recipe-test-first-of", grid: { k: [0] } }],
        },
        withFirstOf,
      ),
    ).toBe("recipe.strategies[0].options.k");
    expect(() =>
      parseRecipe(
        { dataset: { name: "gsm8k" }, strategies: ["recipe-test-unregistered"] },
        "recipe",
        withFirstOf,
      ),
    ).toThrow(/unknown strategy "recipe-test-unregistered" \(one of: .*recipe-test-first-of/);
    // The registry is a value: the default one never learnt the test's strategy.
    expect(fieldOf({ dataset: { name: "gsm8k" }, strategies: ["recipe-test-first-of"] })).toBe(
      "recipe.strategies[0].name",
    );
  });

  it("reads the problems of a replay file, which needs a task", () => {
    const recipe = parseRecipe({
      dataset: { name: "replay", path: "runs/a.jsonl", limit: 3 },
      task: "math",
      backend: "replay:runs/a.jsonl",
    });
    expect(recipe.dataset).toEqual({ name: "replay", path: "runs/a.jsonl", limit: 3 });
    expect(recipe.task).toBe("math");
    expect(fieldOf({ dataset: { name: "replay", path: "runs/a.jsonl" } })).toBe("recipe.task");
    expect(fieldOf({ dataset: { name: "replay" }, task: "math" })).toBe("recipe.dataset.path");
    expect(fieldOf({ dataset: { name: "replay", path: "a.jsonl", levels: [1] }, task: "math" })).toBe(
      "recipe.dataset",
    );
  });

  it("reads YAML and JSON files and every shipped recipe", async () => {
    const yamlPath = join(dir, "r.yaml");
    writeFileSync(
      yamlPath,
      "dataset:\n  name: math500\n  limit: 3\nstrategies: [single, self-consistency]\nn: [1, 2]\n",
    );
    expect(benchConfigs(await loadRecipe(yamlPath)).map((c) => c.config)).toEqual([
      "single",
      "self-consistency n=1",
      "self-consistency n=2",
    ]);
    const jsonPath = join(dir, "r.json");
    writeFileSync(jsonPath, JSON.stringify({ dataset: { name: "gsm8k" }, seed: 7 }));
    expect((await loadRecipe(jsonPath)).seed).toBe(7);
    writeFileSync(yamlPath, "dataset: [unclosed");
    await expect(loadRecipe(yamlPath)).rejects.toThrow(/not valid YAML/);
    writeFileSync(yamlPath, "- just\n- a list\n");
    await expect(loadRecipe(yamlPath)).rejects.toThrow(/must hold a mapping/);
    await expect(loadRecipe(join(dir, "missing.yaml"))).rejects.toThrow(/cannot read/);
    const shipped = readdirSync("recipes").filter((f) => /\.(ya?ml|json)$/.test(f));
    expect(shipped.length).toBeGreaterThanOrEqual(3);
    for (const file of shipped) {
      const recipe = await loadRecipe(join("recipes", file));
      // Their datasets are found (paths in a recipe are taken from its folder).
      if (recipe.dataset.name !== "replay")
        expect((await loadProblemSet(recipe)).length, file).toBeGreaterThan(0);
    }
  });

  it("takes relative file paths in a recipe from the recipe's folder, not the shell's", async () => {
    const folder = join(dir, "experiments", "one");
    mkdirSync(folder, { recursive: true });
    const path = join(folder, "recipe.yaml");
    writeFileSync(
      path,
      "dataset:\n  name: math500\n  path: ../data/math.jsonl\ntask: math\nbackend: replay:samples/run.jsonl\n",
    );
    const recipe = await loadRecipe(path);
    expect(recipe.dataset).toMatchObject({ path: join(dir, "experiments", "data", "math.jsonl") });
    expect(recipe.backend).toBe(`replay:${join(folder, "samples", "run.jsonl")}`);

    writeFileSync(
      path,
      "dataset:\n  name: replay\n  path: run.jsonl\ntask: math\nbackend: llamacpp:m.gguf\n",
    );
    expect(await readRecipeFile(path)).toEqual({
      dataset: { name: "replay", path: join(folder, "run.jsonl") },
      task: "math",
      backend: `llamacpp:${join(folder, "m.gguf")}`,
    });
    // Absolute paths and servers are left as they are.
    writeFileSync(
      path,
      "dataset:\n  name: gsm8k\n  path: /data/gsm8k.jsonl\nbackend: openai:http://127.0.0.1:8000/v1\n",
    );
    expect(await readRecipeFile(path)).toEqual({
      dataset: { name: "gsm8k", path: "/data/gsm8k.jsonl" },
      backend: "openai:http://127.0.0.1:8000/v1",
    });
  });

  it("builds the same recipe from flags as from a file, flags overriding the file", () => {
    const fromFlags = parseRecipe(
      recipeFromFlags({
        db: "x",
        dataset: "math500",
        datasetPath: "../shared/datasets/math500-test.jsonl",
        limit: 50,
        task: "math",
        strategy: ["self-consistency", "best-of-n"],
        n: [1, 2, 4, 8],
        verifier: "reward",
        backend: "replay:x.jsonl",
        seed: 1,
      }),
    );
    const fromFile = parseRecipe({
      dataset: { name: "math500", path: "../shared/datasets/math500-test.jsonl", limit: 50 },
      task: "math",
      strategies: ["self-consistency", "best-of-n"],
      n: [1, 2, 4, 8],
      verifier: "reward",
      backend: "replay:x.jsonl",
      seed: 1,
    });
    expect(fromFlags).toEqual(fromFile);
    expect(benchConfigs(fromFlags)).toEqual(benchConfigs(fromFile));
    const overridden = parseRecipe(
      recipeFromFlags(
        { db: "x", limit: 5, temperature: 0.2 },
        { dataset: { name: "gsm8k", limit: 100 }, sampling: { max_tokens: 64 } },
      ),
    );
    expect(overridden.dataset).toMatchObject({ name: "gsm8k", limit: 5 });
    expect(overridden.sampling).toMatchObject({ temperature: 0.2, max_tokens: 64 });
  });
});
