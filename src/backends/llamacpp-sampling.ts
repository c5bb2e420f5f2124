import { randomInt } from "node:crypto";
import { sampleSeed } from "../core/random.js";
import type { SamplerSettings } from "./llamacpp-decode.js";

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
