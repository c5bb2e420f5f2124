import { z } from "zod";
import { difficultySignals } from "../control/difficulty.js";
import { choose, parsePolicy } from "../control/policy.js";
import { drawReuse } from "../control/reuse.js";
import { type BackendMiddleware, wrapBackend } from "../core/backend.js";
import type { Problem, Result } from "../core/types.js";
import { totalTokens } from "../core/types.js";
import { runStrategyIn } from "./context.js";
import type { StrategyContext } from "./strategy.js";
import { defineStrategy } from "./strategy.js";

/** Runs a strategy in a child scope whose backend goes through `middleware` first. */
function runThrough(
  ctx: StrategyContext,
  name: string,
  problem: Problem,
  options: Record<string, unknown>,
  label: string,
  middleware: BackendMiddleware,
): Promise<Result> {
  const child = ctx.child({ label });
  return runStrategyIn(
    { ...child, backend: wrapBackend(child.backend, [middleware]) },
    ctx.strategy(name),
    problem,
    options,
  );
}

const samplesOf = (result: { detail?: Record<string, unknown>; candidates: unknown[] }): number =>
  typeof result.detail?.samples === "number" ? result.detail.samples : result.candidates.length;

export const autoOptions = z
  .object({
    /** A policy fitted by `reckon tune` (parsed JSON); validated against the task, model and registry. */
    policy: z.record(z.string(), z.unknown()).describe("a policy from reckon tune (the parsed JSON)"),
  })
  .strict();

/**
 * Compute-optimal control (Snell et al. 2024): run the policy's small probe, estimate the
 * question's difficulty from it, then spend what the policy says pays off for that difficulty:
 * the probe's own answer for easy questions, a chosen strategy and budget for harder ones. The
 * chosen strategy is served the probe's samples where it asks for the same request, so they
 * are paid once. A policy without a probe runs its one configuration.
 */
export const auto = defineStrategy({
  name: "auto",
  description:
    "Probe, estimate difficulty, then run the strategy a fitted policy picks for it (--policy FILE).",
  options: autoOptions,
  needsVerifier: false,
  async run(problem, ctx, { policy: raw }) {
    const policy = parsePolicy(raw, {
      task: problem.task.name,
      model: ctx.backend.id,
      isRegistered: (name) => ctx.hasStrategy(name),
    });
    if (policy.probe === null) {
      const fixed = policy.bins[0]!.use as Exclude<(typeof policy.bins)[number]["use"], "probe">;
      const result = await ctx.runStrategy(fixed.strategy, problem, fixed.options, { label: fixed.config });
      return {
        answer: result.answer,
        candidates: result.candidates,
        tally: result.tally,
        chosen: result.chosen,
        stopReason: result.stopReason,
        detail: {
          choice: fixed.config,
          chosen: result.detail,
          samples: samplesOf(result),
          tokens: totalTokens(ctx.meter.usage),
        },
      };
    }
    const reuse = drawReuse();
    const probe = await runThrough(
      ctx,
      policy.probe.strategy,
      problem,
      policy.probe.options,
      `probe: ${policy.probe.config}`,
      reuse.record,
    );
    let probeCandidates = probe.candidates;
    const wantsScores = policy.difficulty.features.some((f) => f.startsWith("verifier"));
    if (wantsScores && ctx.verifier && probeCandidates.some((c) => c.score === undefined)) {
      const scores = await ctx.verifier.score(problem, probeCandidates, ctx.verifierContext);
      probeCandidates = probeCandidates.map((c, i) => ({ ...c, score: scores[i] }));
    }
    const signals = difficultySignals(probeCandidates, problem.task);
    const { difficulty, bin, use } = choose(policy, signals);
    const config = use === "probe" ? "probe" : use.config;
    ctx.trace.emit({ kind: "scored", score: difficulty, text: config, data: { bin, signals } });
    const probeSummary = {
      config: policy.probe.config,
      answer: probe.answer,
      tokens: totalTokens(probe.usage),
    };
    const decided = { difficulty, bin, signals, choice: config, probe: probeSummary };
    if (use === "probe" || probe.stopReason === "budget" || probe.stopReason === "aborted")
      return {
        answer: probe.answer,
        candidates: probe.candidates,
        tally: probe.tally,
        chosen: probe.chosen,
        stopReason: probe.stopReason,
        detail: { ...decided, samples: probe.candidates.length, tokens: totalTokens(ctx.meter.usage) },
      };
    const chosen = await runThrough(ctx, use.strategy, problem, use.options, use.config, reuse.replay);
    const { reused, drawn } = reuse.counts();
    return {
      answer: chosen.answer,
      candidates: chosen.candidates,
      tally: chosen.tally,
      chosen: chosen.chosen,
      stopReason: chosen.stopReason,
      detail: {
        ...decided,
        chosen: chosen.detail,
        // Probe and chosen strategy together: what the question cost in samples (the probe's
        // samples the chosen strategy was served again counted once).
        samples: probe.candidates.length + Math.max(0, samplesOf(chosen) - reused),
        reused,
        drawn,
        tokens: totalTokens(ctx.meter.usage),
      },
    };
  },
});
