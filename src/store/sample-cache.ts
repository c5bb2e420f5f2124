/**
 * The bench's sample cache: backend middleware that serves a draw from the store when the
 * same request (digest) already drew that sample index for this problem, and stores every new
 * draw the moment its call returns. Strategies and budgets that ask the same thing share draws,
 * a resumed run never redraws one, and usage is the stored share of each draw's call whether
 * it came from the engine or the store, so a resumed run reports exactly what an uninterrupted
 * one would.
 */
import {
  type Backend,
  type BackendMiddleware,
  forwardBackend,
  type GenerateRequest,
} from "../core/backend.js";
import { requestDigest } from "../core/draws.js";
import { addUsage, type Completion, emptyUsage, type Usage } from "../core/types.js";
import type { DrawRecord, DrawTable } from "./draws.js";

export interface SampleCacheScope {
  runId: string;
  problemId: string;
  /** Called with the draws this process added (not those served from the store). */
  onDrawn?: (draws: DrawRecord[]) => void;
}

/** One sample's share of its call: its own completion tokens, an equal part of the rest. */
function shareOf(usage: Usage, completion: Completion, samples: number): Usage {
  const share: Usage = {
    promptTokens: usage.promptTokens / samples,
    completionTokens: completion.tokens,
    calls: usage.calls / samples,
    latencyMs: usage.latencyMs / samples,
    estimated: usage.estimated,
  };
  if (usage.cachedPromptTokens !== undefined) share.cachedPromptTokens = usage.cachedPromptTokens / samples;
  return share;
}

export function sampleCacheMiddleware(draws: DrawTable, scope: SampleCacheScope): BackendMiddleware {
  const { runId, problemId } = scope;
  return (next: Backend) =>
    forwardBackend(next, {
      async generate(request: GenerateRequest) {
        const digest = requestDigest(request);
        const offset = request.sampleOffset ?? 0;
        const found = draws.find(runId, problemId, digest, offset, request.n);
        for (const [index, draw] of found) request.onSample?.(draw.completion, index - offset);
        // Draw what is missing, one call per contiguous gap, storing each call's draws at once.
        for (let start = offset; start < offset + request.n; ) {
          if (found.has(start)) {
            start += 1;
            continue;
          }
          let end = start;
          while (end < offset + request.n && !found.has(end)) end += 1;
          const response = await next.generate({
            ...request,
            n: end - start,
            sampleOffset: start,
            onSample: request.onSample && ((c, i) => request.onSample!(c, start - offset + i)),
          });
          const drawn = response.completions.slice(0, end - start).map(
            (completion, i): DrawRecord => ({
              problemId,
              digest,
              index: start + i,
              completion,
              usage: shareOf(response.usage, completion, response.completions.length),
            }),
          );
          draws.add(runId, drawn);
          scope.onDrawn?.(drawn);
          for (const draw of drawn) found.set(draw.index, draw);
          start = end;
        }
        const served = [...found.entries()].sort((a, b) => a[0] - b[0]).map(([, draw]) => draw);
        return {
          completions: served.map((d) => d.completion),
          usage: served.reduce((sum, d) => addUsage(sum, d.usage), emptyUsage()),
        };
      },
    });
}
