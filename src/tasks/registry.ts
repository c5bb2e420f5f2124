import { InvalidInputError } from "../core/errors.js";
import { type Task, taskPrompt } from "../core/types.js";
import { arithmeticTask } from "./arithmetic.js";
import { choiceTask } from "./choice.js";
import { humanEvalJudging } from "./code.js";
import { gsm8kTask, mathTask } from "./math.js";

const stepByStep = (question: string) =>
  `${question.trim()}\n\nPlease reason step by step, and put your final answer within \\boxed{}.`;

const completeFunction = (question: string) =>
  `Complete the following Python function. Reply with the whole function in one \`\`\`python block.\n\n\`\`\`python\n${question}\`\`\``;

/** HumanEval-style code: the answer is the code in the reply, judged by running the problem's tests. */
const codeTask: Task = {
  name: "code",
  extractAnswer: (text) => humanEvalJudging.extractAnswer(text),
  equivalent: humanEvalJudging.equivalent,
  grade: (answer, problem, ctx) => humanEvalJudging.grade(answer, problem.meta, ctx),
  prompt: completeFunction,
};

/** The task with `prompt` as its prompt, unless it has one of its own. */
const prompted = <T extends Task>(task: T, prompt: (question: string) => string): T =>
  task.prompt ? task : { ...task, prompt };

/** Every task by name: the CLI, recipes, the server and the AI SDK middleware look them up here. */
const tasks = new Map<string, Task>(
  [prompted(mathTask, stepByStep), prompted(gsm8kTask, stepByStep), arithmeticTask, codeTask, choiceTask].map(
    (task) => [task.name, task],
  ),
);

/** The names of the registered tasks (built-in ones and those added by `registerTask`). */
export const taskNames: string[] = [...tasks.keys()];

/**
 * Adds a task written by user code; from then on the CLI, recipes, the server and `getTask`
 * reach it by name like a built-in one. Its `prompt` (optional) renders bare questions, its
 * `stepDelimiter` (optional, default a blank line) ends steps in step search. Replacing a name
 * already taken is refused.
 */
export function registerTask(task: Task): void {
  if (tasks.has(task.name))
    throw new InvalidInputError("task", `a task named "${task.name}" is already registered`);
  tasks.set(task.name, task);
  taskNames.push(task.name);
}

export function getTask(name: string): Task {
  const task = tasks.get(name);
  if (!task) throw new InvalidInputError("task", `unknown task "${name}"`, `one of: ${taskNames.join(", ")}`);
  return task;
}

/** Fills `{question}` in a user template, or applies the task's own prompt. */
export function renderPrompt(taskName: string, question: string, template?: string): string {
  // A replacement function, not a string: a string would read `$$`, `$&`, `` $` `` and `$'` in the
  // question (LaTeX is full of `$$`) as replacement patterns.
  return template === undefined
    ? taskPrompt(getTask(taskName), question)
    : template.replaceAll("{question}", () => question);
}
