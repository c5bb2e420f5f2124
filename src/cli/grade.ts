import { once } from "node:events";
import { createReadStream, statSync } from "node:fs";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { Command } from "commander";
import { z } from "zod";
import { InvalidInputError } from "../core/errors.js";
import { parseJsonLine } from "../core/jsonl.js";
import type { ReferenceComparison } from "../core/types.js";
import { gsm8kTask, mathTask } from "../tasks/math.js";

const gradingTasks: Record<string, ReferenceComparison> = { gsm8k: gsm8kTask, math: mathTask };

const flagsSchema = z.object({ task: z.enum(["gsm8k", "math"]) });

/** A row to grade; other fields are kept and written back unchanged. */
const rowSchema = z.looseObject({
  response: z.string(),
  // References in datasets are sometimes numbers (`"answer": 27.0`).
  reference: z.union([z.string(), z.number()]),
});

export interface GradedRow extends Record<string, unknown> {
  extracted: string | null;
  correct: boolean;
}

/** Grades one validated row, keeping its other fields. */
export function gradeRow(task: ReferenceComparison, row: z.output<typeof rowSchema>): GradedRow {
  const extracted = task.extractAnswer(row.response);
  return {
    ...row,
    extracted: extracted ?? null,
    correct: extracted !== undefined && task.isCorrect(extracted, String(row.reference)),
  };
}

/** Reads JSONL from `input` and writes each graded row as one JSON line to `output`. */
export async function gradeJsonl(
  task: ReferenceComparison,
  input: Readable,
  output: NodeJS.WritableStream,
): Promise<number> {
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  let lineNumber = 0;
  let graded = 0;
  for await (const line of lines) {
    lineNumber++;
    if (line.trim() === "") continue;
    const row = gradeRow(task, parseJsonLine(rowSchema, line, `line ${lineNumber}`));
    if (!output.write(`${JSON.stringify(row)}\n`)) await once(output, "drain");
    graded++;
  }
  return graded;
}

function openInput(file: string): Promise<Readable> {
  if (file === "-") return Promise.resolve(process.stdin);
  // A folder opens fine and fails only on the first read, out of reach of a clear message.
  if (statSync(file, { throwIfNoEntry: false })?.isDirectory())
    return Promise.reject(
      new InvalidInputError("FILE", `${file} is a folder`, "pass a JSONL file, or - for standard input"),
    );
  const stream = createReadStream(file);
  return new Promise((resolve, reject) => {
    stream.once("open", () => resolve(stream));
    stream.once("error", (error) =>
      reject(new InvalidInputError("FILE", `cannot read ${file}: ${(error as NodeJS.ErrnoException).code}`)),
    );
  });
}

export function gradeCommand(): Command {
  return new Command("grade")
    .description(
      'Grade JSONL rows {"response", "reference"}: write each row back with the extracted answer and whether it is correct.',
    )
    .requiredOption("--task <name>", "how answers are read and compared: gsm8k or math")
    .argument("[file]", "JSONL file, or - for standard input", "-")
    .exitOverride()
    .action(async (file: string, rawFlags: Record<string, unknown>) => {
      const flags = flagsSchema.safeParse(rawFlags);
      if (!flags.success) {
        throw new InvalidInputError(
          "--task",
          `unknown task "${String(rawFlags.task)}"`,
          "one of: gsm8k, math",
        );
      }
      const input = await openInput(file);
      await gradeJsonl(gradingTasks[flags.data.task]!, input, process.stdout);
    });
}
