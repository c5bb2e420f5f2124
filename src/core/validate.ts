import type { z } from "zod";
import { InvalidInputError } from "./errors.js";

/** A zod issue path as a user would write it: `strategies[1].n`. */
export function formatIssuePath(path: readonly PropertyKey[]): string {
  return path
    .map((p, i) => (typeof p === "number" ? `[${p}]` : `${i === 0 ? "" : "."}${String(p)}`))
    .join("");
}

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
  const path = formatIssuePath(issue.path);
  throw new InvalidInputError(
    path === "" ? where : `${where}${path.startsWith("[") ? "" : "."}${path}`,
    issue.message,
  );
}
