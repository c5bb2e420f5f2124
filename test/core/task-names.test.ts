/**
 * A task owns what is particular to it (its prompt, where its steps end, how it reads and
 * judges answers): nothing outside src/tasks branches on a task's name.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { taskPrompt, taskStepDelimiter } from "../../src/core/types.js";
import { getTask, registerTask, renderPrompt, taskNames } from "../../src/tasks/registry.js";
import { repoRoot } from "../support/cli.js";

const src = join(repoRoot, "src");

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith(".ts") ? [path] : [];
  });
}

/** A task or its name compared with a string literal (either way round), or a switch over one. */
const comparesTaskName =
  /(?<!typeof\s+[\w.]*)\btask\w*(?:\.name)?\s*[!=]==?\s*["'`]|["'`]\s*[!=]==?\s*[\w.]*task\w*(?:\.name)?\b|switch\s*\(\s*[\w.]*task\w*(?:\.name)?\s*\)/i;

/** The lines of src outside src/tasks that compare a task's name. */
function taskNameComparisons(): string[] {
  return sourceFiles(src)
    .filter((file) => !file.startsWith(join(src, "tasks")))
    .flatMap((file) =>
      readFileSync(file, "utf8")
        .split("\n")
        .filter((line) => comparesTaskName.test(line))
        .map((line) => `${relative(src, file)}: ${line.trim()}`),
    );
}

describe("task names", () => {
  it("are compared nowhere outside src/tasks", () => {
    expect(taskNameComparisons()).toEqual([]);
  });

  it("would be caught if compared", () => {
    for (const line of [
      'return problem.task.name === "arithmetic" ? "\\n" : "\\n\\n";',
      'if (ctx.task !== "arithmetic")',
      'return taskName === "arithmetic" ? format(text) : text;',
      'if ("math" === task.name) {',
      "switch (problem.task.name) {",
    ])
      expect(comparesTaskName.test(line), line).toBe(true);
    expect(comparesTaskName.test('if (dataset.name === "arithmetic")')).toBe(false);
    expect(comparesTaskName.test("if (policy.task !== expect.task)")).toBe(false);
    expect(comparesTaskName.test('typeof settings.task === "object"')).toBe(false);
  });
});

describe("tasks own their prompt and step delimiter", () => {
  it("gives the arithmetic task its Q: form and line steps, others a blank line", () => {
    const arithmetic = getTask("arithmetic");
    expect(taskStepDelimiter(arithmetic)).toBe("\n");
    expect(taskPrompt(arithmetic, "12+3")).toBe(renderPrompt("arithmetic", "12+3"));
    for (const name of ["math", "gsm8k", "code", "choice"])
      expect(taskStepDelimiter(getTask(name))).toBe("\n\n");
    expect(renderPrompt("math", "What is 2+2?")).toBe(
      "What is 2+2?\n\nPlease reason step by step, and put your final answer within \\boxed{}.",
    );
  });

  it("registers a task of user code, reached by name with its prompt and delimiter", () => {
    const name = "test-yes-no";
    registerTask({
      name,
      extractAnswer: (text) => /\b(yes|no)\b/i.exec(text)?.[1]?.toLowerCase(),
      equivalent: (a, b) => a === b,
      grade: async (answer, problem) => ({ correct: answer === problem.reference }),
      prompt: (question) => `${question}\nAnswer yes or no.`,
      stepDelimiter: "\n- ",
    });
    expect(taskNames).toContain(name);
    expect(renderPrompt(name, "Is 7 prime?")).toBe("Is 7 prime?\nAnswer yes or no.");
    expect(taskStepDelimiter(getTask(name))).toBe("\n- ");
    // A task without a prompt sends the question unchanged; a name is not taken twice.
    expect(taskPrompt({ ...getTask(name), prompt: undefined }, "Q")).toBe("Q");
    expect(() => registerTask(getTask(name))).toThrow(/already registered/);
  });
});
