/** `reckon serve` with no upstream: the bundled model answers in-process, through the openai client. */
import OpenAI from "openai";
import { afterAll, beforeAll, expect, it } from "vitest";
import { arithmeticTask } from "../../src/tasks/arithmetic.js";
import { type RunningProxy, startProxy } from "./helpers.js";

let proxy: RunningProxy;
beforeAll(async () => {
  proxy = await startProxy({});
});
afterAll(() => proxy.close());

it("answers an arithmetic question by self-consistency over the real model", async () => {
  const client = new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: "unused", maxRetries: 0 });
  const response = await client.chat.completions.create({
    model: "self-consistency-8/reckon-tiny",
    messages: [{ role: "user", content: "Q: 12*7+45-9*3+16=?" }],
    seed: 1,
    temperature: 1,
  });
  // biome-ignore lint/suspicious/noExplicitAny: reckon's extension field
  const reckon = (response as any).reckon;
  expect(reckon.candidates).toHaveLength(8);
  expect(reckon.answer).toBe("118");
  expect(arithmeticTask.extractAnswer(response.choices[0]!.message.content!)).toBe("118");
  expect(response.usage!.completion_tokens).toBeGreaterThan(8 * 10);
  const models = await client.models.list();
  expect(models.data.map((m) => m.id)).toContain("reckon-tiny");
});
