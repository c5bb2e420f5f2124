import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { gunzipSync } from "node:zlib";
import type { z } from "zod";
import { InvalidInputError } from "./errors.js";
import { formatIssuePath } from "./validate.js";

/** Reads a (possibly gzipped) text file; a failure names `field`, the setting that gave the path. */
export async function readTextFile(path: string, field: string): Promise<string> {
  try {
    return decodeText(path, await readFile(path));
  } catch (error) {
    throw new InvalidInputError(field, `cannot read ${path}: ${(error as Error).message}`);
  }
}

/** `readTextFile` without awaiting, for constructors. */
export function readTextFileSync(path: string, field: string): string {
  try {
    return decodeText(path, readFileSync(path));
  } catch (error) {
    throw new InvalidInputError(field, `cannot read ${path}: ${(error as Error).message}`);
  }
}

/**
 * A file's text, gunzipped when it is gzip (by name or by its magic bytes, so renamed files still
 * read), without the byte order mark that some editors put at the start of UTF-8 files.
 */
export function decodeText(path: string, bytes: Buffer): string {
  const gzipped = path.endsWith(".gz") || (bytes[0] === 0x1f && bytes[1] === 0x8b);
  return stripByteOrderMark((gzipped ? gunzipSync(bytes) : bytes).toString("utf8"));
}

/** Text without a leading UTF-8 byte order mark (U+FEFF), which JSON.parse rejects. */
export function stripByteOrderMark(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/**
 * Parses one JSONL line with `schema`. Errors name the place and the field, e.g.
 * `run.jsonl line 4, field "samples[2].reward"`.
 */
export function parseJsonLine<Schema extends z.ZodType>(
  schema: Schema,
  line: string,
  where: string,
): z.output<Schema> {
  let json: unknown;
  try {
    // Readers of streams (stdin, `reckon grade`) see the byte order mark on the first line.
    json = JSON.parse(stripByteOrderMark(line));
  } catch (error) {
    throw new InvalidInputError(where, `not valid JSON (${(error as Error).message})`);
  }
  return parseRow(schema, json, where);
}

/** Validates one row (parsed or about to be written); errors name the place and the field. */
export function parseRow<Schema extends z.ZodType>(
  schema: Schema,
  row: unknown,
  where: string,
): z.output<Schema> {
  const parsed = schema.safeParse(row);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  throw new InvalidInputError(`${where}, field "${formatIssuePath(issue.path) || "(row)"}"`, issue.message);
}

/** Parses JSONL text (blank lines skipped); `source` names the file in errors. */
export function parseJsonl<Schema extends z.ZodType>(
  schema: Schema,
  content: string,
  source: string,
): z.output<Schema>[] {
  const rows: z.output<Schema>[] = [];
  content.split("\n").forEach((line, i) => {
    if (line.trim() !== "") rows.push(parseJsonLine(schema, line, `${source} line ${i + 1}`));
  });
  return rows;
}
