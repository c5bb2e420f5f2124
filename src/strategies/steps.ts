/**
 * Step-level generation for search strategies: a partial solution is extended by one step (the
 * text up to a delimiter), steps are scored by a process verifier, and a finished path becomes
 * a candidate. Beam search, DVTS, lookahead and MCTS all build on these pieces.
 */
import { z } from "zod";
import { BudgetExhaustedError, InvalidInputError } from "../core/errors.js";
import {
  type Selection,
  type SelectionRule,
  selectAnswer as selectCandidates,
  selectionRuleSchema,
} from "../core/selection.js";
import { type Candidate, type FinishReason, type Problem, taskStepDelimiter } from "../core/types.js";
import { aggregateStepScores, type StepAggregation, stepAggregationSchema } from "../core/verifier.js";
import type { StrategyContext } from "./strategy.js";

/** Solution length cap for a path when the caller sets no `maxTokens`. */
export const defaultPathTokens = 1024;

/** Options shared by every step-level search. */
export const stepSearchFields = {
  delimiter: z
    .string()
    .min(1)
    .optional()
    .describe('text that ends a step (default: "\\n" for the arithmetic task, "\\n\\n" otherwise)'),
  stepTokens: z.number().int().min(1).max(4096).default(256).describe("tokens per step at most"),
  maxDepth: z.number().int().min(1).max(200).default(40).describe("steps per solution at most"),
  // min: a path is as good as its worst step (Lightman et al.); "last" suits PRMs trained to
  // predict the final outcome from a prefix (Snell et al.), not verdicts on single steps.
  aggregation: stepAggregationSchema
    .default("min")
    .describe("how a path's step scores make its score: min, product, mean or last"),
  select: selectionRuleSchema.default("best").describe("how the answer is picked among finished solutions"),
};

/** Where a step ends: the option when given, else the task's own delimiter (a blank line by default). */
export function stepDelimiter(problem: Problem, override?: string): string {
  return override ?? taskStepDelimiter(problem.task);
}

/**
 * Search continues partial answers and must tell a step's end (the delimiter) from the
 * solution's end: refuse up front, with the reason, when the backend cannot.
 */
export function requireContinuation(ctx: StrategyContext, strategy: string): void {
  if (!ctx.backend.capabilities.continuation)
    throw new InvalidInputError(
      "backend",
      `strategy "${strategy}" extends partial solutions step by step, and backend ${ctx.backend.id} cannot continue a partial answer`,
      "use the embedded llamacpp backend, an OpenAI-compatible server in completion mode, or a chat server with --chat-prefill",
    );
  if (!ctx.backend.capabilities.stopSequences)
    throw new InvalidInputError(
      "backend",
      `strategy "${strategy}" must tell where a step ends from where the solution ends, and backend ${ctx.backend.id} cannot say which stop string ended a sample`,
      "let the backend stream (it then finds the step delimiter itself), or use a server that reports stop_reason (vLLM, SGLang)",
    );
}

/** A node of a search tree: the solution text so far and what the verifier thinks of it. */
export interface SearchNode {
  /** Trace event id, the parent of its children's events. */
  id: number;
  /** Solution text from the start (the prompt excluded). */
  text: string;
  /** The newest step alone. */
  step: string;
  depth: number;
  /** Completion tokens along the path. */
  tokens: number;
  /** One score per step, from the process verifier (or one outcome score of the partial text). */
  stepScores: number[];
  score: number;
  /** The model ended the solution, or the path reached its token cap. */
  done: boolean;
  finishReason: FinishReason;
  /** Index of the expansion (in the call to `growNodes`) that drew this node. */
  expansion: number;
}

export interface StepSettings {
  delimiter: string;
  stepTokens: number;
  aggregation: StepAggregation;
  /** Tokens a whole path may take. */
  pathTokens: number;
}

