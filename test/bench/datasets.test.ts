import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { datasetNames, defaultDatasetPath, loadDataset } from "../../src/bench/datasets.js";
import { loadProblemSet } from "../../src/bench/problem-set.js";
import { parseRecipe } from "../../src/bench/recipe.js";
import { InvalidInputError } from "../../src/core/errors.js";

const shared = "../shared/datasets";

describe("loadDataset on the shared datasets", () => {
  it("finds every dataset's default path", () => {
    for (const name of datasetNames) expect(defaultDatasetPath(name)).toMatch(/^\.\.\/shared\/datasets\//);
    expect(defaultDatasetPath("gsm8k", tmpdir())).toBeUndefined();
  });

  it("reads GSM8K with the number after #### as reference, commas removed", async () => {
    const rows = await loadDataset({ name: "gsm8k", path: `${shared}/gsm8k-test.jsonl` });
    expect(rows).toHaveLength(1319);
    expect(rows[0]).toMatchObject({ id: "gsm8k-0", reference: "18" });
    expect(rows[0]!.question).toContain("Janet");
    expect(rows.every((r) => /^-?[\d.]+$/.test(r.reference))).toBe(true);
    expect(new Set(rows.map((r) => r.id)).size).toBe(rows.length);
  });

  it("reads MATH-500 with levels and subjects, and filters by them", async () => {
    const all = await loadDataset({ name: "math500" });
    expect(all).toHaveLength(500);
    const first = all.find((r) => r.id === "test/algebra/2584.json");
    expect(first).toMatchObject({ reference: "\\frac{14}{3}", level: 3, subject: "Algebra" });
    expect(String(first!.meta!.solution)).toContain("\\boxed{\\frac{14}{3}}");

    const hard = await loadDataset({ name: "math500", levels: [4, 5], subjects: ["algebra"] });
    expect(hard.length).toBeGreaterThan(0);
    expect(hard.length).toBe(all.filter((r) => (r.level ?? 0) >= 4 && r.subject === "Algebra").length);
    expect(hard.every((r) => r.subject === "Algebra" && (r.level === 4 || r.level === 5))).toBe(true);
  });

  it("shuffles deterministically with a seed before limiting", async () => {
    const a = await loadDataset({ name: "math500", seed: 7, limit: 20 });
    const b = await loadDataset({ name: "math500", seed: 7, limit: 20 });
    const c = await loadDataset({ name: "math500", seed: 8, limit: 20 });
    const unshuffled = await loadDataset({ name: "math500", limit: 20 });
    expect(a.map((r) => r.id)).toEqual(b.map((r) => r.id));
    expect(a.map((r) => r.id)).not.toEqual(c.map((r) => r.id));
    expect(a.map((r) => r.id)).not.toEqual(unshuffled.map((r) => r.id));
    expect(a).toHaveLength(20);
  });

  it("reads AIME 2024 and AMC 2023 with integer-text references", async () => {
    const aime = await loadDataset({ name: "aime24" });
    expect(aime).toHaveLength(30);
    expect(aime[0]).toMatchObject({ id: "aime24-60", reference: "204" });
    const amc = await loadDataset({ name: "amc23" });
    expect(amc).toHaveLength(40);
    expect(amc[0]).toMatchObject({ id: "amc23-0", reference: "27" });
    expect(amc.every((r) => /^-?\d+$/.test(r.reference))).toBe(true);
  });

  it("reads gzipped HumanEval: prompt as question, entry point as reference, tests in meta", async () => {
    const rows = await loadDataset({ name: "humaneval", path: `${shared}/HumanEval.jsonl.gz` });
    expect(rows).toHaveLength(164);
    expect(rows[0]).toMatchObject({ id: "HumanEval/0", reference: "has_close_elements" });
    expect(rows[0]!.question).toContain("def has_close_elements");
    expect(String(rows[0]!.meta!.test)).toContain("def check(candidate)");
    expect(rows[0]!.meta).toMatchObject({ prompt: rows[0]!.question, entry_point: rows[0]!.reference });
    expect(String(rows[0]!.meta!.test)).toContain("def check");
    expect(rows[0]!.meta).not.toHaveProperty("canonical_solution");
  });
});

describe("loadDataset on bad input", () => {
  const dir = mkdtempSync(join(tmpdir(), "reckon-datasets-"));

  it("names the line and field of an invalid row", async () => {
    const path = join(dir, "bad.jsonl");
    const good = JSON.stringify({ question: "1+1?", answer: "2\n#### 2" });
    writeFileSync(path, `${good}\n${good}\n${JSON.stringify({ question: "x", answer: "three" })}\n`);
    const error = await loadDataset({ name: "gsm8k", path }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as InvalidInputError).field).toBe('bad.jsonl line 3, field "answer"');
  });

  it("reports broken JSON with its line number", async () => {
    const path = join(dir, "broken.jsonl.gz");
    writeFileSync(path, gzipSync('{"task_id":"a"\n'));
    await expect(loadDataset({ name: "humaneval", path })).rejects.toThrow(
      /broken\.jsonl\.gz line 1: not valid JSON/,
    );
  });

  it("rejects unknown dataset names and missing files", async () => {
    await expect(loadDataset({ name: "mmlu" as "gsm8k", path: "x" })).rejects.toThrow(/dataset\.name/);
    await expect(loadDataset({ name: "gsm8k", path: join(dir, "missing.jsonl") })).rejects.toThrow(
      /cannot read/,
    );
  });
});

describe("dataset filters", () => {
  it("refuse a level or subject that matches nothing, listing the values the dataset has", async () => {
    const typo = loadDataset({ name: "math500", subjects: ["Algebr"] });
    await expect(typo).rejects.toThrow(InvalidInputError);
    await expect(typo).rejects.toThrow(/dataset\.subjects: math500 has no subject "Algebr"/);
    await expect(typo).rejects.toThrow(
      "use one of: Algebra, Counting & Probability, Geometry, Intermediate Algebra, Number Theory, Prealgebra, Precalculus",
    );
    await expect(loadDataset({ name: "math500", levels: [9] })).rejects.toThrow(
      /math500 has no level "9"[\s\S]*use one of: 1, 2, 3, 4, 5/,
    );
    // One bad value in a list is a typo too, not a smaller run.
    await expect(loadDataset({ name: "math500", levels: [4, 9] })).rejects.toThrow(/no level "9"/);
    await expect(loadDataset({ name: "gsm8k", levels: [1] })).rejects.toThrow(/gsm8k has no levels/);
    // Subjects compare case-insensitively, as the filter does.
    expect((await loadDataset({ name: "math500", subjects: ["number theory"] })).length).toBeGreaterThan(0);
  });
});

describe("problem prompts", () => {
  it("keep every MATH-500 question verbatim in a template, dollar signs included", async () => {
    const recipe = parseRecipe({ dataset: { name: "math500" }, template: "Problem: {question}\nAnswer:" });
    const problems = await loadProblemSet(recipe);
    const withDollars = problems.filter((p) => /\$[$&`']/.test(p.question));
    expect(withDollars.length).toBeGreaterThan(10);
    for (const p of problems) expect(p.prompt).toBe(`Problem: ${p.question}\nAnswer:`);
  });
});
