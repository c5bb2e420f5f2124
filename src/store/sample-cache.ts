/**
 * The bench's sample cache: backend middleware that serves a draw from the store when the
 * same request (digest) already drew that sample index for this problem, and stores every new
 * draw the moment its call returns. Strategies and budgets that ask the same thing share draws,
 * and a resumed run never redraws one.
 *
 * Usage is charged the same way whether a draw came from the engine or the store, and whatever
 * configurations ran before: a request costs one call with its prompt once (the prompt side of
 * one request of the call that drew its first sample) plus the completion tokens of its own
 * samples. So `self-consistency n=1` costs what it would cost run alone, though its sample was
 * drawn by `n=8`, and a resumed run reports exactly what an uninterrupted one would (the prompt
 * counted whole, whatever an engine's prefix cache happened to hold). A reasoning model's
 * thinking and its token count are stored with each draw and served back with it, so what a
 * strategy or verifier sees of a served draw is what it saw when it was drawn.
 */
import {
  type Backend,
  type BackendMiddleware,
  forwardBackend,
  type GenerateRequest,
  reportWholeSample,
} from "../core/backend.js";
import { requestDigest } from "../core/draws.js";
import { AbortedError } from "../core/errors.js";
import { addUsage, type Completion, emptyUsage, type Usage } from "../core/types.js";
import type { DrawRecord, DrawTable } from "./draws.js";

export interface SampleCacheScope {
  runId: string;
  problemId: string;
  /** Called with the draws this process added (not those served from the store). */
  onDrawn?: (draws: DrawRecord[]) => void;
  /** Called with every draw a request is served, stored or new, with its id. */
  onServed?: (draws: DrawRecord[]) => void;
}

/**
 * What is stored with a draw: the prompt side of one request of its call (a call of parallel
 * single requests made several), its own completion tokens, and its part of the call's time.
 */
function drawUsage(usage: Usage, completion: Completion, samples: number): Usage {
  const requests = Math.max(1, usage.calls);
  const stored: Usage = {
    promptTokens: usage.promptTokens / requests,
    completionTokens: completion.tokens,
    calls: 1,
    // To the microsecond: more digits are noise, stored with every draw.
    latencyMs: Math.round((1000 * usage.latencyMs) / samples) / 1000,
    estimated: usage.estimated,
  };
  if (usage.cachedPromptTokens !== undefined) stored.cachedPromptTokens = usage.cachedPromptTokens / requests;
  return stored;
}

/**
 * One request of these draws: one call, the first draw's whole prompt, every draw's
 * completion (and the thinking tokens of those that count them). The prompt is charged in full, the tokens an engine's prefix cache served
 * included: what that cache held depended on what the engine evaluated before (another
 * problem, or nothing after a restart), not on the method, so charging it would make a resumed
 * run cost differently from an uninterrupted one.
 */
export function requestUsage(draws: readonly DrawRecord[]): Usage {
  const first = draws[0]?.usage;
  if (!first) return emptyUsage();
  const thought = draws.filter((d) => d.completion.reasoningTokens !== undefined);
  return {
    promptTokens: first.promptTokens + (first.cachedPromptTokens ?? 0),
    completionTokens: draws.reduce((sum, d) => sum + d.usage.completionTokens, 0),
    ...(thought.length > 0
      ? { reasoningTokens: thought.reduce((sum, d) => sum + d.completion.reasoningTokens!, 0) }
      : {}),
    calls: 1,
    latencyMs: draws.reduce((sum, d) => sum + d.usage.latencyMs, 0),
    estimated: draws.some((d) => d.usage.estimated),
  };
}

const inOrder = (found: Map<number, DrawRecord>) =>
  [...found.entries()].sort((a, b) => a[0] - b[0]).map(([, draw]) => draw);

export function sampleCacheMiddleware(draws: DrawTable, scope: SampleCacheScope): BackendMiddleware {
  const { runId, problemId } = scope;
  return (next: Backend) =>
    forwardBackend(next, {
      async generate(request: GenerateRequest) {
        const digest = requestDigest(request);
        const offset = request.sampleOffset ?? 0;
        const found = draws.find(runId, problemId, digest, offset, request.n);
        for (const [index, draw] of found) reportWholeSample(request, draw.completion, index - offset);
        // Draw what is missing, one call per contiguous gap, storing each call's draws at once.
        for (let start = offset; start < offset + request.n; ) {
          if (found.has(start)) {
            start += 1;
            continue;
          }
          let end = start;
          while (end < offset + request.n && !found.has(end)) end += 1;
          const response = await next
            .generate({
              ...request,
              n: end - start,
              sampleOffset: start,
              onSample: request.onSample && ((c, i) => request.onSample!(c, start - offset + i)),
              onToken:
                request.onToken &&
                ((event) => request.onToken!({ ...event, index: start - offset + event.index })),
            })
            .catch((error: unknown) => {
              // Cancelled (perhaps by the caller's own onSample): what the store served goes back too.
              if (!(error instanceof AbortedError)) throw error;
              const served = inOrder(found);
              throw new AbortedError({
                completions: [...served.map((d) => d.completion), ...(error.partial?.completions ?? [])],
                usage: addUsage(requestUsage(served), error.partial?.usage ?? emptyUsage()),
              });
            });
          const drawn = response.completions.slice(0, end - start).map(
            (completion, i): DrawRecord => ({
              problemId,
              digest,
              index: start + i,
              completion,
              usage: drawUsage(response.usage, completion, response.completions.length),
            }),
          );
          draws.add(runId, drawn);
          scope.onDrawn?.(drawn);
          for (const draw of drawn) found.set(draw.index, draw);
          start = end;
        }
        const served = inOrder(found);
        scope.onServed?.(served);
        return { completions: served.map((d) => d.completion), usage: requestUsage(served) };
      },
    });
}
