/** `reckon grade` as a user runs it: a real process reading JSONL and writing JSONL. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { reckon } from "../support/cli.js";

const scratch = mkdtempSync(join(tmpdir(), "reckon-grade-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const parseLines = (text: string) =>
  text
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as Record<string, unknown>);

describe("reckon grade", () => {
  it("adds extracted and correct to each math row, keeping the other fields", async () => {
    const file = join(scratch, "math.jsonl");
    writeFileSync(
      file,
      [
        { id: "a", response: "So the answer is $\\boxed{\\dfrac{1}{2}}$.", reference: "0.5" },
        { id: "b", response: "Thus $x \\in \\boxed{(3, 4]}$", reference: "(3,4]" },
        { id: "c", response: "The final answer is 7.", reference: "\\frac{14}{3}" },
        { id: "d", response: "I cannot tell.", reference: "5" },
      ]
        .map((row) => JSON.stringify(row))
        .join("\n")
        .concat("\n\n"),
    );
    const run = await reckon(["grade", "--task", "math", file]);
    expect(run.stderr).toBe("2/4 correct\n");
    expect(run.code).toBe(0);
    expect(parseLines(run.stdout)).toEqual([
      {
        id: "a",
        response: "So the answer is $\\boxed{\\dfrac{1}{2}}$.",
        reference: "0.5",
        extracted: "\\dfrac{1}{2}",
        correct: true,
      },
      {
        id: "b",
        response: "Thus $x \\in \\boxed{(3, 4]}$",
        reference: "(3,4]",
        extracted: "(3, 4]",
        correct: true,
      },
      {
        id: "c",
        response: "The final answer is 7.",
        reference: "\\frac{14}{3}",
        extracted: "7",
        correct: false,
      },
      { id: "d", response: "I cannot tell.", reference: "5", extracted: null, correct: false },
    ]);
  });

  it("grades GSM8K solutions from standard input, with numeric references", async () => {
    const gsm8k = readFileSync(new URL("../../../shared/datasets/gsm8k-test.jsonl", import.meta.url), "utf8")
      .split("\n")
      .slice(0, 20)
      .map((line) => JSON.parse(line) as { answer: string });
    const rows = gsm8k.map((row, i) => ({
      response: row.answer,
      // Every other reference is off by one, and one is a JSON number.
      reference:
        i === 0
          ? Number(row.answer.split("####")[1]!.replace(/,/g, ""))
          : row.answer.split("####")[1]!.trim() + (i % 2 ? "1" : ""),
    }));
    const run = await reckon(["grade", "--task", "gsm8k", "-"], {
      stdin: rows.map((row) => JSON.stringify(row)).join("\n"),
    });
    expect(run.code).toBe(0);
    const graded = parseLines(run.stdout);
    expect(graded).toHaveLength(20);
    expect(graded[0]!.reference).toBe(rows[0]!.reference);
    expect(graded.map((row) => row.correct)).toEqual(rows.map((_, i) => i % 2 === 0));
    expect(run.stderr).toBe("10/20 correct\n");
  });

  it("with --skip-invalid, skips and counts bad rows, naming each, and grades the rest", async () => {
    const input = [
      JSON.stringify({ id: 1, response: "The answer is 4.", reference: "4" }),
      JSON.stringify({ id: 2, response: "4" }),
      "{not json}",
      JSON.stringify({ id: 4, response: "The answer is 5.", reference: "4" }),
      JSON.stringify({ id: 5, response: "\\boxed{twelve}", reference: 12 }),
    ].join("\n");
    const run = await reckon(["grade", "--task", "math", "--skip-invalid"], { stdin: input });
    expect(run.code).toBe(0);
    expect(parseLines(run.stdout).map((row) => [row.id, row.correct])).toEqual([
      [1, true],
      [4, false],
      [5, true],
    ]);
    const messages = run.stderr.trim().split("\n");
    expect(messages).toHaveLength(3);
    expect(messages[0]).toContain('line 2, field "reference"');
    expect(messages[1]).toContain("line 3: not valid JSON");
    expect(messages[2]).toBe("2/3 correct, 2 invalid rows skipped");
  });

  it("--strict rejects rounded decimals for exact values, which math accepts by default", async () => {
    const input = [
      JSON.stringify({ response: "So $x \\approx \\boxed{0.333}$", reference: "\\frac{1}{3}" }),
      JSON.stringify({ response: "So $x = \\boxed{0.5}$", reference: "\\frac{1}{2}" }),
    ].join("\n");
    const lenient = await reckon(["grade", "--task", "math", "-"], { stdin: input });
    const strict = await reckon(["grade", "--task", "math", "--strict", "-"], { stdin: input });
    expect(parseLines(lenient.stdout).map((row) => row.correct)).toEqual([true, true]);
    expect(parseLines(strict.stdout).map((row) => row.correct)).toEqual([false, true]);
    expect(strict.stderr).toBe("1/2 correct\n");
  });

  it("grades multiple-choice answers, by letter or by the text of an option", async () => {
    const prompt = "What is 43/2?\nAnswer Choices:\n(a) 21\n(b) 21.5\n(c) 22\n(d) 22.5\n(e) 23";
    const input = [
      { response: "43/2 = 21.5. So the answer is (b).", reference: "(b)", prompt },
      { response: "Answer: C", reference: "(b)", prompt },
      { response: "So the answer is 21.5.", reference: "(b)", prompt },
      {
        response: "The answer is 22.5",
        reference: "B",
        options: ["A)21", "B)21.5", "C)22", "D)22.5", "E)23"],
      },
      { response: "B)", reference: "b" },
    ]
      .map((row) => JSON.stringify(row))
      .join("\n");
    const run = await reckon(["grade", "--task", "choice", "-"], { stdin: input });
    expect(run.code).toBe(0);
    expect(parseLines(run.stdout).map((row) => [row.extracted, row.correct])).toEqual([
      ["B", true],
      ["C", false],
      ["21.5", true],
      ["22.5", false],
      ["B", true],
    ]);
    expect(run.stderr).toBe("3/5 correct\n");
  });

  it("names the line and field of an invalid row and exits with 2", async () => {
    const input = `${JSON.stringify({ response: "4", reference: "4" })}\n${JSON.stringify({ response: "4" })}\n`;
    const run = await reckon(["grade", "--task", "math"], { stdin: input });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('line 2, field "reference"');
  });

  it("rejects a line that is not JSON", async () => {
    const run = await reckon(["grade", "--task", "gsm8k", "-"], { stdin: "{not json}\n" });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("invalid line 1: not valid JSON");
  });

  it("rejects an unknown task, a missing task and a missing file", async () => {
    const unknown = await reckon(["grade", "--task", "chess", "-"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown task "chess"');
    const missing = await reckon(["grade", "-"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("--task");
    const noFile = await reckon(["grade", "--task", "math", join(scratch, "absent.jsonl")]);
    expect(noFile.code).toBe(2);
    expect(noFile.stderr).toContain("cannot read");
    const strictChoice = await reckon(["grade", "--task", "choice", "--strict", "-"]);
    expect(strictChoice.code).toBe(2);
    expect(strictChoice.stderr).toContain("--strict");
  });
});
