import { setMaxListeners } from "node:events";
import { resolveBackend } from "../backends/resolve.js";
import { createProgressDisplay, progressStyle } from "../bench/progress.js";
import type { Recipe } from "../bench/recipe.js";
import { type BenchOptions, resumeBench, startBench } from "../bench/runner.js";
import { type RunSummary, summarizeRun } from "../bench/summary.js";
import { AbortedError, ReckonError } from "../core/errors.js";
import { defaultDbPath, type RunStore } from "../store/sqlite.js";
import { serverBackendOptions } from "./flags.js";

export interface BenchSession {
  store: RunStore;
  dbPath: string;
  recipe: Recipe;
  runId: string;
  resume: boolean;
  /** Overrides the recipe's backend (e.g. a replay file served from elsewhere). */
  backend?: string;
  /** The API key of an OpenAI-compatible server (default: $OPENAI_API_KEY); never in the recipe. */
  apiKey?: string;
  json?: boolean;
  quiet?: boolean;
  /** Seconds per attempt of a request to an OpenAI-compatible server. */
  timeout?: number;
  /** Retries of a failed request to an OpenAI-compatible server. */
  retries?: number;
}

/**
 * Runs (or resumes) one bench run the way a user expects: progress (a bar at a terminal, plain
 * lines in a log), retries reported as they happen, Ctrl-C stopping cleanly with the command
 * that continues the run, and the summary at the end.
 */
export async function executeBench(session: BenchSession): Promise<RunSummary> {
  const { store, recipe, runId } = session;
  const backend = await resolveBackend({
    backend: session.backend ?? recipe.backend,
    model: recipe.model,
    mode: recipe.mode,
    apiKey: session.apiKey ?? process.env.OPENAI_API_KEY,
    // One request per problem in flight: let the HTTP client allow as many.
    concurrency: recipe.concurrency,
    ...serverBackendOptions(session),
  });
  const progress = createProgressDisplay(progressStyle(session));
  const controller = new AbortController();
  // Every sequence and request of the run listens to this one signal: many listeners are expected.
  setMaxListeners(0, controller.signal);
  const onSignal = () => controller.abort();
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  const resumeHint = `reckon bench --resume ${runId}${session.dbPath === defaultDbPath ? "" : ` --db ${session.dbPath}`}`;
  // The runner reports progress once the run is stored: only then can it be resumed.
  let started = false;
  try {
    const options: BenchOptions = {
      store,
      backend,
      signal: controller.signal,
      onProgress: (p) => {
        if (!started) {
          started = true;
          if (!session.json)
            process.stderr.write(`run ${runId}: if interrupted, continue with \`${resumeHint}\`\n`);
        }
        progress.update(p);
      },
      onNote: session.json || session.quiet ? undefined : (note) => process.stderr.write(`note: ${note}\n`),
    };
    if (session.resume) await resumeBench(runId, options);
    else await startBench(recipe, { ...options, runId });
  } catch (error) {
    if (error instanceof AbortedError) {
      if (started || store.findRun(runId))
        throw new ReckonError(`run ${runId} interrupted`, `continue it with \`${resumeHint}\``);
      throw new ReckonError(`interrupted before run ${runId} started`);
    }
    throw error;
  } finally {
    progress.stop();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await backend.close?.();
  }
  return summarizeRun(store, runId);
}
