import { z } from "zod";
import { BudgetExhaustedError, InvalidInputError } from "../core/errors.js";
import { selectAnswer } from "../core/selection.js";
import {
  addUsage,
  type Candidate,
  type ChatMessage,
  type Problem,
  type StopReason,
  type Usage,
} from "../core/types.js";
import { toCandidate } from "./sampling.js";
import { defineStrategy, type StrategyContext } from "./strategy.js";

const modelName = z.string().min(1).max(256);

const mixtureOfAgentsOptions = z
  .object({
    proposers: z
      .array(modelName)
      .min(1)
      .max(16)
      .describe("the models that propose answers, by the names the server knows them by"),
    aggregator: modelName
      .optional()
      .describe("the model that writes the final answer (default: the backend's own)"),
    layers: z
      .number()
      .int()
      .min(1)
      .max(8)
      .default(1)
      .describe("proposer layers; from the second on, each proposer sees the previous layer's answers"),
    samplesPerProposer: z
      .number()
      .int()
      .min(1)
      .max(16)
      .default(1)
      .describe("answers each proposer writes per layer"),
  })
  .strict();

const synthesizeRequest =
  "Below are answers to the question from several models. Some may be wrong. Evaluate them critically, then write one answer of your own that is correct and complete, stating the final answer in the format the question asks for; do not merely copy one of them.";

/**
 * The question with other models' answers before it (Wang et al.'s aggregate-and-synthesize
 * prompt). Chat problems get them in the system turn, merged with the problem's own; plain
 * prompts end on the problem's own prompt so a completion model answers it.
 */
export function synthesizePrompt(problem: Problem, answers: readonly string[]): string | ChatMessage[] {
  if (answers.length === 0) return problem.prompt;
  const listing = answers.map((text, i) => `${i + 1}. ${text.trim()}`).join("\n\n");
  const instructions = `${synthesizeRequest}\n\nAnswers from models:\n${listing}`;
  if (typeof problem.prompt === "string") return `${instructions}\n\n${problem.prompt}`;
  const system = problem.prompt
    .filter((m) => m.role === "system")
    .map((m) => m.content)
    .concat(instructions)
    .join("\n\n");
  return [{ role: "system", content: system }, ...problem.prompt.filter((m) => m.role !== "system")];
}

function requireModelChoice(ctx: StrategyContext): void {
  if (!ctx.backend.capabilities.modelChoice)
    throw new InvalidInputError(
      "backend",
      `mixture-of-agents asks several models by name, and backend ${ctx.backend.id} serves one model`,
      "use an OpenAI-compatible server (or a pool of upstreams) that serves the models named in proposers",
    );
}

/** A candidate with the model that wrote it. */
type Proposal = Candidate & { model: string };

/**
 * Mixture of agents (Wang et al. 2024, "Mixture-of-Agents Enhances Large Language Model
 * Capabilities"): several models propose answers; from the second layer on, each proposer
 * answers again with the previous layer's answers in view; then an aggregator model
 * synthesises one answer from the last layer's. Models are reached by name through the
 * backend (`GenerateRequest.model`); each model's tokens are metered, and reported per model
 * in `detail.usageByModel`. When the aggregator states no answer (or the budget stops it), the
 * last layer's majority answers.
 */
export const mixtureOfAgents = defineStrategy({
  name: "mixture-of-agents",
  description:
    "Several models propose answers (in layers that see the previous layer's), then an aggregator model synthesises the final one; tokens metered per model.",
  options: mixtureOfAgentsOptions,
  needsVerifier: false,
  async run(problem, ctx, options) {
    requireModelChoice(ctx);
    const usageByModel: Record<string, Usage> = {};
    const ask = async (model: string | undefined, prompt: string | ChatMessage[], n: number) => {
      const response = await ctx.backend.generate({
        ...ctx.sampling,
        ...(model !== undefined ? { model } : {}),
        prompt,
        n,
        signal: ctx.signal,
      });
      const key = model ?? ctx.backend.id;
      usageByModel[key] = usageByModel[key] ? addUsage(usageByModel[key], response.usage) : response.usage;
      return response.completions;
    };

    let stopReason: StopReason = "completed";
    let layer: Proposal[] = [];
    const proposals: Proposal[] = [];
    for (let depth = 0; depth < options.layers && stopReason === "completed"; depth++) {
      const prompt = synthesizePrompt(
        problem,
        layer.map((p) => p.text),
      );
      const settled = await Promise.allSettled(
        options.proposers.map((model) => ask(model, prompt, options.samplesPerProposer)),
      );
      const next: Proposal[] = [];
      settled.forEach((outcome, i) => {
        const model = options.proposers[i]!;
        if (outcome.status === "rejected") {
          if (!(outcome.reason instanceof BudgetExhaustedError)) throw outcome.reason;
          stopReason = "budget";
          return;
        }
        for (const completion of outcome.value) {
          const proposal = { ...toCandidate(problem, completion), model };
          next.push(proposal);
          ctx.trace.emit({
            kind: depth === 0 ? "sample" : "revised",
            text: proposal.text,
            tokens: proposal.tokens,
            data: { model, layer: depth + 1 },
          });
        }
      });
      // A layer the budget cut short still informs the aggregator, with what it wrote.
      if (next.length > 0) layer = next;
      proposals.push(...next);
    }

    let final: Proposal | undefined;
    if (stopReason === "completed" && layer.length > 0) {
      try {
        const [completion] = await ask(
          options.aggregator,
          synthesizePrompt(
            problem,
            layer.map((p) => p.text),
          ),
          1,
        );
        if (completion) {
          final = { ...toCandidate(problem, completion), model: options.aggregator ?? ctx.backend.id };
          ctx.trace.emit({
            kind: "revised",
            text: final.text,
            tokens: final.tokens,
            data: { model: final.model, aggregator: true },
          });
        }
      } catch (error) {
        if (!(error instanceof BudgetExhaustedError)) throw error;
        stopReason = "budget";
      }
    }
    // The proposers' vote, shown whatever the aggregator said; it answers when the aggregator cannot.
    const vote = selectAnswer(layer, problem.task, "majority");
    const candidates = final ? [...proposals, final] : proposals;
    // The aggregate stands for the answer it states; else the vote's representative in the last
    // layer (the same objects as the tail of the proposals); with no answer anywhere, the
    // aggregate's text as it is.
    const inLayer = vote.chosen === undefined ? undefined : proposals.indexOf(layer[vote.chosen]!);
    const aggregateAnswers = final !== undefined && (final.answer !== undefined || vote.answer === undefined);
    return {
      answer: final?.answer ?? vote.answer,
      candidates,
      tally: vote.tally,
      chosen: aggregateAnswers ? candidates.length - 1 : inLayer,
      stopReason,
      detail: {
        usageByModel,
        aggregated: final?.answer !== undefined,
        proposals: proposals.map((p) => ({ model: p.model, answer: p.answer })),
      },
    };
  },
});
