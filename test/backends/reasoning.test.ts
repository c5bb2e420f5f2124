/**
 * Reasoning models: the thinking (sent apart as `reasoning_content`, or inline between think
 * tags) is kept apart from the answer, streamed and not, so an answer boxed only inside the
 * thinking is never the answer.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createOpenAIBackend } from "../../src/backends/openai.js";
import type { TokenEvent } from "../../src/core/backend.js";
import type { Problem } from "../../src/core/types.js";
import { run } from "../../src/index.js";
import { chunk, completionResponse, openAIUsage } from "../../src/server/responses.js";
import { getTask } from "../../src/tasks/registry.js";
import { type OpenAITestServer, startOpenAITestServer } from "../support/openai-test-server.js";

const problem: Problem = {
  id: "q",
  prompt: [{ role: "user", content: "What is 2+3? Put the answer in \\boxed{}." }],
  reference: "5",
  task: getTask("math"),
};

// Every sample's thinking boxes 7; only two answers in five state one (5), the others none.
const thinking = "First guess: \\boxed{7}. Hmm, 2+3 is 5, not 7. \\boxed{7} was wrong.";
const answerOf = (index: number) => (index % 5 < 2 ? "The answer is \\boxed{5}." : "I am not sure.");

/** One streamed choice: the deltas it sends, in order, and how it ends. */
interface Script {
  deltas: { content?: string; reasoning_content?: string }[];
  finish: "stop" | "length";
}

interface ScriptedServer {
  url: string;
  close(): Promise<void>;
}

/**
 * A server that streams scripted deltas (one token each) when asked to stream, else sends them
 * joined as one message; usage counts the deltas, `reasoning_tokens` those with thinking.
 */
async function startScriptedServer(script: (index: number) => Script): Promise<ScriptedServer> {
  let served = 0;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      const n: number = body.n ?? 1;
      const scripts = Array.from({ length: n }, () => script(served++));
      const completionTokens = scripts.reduce((sum, s) => sum + s.deltas.length, 0);
      const reasoningTokens = scripts.reduce(
        (sum, s) => sum + s.deltas.filter((d) => d.reasoning_content).length,
        0,
      );
      const usage = {
        prompt_tokens: 10,
        completion_tokens: completionTokens,
        total_tokens: 10 + completionTokens,
        completion_tokens_details: { reasoning_tokens: reasoningTokens },
      };
      if (!body.stream) {
        const choices = scripts.map((s, index) => {
          const content = s.deltas.map((d) => d.content ?? "").join("");
          const reasoning = s.deltas.map((d) => d.reasoning_content ?? "").join("");
          return {
            index,
            message: { role: "assistant", content, ...(reasoning ? { reasoning_content: reasoning } : {}) },
            finish_reason: s.finish,
          };
        });
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ choices, usage }));
        return;
      }
      res.writeHead(200, { "content-type": "text/event-stream" });
      const send = (data: unknown) => res.write(`data: ${JSON.stringify(data)}\n\n`);
      const longest = Math.max(...scripts.map((s) => s.deltas.length));
      for (let step = 0; step < longest; step++)
        scripts.forEach((s, index) => {
          const delta = s.deltas[step];
          if (delta) send({ choices: [{ index, delta, finish_reason: null }] });
          if (step === s.deltas.length - 1)
            send({ choices: [{ index, delta: {}, finish_reason: s.finish }] });
        });
      send({ choices: [], usage });
      res.end("data: [DONE]\n\n");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Text cut into pieces of `size` characters, so tags fall across pieces. */
const pieces = (text: string, size: number): string[] =>
  Array.from({ length: Math.ceil(text.length / size) }, (_, i) => text.slice(i * size, (i + 1) * size));

const inline = (index: number): Script => ({
  deltas: pieces(`<think>\n${thinking}\n</think>\n\n${answerOf(index)}`, 3).map((content) => ({ content })),
  finish: "stop",
});

const apart = (index: number): Script => ({
  deltas: [
    ...pieces(thinking, 4).map((reasoning_content) => ({ reasoning_content })),
    ...pieces(answerOf(index), 4).map((content) => ({ content })),
  ],
  finish: "stop",
});

