/**
 * A seeded stand-in for a model on the synthetic arithmetic task, for the loopback OpenAI
 * server: from the same (seed, sample index, prompt) it always says the same thing; about 60%
 * of its answers are right (with the work shown), 30% wrong, 10% without an answer.
 */
import { generateArithmeticProblems, parseArithmeticPrompt } from "../../src/tasks/arithmetic.js";

function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** A responder that knows the references of the problems of `levels` × `perLevel` at `seed`. */
export function arithmeticResponder(dataset: { levels: number[]; perLevel: number; seed: number }) {
  const references = new Map(
    dataset.levels.flatMap((level) =>
      generateArithmeticProblems({ level, count: dataset.perLevel, seed: dataset.seed }).map(
        (p) => [p.expression, Number(p.reference)] as const,
      ),
    ),
  );
  return (request: { prompt: string; seed?: number }, index: number): string => {
    const expression = parseArithmeticPrompt(request.prompt);
    const reference = references.get(expression ?? "");
    if (reference === undefined) return "unknown problem";
    const roll = hash(`${request.seed ?? Math.random()}|${index}|${request.prompt}`) % 10;
    if (roll < 6) return `${expression}=${reference}\nA: ${reference}`;
    if (roll < 9) return `A: ${reference + (roll % 2) + 1}`;
    return "no idea";
  };
}
