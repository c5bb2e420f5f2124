/**
 * HumanEval: a Python function to complete from its signature and docstring, judged by the
 * dataset's hidden `check(candidate)` tests, or by the examples shown in the docstring.
 */
import { z } from "zod";
import { parseJsonl, readTextFile } from "../core/jsonl.js";
import { definesFunction } from "./code-extraction.js";

/** What judging needs, kept in `Problem.meta` under the dataset's own field names. */
export const humanEvalMetaSchema = z.looseObject({
  prompt: z.string().min(1),
  test: z.string().min(1),
  entry_point: z.string().regex(/^[A-Za-z_]\w*$/, "a Python identifier"),
});

export type HumanEvalMeta = z.output<typeof humanEvalMetaSchema>;

export const humanEvalRowSchema = humanEvalMetaSchema.extend({
  task_id: z.string().min(1),
  canonical_solution: z.string(),
});

export type HumanEvalRow = z.output<typeof humanEvalRowSchema>;

/** Reads HumanEval JSONL (gzipped or not) from any path. */
export async function loadHumanEval(path: string): Promise<HumanEvalRow[]> {
  return parseJsonl(humanEvalRowSchema, await readTextFile(path, "HumanEval file"), path);
}

/** Drops a top-level `if __name__ == "__main__":` block: it would run the answer's own demo or read stdin. */
function withoutMainBlock(code: string): string {
  const lines = code.split("\n");
  const start = lines.findIndex((line) => /^if\s+__name__\s*==\s*["']__main__["']\s*:/.test(line));
  if (start < 0) return code;
  let end = start + 1;
  while (end < lines.length && (lines[end]!.trim() === "" || /^\s/.test(lines[end]!))) end++;
  return [...lines.slice(0, start), ...lines.slice(end)].join("\n");
}

/**
 * The solution as a module: the prompt followed by the answer. An answer that defines the
 * entry point is used whole (the prompt stays above it for its imports and helpers, and its
 * docstring-only function is simply redefined); otherwise the answer is the body continuing
 * the prompt, indented if the model wrote it flush left.
 */
export function humanEvalSolution(meta: HumanEvalMeta, completion: string): string {
  const code = withoutMainBlock(completion);
  if (definesFunction(code, meta.entry_point)) {
    const lastLine = meta.prompt.trimEnd().split("\n").pop() ?? "";
    const open = lastLine.trimEnd().endsWith(":") ? "    pass\n" : "";
    return `${meta.prompt}${open}\n${code}`;
  }
  const firstLine = code.split("\n").find((line) => line.trim() !== "") ?? "";
  const flushLeft = firstLine !== "" && !/^\s/.test(firstLine);
  const body = flushLeft
    ? code
        .split("\n")
        .map((line) => (line.trim() === "" ? line : `    ${line}`))
        .join("\n")
    : code;
  return `${meta.prompt}${body}`;
}

/** The program that runs the hidden tests, as HumanEval defines it. */
export function humanEvalHiddenProgram(meta: HumanEvalMeta, completion: string): string {
  return `${humanEvalSolution(meta, completion)}\n${meta.test}\ncheck(${meta.entry_point})\n`;
}

/** One example shown in the prompt: a call and the value it should give, both as Python source. */
export interface VisibleExample {
  call: string;
  expected: string;
}

/** The end of a balanced call starting at `open` (the index of its `(`), or -1. */
function closingParen(text: string, open: number): number {
  let depth = 0;
  let quote: string | undefined;
  for (let i = open; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === "\\") i++;
      else if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if ("([{".includes(c)) depth++;
    else if (")]}".includes(c) && --depth === 0) return i;
  }
  return -1;
}

/** `f(a) == b` → call `f(a)`, expected `b`, when the `==` is outside brackets and strings. */
function splitTopLevelEquality(source: string): VisibleExample | undefined {
  let depth = 0;
  let quote: string | undefined;
  for (let i = 0; i < source.length - 1; i++) {
    const c = source[i]!;
    if (quote) {
      if (c === "\\") i++;
      else if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if ("([{".includes(c)) depth++;
    else if (")]}".includes(c)) depth--;
    else if (depth === 0 && source.startsWith("==", i))
      return { call: source.slice(0, i).trim(), expected: source.slice(i + 2).trim() };
  }
  return undefined;
}

/** The separators prompts write between a call and its value: `==`, `➞`, `=>`, `returns`, `# =>`, … */
const resultSeparator = /^\s*(?:#\s*)?(?:==>|=>|->|➞|==|=|returns|should return|is)\s*/;

/**
 * The examples of a prompt's docstring: doctest lines (`>>> f(1)` then the value) and lines
 * such as `f(1) == 2`, `f(1) ➞ 2`, `f(1) returns 2`. The expected text is kept as written;
 * whether it is a Python value is decided when the tests run.
 */
export function visibleExamples(prompt: string, entryPoint: string): VisibleExample[] {
  const examples: VisibleExample[] = [];
  const lines = prompt.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    const doctest = /^>>>\s?(.*)$/.exec(line);
    if (doctest) {
      let call = doctest[1]!;
      while (i + 1 < lines.length && /^\s*\.\.\.(\s|$)/.test(lines[i + 1]!))
        call += `\n${lines[++i]!.trim().replace(/^\.\.\.\s?/, "")}`;
      const output: string[] = [];
      while (i + 1 < lines.length && !/^\s*(>>>|"""|''')/.test(lines[i + 1]!) && lines[i + 1]!.trim() !== "")
        output.push(lines[++i]!.trim());
      if (!call.includes(entryPoint)) continue;
      // `>>> f(1) == 2` with no output line is written as a claim, not as doctest output.
      const claim = output.length === 0 ? splitTopLevelEquality(call) : undefined;
      // Doctest prints nothing for None.
      examples.push(claim ?? { call, expected: output.join(" ") || "None" });
      continue;
    }
    if (!line.startsWith(`${entryPoint}(`) && !line.startsWith(`${entryPoint} (`)) continue;
    let text = line;
    let open = text.indexOf("(");
    let close = closingParen(text, open);
    // A call written over several lines.
    while (close < 0 && i + 1 < lines.length && text.length < 2000) {
      text += ` ${lines[++i]!.trim()}`;
      open = text.indexOf("(");
      close = closingParen(text, open);
    }
    if (close < 0) continue;
    const rest = text.slice(close + 1);
    const separator = resultSeparator.exec(rest);
    if (!separator) continue;
    let expected = rest.slice(separator[0].length).trim().replace(/\.$/, "");
    if (expected === "true" || expected === "false") expected = expected === "true" ? "True" : "False";
    if (expected !== "") examples.push({ call: text.slice(0, close + 1), expected });
  }
  return examples;
}

/**
 * Python that checks the examples against the solution defined above it. An example whose
 * expected text is not a Python value, or whose call names anything but the entry point and
 * builtins (`is_happy(a)`), is skipped rather than counted against the answer.
 */
export function visibleTestsSource(examples: readonly VisibleExample[], entryPoint: string): string {
  const cases = examples.map(
    (example) => `        (${JSON.stringify(example.call)}, ${JSON.stringify(example.expected)}),`,
  );
  return [
    "def __visible_tests():",
    "    import builtins, math",
    "    cases = [",
    ...cases,
    "    ]",
    `    allowed = set(dir(builtins)) | {${JSON.stringify(entryPoint)}}`,
    "    checked = 0",
    "    for source, expected_source in cases:",
    "        try:",
    '            call = compile(source, "<example>", "eval")',
    '            expected = eval(compile(expected_source, "<expected>", "eval"), {"__builtins__": {}}, {})',
    "        except Exception:",
    "            continue",
    "        if not set(call.co_names) <= allowed:",
    "            continue",
    "        try:",
    "            got = eval(call, globals())",
    "        except Exception as error:",
    '            error.add_note(f"in the example {source}")',
    "            raise",
    "        checked += 1",
    "        numbers = (int, float)",
    "        if isinstance(expected, float) and isinstance(got, numbers) and not isinstance(got, bool):",
    "            same = math.isclose(got, expected, rel_tol=1e-6, abs_tol=1e-9)",
    "        else:",
    "            same = got == expected",
    "        if not same:",
    '            raise AssertionError(f"{source} should be {expected_source}, got {got!r}")',
    '    print(f"visible examples passed: {checked}")',
    "",
    "",
    "__visible_tests()",
    "",
  ].join("\n");
}

/** The program that runs the examples of the prompt's docstring. */
export function humanEvalVisibleProgram(meta: HumanEvalMeta, completion: string): string {
  const examples = visibleExamples(meta.prompt, meta.entry_point);
  return `${humanEvalSolution(meta, completion)}\n\n${visibleTestsSource(examples, meta.entry_point)}`;
}
