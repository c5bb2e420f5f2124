import { setMaxListeners } from "node:events";
import type { LlamaContextSequence, Token } from "node-llama-cpp";
import type { SequencePool } from "./llamacpp-pool.js";
import {
  addPrefixLoads,
  copyPrefix,
  loadPrefix,
  type PrefixCacheMode,
  type PrefixLoad,
} from "./llamacpp-prefix.js";

export interface ScheduleRequest<Sample> {
  n: number;
  pool: SequencePool;
  /** The prompt without its last token: the part every sample shares. */
  prefix: readonly Token[];
  mode: PrefixCacheMode;
  signal?: AbortSignal;
  /** Generates sample `index` on a sequence that holds exactly `prefix`. */
  sample: (sequence: LlamaContextSequence, index: number) => Promise<Sample>;
}

export interface ScheduleResult<Sample> {
  /** In index order; when aborted, only the samples that were started (finished or cut off). */
  samples: Sample[];
  prefix: PrefixLoad;
  aborted: boolean;
}

/**
 * Runs `n` samples of one prompt on as many sequences as the pool gives, all decoding at once.
 *
 * The first sequence evaluates the shared prefix (or finds it cached); the sequences free at
 * the same moment get it by KV copy from that one before anyone starts generating (a sequence
 * that is generating is no safe copy source). Each sequence then takes sample after sample, so
 * when n exceeds the pool the samples run in waves and a sequence's next sample reuses the
 * prefix it already holds. Sequences freed later by other callers join in and load the prefix
 * themselves.
 */
export async function runSamples<Sample>(request: ScheduleRequest<Sample>): Promise<ScheduleResult<Sample>> {
  const { n, pool, prefix, mode, signal } = request;
  const samples: Sample[] = new Array(n);
  let load: PrefixLoad = { evaluated: 0, reused: 0, copied: 0 };
  let next = 0;
  let failure: unknown;
  // Cancels the waits of would-be late joiners once no sample is left to start.
  const drained = new AbortController();
  const joinSignal = signal ? AbortSignal.any([signal, drained.signal]) : drained.signal;
  // One listener per would-be joiner (up to a sequence count each): expected, not a leak.
  setMaxListeners(0, joinSignal);

  const takeIndex = (): number | undefined => {
    if (failure !== undefined || signal?.aborted || next >= n) return undefined;
    const index = next++;
    if (next >= n) drained.abort();
    return index;
  };

  const work = async (sequence: LlamaContextSequence, holdsPrefix: boolean): Promise<void> => {
    try {
      let loaded = holdsPrefix;
      for (let index = takeIndex(); index !== undefined; index = takeIndex()) {
        if (!loaded) {
          const loadedNow = await loadPrefix(sequence, prefix, mode);
          load = addPrefixLoads(load, loadedNow);
        }
        loaded = false;
        samples[index] = await request.sample(sequence, index);
      }
    } catch (error) {
      failure ??= error;
      drained.abort();
    } finally {
      pool.release(sequence);
    }
  };

  const lateJoin = async (): Promise<void> => {
    let sequence: LlamaContextSequence;
    try {
      sequence = await pool.acquire(prefix, joinSignal);
    } catch {
      return;
    }
    await work(sequence, false);
  };

  const primary = await pool.acquire(prefix, signal);
  const extras: LlamaContextSequence[] = [];
  try {
    const primaryLoad = await loadPrefix(primary, prefix, mode);
    load = addPrefixLoads(load, primaryLoad);
    extras.push(...pool.tryAcquire(Math.min(n, pool.size) - 1, prefix));
    for (const sequence of extras) {
      // Awaited before adding: `load` is shared with workers that may already run.
      const copied = await copyPrefix(sequence, primary, prefix, mode);
      load = addPrefixLoads(load, copied);
    }
  } catch (error) {
    pool.release(primary);
    for (const sequence of extras) pool.release(sequence);
    throw error;
  }
  const workers = [primary, ...extras].map((sequence) => work(sequence, true));
  const joiners = Math.min(n, pool.size) - 1 - extras.length;
  for (let i = 0; i < joiners && next < n; i++) workers.push(lateJoin());
  await Promise.all(workers);
  drained.abort();

  if (failure !== undefined && !signal?.aborted) throw failure;
  const aborted = signal?.aborted === true;
  return { samples: aborted ? samples.filter((s) => s !== undefined) : samples, prefix: load, aborted };
}
