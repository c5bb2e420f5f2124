/**
 * One token budget for a batch of questions, spent where the vote is still uncertain: every
 * question first gets a few samples, then each round gives more samples to the questions whose
 * majority is least settled (Adaptive-Consistency's Beta posterior over the two leading
 * answers), until the budget is spent or every vote is settled.
 */
import { z } from "zod";
import { type Backend, type BackendMiddleware, type SamplingOptions, wrapBackend } from "../core/backend.js";
import { drawIndexMiddleware } from "../core/draws.js";
import { Tracer, type TraceSink } from "../core/trace.js";
import type { AnswerTally, Candidate, Problem, Usage } from "../core/types.js";
import { totalTokens } from "../core/types.js";
import { parseOrThrow } from "../core/validate.js";
import { leadingCounts, majoritySettledProbability } from "../strategies/adaptive-stopping.js";
import { createContext } from "../strategies/context.js";
import { drawCandidates } from "../strategies/sampling.js";
import type { StrategyContext } from "../strategies/strategy.js";
import { tallyAnswers } from "../strategies/vote.js";

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
}

export async function allocateBatch(request: AllocationRequest): Promise<Allocation> {
  const { problems, backend: engine, sampling, signal, trace, middleware, ...limits } = request;
  const settings = parseOrThrow(allocationSettingsSchema, limits, "allocation");
  const tracer = new Tracer(trace);
  // One draw index for the whole batch: a question's later rounds continue its earlier samples.
  const backend = wrapBackend(engine, [drawIndexMiddleware(), ...(middleware ?? [])]);
  const root = createContext(
    { backend, sampling: sampling ?? {}, signal, tracer },
    { maxTokens: settings.tokenBudget },
  );
  const slots: Slot[] = problems.map((problem) => ({
    problem,
    ctx: root.child({ label: problem.id }),
    candidates: [],
    settled: 0,
    exhausted: false,
  }));
  const give = async (slot: Slot, count: number) => {
    const drawn = await drawCandidates(slot.problem, slot.ctx, count);
    slot.candidates.push(...drawn.candidates);
    if (drawn.stopReason !== "completed") slot.exhausted = true;
    const { top, second } = leadingCounts(tallyAnswers(slot.candidates, slot.problem.task));
    slot.settled = top === 0 ? 0 : majoritySettledProbability(top, second);
  };

  let rounds = 1;
  let stoppedBecause = "every vote is settled or at its sample limit";
  await Promise.all(
    slots.map((slot) => give(slot, Math.min(settings.initialSamples, settings.maxSamplesPerProblem))),
  );
  for (;;) {
    if (root.budget.exhausted() || slots.some((s) => s.exhausted)) {
      stoppedBecause = "the token budget is spent";
      break;
    }
    const open = slots
      .filter((s) => s.settled < settings.settled && s.candidates.length < settings.maxSamplesPerProblem)
      .sort((a, b) => a.settled - b.settled || a.candidates.length - b.candidates.length);
    if (open.length === 0) break;
    const chosen = open.slice(0, Math.max(1, Math.ceil(open.length * settings.roundShare)));
    rounds += 1;
    await Promise.all(
      chosen.map((slot) =>
        give(slot, Math.min(settings.step, settings.maxSamplesPerProblem - slot.candidates.length)),
      ),
    );
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
