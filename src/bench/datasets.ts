/** Evaluation sets read from JSONL (optionally gzipped) into one row shape. */
import { basename } from "node:path";
import { z } from "zod";
import { InvalidInputError } from "../core/errors.js";
import { decodeText, parseJsonLine, readTextFile } from "../core/jsonl.js";
import { deriveSeed, seededRandom, shuffled } from "../core/random.js";
import { type DatasetFile, type DatasetSources, locateDataset } from "./dataset-cache.js";
import { type DatasetName, datasetHomes, datasetNames, type LoaderField } from "./dataset-registry.js";

export { defaultDatasetPath } from "./dataset-cache.js";
export { type DatasetName, datasetNames, type LoaderField, loaderFields } from "./dataset-registry.js";

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

/**
 * How one dataset's rows become problems. The schema is over the loader's field names; the
 * registry (or `--fields`) says which of the file's fields each one reads. Only what the task
 * uses is required: a MATH-style file needs no `solution`, a HumanEval one no canonical solution.
 */
interface DatasetReader {
  schema: z.ZodType;
  toRow(fields: never, index: number): DatasetRow;
}

const text = z.string().min(1);
const answer = z.union([text, z.number()], { error: "expected text or a number" });
const id = z.union([text, z.number()], { error: "expected text or a number" }).optional();
/** A MATH level as published (`3`) or as in the original MATH files (`"Level 3"`). */
const level = z
  .preprocess(
    (value) =>
      typeof value === "string" && /^\s*(?:level\s*)?\d+\s*$/i.test(value)
        ? Number(/\d+/.exec(value)![0])
        : value,
    z.number({ error: 'expected a level such as 3 or "Level 3"' }).int(),
  )
  .optional();

/** A GSM8K answer: a worked solution ending in `#### <number>`, or the number alone. */
const gsm8kAnswer = answer.refine(
  (value) => typeof value === "number" || /####\s*\S/.test(value) || isNumberText(value),
  "has no '#### <answer>' line and is not a number",
);
const isNumberText = (value: string) => /^\s*-?[\d,]*\.?\d+\s*$/.test(value);

const gsm8kFields = z.object({ id, prompt: text, answer: gsm8kAnswer });
const mathFields = z.object({
  id,
  prompt: text,
  answer,
  solution: z.string().optional(),
  level,
  subject: text.optional(),
});
const competitionFields = z.object({
  id,
  prompt: text,
  answer,
  solution: z.string().optional(),
  url: z.string().optional(),
});
const codeFields = z.object({ id, prompt: text, test: text, entry_point: text });

/** Numbers stored as floats (`27.0`) become the integer text a grader expects (`27`). */
function answerText(value: string | number): string {
  return typeof value === "number" ? String(value) : value.trim();
}

/** A row's id: the file's own (numbers prefixed with the dataset's name when `prefix`), else its position. */
function idOf(name: DatasetName, value: string | number | undefined, index: number, prefix = false): string {
  if (value === undefined) return `${name}-${index}`;
  return prefix ? `${name}-${value}` : String(value);
}

const readers: Record<DatasetName, DatasetReader> = {
  gsm8k: {
    schema: gsm8kFields,
    toRow: (raw: z.output<typeof gsm8kFields>, index) => {
      const solution = typeof raw.answer === "string" && raw.answer.includes("####") ? raw.answer : undefined;
      const final = solution ? solution.slice(solution.lastIndexOf("####") + 4) : String(raw.answer);
      // Thousands separators are formatting, not part of the number.
      return {
        id: idOf("gsm8k", raw.id, index),
        question: raw.prompt,
        reference: final.trim().replace(/,/g, ""),
        ...(solution ? { meta: { solution } } : {}),
      };
    },
  },
  math500: {
    schema: mathFields,
    toRow: (raw: z.output<typeof mathFields>, index) => ({
      id: idOf("math500", raw.id, index),
      question: raw.prompt,
      reference: answerText(raw.answer),
      level: raw.level,
      subject: raw.subject,
      ...(raw.solution === undefined ? {} : { meta: { solution: raw.solution } }),
    }),
  },
  aime24: {
    schema: competitionFields,
    toRow: (raw: z.output<typeof competitionFields>, index) => ({
      id: idOf("aime24", raw.id, index, true),
      question: raw.prompt,
      reference: answerText(raw.answer),
      meta: { solution: raw.solution, url: raw.url },
    }),
  },
  amc23: {
    schema: competitionFields,
    toRow: (raw: z.output<typeof competitionFields>, index) => ({
      id: idOf("amc23", raw.id, index, true),
      question: raw.prompt,
      reference: answerText(raw.answer),
      meta: { url: raw.url },
    }),
  },
  humaneval: {
    schema: codeFields,
    toRow: (raw: z.output<typeof codeFields>, index) => ({
      id: idOf("humaneval", raw.id, index),
      question: raw.prompt,
      reference: raw.entry_point,
      // What judging needs; a reference solution stays out, as strategies can read `meta`.
      meta: { prompt: raw.prompt, test: raw.test, entry_point: raw.entry_point },
    }),
  },
};

/** Options of `loadDataset`; without `path`, the named dataset is read from the cache (fetched on first use). */
export const datasetOptionsSchema = z.object({
  name: z.enum(datasetNames),
  path: z.string().min(1).optional(),
  /** Loader field → the file's field (`{ prompt: "question", answer: "final" }`), over the dataset's own names. */
  fields: z.record(z.string().min(1), z.string().min(1)).optional(),
  limit: z.number().int().positive().optional(),
  /** Shuffles deterministically before `limit`, so a limited run is a fair sample. */
  seed: z.number().int().optional(),
  levels: z.array(z.number().int()).nonempty().optional(),
  subjects: z.array(z.string().min(1)).nonempty().optional(),
});
/** Input type of `loadDataset` options. */
export type DatasetOptions = z.input<typeof datasetOptionsSchema>;

