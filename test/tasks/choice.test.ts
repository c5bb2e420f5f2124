/** The multiple-choice task: option letters in the forms models write, and option texts. */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { Problem } from "../../src/core/types.js";
import { tallyAnswers } from "../../src/strategies/vote.js";
import {
  choiceOptionsOf,
  choiceTask,
  extractChoiceAnswer,
  parseChoiceOptions,
} from "../../src/tasks/choice.js";
import { getTask, renderPrompt } from "../../src/tasks/registry.js";

const AQUA_PROMPT =
  "A train covers 300 km in 4 hours. What is its speed?\nAnswer Choices:\n(a) 60 km/h\n(b) 75 km/h\n(c) 80\n(d) 1/2\n(e) None of these";

function problem(reference: string, prompt = AQUA_PROMPT, meta?: Record<string, unknown>): Problem {
  return { id: "q", prompt, reference, task: choiceTask, ...(meta ? { meta } : {}) };
}

const grade = async (response: string, reference: string, prompt?: string, meta?: Record<string, unknown>) =>
  (await choiceTask.grade(choiceTask.extractAnswer(response), problem(reference, prompt, meta))).correct;

describe("extractChoiceAnswer", () => {
  it.each([
    ["(b)", "B"],
    ["B", "B"],
    ["B)", "B"],
    ["b.", "B"],
    ["The answer is (c).", "C"],
    ["answer: C", "C"],
    ["Answer: (D) 80", "D"],
    ["So the answer is (b) 99.", "B"],
    ["Thus the correct answer is option E.", "E"],
    ["The answer is $\\boxed{C}$.", "C"],
    ["The answer is \\textbf{(A)}", "A"],
    ["Work: 300/4 = 75. So the answer is (b).  ⁇  Copyright 2019 All Rights Reserved", "B"],
    ["75 km/h, which is option (b).", "B"],
    ["The answer is (b).\nQ: A shop sells pens. What is the answer? The answer is (d).", "B"],
    ["The answer is (a). Hence the correct answer is (d).", "D"],
    ["The answer is c.", "C"],
    ["The answer is A because 300/4 = 75.", "A"],
    ["**Answer: C**", "C"],
    ["Option (C) is correct.", "C"],
  ])("%j → %s", (response, letter) => {
    expect(extractChoiceAnswer(response)).toBe(letter);
  });

  it("keeps an answer stated without a letter as its text", () => {
    expect(extractChoiceAnswer("So the answer is 75 km/h.")).toBe("75 km/h");
    expect(extractChoiceAnswer("The answer is a speed of 75.")).toBe("a speed of 75");
  });

  it("finds no answer where none or several are named", () => {
    expect(extractChoiceAnswer("The train is fast.")).toBeUndefined();
    expect(extractChoiceAnswer("So the answers are (a), (b) and (c).")).toBeUndefined();
    expect(extractChoiceAnswer("The difference is (b) - (a).")).toBeUndefined();
    expect(extractChoiceAnswer("Answer Choices: (a) 1 (b) 2 (c) 3")).toBeUndefined();
    expect(extractChoiceAnswer("A total of 5 trains run.")).toBeUndefined();
  });
});

describe("options", () => {
  it("reads AQuA's listed options, inline ones and MMLU-style ones", () => {
    expect([...parseChoiceOptions(AQUA_PROMPT)]).toEqual([
      ["A", "60 km/h"],
      ["B", "75 km/h"],
      ["C", "80"],
      ["D", "1/2"],
      ["E", "None of these"],
    ]);
    expect([...parseChoiceOptions("Pick one: (a) 1 (b) 2 (c) 3")]).toEqual([
      ["A", "1"],
      ["B", "2"],
      ["C", "3"],
    ]);
    expect([...parseChoiceOptions("Which is red?\nA. apple\nB. sky\n")]).toEqual([
      ["A", "apple"],
      ["B", "sky"],
    ]);
  });

  it("takes AQuA rows' option list from meta before the prompt", () => {
    const options = choiceOptionsOf({
      prompt: "No options here.",
      meta: { options: ["A)21", "B)21.5", "C)22"] },
    });
    expect([...options]).toEqual([
      ["A", "21"],
      ["B", "21.5"],
      ["C", "22"],
    ]);
  });
});

