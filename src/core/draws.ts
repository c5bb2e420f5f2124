/**
 * Which draw a sample is. A request is identified by a digest of everything that shapes its
 * samples (prompt, continuation, sampling settings, seed, the model when one is named), and
 * each sample by its index among the samples of that digest within one run. Sample i is
 * seeded by `sampleSeed(seed, i)` in every backend, so the same run gives the same samples in
 * the library and the bench, and a store keyed by (problem, digest, index) can serve a draw
 * again instead of redrawing it.
 */
import { createHash } from "node:crypto";
import { type BackendMiddleware, forwardBackend, type GenerateRequest } from "./backend.js";

/** A stable digest of what a request asks for; `n`, the offset and callbacks do not count. */
export function requestDigest(request: GenerateRequest): string {
  return createHash("sha256").update(requestShape(request)).digest("hex").slice(0, 32);
}

/** What a request asks for, as text: equal for two requests exactly when their digests are. */
function requestShape(request: GenerateRequest): string {
  const shape = {
    prompt: request.prompt,
    continuation: request.continuation ?? null,
    temperature: request.temperature ?? null,
    topP: request.topP ?? null,
    topK: request.topK ?? null,
    maxTokens: request.maxTokens ?? null,
    stop: request.stop ?? null,
    seed: request.seed ?? null,
    logprobs: request.logprobs ?? false,
    topLogprobs: request.topLogprobs ?? null,
    // Only when named, so that digests of requests without a model stay what they were.
    ...(request.model !== undefined ? { model: request.model } : {}),
  };
  return JSON.stringify(shape);
}

/**
 * Numbers the samples of each distinct request in the order they are asked for: the first
 * call for a digest gets samples 0..n-1, the next one continues at n. A request that already
 * names its offset keeps it. The first call's shape is written out only when a second call
 * comes: a run that makes one call (a served `single`) never writes one. (Requests are values:
 * nobody changes a prompt once it was asked for.)
 */
export function drawIndexMiddleware(): BackendMiddleware {
  let first: GenerateRequest | undefined;
  let drawn: Map<string, number> | undefined;
  return (next) =>
    forwardBackend(next, {
      generate(request) {
        if (request.sampleOffset !== undefined) return next.generate(request);
        if (!first) {
          first = request;
          return next.generate({ ...request, sampleOffset: 0 });
        }
        // Keyed by the shape itself: within one run, hashing it would only add work.
        drawn ??= new Map([[requestShape(first), first.n]]);
        const shape = requestShape(request);
        const offset = drawn.get(shape) ?? 0;
        drawn.set(shape, offset + request.n);
        return next.generate({ ...request, sampleOffset: offset });
      },
    });
}
