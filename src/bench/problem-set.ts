/** The problems a recipe names, with the prompt each one is sent as. */
import type { SamplingOptions } from "../core/backend.js";
import { requestDigest } from "../core/draws.js";
import { InvalidInputError } from "../core/errors.js";
import { deriveSeed } from "../core/random.js";
import type { ChatMessage, Problem, Task } from "../core/types.js";
import type { ProblemRecord } from "../store/sqlite.js";
import { renderPrompt } from "../tasks/registry.js";
import { type DatasetRow, loadDataset } from "./datasets.js";
import type { Recipe } from "./recipe.js";

/** A dataset row; replay files also carry the prompt exactly as recorded, never re-rendered. */
type QuestionRow = DatasetRow & { prompt?: string };

async function datasetRows(dataset: Recipe["dataset"]): Promise<QuestionRow[]> {
  if (dataset.name === "arithmetic") {
    const { generateArithmeticProblems } = await import("../tasks/arithmetic.js");
    // The question is the bare expression; the task's prompt puts it in the trained format.
    return dataset.levels.flatMap((level) =>
      generateArithmeticProblems({ level, count: dataset.perLevel, seed: dataset.seed }).map((p) => ({
        id: p.id,
        question: p.expression,
        reference: p.reference,
        level: p.level,
      })),
    );
  }
  if (dataset.name === "replay") {
    const { readReplayQuestions } = await import("./replay-format.js");
    const rows = await readReplayQuestions(dataset.path);
    return rows.slice(0, dataset.limit).map((row) => {
      if (row.reference === undefined)
        throw new InvalidInputError(
          "dataset",
          `replay row ${row.id} has no reference answer`,
          "a replay file is a benchmark only when every row records its reference",
        );
      return {
        id: row.id,
        question: row.prompt,
        prompt: row.prompt,
        reference: row.reference,
        meta: row.meta,
      };
    });
  }
  return loadDataset(dataset);
}

export async function loadProblemSet(recipe: Recipe): Promise<ProblemRecord[]> {
  const rows = await datasetRows(recipe.dataset);
  const seen = new Set<string>();
  for (const row of rows) {
    if (seen.has(row.id))
      throw new InvalidInputError("dataset", `problem id ${row.id} appears twice`, "ids must be unique");
    seen.add(row.id);
  }
  return rows.map((row, position) => ({
    problemId: row.id,
    position,
    question: row.question,
    prompt: row.prompt ?? renderPrompt(recipe.task, row.question, recipe.template),
    reference: row.reference,
    level: row.level ?? numberOr(row.meta?.level),
    subject: row.subject,
    ...(row.meta ? { meta: row.meta } : {}),
  }));
}

const numberOr = (value: unknown): number | undefined => (typeof value === "number" ? value : undefined);

/** The problem as strategies see it; chat prompts are stored as JSON of their messages. */
export function problemOf(record: ProblemRecord, task: Task): Problem {
  return {
    id: record.problemId,
    prompt: promptOf(record),
    reference: record.reference,
    task,
    meta: { ...record.meta, ...(record.level === undefined ? {} : { level: record.level }) },
  };
}

function promptOf(record: ProblemRecord): string | ChatMessage[] {
  if (!record.prompt.startsWith("[")) return record.prompt;
  try {
    const value = JSON.parse(record.prompt) as unknown;
    return Array.isArray(value) && value.every((m) => typeof m?.role === "string")
      ? (value as ChatMessage[])
      : record.prompt;
  } catch {
    return record.prompt;
  }
}

/**
 * Sampling of a problem: the recipe's settings and a seed of its own, so problems draw
 * independently while the same run seed always draws the same samples. Kept below 2^31 for
 * servers that read the seed as a signed 32-bit integer.
 */
export function samplingOf(recipe: Recipe, problemId: string): SamplingOptions {
  return {
    temperature: recipe.sampling.temperature,
    topP: recipe.sampling.top_p,
    topK: recipe.sampling.top_k,
    maxTokens: recipe.sampling.max_tokens,
    stop: recipe.sampling.stop,
    seed: deriveSeed(recipe.seed, "samples", problemId) % 2 ** 30,
  };
}

/**
 * The digest of a whole-solution sample of the problem with the recipe's sampling, the request
 * every sampling strategy makes: its draws are the pool behind pass@k and replay exports (not
 * the step continuations of a tree search).
 */
export function wholeSampleDigest(recipe: Recipe, record: ProblemRecord): string {
  return requestDigest({ ...samplingOf(recipe, record.problemId), prompt: promptOf(record), n: 1 });
}