/** Self-consistency over five samples; the thinking's 7 would win if it were read. */
async function vote(url: string, stream: boolean) {
  const backend = createOpenAIBackend({ baseURL: url, model: "m", ...(stream ? {} : { stream: "never" }) });
  return run({ problem, backend, strategy: "self-consistency", options: { n: 5 } });
}

function expectAnswerNotThinking(result: Awaited<ReturnType<typeof vote>>): void {
  expect(result.answer).toBe("5");
  expect(result.candidates.map((c) => c.answer)).not.toContain("7");
  for (const [i, candidate] of result.candidates.entries()) {
    expect(candidate.text).toBe(answerOf(i));
    expect(candidate.reasoning).toBe(thinking);
  }
  expect(result.tally.map((t) => t.answer)).toEqual(["5"]);
}

describe("a server that sends the thinking apart (reasoning_content)", () => {
  let llm: OpenAITestServer;
  beforeAll(async () => {
    llm = await startOpenAITestServer({
      respond: (_request, index) => ({ text: answerOf(index), reasoning: thinking }),
    });
  });
  afterAll(() => llm.close());

  it("votes on the answers only, and counts the thinking's tokens as reasoning tokens", async () => {
    const result = await vote(llm.url, false);
    expectAnswerNotThinking(result);
    const thinkingWords = thinking.split(/\s+/).length;
    expect(result.usage.reasoningTokens).toBe(5 * thinkingWords);
    expect(result.usage.completionTokens).toBeGreaterThan(5 * thinkingWords);
  });

  it("cut off while thinking: no answer, and the thinking written so far", async () => {
    const backend = createOpenAIBackend({ baseURL: llm.url, model: "m" });
    const { completions, usage } = await backend.generate({ prompt: "q", n: 1, maxTokens: 4 });
    expect(completions[0]).toMatchObject({
      text: "",
      reasoning: "First guess: \\boxed{7}. Hmm, ",
      tokens: 4,
    });
    expect(completions[0]!.finishReason).toBe("length");
    expect(usage.reasoningTokens).toBe(4);
  });
});

describe("a streaming server that sends the thinking apart", () => {
  let llm: ScriptedServer;
  beforeAll(async () => {
    llm = await startScriptedServer(apart);
  });
  afterAll(() => llm.close());

  it("votes on the answers only, streamed and not", async () => {
    expectAnswerNotThinking(await vote(llm.url, true));
    expectAnswerNotThinking(await vote(llm.url, false));
  });

  it("streams the thinking and the answer as separate pieces, each joining to its part", async () => {
    const backend = createOpenAIBackend({ baseURL: llm.url, model: "m" });
    const events: TokenEvent[] = [];
    const { completions, usage } = await backend.generate({
      prompt: "q",
      n: 1,
      onToken: (event) => events.push(event),
    });
    expect(events.map((e) => e.reasoning ?? "").join("")).toBe(thinking);
    expect(events.map((e) => e.text).join("")).toBe(completions[0]!.text);
    expect(completions[0]!.reasoning).toBe(thinking);
    expect(usage.reasoningTokens).toBe(pieces(thinking, 4).length);
    expect(completions[0]!.reasoningTokens).toBe(usage.reasoningTokens);
  });
});

