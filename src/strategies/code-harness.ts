/**
 * What the code strategies run in the sandbox: a solution against the docstring's examples, or
 * against many snippets (model-written asserts, input calls) in one program per solution, each
 * snippet in its own try/except under its own time limit, so one crash or endless loop costs
 * that snippet alone. The problem's hidden tests are never part of anything built here: the
 * meta the strategies read has them removed.
 */
import { randomBytes } from "node:crypto";
import { z } from "zod";
import { InvalidInputError } from "../core/errors.js";
import type { Problem } from "../core/types.js";
import type { SandboxResult } from "../sandbox/sandbox.js";
import {
  defaultSandbox,
  humanEvalSolution,
  humanEvalVisibleProgram,
  normalizeCode,
  visibleTestsOutcome,
} from "../tasks/code.js";

/** What a code strategy may know about a problem: the prompt and the function's name, not its tests. */
export interface CodeProblem {
  prompt: string;
  entryPoint: string;
}

const codeMetaSchema = z.looseObject({
  prompt: z.string().min(1),
  entry_point: z.string().regex(/^[A-Za-z_]\w*$/, "a Python identifier"),
});

/** The code problem behind `problem`, or a clear refusal when it is not one. */
export function codeProblemOf(problem: Problem, strategy: string): CodeProblem {
  const parsed = codeMetaSchema.safeParse(problem.meta ?? {});
  if (!parsed.success) {
    // A missing entry point says most plainly that this is not a code problem.
    const issue = parsed.error.issues.find((i) => i.path[0] === "entry_point") ?? parsed.error.issues[0]!;
    throw new InvalidInputError(
      `problem.meta.${issue.path.join(".") || "entry_point"}`,
      `strategy "${strategy}" runs code, so it needs a code problem (meta with the function's prompt and entry_point); problem ${problem.id}: ${issue.message}`,
      "use it with the code task (e.g. --dataset humaneval)",
    );
  }
  return { prompt: parsed.data.prompt, entryPoint: parsed.data.entry_point };
}

/** humanEval's module builders read only the prompt and entry point; the hidden tests stay out. */
const asMeta = (problem: CodeProblem) => ({
  prompt: problem.prompt,
  entry_point: problem.entryPoint,
  test: "",
});

export interface RunLimits {
  /** Wall-clock limit of one snippet (model test or input call), and of loading the solution. */
  snippetTimeoutMs: number;
  signal?: AbortSignal;
}

export interface VisibleRun {
  passed: boolean;
  /** Examples the docstring showed that could be checked. */
  checked: number;
  feedback: string;
  status: SandboxResult["status"];
}

/** Runs `code` on the examples of the problem's docstring (the visible tests). */
export async function runVisibleTests(
  problem: CodeProblem,
  code: string,
  limits: RunLimits & { timeoutMs: number },
): Promise<VisibleRun> {
  const sandbox = await defaultSandbox();
  const sandboxLimits = { timeoutMs: limits.timeoutMs, memoryMb: 512 };
  const result = await sandbox.run(
    { language: "python", code: humanEvalVisibleProgram(asMeta(problem), code), limits: sandboxLimits },
    { signal: limits.signal },
  );
  return { ...visibleTestsOutcome(result, sandboxLimits), status: result.status };
}

/** The outcome of one snippet: passed (an assert) or its value's repr (a call), else why not. */
export interface SnippetOutcome {
  ok: boolean;
  /** `repr` of a call's value (floats rounded to 6 places), when `ok` and the snippet was a call. */
  value?: string;
  /** Whether a call's value equals the expected one given with it (floats within 1e-6). */
  matches?: boolean;
  /** The exception (`AssertionError`, `timeout`, `not run` when the program died first). */
  error?: string;
}

/** Python that loads the solution, then runs each snippet and reports it on a marked line. */
function snippetProgram(
  solution: string,
  snippets: readonly string[],
  mode: "exec" | "eval",
  expected: readonly (string | undefined)[],
  snippetTimeoutMs: number,
  marker: string,
): string {
  const seconds = (snippetTimeoutMs / 1000).toFixed(3);
  return [
    "import json as __json, signal as __signal, sys as __sys",
    `__marker = ${JSON.stringify(marker)}`,
    "class __SnippetTimeout(BaseException):",
    "    pass",
    "def __on_alarm(signum, frame):",
    "    raise __SnippetTimeout()",
    "__signal.signal(__signal.SIGALRM, __on_alarm)",
    "def __report(entry):",
    "    __sys.stdout.write(__marker + __json.dumps(entry) + '\\n')",
    "    __sys.stdout.flush()",
    "def __canon(value):",
    "    if isinstance(value, float):",
    "        return round(value, 6)",
    "    if isinstance(value, (list, tuple)):",
    "        return type(value)(__canon(v) for v in value)",
    "    return value",
    "def __same(got, want):",
    "    import math",
    "    if isinstance(want, float) and isinstance(got, (int, float)) and not isinstance(got, bool):",
    "        return math.isclose(got, want, rel_tol=1e-6, abs_tol=1e-9)",
    "    return bool(got == want)",
    "def __describe(error):",
    "    if isinstance(error, __SnippetTimeout):",
    "        return 'timeout'",
    "    text = f'{type(error).__name__}: {error}'.strip().rstrip(':')",
    "    return text[:300]",
    `__source = ${JSON.stringify(solution)}`,
    `__snippets = ${JSON.stringify(snippets)}`,
    `__expected = [${snippets.map((_, i) => (expected[i] === undefined ? "None" : JSON.stringify(expected[i]))).join(", ")}]`,
    "__namespace = {'__name__': '__solution__'}",
    "try:",
    `    __signal.setitimer(__signal.ITIMER_REAL, ${seconds})`,
    "    exec(compile(__source, '<solution>', 'exec'), __namespace)",
    "    __signal.setitimer(__signal.ITIMER_REAL, 0)",
    "except BaseException as error:",
    "    __signal.setitimer(__signal.ITIMER_REAL, 0)",
    "    __report({'load': __describe(error)})",
    "    __sys.exit(0)",
    "for __index, __snippet in enumerate(__snippets):",
    "    try:",
    `        __signal.setitimer(__signal.ITIMER_REAL, ${seconds})`,
    mode === "exec"
      ? "        exec(compile(__snippet, '<test>', 'exec'), __namespace)\n        __entry = {'i': __index, 'ok': True}"
      : [
          "        __value = eval(compile(__snippet, '<input>', 'eval'), __namespace)",
          "        __entry = {'i': __index, 'ok': True, 'value': repr(__canon(__value))[:2000]}",
          "        if __expected[__index] is not None:",
          "            try:",
          "                __want = eval(compile(__expected[__index], '<expected>', 'eval'), {'__builtins__': {}}, {})",
          "            except Exception:",
          "                pass",
          "            else:",
          "                __entry['matches'] = __same(__value, __want)",
        ].join("\n"),
    "        __signal.setitimer(__signal.ITIMER_REAL, 0)",
    "    except BaseException as error:",
    "        __signal.setitimer(__signal.ITIMER_REAL, 0)",
    "        __entry = {'i': __index, 'ok': False, 'error': __describe(error)}",
    "    __report(__entry)",
    "",
  ].join("\n");
}

