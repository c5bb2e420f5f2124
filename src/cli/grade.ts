import { once } from "node:events";
import { createReadStream, statSync } from "node:fs";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { Command } from "commander";
import { z } from "zod";
import { InvalidInputError } from "../core/errors.js";
import { parseJsonLine } from "../core/jsonl.js";
import type { ReferenceComparison } from "../core/types.js";
import { choiceOf, choiceOptionsOf, choiceTask } from "../tasks/choice.js";
import { gsm8kTask, mathTask, strictMathTask } from "../tasks/math.js";

const TASK_NAMES = ["gsm8k", "math", "choice"] as const;

const flagsSchema = z.object({
  task: z.enum(TASK_NAMES),
  strict: z.boolean().optional(),
  skipInvalid: z.boolean().optional(),
});

/** A row to grade; other fields are kept and written back unchanged. */
const rowSchema = z.looseObject({
  response: z.string(),
  // References in datasets are sometimes numbers (`"answer": 27.0`).
  reference: z.union([z.string(), z.number()]),
});
type Row = z.output<typeof rowSchema>;

export interface GradedRow extends Record<string, unknown> {
  extracted: string | null;
  correct: boolean;
}

/** How one row's answer is read and judged. */
export type RowGrader = (row: Row) => { extracted: string | undefined; correct: boolean };

/** A grader from a task judged against the row's reference. */
export function referenceGrader(task: ReferenceComparison): RowGrader {
  return (row) => {
    const extracted = task.extractAnswer(row.response);
    return {
      extracted,
      correct: extracted !== undefined && task.isCorrect(extracted, String(row.reference)),
    };
  };
}

/**
 * Multiple choice: the options come from the row's `options` (`["A)21", …]` or `{"A": "21"}`),
 * else from its `prompt` or `question` text, so that an answer given as an option's text counts.
 */
const choiceGrader: RowGrader = (row) => {
  const extracted = choiceTask.extractAnswer(row.response);
  const prompt =
    typeof row.prompt === "string" ? row.prompt : typeof row.question === "string" ? row.question : "";
  const options = choiceOptionsOf({
    prompt,
    meta: row.options === undefined ? undefined : { options: row.options },
  });
  const reference = choiceOf(String(row.reference), options);
  const correct =
    extracted !== undefined &&
    (reference !== undefined
      ? choiceOf(extracted, options) === reference
      : choiceTask.equivalent(extracted, String(row.reference)));
  return { extracted, correct };
};

/** Each task's grader, and its strict one (rounded decimals refused for exact values) where it has one. */
const graders: Record<(typeof TASK_NAMES)[number], { plain: RowGrader; strict?: RowGrader }> = {
  choice: { plain: choiceGrader },
  gsm8k: { plain: referenceGrader(gsm8kTask) },
  math: { plain: referenceGrader(mathTask), strict: referenceGrader(strictMathTask) },
};

/** Whether a task has a strict mode (`--strict`). */
const hasStrictMode = (task: (typeof TASK_NAMES)[number]): boolean => graders[task].strict !== undefined;

/** The grader of a task name; `strict` rejects rounded decimals for exact values (math). */
export function rowGrader(task: (typeof TASK_NAMES)[number], options: { strict?: boolean } = {}): RowGrader {
  const { plain, strict } = graders[task];
  return (options.strict && strict) || plain;
}

/** Grades one validated row, keeping its other fields. */
export function gradeRow(grader: RowGrader | ReferenceComparison, row: Row): GradedRow {
  const grade = typeof grader === "function" ? grader(row) : referenceGrader(grader)(row);
  return { ...row, extracted: grade.extracted ?? null, correct: grade.correct };
}

export interface GradeSummary {
  graded: number;
  correct: number;
  /** Rows skipped as invalid (only with `skipInvalid`). */
  invalid: number;
}

/** "14/15 correct", with the invalid rows skipped when there were any. */
export function formatGradeSummary(summary: GradeSummary): string {
  const skipped =
    summary.invalid > 0 ? `, ${summary.invalid} invalid row${summary.invalid === 1 ? "" : "s"} skipped` : "";
  return `${summary.correct}/${summary.graded} correct${skipped}`;
}

/**
 * Reads JSONL from `input` and writes each graded row as one JSON line to `output`. An invalid
 * row stops grading with an error naming its line, or, with `skipInvalid`, is reported through
 * `onInvalid` and counted.
 */
export async function gradeJsonl(
  grader: RowGrader | ReferenceComparison,
  input: Readable,
  output: NodeJS.WritableStream,
  options: { skipInvalid?: boolean; onInvalid?: (error: InvalidInputError) => void } = {},
): Promise<GradeSummary> {
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  let lineNumber = 0;
  const summary: GradeSummary = { graded: 0, correct: 0, invalid: 0 };
  for await (const line of lines) {
    lineNumber++;
    if (line.trim() === "") continue;
    let row: GradedRow;
    try {
      row = gradeRow(grader, parseJsonLine(rowSchema, line, `line ${lineNumber}`));
    } catch (error) {
      if (!(options.skipInvalid && error instanceof InvalidInputError)) throw error;
      summary.invalid++;
      options.onInvalid?.(error);
      continue;
    }
    if (!output.write(`${JSON.stringify(row)}\n`)) await once(output, "drain");
    summary.graded++;
    if (row.correct) summary.correct++;
  }
  return summary;
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
    .requiredOption("--task <name>", "how answers are read and compared: gsm8k, math or choice")
    .option("--strict", "math: a rounded decimal never equals an exact value (0.333 is not 1/3)")
    .option("--skip-invalid", "skip rows that are not valid JSON or lack a field, and count them")
    .argument("[file]", "JSONL file, or - for standard input", "-")
    .exitOverride()
    .action(async (file: string, rawFlags: Record<string, unknown>) => {
      const flags = flagsSchema.safeParse(rawFlags);
      if (!flags.success) {
        throw new InvalidInputError(
          "--task",
          `unknown task "${String(rawFlags.task)}"`,
          `one of: ${TASK_NAMES.join(", ")}`,
        );
      }
      if (flags.data.strict && !hasStrictMode(flags.data.task))
        throw new InvalidInputError(
          "--strict",
          `the ${flags.data.task} task has no strict mode`,
          "use it with --task math",
        );
      const input = await openInput(file);
      const summary = await gradeJsonl(
        rowGrader(flags.data.task, { strict: flags.data.strict }),
        input,
        process.stdout,
        {
          skipInvalid: flags.data.skipInvalid,
          onInvalid: (error) => process.stderr.write(`skipped ${error.message}\n`),
        },
      );
      process.stderr.write(`${formatGradeSummary(summary)}\n`);
    });
}
