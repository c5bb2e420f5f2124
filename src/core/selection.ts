/**
 * The selection rules, in one place: how an answer is chosen among candidates (majority vote,
 * score-weighted vote, best score) and which candidate stands for it. Strategies, pool
 * estimates, the controller and the server all use these; a strategy's Result names the
 * candidate it chose (`chosen`), so nobody downstream has to guess.
 */
import { z } from "zod";
import type { AnswerTally, Candidate, Task } from "./types.js";

/** `majority`: most votes; `weighted-majority`: largest summed score; `best`: the top-scored candidate. */
export const selectionRuleSchema = z.enum(["best", "weighted-majority", "majority"]);
export type SelectionRule = z.infer<typeof selectionRuleSchema>;

interface AnswerGroup {
  answer: string;
  count: number;
  score: number;
  /** Sample order of the group's members. */
  members: number[];
}

function groupAnswers(
  candidates: readonly Candidate[],
  task: Task,
  weight: (candidate: Candidate) => number,
  combine: "sum" | "max",
): AnswerGroup[] {
  const groups: AnswerGroup[] = [];
  candidates.forEach((candidate, index) => {
    if (candidate.answer === undefined) return;
    const group = groups.find((g) => task.equivalent(g.answer, candidate.answer!));
    if (group) {
      group.count += 1;
      group.score =
        combine === "sum" ? group.score + weight(candidate) : Math.max(group.score, weight(candidate));
      group.members.push(index);
    } else {
      groups.push({ answer: candidate.answer, count: 1, score: weight(candidate), members: [index] });
    }
  });
  groups.sort((a, b) => b.score - a.score || b.count - a.count || a.members[0]! - b.members[0]!);
  return groups;
}

/**
 * Groups candidates by equivalent answer (the task decides equivalence; the first answer seen
 * in a group represents it) and adds up each group's weight (or keeps its largest). Candidates without an answer
 * never vote.
 *
 * Order: higher total weight first, then more votes, then the group whose first member came
 * earliest in sample order. The last rule makes ties deterministic: with a seeded backend the
 * same samples give the same winner.
 */
export function tallyAnswers(
  candidates: readonly Candidate[],
  task: Task,
  weight: (candidate: Candidate) => number = () => 1,
  combine: "sum" | "max" = "sum",
): AnswerTally[] {
  return groupAnswers(candidates, task, weight, combine).map(({ answer, count, score }) => ({
    answer,
    count,
    score,
  }));
}

/** Index of the highest-scoring candidate that has an answer; ties go to the earliest. */
export function bestScoredIndex(candidates: readonly Candidate[]): number | undefined {
  let best: number | undefined;
  candidates.forEach((candidate, index) => {
    if (candidate.answer === undefined) return;
    if (best === undefined || (candidate.score ?? -Infinity) > (candidates[best]!.score ?? -Infinity))
      best = index;
  });
  return best;
}

/** Of these indices, the one of the best-scored candidate (unscored count as lowest); ties: the first. */
function bestOf(candidates: readonly Candidate[], indices: readonly number[]): number | undefined {
  let best: number | undefined;
  for (const i of indices)
    if (best === undefined || (candidates[i]!.score ?? -Infinity) > (candidates[best]!.score ?? -Infinity))
      best = i;
  return best;
}

export interface Selection {
  answer: string | undefined;
  /** Every answer with its votes and score, the chosen one first (`best`: each answer's best score). */
  tally: AnswerTally[];
  /** Index into the candidates of the one whose text answers: the best-scored of the chosen answer's. */
  chosen: number | undefined;
}

const score = (c: Candidate) => c.score ?? 0;

/** Chooses an answer among candidates by a rule; `chosen` names the candidate that stands for it. */
export function selectAnswer(candidates: readonly Candidate[], task: Task, rule: SelectionRule): Selection {
  if (rule === "best") {
    const chosen = bestScoredIndex(candidates);
    return {
      answer: chosen === undefined ? undefined : candidates[chosen]!.answer,
      tally: tallyAnswers(candidates, task, score, "max"),
      chosen,
    };
  }
  const groups = groupAnswers(candidates, task, rule === "majority" ? () => 1 : score, "sum");
  const winner = groups[0];
  return {
    answer: winner?.answer,
    tally: groups.map(({ answer, count, score }) => ({ answer, count, score })),
    chosen: winner && bestOf(candidates, winner.members),
  };
}

/**
 * The candidate that stands for an answer a strategy chose by a rule of its own: the
 * best-scored of those with an equivalent answer (the first on ties), else the best-scored of
 * all; undefined without candidates.
 */
export function chosenIndex(
  candidates: readonly Candidate[],
  answer: string | undefined,
  task: Task,
): number | undefined {
  const all = candidates.map((_, i) => i);
  const matching =
    answer === undefined
      ? all
      : all.filter((i) => {
          const a = candidates[i]!.answer;
          return a !== undefined && (a === answer || task.equivalent(a, answer));
        });
  return bestOf(candidates, matching.length > 0 ? matching : all);
}

/** log C(n, k), exact enough for n up to millions. */
function logChoose(n: number, k: number): number {
  let sum = 0;
  for (let i = 1; i <= k; i++) sum += Math.log(n - k + i) - Math.log(i);
  return sum;
}

/**
 * Adaptive-Consistency's Beta criterion (Aggarwal et al. 2023): with `top` votes for the
 * leading answer and `second` for the runner-up, the posterior probability that the leader's
 * true share exceeds the runner-up's, P(p > 1/2) for p ~ Beta(top + 1, second + 1). For
 * integer parameters that is P(Binomial(top + second + 1, 1/2) <= top), summed exactly.
 */
export function majoritySettledProbability(top: number, second: number): number {
  if (top < 0 || second < 0) throw new RangeError("vote counts are non-negative");
  const trials = top + second + 1;
  let probability = 0;
  for (let k = 0; k <= top; k++) probability += Math.exp(logChoose(trials, k) - trials * Math.LN2);
  return Math.min(1, probability);
}

/** Vote counts of the leading and second answers. */
export function leadingCounts(tally: readonly AnswerTally[]): { top: number; second: number } {
  return { top: tally[0]?.count ?? 0, second: tally[1]?.count ?? 0 };
}
