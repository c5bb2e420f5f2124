import { z } from "zod";
import { BudgetExhaustedError, InvalidInputError } from "../core/errors.js";
import { selectAnswer } from "../core/selection.js";
import type { Candidate, Completion, Problem, StopReason } from "../core/types.js";
import { toCandidate } from "./sampling.js";
import { defineStrategy, type StrategyContext } from "./strategy.js";

const thinkingBudgetOptions = z
  .object({
    n: z.number().int().min(1).max(64).default(1).describe("budget-forced samples, then a majority vote"),
    maxThinking: z
      .number()
      .int()
      .positive()
      .optional()
      .describe("thinking tokens at most; then the end of thinking is forced and the answer written"),
    minThinking: z
      .number()
      .int()
      .positive()
      .optional()
      .describe("thinking tokens at least: an earlier end of thinking is replaced by `wait`"),
    maxWaits: z.number().int().min(0).max(32).default(2).describe("times thinking is extended at most"),
    wait: z.string().min(1).default("Wait").describe("what replaces an early end of thinking"),
    answerCue: z.string().default("Final answer:").describe("what follows a forced end of thinking"),
    answerTokens: z
      .number()
      .int()
      .positive()
      .optional()
      .describe("tokens for a forced answer (default: the sampling maxTokens)"),
    thinkTags: z
      .tuple([z.string().min(1), z.string().min(1)])
      .default(["<think>", "</think>"])
      .describe("the tags the model thinks between, as the backend reads them"),
  })
  .strict()
  .refine(
    (o) => o.minThinking === undefined || o.maxThinking === undefined || o.minThinking <= o.maxThinking,
    {
      message: "minThinking must not exceed maxThinking",
      path: ["minThinking"],
    },
  );

type ThinkingBudgetOptions = z.output<typeof thinkingBudgetOptions>;

/** Thinking tokens of one completion: counted by the engine, else its tokens' share by characters. */
function thinkingTokensOf(completion: Completion): number {
  if (completion.reasoningTokens !== undefined) return completion.reasoningTokens;
  const thought = completion.reasoning?.length ?? 0;
  if (completion.text === "") return completion.tokens;
  return Math.round((completion.tokens * thought) / (thought + completion.text.length));
}

interface ForcedSample {
  candidate: Candidate;
  thinkingTokens: number;
  waits: number;
  forced: boolean;
}

/**
 * One sample under a thinking budget. Each call continues the thinking so far, so the model
 * sees one uninterrupted think block; every call goes through the metered backend.
 */
