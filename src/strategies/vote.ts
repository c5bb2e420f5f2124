import type { AnswerTally, Candidate, Task } from "../core/types.js";

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
  const groups: { answer: string; count: number; score: number; firstIndex: number }[] = [];
  candidates.forEach((candidate, index) => {
    if (candidate.answer === undefined) return;
    const group = groups.find((g) => task.equivalent(g.answer, candidate.answer!));
    if (group) {
      group.count += 1;
      group.score =
        combine === "sum" ? group.score + weight(candidate) : Math.max(group.score, weight(candidate));
    } else {
      groups.push({ answer: candidate.answer, count: 1, score: weight(candidate), firstIndex: index });
    }
  });
  groups.sort((a, b) => b.score - a.score || b.count - a.count || a.firstIndex - b.firstIndex);
  return groups.map(({ answer, count, score }) => ({ answer, count, score }));
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
