import { randomInt } from "node:crypto";
import type { SamplerSettings } from "./llamacpp-decode.js";

/** murmur3's 32-bit finalizer: spreads nearby seeds far apart. */
function fmix32(h: number): number {
  let x = h >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

/** Seed of sample `index` of a request seeded with `seed`: fixed per index, whatever sequence runs it. */
export function sampleSeed(seed: number, index: number): number {
  return fmix32(fmix32(seed >>> 0) ^ fmix32(index + 0x9e3779b9));
}

/** A fresh base seed when the caller gives none, so unseeded calls differ. */
export function randomBaseSeed(): number {
  return randomInt(0, 2 ** 32 - 1);
}

export interface SamplingRequest {
  temperature?: number;
  topK?: number;
  topP?: number;
}

/**
 * Plain temperature sampling unless the caller narrows it: node-llama-cpp would otherwise apply
 * its own top-k 40 / top-p 0.95 defaults and change the distribution being sampled.
 * Temperature 0 is greedy decoding.
 */
export function samplerSettings(request: SamplingRequest, baseSeed: number, index: number): SamplerSettings {
  return {
    temperature: request.temperature ?? 1,
    topK: request.topK ?? 0,
    topP: request.topP ?? 1,
    minP: 0,
    seed: sampleSeed(baseSeed, index),
  };
}
