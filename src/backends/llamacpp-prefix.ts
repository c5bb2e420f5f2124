import type { LlamaContextSequence, Token } from "node-llama-cpp";
import { cachedPrefixLength } from "./llamacpp-pool.js";

/**
 * How a prompt prefix gets into a sequence's KV cache:
 * - `copy`: reuse what the sequence already holds, else copy the KV cells of a sibling
 *   sequence that has just evaluated the prefix (llama.cpp `llama_memory_seq_cp`);
 * - `sequence`: reuse only what the sequence itself already holds;
 * - `off`: always evaluate the whole prompt again (for comparison).
 */
export type PrefixCacheMode = "copy" | "sequence" | "off";

/** Prompt tokens by where their KV state came from. */
export interface PrefixLoad {
  evaluated: number;
  /** Already in the sequence's own cache from an earlier call. */
  reused: number;
  /** Copied from another sequence's KV cells. */
  copied: number;
}

/**
 * node-llama-cpp 3.22 copies KV state between sequences internally (its decision contexts do),
 * but keeps the method out of the public typings; it is feature-detected, with re-evaluation as
 * the fallback.
 */
interface SequenceStateCopy {
  _copyStateFromOtherSequence?: (source: LlamaContextSequence, upToTokenIndex: number) => Promise<boolean>;
}

export function canCopySequenceState(sequence: LlamaContextSequence): boolean {
  return typeof (sequence as unknown as SequenceStateCopy)._copyStateFromOtherSequence === "function";
}

/** Makes the sequence hold exactly `prefix`, reusing its own cached part unless mode is `off`. */
export async function loadPrefix(
  sequence: LlamaContextSequence,
  prefix: readonly Token[],
  mode: PrefixCacheMode,
): Promise<PrefixLoad> {
  if (mode === "off") await sequence.clearHistory();
  else await sequence.adaptStateToTokens(prefix as Token[], false);
  const reused = sequence.nextTokenIndex;
  const rest = prefix.slice(reused) as Token[];
  if (rest.length > 0) await sequence.evaluateWithoutGeneratingNewTokens(rest);
  return { evaluated: rest.length, reused, copied: 0 };
}

/**
 * Makes `target` hold exactly `prefix`, given that the idle `source` holds it already: its own
 * cache when that covers the whole prefix, else a KV copy from `source`, else evaluation.
 * `source` must not be generating meanwhile: its token list trails its KV cells while a batch
 * is in flight.
 */
export async function copyPrefix(
  target: LlamaContextSequence,
  source: LlamaContextSequence,
  prefix: readonly Token[],
  mode: PrefixCacheMode,
): Promise<PrefixLoad> {
  if (mode !== "copy" || prefix.length === 0 || cachedPrefixLength(target, prefix) === prefix.length)
    return loadPrefix(target, prefix, mode);
  const copy = (target as unknown as SequenceStateCopy)._copyStateFromOtherSequence;
  if (typeof copy === "function" && cachedPrefixLength(source, prefix) === prefix.length) {
    const copied = await copy.call(target, source, prefix.length);
    if (
      copied &&
      target.nextTokenIndex === prefix.length &&
      cachedPrefixLength(target, prefix) === prefix.length
    )
      return { evaluated: 0, reused: 0, copied: prefix.length };
  }
  return loadPrefix(target, prefix, mode);
}

export function addPrefixLoads(a: PrefixLoad, b: PrefixLoad): PrefixLoad {
  return { evaluated: a.evaluated + b.evaluated, reused: a.reused + b.reused, copied: a.copied + b.copied };
}
