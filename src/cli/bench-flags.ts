/** `reckon bench` flags, and how they become the same recipe object a recipe file gives. */
import { z } from "zod";
import { InvalidInputError } from "../core/errors.js";
import { parseOrThrow } from "../core/validate.js";
import { defaultStrategies } from "../strategies/registry.js";
import { envNameSchema, runIdSchema, serverFlagsSchema, strategyOptionsFlag } from "./flags.js";

const list = (value: string) =>
  value
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
const intList = z.string().transform((value, ctx) => {
  const items = list(value).map(Number);
  if (items.length === 0 || items.some((x) => !Number.isInteger(x)))
    ctx.addIssue({ code: "custom", message: `expected comma-separated integers, got "${value}"` });
  return items;
});
const int = z.coerce.number().int();
/** `--fields prompt=question,answer=final`: the loader's fields onto the file's. */
const fieldMapping = z.string().transform((value, ctx) => {
  const mapping: Record<string, string> = {};
  for (const entry of list(value)) {
    const match = /^([\w-]+)=(.+)$/.exec(entry);
    if (!match) {
      ctx.addIssue({
        code: "custom",
        message: `expected FIELD=NAME pairs, e.g. prompt=question,answer=final; got "${entry}"`,
      });
      return z.NEVER;
    }
    mapping[match[1]!] = match[2]!.trim();
  }
  return mapping;
});

export const benchFlagsSchema = z.object({
  dataset: z.string().optional(),
  datasetPath: z.string().optional(),
  fields: fieldMapping.optional(),
  limit: int.optional(),
  levels: intList.optional(),
  subjects: z.string().transform(list).optional(),
  perLevel: int.optional(),
  datasetSeed: int.optional(),
  task: z.string().optional(),
  template: z.string().optional(),
  backend: z.string().optional(),
  model: z.string().optional(),
  mode: z.string().optional(),
  strategy: z.string().transform(list).optional(),
  options: z.string().optional(),
  apiKeyEnv: envNameSchema.optional(),
  n: intList.optional(),
  verifier: z.string().optional(),
  temperature: z.coerce.number().optional(),
  topP: z.coerce.number().optional(),
  maxTokens: int.optional(),
  stop: z.array(z.string()).optional(),
  seed: int.optional(),
  concurrency: int.optional(),
  name: z.string().optional(),
  db: z.string(),
  resume: z.string().optional(),
  runId: runIdSchema.optional(),
  ...serverFlagsSchema.shape,
  json: z.boolean().optional(),
  quiet: z.boolean().optional(),
});
export type BenchFlags = z.output<typeof benchFlagsSchema>;

const defined = (entries: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(entries).filter(([, v]) => v !== undefined));

/**
 * Lays flags over a recipe file's raw settings (flags win; `dataset` and `sampling` merge key by
 * key unless the dataset name changes), giving the object that the recipe schema validates.
 */
export function recipeFromFlags(
  flags: BenchFlags,
  base: Record<string, unknown> = {},
): Record<string, unknown> {
  const baseDataset = (base.dataset ?? {}) as Record<string, unknown>;
  const sameDataset = flags.dataset === undefined || flags.dataset === baseDataset.name;
  const dataset = defined({
    ...(sameDataset ? baseDataset : {}),
    ...defined({
      name: flags.dataset,
      path: flags.datasetPath,
      fields: flags.fields,
      limit: flags.limit,
      levels: flags.levels,
      subjects: flags.subjects,
      perLevel: flags.perLevel,
      seed: flags.datasetSeed,
    }),
  });
  const samplingFlags = defined({
    temperature: flags.temperature,
    top_p: flags.topP,
    max_tokens: flags.maxTokens,
    stop: flags.stop,
  });
  return {
    ...base,
    ...(Object.keys(dataset).length > 0 ? { dataset } : {}),
    ...(Object.keys(samplingFlags).length > 0
      ? { sampling: { ...((base.sampling ?? {}) as object), ...samplingFlags } }
      : {}),
    ...defined({
      task: flags.task,
      template: flags.template,
      backend: flags.backend,
      model: flags.model,
      mode: flags.mode,
      strategies:
        flags.options === undefined
          ? flags.strategy?.map((name) => ({ name }))
          : withOptionsFlag(flags.strategy?.map((name) => ({ name })) ?? base.strategies, flags.options),
      n: flags.n,
      verifier: flags.verifier,
      seed: flags.seed,
      concurrency: flags.concurrency,
      name: flags.name,
    }),
  };
}

/**
 * `--options '<json>'`: the options of the run's one strategy (named by `--strategy` or the recipe
 * file), laid over that entry's own as a recipe file's per-strategy `options`, and checked by the
 * strategy's own schema so that an error names the field (`--options.beamWidth`).
 */
function withOptionsFlag(entries: unknown, raw: string): unknown[] {
  const given = strategyOptionsFlag(raw);
  if (!Array.isArray(entries) || entries.length === 0)
    throw new InvalidInputError(
      "--options",
      "it sets one strategy's options: name the strategy with --strategy NAME",
    );
  const named = entries.map((e) => (typeof e === "string" ? { name: e } : (e as Record<string, unknown>)));
  if (named.length > 1)
    throw new InvalidInputError(
      "--options",
      `it sets one strategy's options, and ${named.length} are selected (${named.map((e) => String(e.name)).join(", ")})`,
      "choose one with --strategy NAME, or give each strategy its options in a recipe file",
    );
  const entry = named[0]!;
  const options = { ...((entry.options ?? {}) as Record<string, unknown>), ...given };
  // An unknown name is left to the recipe's own check, which lists the known ones.
  if (typeof entry.name === "string" && defaultStrategies.has(entry.name))
    parseOrThrow(defaultStrategies.get(entry.name).options, options, "--options");
  return [{ ...entry, options }];
}

/** Flags that define what a run computes; a resumed run keeps its recorded recipe instead. */
export const recipeFlags: (keyof BenchFlags)[] = [
  "dataset",
  "datasetPath",
  "fields",
  "limit",
  "levels",
  "subjects",
  "perLevel",
  "datasetSeed",
  "task",
  "template",
  "model",
  "mode",
  "strategy",
  "options",
  "n",
  "verifier",
  "temperature",
  "topP",
  "maxTokens",
  "stop",
  "seed",
  "name",
];
