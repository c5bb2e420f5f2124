/**
 * `reckon serve` in front of llama.cpp's own server, read by the unmodified `openai` client:
 * `single`, and self-refine's last round, stream their tokens as the upstream decodes them;
 * voting strategies stream their progress and then the chosen answer; fields the proxy cannot honour are refused by name.
 */
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { arithmeticTask, formatArithmeticPrompt } from "../../src/tasks/arithmetic.js";
import { type LlamaServer, startLlamaServer } from "../support/llama-server.js";
import { type RunningProxy, startProxy } from "./helpers.js";

const prompt = formatArithmeticPrompt("12*7+45-9*3+16");
let upstream: LlamaServer;
let proxy: RunningProxy;
let client: OpenAI;

beforeAll(async () => {
  // Never ending on its own, so the upstream is provably still decoding when chunks arrive; a
  // context longer than the model was trained for, so that a critique of a long draft fits.
  upstream = await startLlamaServer({
    parallel: 2,
    contextSize: 4096,
    extraArgs: ["--ignore-eos", "--override-kv", "llama.context_length=int:2048"],
  });
  proxy = await startProxy({ upstreams: [upstream.url], task: "arithmetic" });
  client = new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: "unused", maxRetries: 0 });
});

afterAll(async () => {
  await proxy?.close();
  await upstream?.close();
});

async function upstreamBusy(): Promise<boolean> {
  const slots = (await (await fetch(`${upstream.origin}/slots`)).json()) as { is_processing: boolean }[];
  return slots.some((slot) => slot.is_processing);
}

describe("reckon serve streams from llama-server", () => {
  it("streams single's tokens in many chunks, the first while the upstream is still decoding", async () => {
    const stream = await client.completions.create({
      model: "single/reckon-tiny",
      prompt,
      max_tokens: 600,
      temperature: 1,
      seed: 1,
      stream: true,
    });
    const contents: string[] = [];
    let busyAtFirstChunk: boolean | undefined;
    let finish: string | null = null;
    for await (const part of stream) {
      const text = part.choices[0]?.text ?? "";
      if (text !== "") {
        if (contents.length === 0) busyAtFirstChunk = await upstreamBusy();
        contents.push(text);
      }
      finish = part.choices[0]?.finish_reason ?? finish;
    }
    expect(busyAtFirstChunk).toBe(true);
    expect(contents.length).toBeGreaterThan(10);
    expect(finish).toBe("length");
    // The same text, from the same seed, as one plain answer.
    const plain = await client.completions.create({
      model: "single/reckon-tiny",
      prompt,
      max_tokens: 600,
      temperature: 1,
      seed: 1,
    });
    expect(contents.join("")).toBe(plain.choices[0]!.text);
  });

  it("streams self-refine's last round as it is written, once the draft and its critique are done", async () => {
    const request = {
      model: "self-refine/reckon-tiny",
      prompt,
      max_tokens: 400,
      temperature: 1,
      seed: 4,
      reckon: { maxRounds: 1, critiqueTokens: 8 },
    };
    const stream = await client.completions.create({ ...request, stream: true });
    const contents: string[] = [];
    let busyAtFirstChunk: boolean | undefined;
    for await (const part of stream) {
      const text = part.choices[0]?.text ?? "";
      if (text === "") continue;
      if (contents.length === 0) busyAtFirstChunk = await upstreamBusy();
      contents.push(text);
    }
    expect(busyAtFirstChunk).toBe(true);
    expect(contents.length).toBeGreaterThan(10);
    // The refined pass is the answer: the same text, from the same seed, as one plain answer,
    // and not the draft's.
    const plain = await client.completions.create(request);
    const { candidates } = (plain as unknown as { reckon: { candidates: { text: string }[] } }).reckon;
    expect(candidates).toHaveLength(2);
    expect(contents.join("")).toBe(plain.choices[0]!.text);
    expect(contents.join("")).toBe(candidates[1]!.text);
    expect(candidates[0]!.text).not.toBe(candidates[1]!.text);
  });

  it("passes single's logprobs through, streamed and not", async () => {
    const plain = await client.completions.create({
      model: "single/reckon-tiny",
      prompt,
      max_tokens: 12,
      temperature: 1,
      seed: 2,
      logprobs: 2,
    });
    const logprobs = plain.choices[0]!.logprobs!;
    expect(logprobs.tokens!.length).toBe(12);
    expect(logprobs.tokens!.join("")).toBe(plain.choices[0]!.text);
    expect(Object.keys(logprobs.top_logprobs![0]!)).toHaveLength(2);
    const stream = await client.completions.create({
      model: "single/reckon-tiny",
      prompt,
      max_tokens: 12,
      temperature: 1,
      seed: 2,
      logprobs: 2,
      stream: true,
    });
    const streamed: number[] = [];
    for await (const part of stream) streamed.push(...(part.choices[0]?.logprobs?.token_logprobs ?? []));
    expect(streamed).toEqual(logprobs.token_logprobs);
  });

  it("refuses what it cannot honour, naming the field, before any upstream work", async () => {
    const attempts: [Record<string, unknown>, string][] = [
      [{ model: "self-consistency-4/reckon-tiny", prompt, logprobs: 1 }, "logprobs"],
      [{ model: "single/reckon-tiny", prompt, response_format: { type: "json_object" } }, "response_format"],
      [{ model: "single/reckon-tiny", prompt, logit_bias: { "50256": -100 } }, "logit_bias"],
    ];
    for (const [body, param] of attempts) {
      const response = await fetch(`${proxy.url}/v1/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      expect(response.status).toBe(400);
      const json = (await response.json()) as { error: { param: string } };
      expect(json.error.param).toBe(param);
    }
    const chat = await fetch(`${proxy.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: "single/reckon-tiny",
        messages: [{ role: "user", content: "hi" }],
        tools: [{ type: "function", function: { name: "f", parameters: {} } }],
      }),
    });
    expect(chat.status).toBe(400);
    expect(((await chat.json()) as { error: { param: string } }).error.param).toBe("tools");
  });
});

describe("voting strategies stream progress, then the chosen answer", () => {
  let stopping: LlamaServer;
  let votingProxy: RunningProxy;

  beforeAll(async () => {
    stopping = await startLlamaServer({ parallel: 4 });
    votingProxy = await startProxy({ upstreams: [stopping.url], task: "arithmetic" });
  });

  afterAll(async () => {
    await votingProxy?.close();
    await stopping?.close();
  });

  it("self-consistency sends its answer once it has voted", async () => {
    const voting = new OpenAI({ baseURL: `${votingProxy.url}/v1`, apiKey: "unused", maxRetries: 0 });
    const stream = await voting.completions.create({
      model: "self-consistency-8/reckon-tiny",
      prompt,
      max_tokens: 96,
      temperature: 1,
      seed: 3,
      stream: true,
    });
    let text = "";
    for await (const part of stream) text += part.choices[0]?.text ?? "";
    expect(arithmeticTask.extractAnswer(text)).toBe("118");
  });
});
