/** Evaluation sets read from JSONL (optionally gzipped) into one row shape. */
import { existsSync } from "node:fs";
import { basename, resolve } from "node:path";
import { z } from "zod";
import { InvalidInputError } from "../core/errors.js";
import { parseJsonl, readTextFile } from "../core/jsonl.js";
import { deriveSeed, seededRandom, shuffled } from "../core/random.js";

/** One benchmark problem, whatever file it came from. */
export interface DatasetRow {
  id: string;
  question: string;
  /** The reference answer (HumanEval: the entry point name; tests live in `meta`). */
  reference: string;
  level?: number;
  subject?: string;
  meta?: Record<string, unknown>;
}

/** Describes how one dataset's file is read. */
interface DatasetFormat {
  /** File name under the shared datasets folder. */
  file: string;
  /** Schema of one raw line; errors name the field. */
  schema: z.ZodType;
  toRow(raw: never, index: number): DatasetRow;
}

/**
 * Known datasets. A new one is an entry here plus its name in `datasetNames`; a generated
 * dataset (such as the synthetic arithmetic task) would register a format whose rows come from
 * a generator instead of a file.
 */
export const datasetNames = ["gsm8k", "math500", "aime24", "amc23", "humaneval"] as const;
/** Name of a known dataset. */
export type DatasetName = (typeof datasetNames)[number];

const text = z.string().min(1);

