/**
 * Any JSONL file read as a named dataset through a field mapping (`--fields`): the loader's
 * fields onto the file's names, only the fields the task uses required, and errors that name
 * the file's field and the line.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { loadDataset } from "../../src/bench/datasets.js";
import { InvalidInputError } from "../../src/core/errors.js";

const dir = mkdtempSync(join(tmpdir(), "reckon-dataset-fields-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function jsonl(name: string, rows: unknown[]): string {
  const path = join(dir, name);
  writeFileSync(path, `${rows.map((row) => JSON.stringify(row)).join("\n")}\n`);
  return path;
}

async function failure(promise: Promise<unknown>): Promise<InvalidInputError> {
  const error = await promise.catch((e: unknown) => e);
  expect(error).toBeInstanceOf(InvalidInputError);
  return error as InvalidInputError;
}

describe("a field mapping", () => {
  const custom = jsonl("custom.jsonl", [
    { question: "What is $2+3$?", final: "5", notes: "easy" },
    { question: "Simplify $\\frac{6}{8}$.", final: "\\frac{3}{4}" },
    { question: "How many primes are below 10?", final: 4 },
  ]);

  it("reads the loader's fields from the file's names; a MATH-style file needs no solution, level, subject or id", async () => {
    const rows = await loadDataset({
      name: "math500",
      path: custom,
      fields: { prompt: "question", answer: "final" },
    });
    expect(rows).toEqual([
      { id: "math500-0", question: "What is $2+3$?", reference: "5" },
      { id: "math500-1", question: "Simplify $\\frac{6}{8}$.", reference: "\\frac{3}{4}" },
      { id: "math500-2", question: "How many primes are below 10?", reference: "4" },
    ]);
  });

  it("reads a GSM8K-style file whose answer is the number alone", async () => {
    const numbers = jsonl("numbers.jsonl", [
      { question: "2+3?", final: "5" },
      { question: "Half of 9?", final: 4.5 },
    ]);
    const rows = await loadDataset({
      name: "gsm8k",
      path: numbers,
      fields: { prompt: "question", answer: "final" },
    });
    expect(rows).toEqual([
      { id: "gsm8k-0", question: "2+3?", reference: "5" },
      { id: "gsm8k-1", question: "Half of 9?", reference: "4.5" },
    ]);
    // Anything else is a solution without its final line: refused, not read as the reference.
    const error = await failure(
      loadDataset({ name: "gsm8k", path: custom, fields: { prompt: "question", answer: "final" } }),
    );
    expect(error.field).toBe('custom.jsonl line 2, field "final"');
    expect(error.message).toContain("has no '#### <answer>' line and is not a number");
    // A worked solution still gives the number after ####, commas removed.
    const worked = jsonl("worked.jsonl", [{ q: "How many?", a: "1,000 + 234 = 1,234\n#### 1,234", n: 7 }]);
    const [row] = await loadDataset({
      name: "gsm8k",
      path: worked,
      fields: { prompt: "q", answer: "a", id: "n" },
    });
    expect(row).toEqual({
      id: "7",
      question: "How many?",
      reference: "1234",
      meta: { solution: "1,000 + 234 = 1,234\n#### 1,234" },
    });
  });

  it("keeps the published names for the fields it does not map, and reads MATH's own level format", async () => {
    const math = jsonl("math.jsonl", [
      { problem: "1+1?", final: "2", level: "Level 2", subject: "Algebra", unique_id: "a/1" },
    ]);
    const rows = await loadDataset({ name: "math500", path: math, fields: { answer: "final" }, levels: [2] });
    expect(rows).toEqual([{ id: "a/1", question: "1+1?", reference: "2", level: 2, subject: "Algebra" }]);
  });

  it("reads a HumanEval-style file without a canonical solution", async () => {
    const path = join(dir, "code.jsonl.gz");
    const row = {
      name: "add",
      doc: 'def add(a, b):\n    """Sum."""\n',
      checks: "def check(c):\n    assert c(1, 2) == 3\n",
      fn: "add",
    };
    writeFileSync(path, gzipSync(`${JSON.stringify(row)}\n`));
    const rows = await loadDataset({
      name: "humaneval",
      path,
      fields: { id: "name", prompt: "doc", test: "checks", entry_point: "fn" },
    });
    expect(rows).toEqual([
      {
        id: "add",
        question: row.doc,
        reference: "add",
        meta: { prompt: row.doc, test: row.checks, entry_point: "add" },
      },
    ]);
  });

  it("names the file's field and the line where a mapped field is missing", async () => {
    const path = jsonl("gap.jsonl", [
      { question: "1+1?", final: "2" },
      { question: "2+2?", answer: "4" },
    ]);
    const error = await failure(
      loadDataset({ name: "math500", path, fields: { prompt: "question", answer: "final" } }),
    );
    expect(error.field).toBe('gap.jsonl line 2, field "final"');
    expect(error.message).toContain("missing (read as answer)");
    expect(error.message).toContain("--fields answer=final names a field this line does not have");
  });

  it("says how to map a field that the file calls otherwise", async () => {
    const error = await failure(loadDataset({ name: "math500", path: custom }));
    expect(error.field).toBe('custom.jsonl line 1, field "problem"');
    expect(error.message).toContain("missing (read as prompt)");
    expect(error.message).toContain("--fields prompt=NAME");
  });

  it("names the file's field of a value of the wrong kind", async () => {
    const path = jsonl("kind.jsonl", [{ question: "1+1?", final: "2", lvl: "hard" }]);
    const error = await failure(
      loadDataset({ name: "math500", path, fields: { prompt: "question", answer: "final", level: "lvl" } }),
    );
    expect(error.field).toBe('kind.jsonl line 1, field "lvl"');
    expect(error.message).toContain('expected a level such as 3 or "Level 3"');
  });

  it("refuses a field the dataset does not read, listing the ones it does, before reading anything", async () => {
    const typo = await failure(
      loadDataset({ name: "gsm8k", path: join(dir, "absent.jsonl"), fields: { promt: "question" } }),
    );
    expect(typo.field).toBe("dataset.fields.promt");
    expect(typo.message).toContain('gsm8k reads no field "promt"');
    expect(typo.message).toContain("map its fields: id, prompt, answer");
    const level = await failure(
      loadDataset({ name: "gsm8k", path: custom, fields: { level: "difficulty" } }),
    );
    expect(level.field).toBe("dataset.fields.level");
  });

  it("tries the published alternatives in order (AMC 2023's question, else problem)", async () => {
    const path = jsonl("amc.jsonl", [{ id: 3, problem: "What is 6 times 7?", answer: 42.0 }]);
    expect(await loadDataset({ name: "amc23", path })).toEqual([
      { id: "amc23-3", question: "What is 6 times 7?", reference: "42", meta: { url: undefined } },
    ]);
    const neither = jsonl("amc-none.jsonl", [{ id: 3, text: "?", answer: 1 }]);
    const error = await failure(loadDataset({ name: "amc23", path: neither }));
    expect(error.field).toBe('amc-none.jsonl line 1, field "question" or "problem"');
  });
});
