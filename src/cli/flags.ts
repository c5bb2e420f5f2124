import type { z } from "zod";
import { InvalidInputError } from "../core/errors.js";

/** Parses commander's flags with a schema; errors name the flag as typed (`--max-tokens`). */
export function parseFlags<Schema extends z.ZodType>(schema: Schema, flags: unknown): z.output<Schema> {
  const parsed = schema.safeParse(flags);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const name = String(issue.path[0] ?? "").replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  throw new InvalidInputError(`flag --${name}`, issue.message);
}