const reportLine = z.union([
  z.object({ load: z.string() }),
  z.object({
    i: z.number().int(),
    ok: z.boolean(),
    value: z.string().optional(),
    matches: z.boolean().optional(),
    error: z.string().optional(),
  }),
]);

export interface SnippetRun {
  outcomes: SnippetOutcome[];
  /** Why the solution could not even be loaded (a syntax error), when it could not. */
  loadError?: string;
  status: SandboxResult["status"];
}

/**
 * Runs `code` (the answer, completing the problem's prompt) once, then every snippet against
 * it: asserts with `mode` "exec", calls whose values are wanted with "eval" (a call's value is
 * compared with `expected[i]`, Python source, when one is given).
 */
export async function runSnippets(
  problem: CodeProblem,
  code: string,
  snippets: readonly string[],
  mode: "exec" | "eval",
  limits: RunLimits,
  expected: readonly (string | undefined)[] = [],
): Promise<SnippetRun> {
  const sandbox = await defaultSandbox();
  // A fresh marker per run: the solution cannot forge a report line it has never seen.
  const marker = `@@reckon-${randomBytes(6).toString("hex")}@@`;
  const program = snippetProgram(
    humanEvalSolution(asMeta(problem), code),
    snippets,
    mode,
    expected,
    limits.snippetTimeoutMs,
    marker,
  );
  // Every snippet may use its whole time, plus loading and the interpreter's start.
  const timeoutMs = limits.snippetTimeoutMs * (snippets.length + 1) + 2_000;
  const result = await sandbox.run(
    { language: "python", code: program, limits: { timeoutMs, memoryMb: 512 } },
    { signal: limits.signal },
  );
  const outcomes: SnippetOutcome[] = snippets.map(() => ({ ok: false, error: "not run" }));
  let loadError: string | undefined;
  for (const line of result.stdout.split("\n")) {
    if (!line.startsWith(marker)) continue;
    let parsed: z.output<typeof reportLine>;
    try {
      parsed = reportLine.parse(JSON.parse(line.slice(marker.length)));
    } catch {
      continue;
    }
    if ("load" in parsed) loadError = parsed.load;
    else if (parsed.i >= 0 && parsed.i < outcomes.length)
      outcomes[parsed.i] = {
        ok: parsed.ok,
        ...(parsed.value === undefined ? {} : { value: parsed.value }),
        ...(parsed.matches === undefined ? {} : { matches: parsed.matches }),
        ...(parsed.error === undefined ? {} : { error: parsed.error }),
      };
  }
  if (loadError) for (const outcome of outcomes) outcome.error = `load: ${loadError}`;
  return { outcomes, ...(loadError ? { loadError } : {}), status: result.status };
}

/**
 * Runs `task` once per distinct solution (comments and spacing aside: samples often repeat the
 * same code) and gives each solution its run's result; undefined where a solution has no code.
 */
export async function runPerDistinctSolution<R>(
  solutions: readonly (string | undefined)[],
  task: (code: string) => Promise<R>,
): Promise<{ results: (R | undefined)[]; runs: number }> {
  const byCode = new Map<string, Promise<R>>();
  const pending = solutions.map((code) => {
    if (code === undefined) return undefined;
    const key = normalizeCode(code);
    let run = byCode.get(key);
    if (!run) {
      run = task(code);
      byCode.set(key, run);
    }
    return run;
  });
  const results = await Promise.all(pending);
  return { results, runs: byCode.size };
}

/** How many different solutions there are (comments and spacing aside): with one, there is nothing to choose. */
export function distinctSolutions(solutions: readonly (string | undefined)[]): number {
  return new Set(solutions.flatMap((code) => (code === undefined ? [] : [normalizeCode(code)]))).size;
}