export function stepSettings(
  problem: Problem,
  ctx: StrategyContext,
  options: { delimiter?: string; stepTokens: number; aggregation: StepAggregation },
): StepSettings {
  return {
    delimiter: stepDelimiter(problem, options.delimiter),
    stepTokens: options.stepTokens,
    aggregation: options.aggregation,
    pathTokens: ctx.sampling.maxTokens ?? defaultPathTokens,
  };
}

export const rootNode = (ctx: StrategyContext): SearchNode => ({
  id: ctx.trace.emit({ kind: "step", text: "", data: { root: true } }),
  text: "",
  step: "",
  depth: 0,
  tokens: 0,
  stepScores: [],
  score: 0,
  done: false,
  finishReason: "stop-sequence",
  expansion: 0,
});

/** A drawn step, before scoring. */
export interface DrawnStep {
  parent: SearchNode;
  expansion: number;
  text: string;
  tokens: number;
  finishReason: FinishReason;
  done: boolean;
}

export interface Expansion {
  parent: SearchNode;
  n: number;
  /** Overrides the context's sampling temperature (rollouts decode greedily). */
  temperature?: number;
  /** Generate to the end of the solution instead of one step (rollouts). */
  toEnd?: boolean;
}

export interface ExpansionResult {
  steps: DrawnStep[];
  /** Set when the budget stopped some calls: the search should wrap up. */
  budgetExhausted: boolean;
}

/**
 * Draws the next step of several partial solutions at once (one backend call per parent, all
 * in flight together so an engine can batch them). A step that ends at the delimiter keeps it,
 * so the next step continues the text exactly; "eos" ends the solution; "length" ends it only
 * when the path is out of tokens (a long step is cut and continued as the next step).
 */
export async function expandNodes(
  problem: Problem,
  ctx: StrategyContext,
  settings: StepSettings,
  expansions: readonly Expansion[],
): Promise<ExpansionResult> {
  const total = expansions.reduce((sum, e) => sum + e.n, 0);
  let share: number | undefined;
  const remaining = ctx.budget.remainingTokens();
  if (remaining !== undefined) {
    // Concurrent calls each see the whole remaining budget: split it so together they fit.
    share = Math.floor(remaining / Math.max(1, total));
    if (share < 1) {
      ctx.trace.emit({ kind: "budget-exhausted", text: "tokens" });
      return { steps: [], budgetExhausted: true };
    }
  }
  const stop = [...(ctx.sampling.stop ?? [])];
  const settled = await Promise.allSettled(
    expansions.map(async (expansion, index) => {
      const pathLeft = Math.max(1, settings.pathTokens - expansion.parent.tokens);
      const cap = Math.min(expansion.toEnd ? pathLeft : settings.stepTokens, pathLeft, share ?? pathLeft);
      const response = await ctx.backend.generate({
        ...ctx.sampling,
        ...(expansion.temperature !== undefined ? { temperature: expansion.temperature } : {}),
        prompt: problem.prompt,
        ...(expansion.parent.text === "" ? {} : { continuation: expansion.parent.text }),
        n: expansion.n,
        maxTokens: cap,
        stop: expansion.toEnd ? stop : [...stop, settings.delimiter],
        signal: ctx.signal,
      });
      return response.completions
        .filter((c) => c.finishReason !== "aborted")
        .map((c): DrawnStep => {
          // A stop string other than the delimiter (the caller's own) ends the solution.
          const endsStep =
            !expansion.toEnd &&
            c.finishReason === "stop-sequence" &&
            (c.stopSequence === undefined || c.stopSequence === settings.delimiter);
          const text = endsStep ? c.text + settings.delimiter : c.text;
          const outOfTokens = expansion.parent.tokens + c.tokens >= settings.pathTokens;
          const done =
            c.finishReason === "eos" ||
            (c.finishReason === "stop-sequence" && !endsStep) ||
            (c.finishReason === "length" && (outOfTokens || expansion.toEnd === true));
          return {
            parent: expansion.parent,
            expansion: index,
            text,
            tokens: c.tokens,
            finishReason: c.finishReason,
            done,
          };
        });
    }),
  );
  const steps: DrawnStep[] = [];
  let budgetExhausted = false;
  for (const outcome of settled) {
    if (outcome.status === "fulfilled") steps.push(...outcome.value);
    else if (outcome.reason instanceof BudgetExhaustedError) budgetExhausted = true;
    else throw outcome.reason;
  }
  return { steps, budgetExhausted };
}

