import { Command } from "commander";
import { z } from "zod";
import { resolveBackend } from "../backends/resolve.js";
import { createProgressLines } from "../bench/progress.js";
import { readPolicyFile } from "../control/policy.js";
import { InvalidInputError } from "../core/errors.js";
import { collectTrace, type TraceSink } from "../core/trace.js";
import type { Result } from "../core/types.js";
import { run } from "../run.js";
import { getStrategy, sampleBudgetOption } from "../strategies/registry.js";
import { parseArithmeticPrompt } from "../tasks/arithmetic.js";
import { getTask, renderPrompt, taskNames } from "../tasks/registry.js";
import { resolveVerifier } from "../verifiers/registry.js";
import {
  apiKeyFromEnv,
  envNameSchema,
  parseFlags,
  retriesOption,
  serverBackendOptions,
  serverFlagsSchema,
  strategyOptionsFlag,
  timeoutOption,
} from "./flags.js";

const askFlagsSchema = z.object({
  strategy: z.string(),
  n: z.coerce.number().int().min(1).max(1024),
  seed: z.coerce.number().int().optional(),
  backend: z.string().optional(),
  endpoint: z.string().optional(),
  model: z.string().optional(),
  apiKey: z.string().optional(),
  apiKeyEnv: envNameSchema.optional(),
  mode: z.enum(["chat", "completion"]).optional(),
  task: z.string().optional(),
  template: z
    .string()
    .refine((t) => t.includes("{question}"), "must contain the {question} placeholder")
    .optional(),
  raw: z.boolean().optional(),
  verifier: z.string().optional(),
  temperature: z.coerce.number().min(0).max(5).optional(),
  topP: z.coerce.number().gt(0).max(1).optional(),
  maxTokens: z.coerce.number().int().positive(),
  budgetTokens: z.coerce.number().int().positive().optional(),
  policy: z.string().optional(),
  json: z.boolean().optional(),
  options: z.string().optional(),
  ...serverFlagsSchema.shape,
});

export function askCommand(): Command {
  return new Command("ask")
    .description("Answer one question with a test-time strategy and show the votes and the cost.")
    .argument(
      "<question>",
      "the question (for the bundled model: an arithmetic problem such as 'Q: 12*3+5=?')",
    )
    .option("-s, --strategy <name>", "strategy (see `reckon strategies`)", "self-consistency")
    .option("-n, --n <count>", "samples to draw", "8")
    .option("--seed <int>", "sampling seed, for reproducible answers")
    .option("--backend <spec>", "openai:URL, llamacpp:PATH or replay:FILE (default: the bundled model)")
    .option("--endpoint <url>", "OpenAI-compatible base URL, e.g. http://127.0.0.1:8000/v1")
    .option("--model <name>", "model name on the server, or a GGUF path")
    .option("--api-key <key>", "API key (default: $OPENAI_API_KEY)")
    .option("--api-key-env <name>", "read the API key from this environment variable instead")
    .option("--mode <mode>", "chat or completion")
    .option("--task <name>", `how answers are read and compared: ${taskNames.join(", ")}`)
    .option("--template <text>", "prompt template with {question}")
    .option("--raw", "send the question as is, without the task's prompt")
    .option("--verifier <name>", "verifier for best-of-n and weighted-majority")
    .option("-t, --temperature <t>", "sampling temperature")
    .option("--top-p <p>", "nucleus sampling")
    .option("--max-tokens <count>", "tokens per sample", "512")
    .option("--budget-tokens <count>", "stop sampling once this many tokens are spent")
    .option("--policy <file>", "policy for --strategy auto (from reckon tune)")
    .option(
      "--options <json>",
      "strategy options as JSON, e.g. '{\"beamWidth\": 4}' (see `reckon strategies`)",
    )
    .option("--json", "print one JSON object")
    .addOption(timeoutOption())
    .addOption(retriesOption())
    .action(async (question: string, rawFlags: Record<string, unknown>) => {
      const flags = parseFlags(askFlagsSchema, rawFlags);
      if (question.trim() === "")
        throw new InvalidInputError(
          "question",
          "it is empty",
          'ask something, e.g. reckon ask "Q: 12*3+5=?"',
        );
      if (flags.apiKey !== undefined && flags.apiKeyEnv !== undefined)
        throw new InvalidInputError("--api-key-env", "give the key by --api-key or --api-key-env, not both");
      const usesServer = flags.endpoint !== undefined || flags.backend?.startsWith("openai") === true;
      const bundled = !usesServer && flags.backend === undefined && flags.model === undefined;
      const taskName = flags.task ?? (bundled ? "arithmetic" : "math");
      const strategy = getStrategy(flags.strategy);
      // --n sets the strategy's sample budget: its n, or an adaptive strategy's cap.
      const budgetOption = sampleBudgetOption(strategy);
      const samples = budgetOption === undefined ? 1 : flags.n;
      const prompt = flags.raw ? question : renderPrompt(taskName, question, flags.template);
      // The bundled model knows one format and answers anything else with a confident number.
      if (bundled && parseArithmeticPrompt(prompt) === undefined)
        process.stderr.write(
          "reckon: warning: the bundled model only solves arithmetic problems such as 'Q: 12*3+5=?' (+, - and * on whole numbers); " +
            "its answer to anything else is meaningless. For other questions use --endpoint URL --model NAME.\n",
        );
      const backend = await resolveBackend({
        backend: flags.backend,
        endpoint: flags.endpoint,
        model: flags.model,
        apiKey: flags.apiKey ?? apiKeyFromEnv(flags.apiKeyEnv) ?? process.env.OPENAI_API_KEY,
        mode: flags.mode,
        ...serverBackendOptions(flags),
      });
      const progress = flags.json ? undefined : askProgress(samples);
      try {
        const trace = collectTrace();
        const result = await run({
          problem: { id: "ask", prompt, task: getTask(taskName) },
          backend,
          strategy: strategy.name,
          options: flags.policy
            ? { policy: await readPolicyFile(flags.policy) }
            : {
                ...(budgetOption === undefined ? {} : { [budgetOption]: samples }),
                ...strategyOptionsFlag(flags.options),
              },
          verifier: flags.verifier
            ? await resolveVerifier(flags.verifier, { task: taskName, backend })
            : undefined,
          sampling: {
            // The bundled model's card recommends 1.0; 0.8 is the usual choice for voting with chat models.
            temperature: flags.temperature ?? (bundled ? 1 : 0.8),
            topP: flags.topP,
            maxTokens: flags.maxTokens,
            seed: flags.seed,
          },
          budget: flags.budgetTokens ? { maxTokens: flags.budgetTokens } : undefined,
          trace: progress ? teeTrace(trace.sink, progress.sink) : trace.sink,
        });
        process.stdout.write(
          flags.json
            ? // `"answer": null` when none was found: JSON.stringify would leave the key out.
              `${JSON.stringify({ ...result, answer: result.answer ?? null, trace: trace.events }, null, 2)}\n`
            : formatResult(result),
        );
      } finally {
        progress?.stop();
        await backend.close?.();
      }
    });
}

