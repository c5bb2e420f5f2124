/**
 * Generative selection (list-wise GenSelect and a pairwise knockout tournament) as verifiers of
 * best-of-n, in front of a loopback OpenAI-compatible server: most samples are wrong, and the
 * scripted model, shown the candidates side by side, names a right one.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createOpenAIBackend } from "../../src/backends/openai.js";
import { InvalidInputError } from "../../src/core/errors.js";
import { sampleSeed } from "../../src/core/random.js";
import type { Problem } from "../../src/core/types.js";
import { run } from "../../src/run.js";
import { getTask } from "../../src/tasks/registry.js";
import { parseChoice } from "../../src/verifiers/genselect.js";
import { resolveVerifier } from "../../src/verifiers/registry.js";
import {
  type OpenAITestServer,
  startOpenAITestServer,
  type TestRequestView,
} from "../support/openai-test-server.js";

const seed = 3;
/** Which draw of the run a sample is, whether the backend asks for all n at once or one by one. */
function drawOf(requestSeed: number | undefined, index: number): number {
  for (let draw = 0; draw < 64; draw++) if (sampleSeed(seed, draw) === requestSeed) return draw + index;
  return index;
}

const right = "17*23 = 17*20 + 17*3 = 340 + 51 = 391. The answer is \\boxed{391}.";
const wrong = "17*23 is about 400. The answer is \\boxed{400}.";

/** The solutions a selection prompt lists, in the order shown. */
const listed = (prompt: string) => [...prompt.matchAll(/Solution \d+:\n([^\n]*)/g)].map((m) => m[1]!);

/**
 * Draws 2 and 5 of eight are right, the rest agree on a wrong answer. Asked to select, the
 * model names the first listed solution that computes 17*23 correctly.
 */
function respond(request: TestRequestView, index: number): string {
  if (/Solution 1:/.test(request.prompt)) {
    const at = listed(request.prompt).findIndex((s) => s.includes("= 391"));
    return `Solution ${at + 1} computes the product exactly. Best: ${at + 1}`;
  }
  const draw = drawOf(request.seed, index);
  return draw === 2 || draw === 5 ? right : wrong;
}

let llm: OpenAITestServer;
beforeAll(async () => {
  llm = await startOpenAITestServer({ respond });
});
afterAll(() => llm.close());

const problem: Problem = {
  id: "q",
  prompt: [
    { role: "system", content: "You are careful." },
    { role: "user", content: "What is 17*23? Put the answer in \\boxed{}." },
  ],
  reference: "391",
  task: getTask("math"),
};
const backend = () => createOpenAIBackend({ baseURL: llm.url, model: "test-model" });
const sampling = { temperature: 1, seed };

async function bestOf(verifierSpec: string) {
  const verifier = await resolveVerifier(verifierSpec, { task: "math" });
  const before = llm.requests.length;
  const result = await run({
    problem,
    backend: backend(),
    strategy: "best-of-n",
    options: { n: 8 },
    verifier,
    sampling,
  });
  const selections = llm.requests
    .slice(before)
    .filter((r) => /Solution 1:/.test(JSON.stringify(r.body.messages)));
  return { result, selections };
}

describe("generative selection", () => {
  it("reads the named solution out of a reply", () => {
    expect(parseChoice("Solution 2 is wrong; solution 3 is right. Best: 3", 4)).toBe(2);
    expect(parseChoice("The best solution is 1.", 2)).toBe(0);
    expect(parseChoice("2", 2)).toBe(1);
    expect(parseChoice("Best: 7", 3)).toBeUndefined();
    expect(parseChoice("I cannot tell.", 3)).toBeUndefined();
  });

  it("genselect: the model names the best of all candidates, against the majority", async () => {
    const majority = await run({
      problem,
      backend: backend(),
      strategy: "self-consistency",
      options: { n: 8 },
      sampling,
    });
    expect(majority.answer).toBe("400");

    const { result, selections } = await bestOf("genselect");
    expect(result.answer).toBe("391");
    // One list-wise call showing all eight, with the problem's system turn and one user turn.
    expect(selections).toHaveLength(1);
    const messages = selections[0]!.body.messages as { role: string; content: string }[];
    expect(messages.map((m) => m.role)).toEqual(["system", "user"]);
    expect(listed(messages[1]!.content)).toHaveLength(8);
    expect(messages[1]!.content).toContain("What is 17*23?");
    // The chosen candidate scores 1, the others 0.
    expect(result.candidates.map((c) => c.score)).toEqual(result.candidates.map((_, i) => (i === 2 ? 1 : 0)));
    // Selection tokens are verifier usage; the generator's are those of the eight samples alone.
    expect(result.usage.verifierCalls).toBe(1);
    expect(result.usage.verifierTokens).toBeGreaterThan(0);
    expect(result.usage.completionTokens).toBe(majority.usage.completionTokens);
  });

  it("genselect with several votes shows the candidates in rotated orders", async () => {
    const { result, selections } = await bestOf("genselect:4");
    expect(result.answer).toBe("391");
    expect(selections).toHaveLength(4);
    const firstShown = selections.map((r) => listed(r.body.messages.at(-1).content)[0]);
    expect(new Set(firstShown).size).toBeGreaterThan(1);
    // Each vote names the first right solution in its order: draws 2 and 5 share the votes.
    const scores = result.candidates.map((c) => c.score ?? 0);
    expect(scores.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(scores[2]! + scores[5]!).toBeCloseTo(1, 12);
    expect(result.usage.verifierCalls).toBe(4);
  });

  it("tournament: pairwise knockout, with no match between equal answers", async () => {
    const { result, selections } = await bestOf("tournament");
    expect(result.answer).toBe("391");
    // Round one pairs (0,1) (2,3) (4,5) (6,7): only (2,3) and (4,5) differ in answer and are
    // asked. Round two (0,2) (5,6): both asked. The final (2,5) has one answer: not asked.
    for (const r of selections) expect(listed(r.body.messages.at(-1).content)).toHaveLength(2);
    expect(selections).toHaveLength(4);
    expect(result.usage.verifierCalls).toBe(selections.length);
    const champion = result.candidates.findIndex((c) => c.score === 1);
    expect(result.candidates[champion]!.answer).toBe("391");
    expect(result.candidates.filter((c) => c.score === 1)).toHaveLength(1);
  });

  it("refuses a vote count that is not a positive integer", async () => {
    await expect(resolveVerifier("genselect:0", { task: "math" })).rejects.toThrow(InvalidInputError);
    await expect(resolveVerifier("tournament:two", { task: "math" })).rejects.toThrow(/positive integer/);
  });
});
