import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { budgetsOf, loadRecipe, parseRecipe, poolSize, recipeScorer } from "../../src/bench/recipe.js";
import { recipeFromFlags } from "../../src/cli/bench-flags.js";
import { InvalidInputError } from "../../src/core/errors.js";

const dir = mkdtempSync(join(tmpdir(), "reckon-recipe-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function fieldOf(value: unknown): string {
  try {
    parseRecipe(value);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidInputError);
    return (error as InvalidInputError).field;
  }
  throw new Error("recipe was accepted");
}

describe("recipes", () => {
  it("fills defaults, including the dataset's own task", () => {
    const recipe = parseRecipe({ dataset: { name: "math500", limit: 5 } });
    expect(recipe.task).toBe("math");
    expect(recipe.strategies).toEqual([{ name: "self-consistency" }]);
    expect(recipe.sampling.max_tokens).toBeGreaterThan(0);
    expect(parseRecipe({ dataset: { name: "arithmetic" } })).toMatchObject({
      task: "arithmetic",
      dataset: { name: "arithmetic", levels: [1, 2, 3, 4, 5] },
    });
  });

  it("names the offending field of a bad recipe", () => {
    const base = { dataset: { name: "gsm8k" } };
    expect(fieldOf({ ...base, strategies: ["single", { name: "self-consistency", n: [0] }] })).toBe(
      "recipe.strategies[1].n[0]",
    );
    expect(fieldOf({ ...base, strategies: ["single", { name: "best-of-n" }] })).toBe(
      "recipe.strategies[1].scorer",
    );
    expect(fieldOf({ ...base, strategies: [{ name: "beam" }] })).toBe("recipe.strategies[0].name");
    expect(fieldOf({ ...base, sampling: { temperature: -1 } })).toBe("recipe.sampling.temperature");
    expect(fieldOf({ ...base, sampling: { topp: 1 } })).toBe("recipe.sampling");
    expect(fieldOf({ dataset: { name: "gsm8k", limit: "ten" } })).toBe("recipe.dataset.limit");
    expect(fieldOf({ dataset: { name: "nope" } })).toBe("recipe.dataset.name");
    expect(fieldOf({ ...base, task: "poetry" })).toBe("recipe.task");
    expect(fieldOf({ ...base, template: "no placeholder" })).toBe("recipe.template");
    expect(fieldOf({})).toBe("recipe.dataset");
  });

  it("derives the pool size and budgets from every strategy's grid", () => {
    const recipe = parseRecipe({
      dataset: { name: "gsm8k" },
      n: [4, 2, 2],
      strategies: ["single", { name: "best-of-n", n: [8], scorer: "reward" }],
    });
    expect(recipe.n).toEqual([2, 4]);
    expect(budgetsOf(recipe)).toEqual([1, 2, 4, 8]);
    expect(poolSize(recipe)).toBe(8);
    expect(recipeScorer(recipe)).toBe("reward");
  });

  it("reads YAML and JSON files and every shipped recipe", async () => {
    const yamlPath = join(dir, "r.yaml");
    writeFileSync(
      yamlPath,
      "dataset:\n  name: math500\n  limit: 3\nstrategies: [single, self-consistency]\nn: [1, 2]\n",
    );
    expect((await loadRecipe(yamlPath)).strategies.map((s) => s.name)).toEqual([
      "single",
      "self-consistency",
    ]);
    const jsonPath = join(dir, "r.json");
    writeFileSync(jsonPath, JSON.stringify({ dataset: { name: "gsm8k" }, seed: 7 }));
    expect((await loadRecipe(jsonPath)).seed).toBe(7);
    writeFileSync(yamlPath, "dataset: [unclosed");
    await expect(loadRecipe(yamlPath)).rejects.toThrow(/not valid YAML/);
    const shipped = readdirSync("recipes").filter((f) => /\.(ya?ml|json)$/.test(f));
    expect(shipped.length).toBeGreaterThanOrEqual(3);
    for (const file of shipped) await expect(loadRecipe(join("recipes", file))).resolves.toBeDefined();
  });

  it("builds the same recipe from flags as from a file, flags overriding the file", () => {
    const fromFlags = parseRecipe(
      recipeFromFlags({
        db: "x",
        dataset: "math500",
        datasetPath: "../shared/datasets/math500-test.jsonl",
        limit: 50,
        task: "math",
        strategy: ["self-consistency"],
        n: [1, 2, 4, 8],
        backend: "replay:x.jsonl",
        seed: 1,
      }),
    );
    const fromFile = parseRecipe({
      dataset: { name: "math500", path: "../shared/datasets/math500-test.jsonl", limit: 50 },
      task: "math",
      strategies: ["self-consistency"],
      n: [1, 2, 4, 8],
      backend: "replay:x.jsonl",
      seed: 1,
    });
    expect(fromFlags).toEqual(fromFile);
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
