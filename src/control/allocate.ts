/**
 * One token budget for a batch of questions, spent where the vote is still uncertain: every
 * question first gets a few samples, then each round gives more samples to the questions whose
 * majority is least settled (Adaptive-Consistency's Beta posterior over the two leading
 * answers), until the budget is spent or every vote is settled. A call is made only when the
 * budget covers the most it can cost (its prompt and every sample at its length limit), so the
 * batch never spends more than its budget.
 */
import { z } from "zod";
import type { Backend, BackendMiddleware, SamplingOptions } from "../core/backend.js";
import { defaultMaxTokensUnderBudget } from "../core/metering.js";
import { leadingCounts, majoritySettledProbability, tallyAnswers } from "../core/selection.js";
import type { TraceSink } from "../core/trace.js";
import type { AnswerTally, Candidate, Problem, Usage } from "../core/types.js";
import { totalTokens } from "../core/types.js";
import { parseOrThrow } from "../core/validate.js";
import { createRootContext } from "../strategies/context.js";
import { drawCandidates } from "../strategies/sampling.js";
import type { StrategyContext } from "../strategies/strategy.js";

export const allocationSettingsSchema = z
  .object({
    /** Generator tokens (prompt and completion) for the whole batch. */
    tokenBudget: z.number().int().positive(),
    initialSamples: z.number().int().min(1).default(2),
    /** Samples given to each chosen question per round. */
    step: z.number().int().min(1).default(2),
    /** Share of the still-unsettled questions that get samples in a round (the least settled first). */
    roundShare: z.number().gt(0).max(1).default(0.25),
    maxSamplesPerProblem: z.number().int().min(1).default(64),
    /** A question whose majority is settled with this probability gets no more samples. */
    settled: z.number().gt(0.5).max(1).default(0.99),
  })
  .strict();
export type AllocationSettings = z.input<typeof allocationSettingsSchema>;

export interface AllocationRequest extends AllocationSettings {
  problems: readonly Problem[];
  backend: Backend;
  sampling?: SamplingOptions;
  signal?: AbortSignal;
  trace?: TraceSink;
  /** Between the meter and the engine, as in `run()` (e.g. a sample cache). */
  middleware?: readonly BackendMiddleware[];
}

export interface AllocatedAnswer {
  problemId: string;
  answer: string | undefined;
  candidates: Candidate[];
  tally: AnswerTally[];
  /** P(the leading answer stays ahead) when allocation ended. */
  settled: number;
  usage: Usage;
}

export interface Allocation {
  answers: AllocatedAnswer[];
  usage: Usage;
  rounds: number;
  stoppedBecause: string;
}

interface Slot {
  problem: Problem;
  ctx: StrategyContext;
  candidates: Candidate[];
  settled: number;
  exhausted: boolean;
  /** Prompt tokens one request of this question is charged (a bound until its first call). */
  promptTokens: number;
}

/**
 * A bound on a prompt's tokens before any call has measured it: no tokenizer makes more
 * tokens than the prompt has UTF-8 bytes, plus room for a template's special tokens.
 */
const promptBound = (problem: Problem): number =>
  Buffer.byteLength(typeof problem.prompt === "string" ? problem.prompt : JSON.stringify(problem.prompt)) +
  64;

export async function allocateBatch(request: AllocationRequest): Promise<Allocation> {
  const { problems, backend: engine, sampling, signal, trace, middleware, ...limits } = request;
  const settings = parseOrThrow(allocationSettingsSchema, limits, "allocation");
  // Every sample may run to this length: with it, what a call can cost is known before it runs.
  const maxTokens = sampling?.maxTokens ?? defaultMaxTokensUnderBudget;
  // One draw index for the whole batch: a question's later rounds continue its earlier samples.
  // No budget on the scope: calls are admitted below by what they can cost at most.
  const root = createRootContext({
    backend: engine,
    sampling: { ...sampling, maxTokens },
    signal,
    trace,
    middleware,
  });
  const slots: Slot[] = problems.map((problem) => ({
    problem,
    ctx: root.child({ label: problem.id }),
    candidates: [],
    settled: 0,
    exhausted: false,
    promptTokens: promptBound(problem),
  }));
  // The most a call for `count` samples can cost: its prompt (once per sample when the backend
  // draws samples by separate requests) and every sample at its length limit.
  const worstCase = (slot: Slot, count: number) =>
    (engine.capabilities.multipleSamples ? 1 : count) * slot.promptTokens + count * maxTokens;
  const spent = () => totalTokens(root.meter.usage);
  let reserved = 0;
  /** Draws up to `count` samples for a question if the budget covers their worst case; false when not even one fits. */
  const give = async (slot: Slot, wanted: number): Promise<boolean> => {
    let count = wanted;
    while (count > 0 && spent() + reserved + worstCase(slot, count) > settings.tokenBudget) count -= 1;
    if (count === 0) return false;
    const hold = worstCase(slot, count);
    reserved += hold;
    try {
      const before = slot.ctx.meter.usage;
      const drawn = await drawCandidates(slot.problem, slot.ctx, count);
      const after = slot.ctx.meter.usage;
      const calls = after.calls - before.calls;
      if (calls > 0) slot.promptTokens = Math.max(1, (after.promptTokens - before.promptTokens) / calls);
      slot.candidates.push(...drawn.candidates);
      if (drawn.stopReason !== "completed") slot.exhausted = true;
    } finally {
      reserved -= hold;
    }
    const { top, second } = leadingCounts(tallyAnswers(slot.candidates, slot.problem.task));
    slot.settled = top === 0 ? 0 : majoritySettledProbability(top, second);
    return true;
  };

  let rounds = 1;
  let stoppedBecause = "every vote is settled or at its sample limit";
  const initial = Math.min(settings.initialSamples, settings.maxSamplesPerProblem);
  await Promise.all(slots.map((slot) => give(slot, initial)));
  for (;;) {
    if (slots.some((s) => s.exhausted)) {
      stoppedBecause = "a question could not draw its samples";
      break;
    }
    // Questions the first round could not cover (the worst case of every call at once did not
    // fit) get their first samples before any question gets more.
    const waiting = slots.filter((s) => s.candidates.length === 0);
    const open = slots
      .filter((s) => s.settled < settings.settled && s.candidates.length < settings.maxSamplesPerProblem)
      .sort((a, b) => a.settled - b.settled || a.candidates.length - b.candidates.length);
    const chosen =
      waiting.length > 0 ? waiting : open.slice(0, Math.max(1, Math.ceil(open.length * settings.roundShare)));
    if (chosen.length === 0) break;
    const count = waiting.length > 0 ? initial : settings.step;
    rounds += 1;
    const given = await Promise.all(
      chosen.map((slot) =>
        give(slot, Math.min(count, settings.maxSamplesPerProblem - slot.candidates.length)),
      ),
    );
    if (!given.some(Boolean)) {
      rounds -= 1;
      stoppedBecause = "the token budget is spent";
      break;
    }
  }
  const answers = slots.map((slot) => {
    const tally = tallyAnswers(slot.candidates, slot.problem.task);
    return {
      problemId: slot.problem.id,
      answer: tally[0]?.answer,
      candidates: slot.candidates,
      tally,
      settled: slot.settled,
      usage: slot.ctx.meter.usage,
    };
  });
  return { answers, usage: root.meter.usage, rounds, stoppedBecause };
}

/** Tokens a batch spent, generator and verifier. */
export const allocationTokens = (allocation: Allocation): number => totalTokens(allocation.usage);
