import type { z } from "zod";
import { InvalidInputError } from "./errors.js";

/**
 * Parses `value` with `schema`, or throws an InvalidInputError naming the offending field
 * (`where` prefixes the path, e.g. "strategy options" → "strategy options.n").
 */
export function parseOrThrow<Schema extends z.ZodType>(
  schema: Schema,
  value: unknown,
  where: string,
): z.output<Schema> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const path = issue.path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("");
  throw new InvalidInputError(`${where}${path}`, issue.message);
}
