import { setMaxListeners } from "node:events";
import { resolveBackend } from "../backends/resolve.js";
import { createProgressDisplay, progressWanted } from "../bench/progress.js";
import { type Recipe, recipeScorer } from "../bench/recipe.js";
import { type BenchOptions, resumeBench, startBench } from "../bench/runner.js";
import { type RunSummary, summarizeRun } from "../bench/summary.js";
import { AbortedError, ReckonError } from "../core/errors.js";
import { defaultDbPath, type RunStore } from "../store/sqlite.js";
import { resolveScorer } from "../verifiers/registry.js";

export interface BenchSession {
  store: RunStore;
  dbPath: string;
  recipe: Recipe;
  runId: string;
  resume: boolean;
  /** Overrides the recipe's backend (e.g. a replay file served from elsewhere). */
  backend?: string;
  json?: boolean;
  quiet?: boolean;
}

/**
 * Runs (or resumes) one bench run the way a terminal user expects: a progress bar, Ctrl-C
 * stopping cleanly with the command that continues the run, and the summary at the end.
 */
export async function executeBench(session: BenchSession): Promise<RunSummary> {
  const { store, recipe, runId } = session;
  const backend = await resolveBackend({
    backend: session.backend ?? recipe.backend,
    model: recipe.model,
    mode: recipe.mode,
    apiKey: process.env.OPENAI_API_KEY,
    // One request per problem in flight: let the HTTP client allow as many.
    concurrency: recipe.concurrency,
  });
  const progress = createProgressDisplay(progressWanted(session));
  const controller = new AbortController();
  // Every sequence and request of the run listens to this one signal: many listeners are expected.
  setMaxListeners(0, controller.signal);
  const onSignal = () => controller.abort();
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  const resumeHint = `reckon bench --resume ${runId}${session.dbPath === defaultDbPath ? "" : ` --db ${session.dbPath}`}`;
  try {
    const scorerName = recipeScorer(recipe);
    const options: BenchOptions = {
      store,
      backend,
      scorer: scorerName ? await resolveScorer(scorerName, { task: recipe.task, backend }) : undefined,
      signal: controller.signal,
      onProgress: (p) => progress.update(p),
      onNote: session.json || session.quiet ? undefined : (note) => process.stderr.write(`note: ${note}\n`),
    };
    if (!session.json)
      process.stderr.write(`run ${runId}: if interrupted, continue with \`${resumeHint}\`\n`);
    if (session.resume) await resumeBench(runId, options);
    else await startBench(recipe, { ...options, runId });
  } catch (error) {
    if (error instanceof AbortedError)
      throw new ReckonError(`run ${runId} interrupted`, `continue it with \`${resumeHint}\``);
    throw error;
  } finally {
    progress.stop();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await backend.close?.();
  }
  return summarizeRun(store, runId);
}
