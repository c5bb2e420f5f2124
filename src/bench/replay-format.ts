/**
 * The replay file: recorded samples, one JSONL row per problem, served back by the replay
 * backend and written by `reckon export`.
 */
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { basename } from "node:path";
import { gunzipSync } from "node:zlib";
import { z } from "zod";
import { InvalidInputError } from "../core/errors.js";

/** One recorded sample. */
export const replaySampleSchema = z.object({
  text: z.string(),
  /** Outcome reward of this sample (e.g. from a reward model), higher is better. */
  reward: z.number().optional(),
  /** Per-step rewards (e.g. from a process reward model). */
  step_rewards: z.array(z.number()).optional(),
  /** Completion tokens when the recording knows them; otherwise estimated from the text. */
  tokens: z.number().int().nonnegative().optional(),
  finish_reason: z.enum(["stop", "length", "aborted", "error"]).optional(),
});
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
  const rows: ReplayRow[] = [];
  const lines = content.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === "") continue;
    const where = `${source} line ${i + 1}`;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch (error) {
      throw new InvalidInputError(where, `not valid JSON (${(error as Error).message})`);
    }
    const parsed = replayRowSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const field = issue.path.map((p, j) =>
        typeof p === "number" ? `[${p}]` : `${j ? "." : ""}${String(p)}`,
      );
      throw new InvalidInputError(`${where}, field "${field.join("") || "(row)"}"`, issue.message);
    }
    rows.push(parsed.data);
  }
  return rows;
}

function decode(path: string, bytes: Buffer): ReplayRow[] {
  const gzipped = path.endsWith(".gz") || (bytes[0] === 0x1f && bytes[1] === 0x8b);
  return parseReplayRows((gzipped ? gunzipSync(bytes) : bytes).toString("utf8"), basename(path));
}

/** Reads and validates a replay file (`.jsonl`, or gzipped). */
export async function readReplayFile(path: string): Promise<ReplayRow[]> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new InvalidInputError("replay file", `cannot read ${path}: ${(error as Error).message}`);
  }
  return decode(path, bytes);
}

/** Synchronous `readReplayFile`, for constructing a backend without awaiting. */
export function readReplayFileSync(path: string): ReplayRow[] {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new InvalidInputError("replay file", `cannot read ${path}: ${(error as Error).message}`);
  }
  return decode(path, bytes);
}

/** Serialises rows as replay JSONL (validated first; one row per line, trailing newline). */
export function writeReplayRows(rows: readonly ReplayRow[]): string {
  return rows
    .map((row, i) => {
      const parsed = replayRowSchema.safeParse(row);
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        throw new InvalidInputError(
          `replay row ${i} (${row.id}), field "${issue.path.join(".")}"`,
          issue.message,
        );
      }
      return `${JSON.stringify(parsed.data)}\n`;
    })
    .join("");
}
