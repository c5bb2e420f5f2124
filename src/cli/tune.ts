import { writeFileSync } from "node:fs";
import { Command } from "commander";
import { z } from "zod";
import { difficultySignalNames } from "../control/difficulty.js";
import {
  bestFixedWithin,
  crossValidate,
  type FitSettings,
  fitPolicy,
  type PolicyRow,
} from "../control/policy.js";
import { InvalidInputError } from "../core/errors.js";
import { totalTokens } from "../core/types.js";
import { parseOrThrow } from "../core/validate.js";
import { defaultDbPath, openStore } from "../store/sqlite.js";
import { getTask } from "../tasks/registry.js";

const flagsSchema = z
  .object({
    out: z.string().min(1),
    db: z.string().min(1),
    probe: z.string().min(1).optional(),
    budget: z.coerce.number().positive().optional(),
    targetAccuracy: z.coerce.number().min(0).max(1).optional(),
    match: z.string().min(1).optional(),
    bins: z.coerce.number().int().min(1).max(10).default(3),
    features: z
      .string()
      .transform((s) => s.split(",").map((f) => f.trim()))
      .pipe(z.array(z.enum(difficultySignalNames)))
      .optional(),
    minProblems: z.coerce.number().int().min(2).default(20),
    folds: z.coerce.number().int().min(2).max(20).default(5),
  })
  .refine((f) => [f.budget, f.targetAccuracy, f.match].filter((v) => v !== undefined).length <= 1, {
    message: "choose one of --budget, --target-accuracy and --match",
    path: ["budget"],
  });

/** Mean tokens per problem of each configuration, cheapest first. */
function configsByCost(
  rows: readonly PolicyRow[],
): { config: string; tokens: number; accuracy: number; samples: number }[] {
  const byConfig = new Map<string, PolicyRow[]>();
  for (const row of rows) byConfig.set(row.config, [...(byConfig.get(row.config) ?? []), row]);
  return [...byConfig.entries()]
    .map(([config, own]) => ({
      config,
      tokens: own.reduce((s, r) => s + totalTokens(r.usage), 0) / own.length,
      accuracy: own.filter((r) => r.correct).length / own.length,
      samples: own.reduce((s, r) => s + r.candidates.length, 0) / own.length,
    }))
    .sort((a, b) => a.tokens - b.tokens);
}

export function tuneCommand(): Command {
  return new Command("tune")
    .description(
      "Fit a compute-optimal policy on a finished bench run (the dev split): per difficulty bin, the strategy configuration to use. Apply it with --strategy auto.",
    )
    .argument("<runId>", "a bench run covering several strategies and budgets (see `reckon runs`)")
    .requiredOption("-o, --out <file>", "where to write the policy (JSON)")
    .option(
      "--probe <config>",
      "configuration whose samples give the difficulty signals (default: the cheapest with 2+ samples)",
    )
    .option("--budget <tokens>", "maximise accuracy with at most this many tokens per question on average")
    .option("--target-accuracy <fraction>", "reach this accuracy with the fewest tokens")
    .option(
      "--match <config>",
      "reach the accuracy of this configuration with the fewest tokens (default: the most accurate)",
    )
    .option("--bins <count>", "difficulty bins", "3")
    .option(
      "--features <list>",
      `difficulty signals to use (default: all the run has: ${difficultySignalNames.join(", ")})`,
    )
    .option("--min-problems <count>", "refuse runs with fewer complete problems", "20")
    .option("--folds <count>", "folds over problems for the held-out figures", "5")
    .option("--db <file>", "SQLite database", defaultDbPath)
    .action((runId: string, raw: Record<string, unknown>) => {
      const flags = parseOrThrow(flagsSchema, raw, "flags");
      const store = openStore(flags.db, { create: false });
      try {
        const run = store.getRun(runId);
        const taskName = (run.recipe as { task?: string }).task;
        if (!taskName) throw new InvalidInputError("run", `run ${runId} names no task`);
        if (!run.backend) throw new InvalidInputError("run", `run ${runId} names no backend`);
        const rows: PolicyRow[] = store.getResults(runId);
        if (rows.length === 0)
          throw new InvalidInputError(
            "run",
            `run ${runId} has no results yet`,
            `finish it: reckon bench --resume ${runId}`,
          );
        const costs = configsByCost(rows);
        const probe = flags.probe ?? costs.find((c) => c.samples >= 2)?.config;
        if (!probe)
          throw new InvalidInputError(
            "--probe",
            "no configuration of the run draws 2 or more samples, which difficulty needs (agreement)",
            "bench self-consistency with a small n, e.g. n=2 or 4",
          );
        const objective: FitSettings["objective"] =
          flags.budget !== undefined
            ? { kind: "max-accuracy", maxTokens: flags.budget }
            : flags.targetAccuracy !== undefined
              ? { kind: "min-tokens", targetAccuracy: flags.targetAccuracy }
              : {
                  kind: "match",
                  config:
                    flags.match ??
                    [...costs].sort((a, b) => b.accuracy - a.accuracy || a.tokens - b.tokens)[0]!.config,
                };
        const settings: FitSettings = {
          task: getTask(taskName),
          model: run.backend,
          probe,
          objective,
          bins: flags.bins,
          features: flags.features,
          runId,
          minProblems: flags.minProblems,
        };
        const policy = fitPolicy(rows, settings);
        const held = crossValidate(rows, settings, flags.folds);
        const rival = bestFixedWithin(rows, settings, policy.fittedOn.tokens);
        writeFileSync(flags.out, `${JSON.stringify(policy, null, 2)}\n`);
        const figures = (accuracy: number, tokens: number) =>
          `accuracy ${(100 * accuracy).toFixed(1)}%, ${tokens.toFixed(0)} tokens per question`;
        const lines =
          policy.probe === null
            ? [
                `  no probe: ${(policy.bins[0]!.use as { config: string }).config} on every question (no probe-then-choose policy did better on the dev split)`,
              ]
            : policy.bins.map(
                (bin, i) =>
                  `  bin ${i} (${bin.problems} problems): ${bin.use === "probe" ? `probe only (${probe})` : `${probe}, then ${bin.use.config}`}  accuracy ${(100 * bin.accuracy).toFixed(1)}%  ${bin.tokens.toFixed(0)} tokens`,
              );
        process.stdout.write(
          [
            `policy for ${policy.model} on ${policy.task}, fitted on ${policy.fittedOn.problems} problems of run ${runId}`,
            ...lines,
            `  in-sample: ${figures(policy.fittedOn.accuracy, policy.fittedOn.tokens)}`,
            `  best fixed configuration within those tokens (in-sample): ${rival ? `${rival.config}, ${figures(rival.accuracy, rival.tokens)}` : "none"}`,
            `  held-out (${held.folds}-fold over ${held.problems} problems): ${figures(held.policy.accuracy, held.policy.tokens)}`,
            `  best fixed configuration for the same objective, held-out: ${figures(held.fixed.accuracy, held.fixed.tokens)} (${held.fixed.configs.join(" / ")})`,
            `written to ${flags.out}`,
          ].join("\n") + "\n",
        );
      } finally {
        store.close();
      }
    });
}