describe("choiceTask.grade", () => {
  it("grades letters in any form against a reference letter in any form", async () => {
    expect(await grade("The answer is (b).", "(b)")).toBe(true);
    expect(await grade("answer: B", "B")).toBe(true);
    expect(await grade("B)", "(b)")).toBe(true);
    expect(await grade("The answer is (c).", "(b)")).toBe(false);
    expect(await grade("I do not know.", "(b)")).toBe(false);
  });

  it("grades an option's text as that option", async () => {
    expect(await grade("So the answer is 75 km/h.", "(b)")).toBe(true);
    expect(await grade("The answer is 80.", "(c)")).toBe(true);
    expect(await grade("The answer is 0.5.", "(d)")).toBe(true);
    expect(await grade("The answer is none of these.", "(e)")).toBe(true);
    expect(await grade("So the answer is 60 km/h.", "(b)")).toBe(false);
    // 81 is no option: not right, whatever the reference.
    expect(await grade("The answer is 81.", "(c)")).toBe(false);
  });

  it("grades against options given in meta, as AQuA rows list them", async () => {
    const meta = { options: ["A)21", "B)21.5", "C)22", "D)22.5", "E)23"] };
    expect(await grade("The answer is 21.5", "B", "What is 43/2?", meta)).toBe(true);
    expect(await grade("The answer is 22", "B", "What is 43/2?", meta)).toBe(false);
  });

  it("accepts an option's text as the reference", async () => {
    expect(await grade("The answer is (b).", "75 km/h")).toBe(true);
    expect(await grade("The answer is (a).", "75 km/h")).toBe(false);
  });

  it("groups answers by a key: the letter, or the normalized text", () => {
    const key = (text: string) => choiceTask.answerKey!(choiceTask.extractAnswer(text)!);
    expect(key("The answer is (b).")).toBe(key("B)"));
    expect(key("The answer is 21.50")).toBe(key("the answer is 21.5"));
    expect(key("The answer is (b).")).not.toBe(key("The answer is (c)."));
    expect(key("The answer is 21.5")).not.toBe(key("The answer is (b)."));
    expect(choiceTask.equivalent("B", "(b)")).toBe(true);
    expect(choiceTask.equivalent("21.5", "22")).toBe(false);
  });

  it("groups votes by letter", () => {
    const candidates = ["The answer is (b).", "B", "answer: C", "So the answer is (b) 75."].map((text) => ({
      text,
      answer: choiceTask.extractAnswer(text),
    }));
    const tally = tallyAnswers(candidates as never, choiceTask);
    expect(tally.map(({ answer, count }) => [answer, count])).toEqual([
      ["B", 3],
      ["C", 1],
    ]);
  });
});

describe("the registry", () => {
  it("registers the task with a prompt asking for the option letter", () => {
    expect(getTask("choice")).toBe(choiceTask);
    expect(renderPrompt("choice", AQUA_PROMPT)).toContain("The answer is (X)");
  });
});

describe("recorded AQuA samples (UL2-20B, 40 per problem)", () => {
  const rows = readFileSync(
    new URL("../../../shared/datasets/recorded/aqua_ul2-20b_n40.jsonl", import.meta.url),
    "utf8",
  )
    .trim()
    .split("\n")
    .slice(0, 60)
    .map(
      (line) =>
        JSON.parse(line) as {
          id: string;
          prompt: string;
          reference: string;
          samples: { text: string; correct: boolean }[];
        },
    );

  it("agrees with the recorded labels on nearly every sample", async () => {
    let samples = 0;
    let agree = 0;
    for (const row of rows) {
      expect(choiceOptionsOf({ prompt: row.prompt }).size).toBe(5);
      for (const sample of row.samples) {
        const answer = choiceTask.extractAnswer(sample.text);
        const { correct } = await choiceTask.grade(answer, problem(row.reference, row.prompt));
        samples++;
        if (correct === sample.correct) agree++;
      }
    }
    expect(samples).toBe(2400);
    // The labels read only a letter after the last "answer is"; the task also reads
    // "… is (d)." and option texts, so a few samples differ, always towards correct.
    expect(agree / samples).toBeGreaterThan(0.99);
  });
});
