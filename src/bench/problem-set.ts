/** The problems a recipe names, with the prompt each one is sent as. */
import { InvalidInputError } from "../core/errors.js";
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
    const { readReplayFile } = await import("./replay-format.js");
    const rows = await readReplayFile(dataset.path);
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
