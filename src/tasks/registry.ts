import { InvalidInputError } from "../core/errors.js";
import type { Task } from "../core/types.js";
import { arithmeticTask, formatArithmeticPrompt } from "./arithmetic.js";
import { choiceTask } from "./choice.js";
import { humanEvalJudging } from "./code.js";
import { gsm8kTask, mathTask } from "./math.js";

interface TaskEntry {
  task: Task;
  /** Turns a bare question into what the model is sent, unless the user gives a template. */
  prompt: (question: string) => string;
}

const stepByStep = (question: string) =>
  `${question.trim()}\n\nPlease reason step by step, and put your final answer within \\boxed{}.`;

const pickOption = (question: string) =>
  `${question.trim()}\n\nReason step by step, then end with "The answer is (X)", where X is the letter of the correct option.`;

const completeFunction = (question: string) =>
  `Complete the following Python function. Reply with the whole function in one \`\`\`python block.\n\n\`\`\`python\n${question}\`\`\``;

/** HumanEval-style code: the answer is the code in the reply, judged by running the problem's tests. */
const codeTask: Task = {
  name: "code",
  extractAnswer: (text) => humanEvalJudging.extractAnswer(text),
  equivalent: humanEvalJudging.equivalent,
  grade: (answer, problem, ctx) => humanEvalJudging.grade(answer, problem.meta, ctx),
};

const tasks: Record<string, TaskEntry> = {
  math: { task: mathTask, prompt: stepByStep },
  gsm8k: { task: gsm8kTask, prompt: stepByStep },
  arithmetic: { task: arithmeticTask, prompt: formatArithmeticPrompt },
  code: { task: codeTask, prompt: completeFunction },
  choice: { task: choiceTask, prompt: pickOption },
};

export const taskNames = Object.keys(tasks);

export function getTaskEntry(name: string): TaskEntry {
  // Own entries only: `__proto__`, `constructor` or `toString` are not tasks.
  const entry = Object.hasOwn(tasks, name) ? tasks[name] : undefined;
  if (!entry)
    throw new InvalidInputError("task", `unknown task "${name}"`, `one of: ${taskNames.join(", ")}`);
  return entry;
}

export const getTask = (name: string): Task => getTaskEntry(name).task;

/** Fills `{question}` in a user template, or applies the task's own prompt. */
export function renderPrompt(taskName: string, question: string, template?: string): string {
  // A replacement function, not a string: a string would read `$$`, `$&`, `` $` `` and `$'` in the
  // question (LaTeX is full of `$$`) as replacement patterns.
  return template === undefined
    ? getTaskEntry(taskName).prompt(question)
    : template.replaceAll("{question}", () => question);
}