describe("inline think tags", () => {
  let llm: ScriptedServer;
  let whole: OpenAITestServer;
  beforeAll(async () => {
    llm = await startScriptedServer(inline);
    whole = await startOpenAITestServer({
      respond: (_request, index) => `<think>\n${thinking}\n</think>\n\n${answerOf(index)}`,
    });
  });
  afterAll(async () => {
    await llm.close();
    await whole.close();
  });

  it("votes on the answers only, streamed with tags split across chunks and not", async () => {
    expectAnswerNotThinking(await vote(llm.url, true));
    expectAnswerNotThinking(await vote(llm.url, false));
    expectAnswerNotThinking(await vote(whole.url, false));
  });

  it("streams the answer's pieces apart from the thinking's, though tags arrive in pieces", async () => {
    const backend = createOpenAIBackend({ baseURL: llm.url, model: "m" });
    const events: TokenEvent[] = [];
    const { completions } = await backend.generate({ prompt: "q", n: 1, onToken: (e) => events.push(e) });
    const text = events.map((e) => e.text).join("");
    expect(text).toBe(completions[0]!.text);
    expect(text).not.toContain("think");
    expect(events.map((e) => e.reasoning ?? "").join("")).toBe(thinking);
  });

  it("cut off while still thinking: the text is empty and the reasoning holds what was written", async () => {
    const cut = await startScriptedServer(() => ({
      deltas: ["<th", "ink>", "Let ", "me ", "add ", "2 ", "and ", "3 ", "<", "/thi"].map((content) => ({
        content,
      })),
      finish: "length",
    }));
    try {
      for (const stream of [true, false]) {
        const backend = createOpenAIBackend({
          baseURL: cut.url,
          model: "m",
          stream: stream ? "auto" : "never",
        });
        const events: TokenEvent[] = [];
        const { completions } = await backend.generate({
          prompt: "q",
          n: 1,
          ...(stream ? { onToken: (e: TokenEvent) => events.push(e) } : {}),
        });
        expect(completions[0]).toMatchObject({ text: "", finishReason: "length" });
        expect(completions[0]!.reasoning).toBe("Let me add 2 and 3 </thi");
      }
    } finally {
      await cut.close();
    }
  });

  it("reads configured tags, and takes the text as it comes when tags are turned off", async () => {
    const custom = await startOpenAITestServer({
      respond: () => "<reasoning>\\boxed{7}</reasoning>The answer is \\boxed{5}.",
    });
    try {
      const tagged = createOpenAIBackend({
        baseURL: custom.url,
        model: "m",
        thinkTags: ["<reasoning>", "</reasoning>"],
      });
      const [completion] = (await tagged.generate({ prompt: "q", n: 1 })).completions;
      expect(completion).toMatchObject({ text: "The answer is \\boxed{5}.", reasoning: "\\boxed{7}" });
      const plain = createOpenAIBackend({ baseURL: custom.url, model: "m", thinkTags: false });
      const [raw] = (await plain.generate({ prompt: "q", n: 1 })).completions;
      expect(raw!.text).toBe("<reasoning>\\boxed{7}</reasoning>The answer is \\boxed{5}.");
      expect(raw!.reasoning).toBeUndefined();
    } finally {
      await custom.close();
    }
  });

  it("continues an open think block: a partial answer that is still thinking", async () => {
    const backend = createOpenAIBackend({ baseURL: whole.url, model: "m", mode: "completion" });
    // The continuation leaves <think> open, so what the model writes up to </think> is thinking.
    const continuing = await startOpenAITestServer({ respond: () => "so 5.\n</think>\n\\boxed{5}" });
    try {
      const resumed = createOpenAIBackend({ baseURL: continuing.url, model: "m", mode: "completion" });
      const [completion] = (
        await resumed.generate({ prompt: "Q: 2+3?\n", continuation: "<think>\n2+3", n: 1 })
      ).completions;
      expect(completion).toMatchObject({ text: "\\boxed{5}", reasoning: "so 5." });
      const [fresh] = (await backend.generate({ prompt: "Q: 2+3?\n", n: 1 })).completions;
      expect(fresh!.reasoning).toBe(thinking);
    } finally {
      await continuing.close();
    }
  });
});

describe("reckon serve's response shapes", () => {
  it("return the thinking as reasoning_content and count reasoning tokens as OpenAI does", async () => {
    const llm = await startOpenAITestServer({
      respond: (_request, index) => ({ text: answerOf(index), reasoning: thinking }),
    });
    try {
      const result = await vote(llm.url, false);
      const usage = openAIUsage(result);
      expect(usage.completion_tokens_details?.reasoning_tokens).toBe(result.usage.reasoningTokens);
      const ids = { id: "x", created: 0, model: "m" };
      const response = completionResponse(
        "chat",
        ids,
        "The answer is \\boxed{5}.",
        "stop",
        usage,
        {} as never,
        null,
        thinking,
      ) as {
        choices: { message: { content: string; reasoning_content?: string } }[];
      };
      expect(response.choices[0]!.message).toMatchObject({
        content: "The answer is \\boxed{5}.",
        reasoning_content: thinking,
      });
      const delta = chunk("chat", ids, { reasoning_content: "Hmm" }, null) as {
        choices: { delta: unknown }[];
      };
      expect(delta.choices[0]!.delta).toEqual({ reasoning_content: "Hmm" });
    } finally {
      await llm.close();
    }
  });
});