const gsm8kLine = z.object({
  question: text,
  answer: text.regex(/####\s*\S/, "has no '#### <answer>' line"),
});
const math500Line = z.object({
  problem: text,
  solution: z.string(),
  answer: text,
  subject: text,
  level: z.number().int(),
  unique_id: text,
});
const aime24Line = z.object({
  id: z.union([z.number(), z.string()]),
  problem: text,
  answer: z.union([text, z.number()]),
  solution: z.string().optional(),
  url: z.string().optional(),
});
const amc23Line = z.object({
  id: z.union([z.number(), z.string()]),
  question: text.optional(),
  problem: text.optional(),
  answer: z.union([text, z.number()]),
  url: z.string().optional(),
});
const humanEvalLine = z.object({
  task_id: text,
  prompt: text,
  entry_point: text,
  canonical_solution: z.string(),
  test: text,
});

/** Numbers stored as floats (`27.0`) become the integer text a grader expects (`27`). */
function answerText(answer: string | number): string {
  return typeof answer === "number" ? String(answer) : answer.trim();
}

const formats: Record<DatasetName, DatasetFormat> = {
  gsm8k: {
    file: "gsm8k-test.jsonl",
    schema: gsm8kLine,
    toRow: (raw: z.output<typeof gsm8kLine>, index) => {
      const final = raw.answer.slice(raw.answer.lastIndexOf("####") + 4).trim();
      // Thousands separators are formatting, not part of the number.
      return {
        id: `gsm8k-${index}`,
        question: raw.question,
        reference: final.replace(/,/g, ""),
        meta: { solution: raw.answer },
      };
    },
  },
  math500: {
    file: "math500-test.jsonl",
    schema: math500Line,
    toRow: (raw: z.output<typeof math500Line>) => ({
      id: raw.unique_id,
      question: raw.problem,
      reference: raw.answer,
      level: raw.level,
      subject: raw.subject,
      meta: { solution: raw.solution },
    }),
  },
  aime24: {
    file: "aime24-test.jsonl",
    schema: aime24Line,
    toRow: (raw: z.output<typeof aime24Line>) => ({
      id: `aime24-${raw.id}`,
      question: raw.problem,
      reference: answerText(raw.answer),
      meta: { solution: raw.solution, url: raw.url },
    }),
  },
  amc23: {
    file: "amc23-test.jsonl",
    schema: amc23Line.refine((raw) => raw.question ?? raw.problem, {
      message: "needs 'question' or 'problem'",
      path: ["question"],
    }),
    toRow: (raw: z.output<typeof amc23Line>) => ({
      id: `amc23-${raw.id}`,
      question: (raw.question ?? raw.problem)!,
      reference: answerText(raw.answer),
      meta: { url: raw.url },
    }),
  },
  humaneval: {
    file: "HumanEval.jsonl.gz",
    schema: humanEvalLine,
    toRow: (raw: z.output<typeof humanEvalLine>) => ({
      id: raw.task_id,
      question: raw.prompt,
      reference: raw.entry_point,
      // What judging needs; the reference solution stays out, as strategies can read `meta`.
      meta: { prompt: raw.prompt, test: raw.test, entry_point: raw.entry_point },
    }),
  },
};

/** Options of `loadDataset`; `path` defaults to `defaultDatasetPath(name)`. */
export const datasetOptionsSchema = z.object({
  name: z.enum(datasetNames),
  path: z.string().min(1).optional(),
  limit: z.number().int().positive().optional(),
  /** Shuffles deterministically before `limit`, so a limited run is a fair sample. */
  seed: z.number().int().optional(),
  levels: z.array(z.number().int()).nonempty().optional(),
  subjects: z.array(z.string().min(1)).nonempty().optional(),
});
/** Input type of `loadDataset` options. */
export type DatasetOptions = z.input<typeof datasetOptionsSchema>;

/**
 * The shared copy of a dataset (`../shared/datasets/<file>` relative to `cwd`) when it exists,
 * as that relative path so recipes stay portable; undefined otherwise.
 */
export function defaultDatasetPath(name: DatasetName, cwd: string = process.cwd()): string | undefined {
  const relative = `../shared/datasets/${formats[name].file}`;
  return existsSync(resolve(cwd, relative)) ? relative : undefined;
}

/** The file name a dataset is published under (e.g. `math500-test.jsonl`). */
export function datasetFileName(name: DatasetName): string {
  return formats[name].file;
}

/**
 * Reads, validates and filters a dataset: filter by `levels`/`subjects`, then shuffle with
 * `seed` (when given), then keep the first `limit` rows. A bad line throws InvalidInputError
 * naming the file, line number and field.
 */
export async function loadDataset(options: DatasetOptions): Promise<DatasetRow[]> {
  const parsed = datasetOptionsSchema.safeParse(options);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new InvalidInputError(`dataset.${issue.path.join(".")}`, issue.message);
  }
  const { name, limit, seed, levels, subjects } = parsed.data;
  const path = parsed.data.path ?? defaultDatasetPath(name);
  if (!path) {
    throw new InvalidInputError(
      "dataset.path",
      `no path given and ../shared/datasets/${formats[name].file} does not exist`,
      "pass the path of the JSONL file",
    );
  }
  let rows = parseDatasetText(name, await readTextFile(path, "dataset.path"), basename(path));
  if (rows.length === 0) throw new InvalidInputError("dataset.path", `${path} holds no problems`);
  if (levels) {
    refuseUnknown(name, "levels", levels.map(String), rows.flatMap((row) => row.level ?? []).map(String));
    rows = rows.filter((row) => row.level !== undefined && levels.includes(row.level));
  }
  if (subjects) {
    refuseUnknown(
      name,
      "subjects",
      subjects,
      rows.flatMap((row) => row.subject ?? []),
    );
    const wanted = new Set(subjects.map((s) => s.toLowerCase()));
    rows = rows.filter((row) => row.subject !== undefined && wanted.has(row.subject.toLowerCase()));
  }
  if (rows.length === 0)
    throw new InvalidInputError(
      "dataset",
      `no problem of ${name} has both levels ${levels?.join(",")} and subjects ${subjects?.join(",")}`,
    );
  if (seed !== undefined) rows = shuffled(rows, seededRandom(deriveSeed(seed, "dataset", name)));
  return limit !== undefined ? rows.slice(0, limit) : rows;
}

/**
 * A filter value that matches no row is a typo, not a wish for an empty run: refuse it and list
 * the values the file has (subjects compare case-insensitively, as the filter does).
 */
function refuseUnknown(
  name: string,
  field: "levels" | "subjects",
  wanted: string[],
  present: string[],
): void {
  const known = [...new Set(present)].sort((a, b) => a.localeCompare(b, "en", { numeric: true }));
  const lower = new Set(known.map((value) => value.toLowerCase()));
  const unknown = wanted.filter((value) => !lower.has(value.toLowerCase()));
  if (unknown.length === 0) return;
  throw new InvalidInputError(
    `dataset.${field}`,
    known.length === 0
      ? `${name} has no ${field}`
      : `${name} has no ${field === "levels" ? "level" : "subject"} ${unknown.map((v) => JSON.stringify(v)).join(", ")}`,
    known.length === 0 ? `drop --${field}` : `use one of: ${known.join(", ")}`,
  );
}

/** Parses the JSONL text of a dataset; `source` names the file in errors. */
export function parseDatasetText(name: DatasetName, content: string, source: string = name): DatasetRow[] {
  const format = formats[name];
  return parseJsonl(format.schema, content, source).map((row, i) => format.toRow(row as never, i));
}
