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
  return createHash("sha256").update(JSON.stringify(shape)).digest("hex").slice(0, 32);
}

/**
 * Numbers the samples of each distinct request in the order they are asked for: the first
 * call for a digest gets samples 0..n-1, the next one continues at n. A request that already
 * names its offset keeps it.
 */
export function drawIndexMiddleware(): BackendMiddleware {
  const drawn = new Map<string, number>();
  return (next) =>
    forwardBackend(next, {
      generate(request) {
        if (request.sampleOffset !== undefined) return next.generate(request);
        const digest = requestDigest(request);
        const offset = drawn.get(digest) ?? 0;
        drawn.set(digest, offset + request.n);
        return next.generate({ ...request, sampleOffset: offset });
      },
    });
}