/**
 * Makes sure a named dataset read from its home is at hand (fetched into the cache if need be)
 * before a run starts; other datasets, and files given by path, need nothing.
 */
export async function prepareDataset(
  dataset: { name: string; path?: unknown },
  sources: DatasetSources = {},
): Promise<DatasetFile | undefined> {
  const name = datasetNames.find((known) => known === dataset.name);
  if (name === undefined || dataset.path !== undefined) return undefined;
  return locateDataset(name, sources, publishedReader(name));
}

/** Checks that fetched bytes read as the published dataset (its own field names). */
const publishedReader = (name: DatasetName) => (bytes: Buffer, source: string) => {
  parseDatasetText(name, decodeText(source, bytes), source);
};

/** The file name a dataset is published under (e.g. `math500-test.jsonl`). */
export function datasetFileName(name: DatasetName): string {
  return datasetHomes[name].file;
}

/**
 * Reads, validates and filters a dataset: filter by `levels`/`subjects`, then shuffle with
 * `seed` (when given), then keep the first `limit` rows. Without `path` the named dataset comes
 * from the cache, else the development copy, else its public home (`locateDataset`). A bad line
 * throws InvalidInputError naming the file, line number and field.
 */
export async function loadDataset(
  options: DatasetOptions,
  sources: DatasetSources = {},
): Promise<DatasetRow[]> {
  const parsed = datasetOptionsSchema.safeParse(options);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new InvalidInputError(`dataset.${issue.path.join(".")}`, issue.message);
  }
  const { name, path, fields = {}, limit, seed, levels, subjects } = parsed.data;
  // A bad mapping is refused before anything is fetched.
  fieldColumns(name, fields);
  let rows: DatasetRow[];
  if (path !== undefined) {
    rows = parseDatasetText(name, await readTextFile(path, "dataset.path"), basename(path), fields);
  } else {
    // A fetched file must read as the published dataset before it is kept.
    const file = await locateDataset(name, sources, publishedReader(name));
    rows = parseDatasetText(name, decodeText(file.path, file.bytes), basename(file.path), fields);
  }
  if (rows.length === 0) throw new InvalidInputError("dataset.path", `${path ?? name} holds no problems`);
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

/**
 * The file's field(s) each loader field of the dataset reads: the registry's, with `mapping`
 * laid over it. A mapping of a field the dataset does not read is refused, naming its fields.
 */
function fieldColumns(
  name: DatasetName,
  mapping: Record<string, string>,
): [LoaderField, readonly string[]][] {
  const defaults = datasetHomes[name].fields;
  const known = Object.keys(defaults);
  for (const field of Object.keys(mapping))
    if (!known.includes(field))
      throw new InvalidInputError(
        `dataset.fields.${field}`,
        `${name} reads no field "${field}"`,
        `map its fields: ${known.join(", ")} (e.g. --fields prompt=question,answer=final)`,
      );
  return Object.entries(defaults).map(([field, columns]) => {
    const mapped = mapping[field];
    return [
      field as LoaderField,
      mapped !== undefined ? [mapped] : typeof columns === "string" ? [columns] : columns!,
    ];
  });
}

const jsonObject = z.record(z.string(), z.unknown());

/**
 * Parses the JSONL text of a dataset; `source` names the file in errors, and `mapping` (loader
 * field → the file's field) overrides the registry's names for the published file.
 */
export function parseDatasetText(
  name: DatasetName,
  content: string,
  source: string = name,
  mapping: Record<string, string> = {},
): DatasetRow[] {
  const reader = readers[name];
  const columns = fieldColumns(name, mapping);
  const rows: DatasetRow[] = [];
  content.split("\n").forEach((line, i) => {
    if (line.trim() === "") return;
    const where = `${source} line ${i + 1}`;
    const raw = parseJsonLine(jsonObject, line, where);
    const picked: Record<string, unknown> = {};
    const read: Record<string, string> = {};
    for (const [field, candidates] of columns) {
      const present = candidates.find((c) => raw[c] !== undefined);
      read[field] = present ?? candidates.join('" or "');
      picked[field] = present === undefined ? undefined : raw[present];
    }
    const parsed = reader.schema.safeParse(picked);
    if (!parsed.success) throw lineError(parsed.error.issues[0]!, where, read, picked, mapping);
    rows.push(reader.toRow(parsed.data as never, rows.length));
  });
  return rows;
}

/** An invalid line, named by the file's own field (and the mapping that chose it). */
function lineError(
  issue: z.core.$ZodIssue,
  where: string,
  read: Record<string, string>,
  picked: Record<string, unknown>,
  mapping: Record<string, string>,
): InvalidInputError {
  const field = String(issue.path[0] ?? "");
  const column = read[field];
  if (column === undefined) return new InvalidInputError(`${where}, field "(row)"`, issue.message);
  const rest = issue.path
    .slice(1)
    .map((part) => `[${String(part)}]`)
    .join("");
  if (picked[field] === undefined)
    return new InvalidInputError(
      `${where}, field "${column}"`,
      `missing (read as ${field})`,
      mapping[field] !== undefined
        ? `--fields ${field}=${column} names a field this line does not have`
        : `name the field that holds the ${field} with --fields ${field}=NAME`,
    );
  return new InvalidInputError(`${where}, field "${column}${rest}"`, issue.message);
}
