/**
 * Code answers judged by running them: HumanEval-style Python problems against hidden tests
 * (the dataset's `check`) or visible ones (the docstring's examples), in the sandbox.
 */
import { z } from "zod";
import { parseOrThrow } from "../core/validate.js";
import { createSandbox } from "../sandbox/linux.js";
import type { Sandbox, SandboxLimits, SandboxResult } from "../sandbox/sandbox.js";
import { extractCode, normalizeCode } from "./code-extraction.js";
import { summarizeRun } from "./code-feedback.js";
import { humanEvalHiddenProgram, humanEvalMetaSchema, humanEvalVisibleProgram } from "./humaneval.js";

export { type CodeLanguage, extractCode, fencedBlocks, normalizeCode } from "./code-extraction.js";
export { summarizeRun } from "./code-feedback.js";
export {
  type HumanEvalMeta,
  type HumanEvalRow,
  humanEvalHiddenProgram,
  humanEvalMetaSchema,
  humanEvalRowSchema,
  humanEvalSolution,
  humanEvalVisibleProgram,
  loadHumanEval,
  visibleExamples,
} from "./humaneval.js";

/** Limits for one judged answer; HumanEval's tests take well under a second. */
export const defaultCodeLimits = { timeoutMs: 10_000, memoryMb: 512 } as const;

const judgeInputSchema = z.object({
  meta: humanEvalMetaSchema,
  /** The answer's code (see `extractCode`): a whole function, or the body continuing the prompt. */
  completion: z.string(),
  /** `hidden`: the dataset's tests; `visible`: the examples in the prompt's docstring. */
  tests: z.enum(["visible", "hidden"]),
});

export type JudgeInput = z.input<typeof judgeInputSchema>;

export interface JudgeOptions {
  signal?: AbortSignal;
  /** Where programs run (default: one sandbox shared by every judgement of this process). */
  sandbox?: Sandbox;
  limits?: SandboxLimits;
}

export interface Judgement {
  passed: boolean;
  /** What failed, briefly (assertion, exception, short traceback), or that all passed. */
  feedback: string;
  result: SandboxResult;
}

let sharedSandbox: Promise<Sandbox> | undefined;

/** The process-wide sandbox: it limits how many programs run at once to the machine's cores. */
export function defaultSandbox(): Promise<Sandbox> {
  sharedSandbox ??= createSandbox();
  return sharedSandbox;
}

/** Runs a code answer against its tests in the sandbox. */
export async function judgeCode(input: JudgeInput, options: JudgeOptions = {}): Promise<Judgement> {
  const { meta, completion, tests } = parseOrThrow(judgeInputSchema, input, "code judgement");
  const program =
    tests === "hidden" ? humanEvalHiddenProgram(meta, completion) : humanEvalVisibleProgram(meta, completion);
  const sandbox = options.sandbox ?? (await defaultSandbox());
  const limits = { ...defaultCodeLimits, ...options.limits };
  const result = await sandbox.run({ language: "python", code: program, limits }, { signal: options.signal });
  if (tests === "visible") {
    const { passed, feedback } = visibleTestsOutcome(result, limits);
    return { passed, feedback, result };
  }
  return { passed: result.status === "ok", feedback: summarizeRun(result, limits), result };
}

/** What a run of the visible tests (the docstring's examples) says, as feedback for a model. */
export interface VisibleTestsOutcome {
  passed: boolean;
  /** Examples the docstring showed that could be checked. */
  checked: number;
  feedback: string;
}

/** Reads a sandbox run of `humanEvalVisibleProgram`: the one place its report line is read. */
export function visibleTestsOutcome(
  result: SandboxResult,
  limits: { timeoutMs: number; memoryMb: number },
): VisibleTestsOutcome {
  const checked = Number([...result.stdout.matchAll(/^visible examples passed: (\d+)$/gm)].pop()?.[1] ?? 0);
  if (result.status !== "ok") return { passed: false, checked, feedback: summarizeRun(result, limits) };
  return {
    passed: true,
    checked,
    feedback:
      checked === 0
        ? "No examples in the prompt could be checked."
        : `All ${checked} examples from the prompt passed.`,
  };
}

/**
 * The pieces a code task is made of: the answer read out of a model's text, equality for
 * votes, and a grade by the hidden tests, with the feedback as its detail.
 */
export const humanEvalJudging = {
  extractAnswer(text: string, meta?: { entry_point?: string }): string | undefined {
    const code = extractCode(text, "python", meta?.entry_point);
    return code.trim() === "" ? undefined : code;
  },
  equivalent(a: string, b: string): boolean {
    return normalizeCode(a) === normalizeCode(b);
  },
  async grade(
    answer: string | undefined,
    meta: unknown,
    ctx: { signal?: AbortSignal } = {},
  ): Promise<{ correct: boolean; detail?: string }> {
    if (answer === undefined) return { correct: false, detail: "no code found in the answer" };
    const parsed = parseOrThrow(humanEvalMetaSchema, meta, "problem meta");
    const judgement = await judgeCode({ meta: parsed, completion: answer, tests: "hidden" }, ctx);
    return { correct: judgement.passed, detail: judgement.passed ? undefined : judgement.feedback };
  },
};