/** Plain lines on stderr every 5 s while a slow backend works; a quick answer prints none. */
function askProgress(samples: number): { sink: TraceSink; stop(): void } {
  const state = { samples: 0, tokens: 0 };
  const lines = createProgressLines<typeof state>({
    format: (s, elapsedMs) =>
      `ask: ${s.samples}/${samples} samples, ${s.tokens} tokens, ${Math.round(elapsedMs / 1000)} s`,
  });
  lines.update({ ...state });
  return {
    sink: (event) => {
      if (event.kind !== "sample") return;
      state.samples += 1;
      state.tokens += event.tokens ?? 0;
      lines.update({ ...state });
    },
    stop: () => lines.stop(),
  };
}

const teeTrace =
  (...sinks: TraceSink[]): TraceSink =>
  (event) => {
    for (const sink of sinks) sink(event);
  };

function formatResult(result: Result): string {
  const lines = [`answer: ${result.answer ?? "(none found)"}`];
  const total = result.candidates.length;
  if (result.tally.length > 0) {
    lines.push(`${result.strategy} over ${total} sample${total === 1 ? "" : "s"}:`);
    const width = Math.max(...result.tally.map((t) => t.answer.length));
    for (const t of result.tally.slice(0, 10)) {
      const score =
        t.score !== undefined && result.strategy !== "self-consistency"
          ? `  score ${t.score.toFixed(3)}`
          : "";
      lines.push(
        `  ${t.answer.padEnd(width)}  ${"#".repeat(Math.round((20 * t.count) / total)).padEnd(20)} ${t.count}/${total}${score}`,
      );
    }
    const unanswered = result.candidates.filter((c) => c.answer === undefined).length;
    if (unanswered > 0) lines.push(`  (no answer in ${unanswered})`);
  }
  const u = result.usage;
  lines.push(
    `usage: ${u.calls} call${u.calls === 1 ? "" : "s"}, ${u.promptTokens} prompt + ${u.completionTokens} completion tokens${u.estimated ? " (estimated)" : ""}, ${(u.latencyMs / 1000).toFixed(2)} s${u.flops ? `, ${u.flops.toExponential(2)} FLOPs` : ""}`,
  );
  if (result.stopReason !== "completed") lines.push(`stopped: ${result.stopReason}`);
  return `${lines.join("\n")}\n`;
}
