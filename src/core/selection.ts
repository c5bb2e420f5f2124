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

/** The final attempt of a revision loop, whatever it says; undefined without attempts. */
export function finalIndex(attempts: readonly Candidate[]): number | undefined {
  return attempts.length > 0 ? attempts.length - 1 : undefined;
}

/**
 * The latest attempt that states an answer, else the latest attempt (its text is what the
 * loop ended on); undefined without attempts.
 */
export function latestAnsweredIndex(attempts: readonly Candidate[]): number | undefined {
  const answered = attempts.findLastIndex((c) => c.answer !== undefined);
  return answered >= 0 ? answered : attempts.length > 0 ? attempts.length - 1 : undefined;
}

const everyIndex = (candidates: readonly Candidate[]): number[] => candidates.map((_, i) => i);

/** Of these indices, the one `rank` puts highest (default: the score, unscored lowest); ties: the first. */
function bestOf(
  candidates: readonly Candidate[],
  indices: readonly number[],
  rank: (candidate: Candidate) => number = (c) => c.score ?? -Infinity,
): number | undefined {
  let best: number | undefined;
  for (const i of indices) if (best === undefined || rank(candidates[i]!) > rank(candidates[best]!)) best = i;
  return best;
}

export interface Selection {
  answer: string | undefined;
  /** Every answer with its votes and score, the chosen one first (`best`: each answer's best score). */
  tally: AnswerTally[];
  /**
   * Index into the candidates of the one whose text answers: the best-ranked of the chosen
   * answer's; when no candidate states an answer, the best-ranked of all (its text is still
   * what the model said). Undefined only without candidates.
   */
  chosen: number | undefined;
}

const score = (c: Candidate) => c.score ?? 0;

/** A vote by a rule of the caller's own (what `selectAnswer` does with weight 1 or the score). */
export interface Vote {
  /** What one candidate's vote weighs (default 1). */
  weight?: (candidate: Candidate) => number;
  /** Whether an answer's weights add up (a vote) or the largest counts (the best of each answer). */
  combine?: "sum" | "max";
  /**
   * Which member of the winning answer stands for it: the one ranked highest by this, the
   * first on ties (default: the best-scored, unscored lowest).
   */
  rank?: (candidate: Candidate) => number;
}

/**
 * Votes among candidates by `vote`'s weights (see `tallyAnswers` for the order) and names the
 * candidate that stands for the winning answer.
 */
export function voteAnswer(candidates: readonly Candidate[], task: Task, vote: Vote = {}): Selection {
  const groups = groupAnswers(candidates, task, vote.weight ?? (() => 1), vote.combine ?? "sum");
  const winner = groups[0];
  return {
    answer: winner?.answer,
    tally: groups.map(({ answer, count, score }) => ({ answer, count, score })),
    chosen: bestOf(candidates, winner ? winner.members : everyIndex(candidates), vote.rank),
  };
}

/** Chooses an answer among candidates by a rule; `chosen` names the candidate that stands for it. */
export function selectAnswer(candidates: readonly Candidate[], task: Task, rule: SelectionRule): Selection {
  if (rule === "best") {
    const chosen = bestScoredIndex(candidates);
    return {
      answer: chosen === undefined ? undefined : candidates[chosen]!.answer,
      tally: tallyAnswers(candidates, task, score, "max"),
      chosen: chosen ?? bestOf(candidates, everyIndex(candidates)),
    };
  }
  return voteAnswer(candidates, task, rule === "majority" ? {} : { weight: score });
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
