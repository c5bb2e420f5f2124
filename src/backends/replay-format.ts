/**
 * The replay file: recorded samples, one JSONL row per problem, served back by the replay
 * backend and written by `reckon export`.
 */
import { createReadStream, readFileSync } from "node:fs";
import { basename } from "node:path";
import { createInterface } from "node:readline";
import { createGunzip, gunzipSync } from "node:zlib";
import { z } from "zod";
import { InvalidInputError } from "../core/errors.js";
import { parseJsonLine, parseJsonl, parseRow, readTextFile } from "../core/jsonl.js";

/** One recorded sample. */
export const replaySampleSchema = z
  .object({
    text: z.string(),
    /** Outcome reward of this sample (e.g. from a reward model), higher is better. */
    reward: z.number().optional(),
    /** Per-step rewards (e.g. from a process reward model). */
    step_rewards: z.array(z.number()).optional(),
    /** Completion tokens when the recording knows them (thinking included); otherwise estimated from the text. */
    tokens: z.number().int().nonnegative().optional(),
    /** A reasoning model's thinking, apart from the answer in `text` (absent: it did not think). */
    reasoning: z.string().optional(),
    /** Of `tokens`, those spent thinking, when the recording counts them. */
    reasoning_tokens: z.number().int().nonnegative().optional(),
    /** OpenAI's "stop" (end of sequence or a stop string, not told apart) reads as "eos". */
    finish_reason: z
      .enum(["eos", "stop-sequence", "length", "aborted", "stop"])
      .transform((reason) => (reason === "stop" ? "eos" : reason))
      .optional(),
  })
  .refine(
    (s) => s.reasoning_tokens === undefined || s.tokens === undefined || s.reasoning_tokens <= s.tokens,
    {
      path: ["reasoning_tokens"],
      message: "is more than the sample's tokens, which include the thinking",
    },
  );
/** One recorded sample. */
export type ReplaySample = z.infer<typeof replaySampleSchema>;

/** One problem with its recorded samples. */
export const replayRowSchema = z.object({
  id: z.string().min(1),
  prompt: z.string(),
  reference: z.string().optional(),
  /** Prompt tokens when the recording knows them. */
  prompt_tokens: z.number().int().nonnegative().optional(),
  samples: z.array(replaySampleSchema),
  meta: z.record(z.string(), z.unknown()).optional(),
});
/** One problem with its recorded samples. */
export type ReplayRow = z.infer<typeof replayRowSchema>;

/**
 * Parses replay JSONL. A bad row throws InvalidInputError naming the line and field,
 * e.g. `run.jsonl line 4, field "samples[2].reward"`.
 */
export function parseReplayRows(content: string, source = "replay file"): ReplayRow[] {
  return parseJsonl(replayRowSchema, content, source);
}

/** Reads and validates a replay file (`.jsonl`, or gzipped). */
export async function readReplayFile(path: string): Promise<ReplayRow[]> {
  return parseReplayRows(await readTextFile(path, "replay file"), basename(path));
}

/** A replay row without its samples: what a benchmark needs of the file's problems. */
export type ReplayQuestion = Omit<ReplayRow, "samples">;
const replayQuestionSchema = replayRowSchema.omit({ samples: true });

/**
 * The problems of a replay file (id, prompt, reference, meta), read line by line so that the
 * samples, most of a large file, are never all in memory at once (the backend serving them has
 * its own copy). Gzipped files are read through gunzip.
 */
export async function readReplayQuestions(path: string): Promise<ReplayQuestion[]> {
  const source = basename(path);
  const file = createReadStream(path);
  const opened = new Promise<void>((resolve, reject) => {
    file.once("open", () => resolve());
    file.once("error", reject);
  });
  try {
    await opened;
  } catch (error) {
    throw new InvalidInputError("replay file", `cannot read ${path}: ${(error as Error).message}`);
  }
  const stream = /\.gz$/i.test(path) ? file.pipe(createGunzip()) : file;
  const rows: ReplayQuestion[] = [];
  let line = 0;
  for await (const text of createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY })) {
    line += 1;
    if (text.trim() !== "") rows.push(parseJsonLine(replayQuestionSchema, text, `${source} line ${line}`));
  }
  return rows;
}

/**
 * Synchronous `readReplayFile`, for constructing a backend without awaiting. Lines are decoded
 * one at a time from the file's bytes, so a large file is never held as one string beside its
 * lines and their rows.
 */
export function readReplayFileSync(path: string): ReplayRow[] {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
    if (bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = gunzipSync(bytes);
  } catch (error) {
    throw new InvalidInputError("replay file", `cannot read ${path}: ${(error as Error).message}`);
  }
  const source = basename(path);
  const rows: ReplayRow[] = [];
  for (let start = 0, line = 1; start < bytes.length; line++) {
    const newline = bytes.indexOf(0x0a, start);
    const end = newline === -1 ? bytes.length : newline;
    const text = bytes.toString("utf8", start, end);
    if (text.trim() !== "") rows.push(parseJsonLine(replayRowSchema, text, `${source} line ${line}`));
    start = end + 1;
  }
  return rows;
}

/** Serialises rows as replay JSONL (validated first; one row per line, trailing newline). */
export function writeReplayRows(rows: readonly ReplayRow[]): string {
  return rows
    .map((row, i) => {
      const parsed = parseRow(replayRowSchema, row, `replay row ${i} (${row.id})`);
      return `${JSON.stringify(parsed)}\n`;
    })
    .join("");
}