/**
 * Scores drawn steps in the context of their paths and makes them nodes of the tree. A process
 * verifier scores each new step; any other verifier scores the partial solution as a whole.
 */
export async function scoreSteps(
  problem: Problem,
  ctx: StrategyContext,
  settings: StepSettings,
  steps: readonly DrawnStep[],
): Promise<SearchNode[]> {
  const verifier = ctx.verifier;
  if (!verifier)
    throw new InvalidInputError("verifier", "a step-level search needs a verifier", "pass --verifier NAME");
  let scores: number[][];
  if (verifier.scoreSteps) {
    scores = await Promise.all(
      steps.map((s) => verifier.scoreSteps!(problem, s.parent.text, [s.text], ctx.verifierContext)),
    );
  } else {
    const partials = steps.map((s) => asCandidate(problem, s.parent.text + s.text, s.finishReason, 0));
    scores = (await verifier.score(problem, partials, ctx.verifierContext)).map((s) => [s]);
  }
  return steps.map((step, i) => {
    const own = scores[i] ?? [];
    const stepScores = verifier.scoreSteps ? [...step.parent.stepScores, ...own] : own;
    const score = aggregateStepScores(stepScores, verifier.scoreSteps ? settings.aggregation : "last");
    const node: Omit<SearchNode, "id"> = {
      text: step.parent.text + step.text,
      step: step.text,
      depth: step.parent.depth + 1,
      tokens: step.parent.tokens + step.tokens,
      stepScores,
      score,
      done: step.done,
      finishReason: step.finishReason,
      expansion: step.expansion,
    };
    const id = ctx.trace.emit({
      kind: "step",
      parent: step.parent.id,
      text: step.text,
      tokens: step.tokens,
      score,
      data: { depth: node.depth, done: node.done, finishReason: node.finishReason },
    });
    return { ...node, id };
  });
}

/** Expands and scores in one go; the usual move of a search. */
export async function growNodes(
  problem: Problem,
  ctx: StrategyContext,
  settings: StepSettings,
  expansions: readonly Expansion[],
): Promise<{ nodes: SearchNode[]; budgetExhausted: boolean }> {
  for (const e of expansions) ctx.trace.emit({ kind: "expanded", parent: e.parent.id, data: { n: e.n } });
  const { steps, budgetExhausted } = await expandNodes(problem, ctx, settings, expansions);
  return { nodes: await scoreSteps(problem, ctx, settings, steps), budgetExhausted };
}

export function asCandidate(
  problem: Problem,
  text: string,
  finishReason: FinishReason,
  tokens: number,
  score?: number,
): Candidate {
  return {
    text,
    finishReason,
    tokens,
    answer: problem.task.extractAnswer(text),
    ...(score !== undefined ? { score } : {}),
  };
}

export const nodeCandidate = (problem: Problem, node: SearchNode): Candidate =>
  asCandidate(problem, node.text, node.finishReason, node.tokens, node.score);

export function prune(ctx: StrategyContext, nodes: readonly SearchNode[], why: string): void {
  for (const node of nodes) ctx.trace.emit({ kind: "pruned", parent: node.id, score: node.score, text: why });
}

/** Highest score first; ties keep the earlier node first so seeded runs repeat. */
export const byScore = (nodes: readonly SearchNode[]): SearchNode[] =>
  nodes
    .map((node, index) => ({ node, index }))
    .sort((a, b) => b.node.score - a.node.score || a.index - b.index)
    .map((x) => x.node);

/** The answer among finished solutions by the search's `select` rule (see `core/selection.ts`). */
export function selectAnswer(
  problem: Problem,
  candidates: readonly Candidate[],
  select: SelectionRule,
): Selection {
  return selectCandidates(candidates, problem.task, select);
}