async function budgetForcedSample(
  problem: Problem,
  ctx: StrategyContext,
  options: ThinkingBudgetOptions,
): Promise<ForcedSample> {
  const [open, close] = options.thinkTags;
  const base = { ...ctx.sampling, prompt: problem.prompt, n: 1, signal: ctx.signal };
  let thought = "";
  let thinkingTokens = 0;
  let tokens = 0;
  let waits = 0;
  for (;;) {
    const room =
      options.maxThinking === undefined ? ctx.sampling.maxTokens : options.maxThinking - thinkingTokens;
    const { completions } = await ctx.backend.generate({
      ...base,
      ...(room !== undefined ? { maxTokens: room } : {}),
      ...(thought !== "" ? { continuation: `${open}\n${thought}` } : {}),
    });
    const completion = completions[0]!;
    tokens += completion.tokens;
    thought += completion.reasoning ?? "";
    const stillThinking = completion.finishReason === "length" && completion.text === "";
    thinkingTokens += stillThinking ? completion.tokens : thinkingTokensOf(completion);
    ctx.trace.emit({
      kind: "sample",
      text: completion.reasoning ?? "",
      tokens: completion.tokens,
      data: { phase: waits === 0 ? "thinking" : "extended", stillThinking },
    });
    const capped = options.maxThinking !== undefined && thinkingTokens >= options.maxThinking;
    if (stillThinking && capped) {
      // Budget spent while thinking: close the thinking and ask for the answer.
      const answer = (
        await ctx.backend.generate({
          ...base,
          ...(options.answerTokens !== undefined ? { maxTokens: options.answerTokens } : {}),
          continuation: `${open}\n${thought}\n${close}\n\n${options.answerCue}`,
        })
      ).completions[0]!;
      tokens += answer.tokens;
      ctx.trace.emit({ kind: "sample", text: answer.text, tokens: answer.tokens, data: { phase: "answer" } });
      const text = `${options.answerCue}${answer.text}`;
      return {
        candidate: toCandidate(problem, {
          ...answer,
          text,
          reasoning: thought,
          tokens,
          reasoningTokens: thinkingTokens,
        }),
        thinkingTokens,
        waits,
        forced: true,
      };
    }
    const short = options.minThinking !== undefined && thinkingTokens < options.minThinking;
    if (!stillThinking && short && !capped && waits < options.maxWaits && completion.reasoning) {
      // Ended too early: drop the end of thinking and the answer, and think on.
      thought += `\n${options.wait}`;
      waits += 1;
      continue;
    }
    let ending = completion;
    if (!stillThinking && completion.finishReason === "length" && options.maxThinking !== undefined) {
      // The answer began inside the thinking budget and was cut at it: let it finish.
      const rest = (
        await ctx.backend.generate({
          ...base,
          ...(options.answerTokens !== undefined ? { maxTokens: options.answerTokens } : {}),
          continuation: `${open}\n${thought}\n${close}\n\n${completion.text}`,
        })
      ).completions[0]!;
      tokens += rest.tokens;
      ctx.trace.emit({ kind: "sample", text: rest.text, tokens: rest.tokens, data: { phase: "answer" } });
      ending = { ...rest, text: completion.text + rest.text };
    }
    return {
      candidate: toCandidate(problem, {
        ...ending,
        ...(thought !== "" ? { reasoning: thought } : {}),
        tokens,
        reasoningTokens: thinkingTokens,
      }),
      thinkingTokens,
      waits,
      forced: false,
    };
  }
}

/**
 * Budget forcing (Muennighoff et al. 2025, s1): thinking capped at `maxThinking` tokens (the end
 * of thinking is then written for the model, with an answer cue) and extended to at least
 * `minThinking` tokens (an early end of thinking is replaced by "Wait"). Works on any backend
 * that continues a partial answer and reads the think tags of the model.
 */
export const thinkingBudget = defineStrategy({
  name: "thinking-budget",
  description:
    "Caps a reasoning model's thinking at maxThinking tokens and extends it to minThinking by appending 'Wait' (s1 budget forcing); n samples are voted.",
  options: thinkingBudgetOptions,
  needsVerifier: false,
  async run(problem, ctx, options) {
    if (!ctx.backend.capabilities.continuation)
      throw new InvalidInputError(
        "backend",
        "thinking-budget continues a partial answer, which this backend cannot do",
        'use a text-completion endpoint, or a chat server with chatPrefill "assistant-message" / "vllm"',
      );
    const candidates: Candidate[] = [];
    const samples: ForcedSample[] = [];
    let stopReason: StopReason = "completed";
    const settled = await Promise.allSettled(
      Array.from({ length: options.n }, () => budgetForcedSample(problem, ctx, options)),
    );
    for (const outcome of settled) {
      if (outcome.status === "fulfilled") {
        samples.push(outcome.value);
        candidates.push(outcome.value.candidate);
      } else if (outcome.reason instanceof BudgetExhaustedError) stopReason = "budget";
      else throw outcome.reason;
    }
    // Each candidate's text is its final answer (after the thinking): the vote's representative answers.
    const { answer, tally, chosen } = selectAnswer(candidates, problem.task, "majority");
    ctx.trace.emit({ kind: "voted", data: { tally } });
    return {
      answer,
      candidates,
      tally,
      chosen,
      stopReason,
      detail: {
        thinkingTokens: samples.map((s) => s.thinkingTokens),
        waits: samples.map((s) => s.waits),
        forced: samples.map((s) => s.forced),
      },
    };
  },
});
