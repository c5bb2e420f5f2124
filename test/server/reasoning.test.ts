/**
 * `reckon serve` in front of a reasoning model: the thinking comes back as `reasoning_content`
 * (streamed as deltas), apart from the answer, which votes on the final answers only.
 */
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type OpenAITestServer, startOpenAITestServer } from "../support/openai-test-server.js";
import { type RunningProxy, startProxy } from "./helpers.js";

let upstream: OpenAITestServer;
let proxy: RunningProxy;
let client: OpenAI;

beforeAll(async () => {
  // Every sample thinks its way to 7, and only then answers: 5 mostly, 6 once.
  upstream = await startOpenAITestServer({
    respond: (_request, index) => ({
      reasoning: "First guess: \\boxed{7}. Check again.",
      text: `The answer is \\boxed{${index === 1 ? 6 : 5}}.`,
    }),
  });
  proxy = await startProxy({ upstreams: [upstream.url], task: "math" });
  client = new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: "unused", maxRetries: 0 });
});

afterAll(async () => {
  await proxy?.close();
  await upstream?.close();
});

const messages = [{ role: "user" as const, content: "What is 2+3?" }];

describe("reasoning models through reckon serve", () => {
  it("returns the chosen sample's thinking as reasoning_content, and votes on answers only", async () => {
    const response = await client.chat.completions.create({
      model: "self-consistency-4/test-model",
      messages,
      seed: 1,
    });
    const message = response.choices[0]!.message as { content: string; reasoning_content?: string };
    expect(message.content).toBe("The answer is \\boxed{5}.");
    expect(message.reasoning_content).toBe("First guess: \\boxed{7}. Check again.");
  });

  it("streams single's thinking as reasoning_content deltas before its answer", async () => {
    const stream = await client.chat.completions.create({
      model: "single/test-model",
      messages,
      seed: 1,
      stream: true,
    });
    let reasoning = "";
    let content = "";
    for await (const part of stream) {
      const delta = part.choices[0]?.delta as { content?: string; reasoning_content?: string } | undefined;
      reasoning += delta?.reasoning_content ?? "";
      if (delta?.content) {
        // The thinking has all arrived before the first piece of the answer.
        expect(reasoning).toBe("First guess: \\boxed{7}. Check again.");
        content += delta.content;
      }
    }
    expect(content).toBe("The answer is \\boxed{5}.");
  });
});
