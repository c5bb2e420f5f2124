/**
 * A seeded stand-in for a code model on real HumanEval problems, for the loopback OpenAI server.
 * It knows each problem's canonical solution and answers like a fallible model would:
 *   - a first attempt: the canonical solution, or (seeded per problem and sample) a realistic
 *     mutation of it: an off-by-one, a flipped comparison, a wrong return;
 *   - a repair request that shows the failing test: the canonical solution most of the time
 *     (less often when told only that the code is wrong);
 *   - a request to explain code: a short line-by-line explanation;
 *   - a request for test cases: assert lines from the docstring's examples, some deliberately
 *     wrong; a request for inputs: the examples' calls and variations of them.
 * From the same (seed, sample index, prompt) it always says the same thing.
 */
import { type HumanEvalRow, visibleExamples } from "../../src/tasks/code.js";
import type { TestRequestView } from "./openai-test-server.js";

function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** A number in [0, 1) fixed by its key. */
const roll = (key: string) => (hash(key) % 10_000) / 10_000;

export type MutationKind = "off-by-one" | "flipped comparison" | "wrong return";

/** Strings blanked out, so that literals and operators inside them are never mutated. */
const blankStrings = (body: string) => body.replace(/(["'])(?:\\.|(?!\1).)*\1/g, (s) => " ".repeat(s.length));

const replaceAt = (body: string, at: number, length: number, text: string) =>
  body.slice(0, at) + text + body.slice(at + length);

/** One of the first two integer literals one more or one less (a loop bound, an index, a start). */
function offByOne(body: string): string[] {
  const literals = [...blankStrings(body).matchAll(/(?<![\w.])(\d+)(?![\w.])/g)].slice(0, 2);
  return literals.flatMap((m) =>
    [Number(m[1]) + 1, Number(m[1]) - 1]
      .filter((v) => v >= 0)
      .map((v) => replaceAt(body, m.index, m[1]!.length, String(v))),
  );
}

/** One of the first three comparisons turned into a near miss (`<` ↔ `<=`, `==` ↔ `!=`). */
function flipComparison(body: string): string[] {
  const near: Record<string, string> = { "<": "<=", "<=": "<", ">": ">=", ">=": ">", "==": "!=", "!=": "==" };
  const comparisons = [...blankStrings(body).matchAll(/(?<![<>=!-])(<=|>=|==|!=|<|>)(?![=>])/g)].slice(0, 3);
  return comparisons.map((m) => replaceAt(body, m.index, m[1]!.length, near[m[1]!]!));
}

/** The last `return X` returns the wrong thing: the opposite truth value, None, or an empty list. */
function wrongReturn(body: string): string[] {
  const lines = body.split("\n");
  for (let i = lines.length - 1; i >= 0; i--) {
    const match = /^(\s*)return\s+(.+)$/.exec(lines[i]!);
    if (!match) continue;
    const value = match[2]!.trim();
    const wrongs =
      value === "True" || value === "False" ? [value === "True" ? "False" : "True"] : ["None", "[]", "0"];
    return wrongs
      .filter((wrong) => wrong !== value)
      .map((wrong) => lines.map((line, j) => (j === i ? `${match[1]}return ${wrong}` : line)).join("\n"));
  }
  return [];
}

const mutations: Record<MutationKind, (body: string) => string[]> = {
  "off-by-one": offByOne,
  "flipped comparison": flipComparison,
  "wrong return": wrongReturn,
};

/** The mutants of a canonical body that differ from it, by kind; wrong answers are varied, as a model's are. */
export function mutantsOf(body: string): { kind: MutationKind; body: string }[] {
  return (Object.keys(mutations) as MutationKind[]).flatMap((kind) =>
    mutations[kind](body)
      .filter((mutant) => mutant !== body)
      .map((mutant) => ({ kind, body: mutant })),
  );
}

/** A Python value that differs from `expected`, for a deliberately wrong test. */
function wrongValue(expected: string): string {
  if (/^-?\d+$/.test(expected)) return String(Number(expected) + 1);
  if (/^-?\d*\.\d+$/.test(expected)) return String(Number(expected) + 1.5);
  if (expected === "True" || expected === "False") return expected === "True" ? "False" : "True";
  if (/^(['"]).*\1$/.test(expected)) return `${expected.slice(0, -1)}x${expected.slice(-1)}`;
  if (expected.startsWith("[")) return expected === "[]" ? "[0]" : "[]";
  return "None";
}

export interface CodeResponderOptions {
  /** The problems it knows (their canonical solutions). */
  rows: readonly HumanEvalRow[];
  /** Chance that a first attempt is the canonical solution. */
  firstRight?: number;
  /** Chance that a repair shown the failing test is the canonical solution. */
  repairRight?: number;
  /** Chance that a repair told only "the code is wrong" is the canonical solution. */
  blindRepairRight?: number;
  /** Chance that one written test expects a wrong value. */
  wrongTest?: number;
}

const fenced = (code: string) => `\`\`\`python\n${code.trimEnd()}\n\`\`\``;

/** A responder for `startOpenAITestServer({ respond })`. */
export function codeResponder(options: CodeResponderOptions) {
  const { rows, firstRight = 0.4, repairRight = 0.85, blindRepairRight = 0.3, wrongTest = 0.2 } = options;
  const solution = (row: HumanEvalRow, body: string) => `${row.prompt}${body}`;
  const attempt = (row: HumanEvalRow, key: string, right: number, avoid?: string) => {
    if (roll(`${key}|right`) < right) return solution(row, row.canonical_solution);
    const mutants = mutantsOf(row.canonical_solution);
    const pool = mutants.filter((m) => !avoid?.includes(m.body.trim()));
    const pick = (pool.length > 0 ? pool : mutants)[hash(`${key}|kind`) % (pool.length || mutants.length)];
    return solution(row, pick?.body ?? "    return None\n");
  };

  return (request: Pick<TestRequestView, "prompt" | "seed">, index: number): string => {
    const text = request.prompt;
    // The longest prompt contained in the request: no HumanEval prompt holds another, but be safe.
    const row = rows
      .filter((r) => text.includes(r.prompt.trim()))
      .sort((a, b) => b.prompt.length - a.prompt.length)[0];
    if (!row) return "I do not know this function.";
    const key = `${request.seed ?? Math.random()}|${index}|${text}`;
    const examples = visibleExamples(row.prompt, row.entry_point);
    if (/Fix the code/.test(text)) {
      const shownFailure = /Error|Timed out|should be|No code/.test(text);
      const code = attempt(row, key, shownFailure ? repairRight : blindRepairRight, text);
      return `Here is the corrected function:\n${fenced(code)}`;
    }
    if (/Explain the code above line by line/.test(text))
      return `The function \`${row.entry_point}\` walks through its arguments and builds the result step by step; on the examples it returns what the loop computes.`;
    if (/test cases for the function/.test(text)) {
      const asserts = examples.map((example, i) => {
        const expected =
          roll(`${key}|test${i}`) < wrongTest ? wrongValue(example.expected) : example.expected;
        return `assert ${example.call} == ${expected}`;
      });
      return fenced(asserts.join("\n"));
    }
    if (/different calls of the function/.test(text)) {
      const calls = examples.flatMap((example) => {
        const varied = example.call.replace(/(?<![\w.])(\d+)(?![\w.])/, (n) => String(Number(n) + 1));
        return varied === example.call ? [example.call] : [example.call, varied];
      });
      return fenced(calls.join("\n"));
    }
    return `Here is the function:\n${fenced(attempt(row, key, firstRight))}`;
  };
}
