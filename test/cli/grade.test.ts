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
    expect(run.stderr).toBe("");
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
  });
});
