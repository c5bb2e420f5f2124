/**
 * Answers read and compared once per problem, not once per use. A bench problem's answers are
 * voted on by every configuration and every k-subset of the pool estimates; reading a sample's
 * answer or normalising a LaTeX answer again each time is what made large runs slow. Within one
 * problem every distinct answer gets an integer label, and the task's equivalence between two
 * labels is decided once: by the task's `answerKey` when it has one (one normalisation per
 * answer), else by `equivalent` on that pair, remembered. Nothing is assumed of the relation
 * (not even transitivity), so a strategy's own selection rule run on the memoised task answers
 * exactly as on the task itself.
 */
import type { Grade, GradeContext, Problem, Task } from "../core/types.js";

/** The distinct answers of one problem and the task's equivalence between them, each decided once. */
export class AnswerClasses {
  private readonly labels = new Map<string, number>();
  readonly answers: string[] = [];
  private readonly keys: string[] = [];
  /** Decided pairs: 2 equivalent, 1 not, absent undecided; key `a * 2^21 + b`. */
  private readonly decided = new Map<number, number>();

  constructor(private readonly task: Task) {}

  /** The label of an answer: the same label for the same string, new labels in first-seen order. */
  labelOf(answer: string): number {
    let label = this.labels.get(answer);
    if (label === undefined) {
      label = this.answers.length;
      this.labels.set(answer, label);
      this.answers.push(answer);
      if (this.task.answerKey) this.keys.push(this.task.answerKey(answer));
    }
    return label;
  }

  /** `task.equivalent(a, b)`, asked of the task at most once per ordered pair of distinct answers. */
  equivalent(a: string, b: string): boolean {
    const i = this.labelOf(a);
    const j = this.labelOf(b);
    if (this.task.answerKey) return this.keys[i] === this.keys[j];
    const pair = i * 2 ** 21 + j;
    let known = this.decided.get(pair);
    if (known === undefined) {
      known = this.task.equivalent(a, b) ? 2 : 1;
      this.decided.set(pair, known);
    }
    return known === 2;
  }

  /** Distinct answers seen so far. */
  get size(): number {
    return this.answers.length;
  }
}

/**
 * The task for ONE problem's work in the bench: answers read from a text once per text,
 * compared once per pair of distinct answers (see AnswerClasses), and graded once per answer
 * (so it must not be shared between problems). Everything else (a task's own fields) is the
 * task's: the result is the task with memoised methods on top.
 */
export function memoizedTask(task: Task, classes: AnswerClasses = new AnswerClasses(task)): Task {
  const extracted = new Map<string, string | undefined>();
  const grades = new Map<string, Promise<Grade>>();
  const memo = Object.create(task) as Task;
  Object.defineProperties(memo, {
    extractAnswer: {
      value(text: string): string | undefined {
        if (extracted.has(text)) return extracted.get(text);
        const answer = task.extractAnswer(text);
        extracted.set(text, answer);
        return answer;
      },
    },
    equivalent: { value: (a: string, b: string): boolean => classes.equivalent(a, b) },
    grade: {
      value(answer: string | undefined, problem: Problem, ctx?: GradeContext): Promise<Grade> {
        if (answer === undefined) return task.grade(answer, problem, ctx);
        let graded = grades.get(answer);
        if (!graded) {
          graded = task.grade(answer, problem, ctx);
          // A grading cut short (an abort) is not a grade: the next call tries again.
          graded.catch(() => grades.delete(answer));
          grades.set(answer, graded);
        }
        return graded;
      },
    },
  });
  return memo;
}
