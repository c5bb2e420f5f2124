/**
 * The access log of `reckon serve`: one JSON line per request (answered, refused or failed,
 * streamed or not) through the real `openai` client, with the key's name but never a key, and
 * the prompt and answer only when asked for.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import type { AccessLogLine } from "../../src/server/access-log.js";
import { reckon, repoRoot } from "../support/cli.js";
import { type OpenAITestServer, startOpenAITestServer } from "../support/openai-test-server.js";
import { type RunningProxy, startProxy } from "./helpers.js";

const clientKey = "sk-team-a-3f9c2b7e1d";
const tinyKey = "sk-tiny-8e1f0a6c4b";
const upstreamKey = "sk-upstream-5d7a9e2c";
const secretPrompt = "What is 2+2? (private-question-marker)";
const answerText = "The answer is \\boxed{4}. private-answer-marker";

let dir: string;
const cleanups: (() => Promise<void>)[] = [];
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "reckon-access-log-"));
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function upstream(
  options: Parameters<typeof startOpenAITestServer>[0] = {},
): Promise<OpenAITestServer> {
  const server = await startOpenAITestServer({
    apiKey: upstreamKey,
    respond: (request) => {
      if (request.prompt.includes("fail-upstream")) throw new Error("the upstream broke");
      return answerText;
    },
    ...options,
  });
  cleanups.push(() => server.close());
  return server;
}

async function proxy(config: Parameters<typeof startProxy>[0]): Promise<RunningProxy> {
  const started = await startProxy({
    upstreamApiKey: upstreamKey,
    apiKeys: [
      { key: clientKey, name: "team-a" },
      { key: tinyKey, name: "tiny", tokensPerMinute: 10 },
    ],
    pool: { maxAttempts: 1 },
    ...config,
  });
  cleanups.push(() => started.close());
  return started;
}

const client = (url: string, apiKey = clientKey) =>
  new OpenAI({ baseURL: `${url}/v1`, apiKey, maxRetries: 0 });

const readLines = (path: string): AccessLogLine[] =>
  readFileSync(path, "utf8")
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as AccessLogLine);

/** The log's line that `match` picks, once it has been written. */
const lineOf = (path: string, match: (line: AccessLogLine) => boolean) =>
  vi.waitFor(
    () => {
      const line = readLines(path).find(match);
      if (!line) throw new Error("no such line yet");
      return line;
    },
    { timeout: 5_000, interval: 20 },
  );

const logPath = (name: string) => join(dir, `${name}.jsonl`);

describe("the access log", () => {
  it("writes one line per answered request: key name, route, model, strategy, status, tokens, calls, client, id; mode 0600", async () => {
    const up = await upstream();
    const path = logPath("answered");
    const server = await proxy({ upstreams: [up.url], accessLog: path });
    const response = await client(server.url).chat.completions.create({
      model: "self-consistency-3/test-model",
      messages: [{ role: "user", content: secretPrompt }],
      seed: 1,
    });
    const line = await lineOf(path, (l) => l.requestId === response.id);
    expect(line).toMatchObject({
      key: "team-a",
      method: "POST",
      route: "/v1/chat/completions",
      path: "/v1/chat/completions",
      status: 200,
      model: "self-consistency-3/test-model",
      strategy: "self-consistency",
      stream: false,
      tokensIn: response.usage!.prompt_tokens,
      tokensOut: response.usage!.completion_tokens,
      verifierTokens: 0,
      upstreamCalls: 1,
      client: "127.0.0.1",
    });
    expect(line.tokensOut).toBeGreaterThan(0);
    expect(new Date(line.time).toISOString()).toBe(line.time);
    expect(line.latencyMs).toBeGreaterThanOrEqual(0);
    expect(line.error).toBeUndefined();
    expect(statSync(path).mode & 0o777).toBe(0o600);

    // No key, no prompt, no answer: not the client's key, not the upstream's, not the texts.
    const text = readFileSync(path, "utf8");
    expect(response.choices[0]!.message.content).toContain("private-answer-marker");
    for (const secret of [clientKey, upstreamKey, "private-question-marker", "private-answer-marker"])
      expect(text).not.toContain(secret);
    expect(line).not.toHaveProperty("prompt");
    expect(line).not.toHaveProperty("answer");
  });

  it("names the key of Anthropic's Messages API sent as x-api-key, and writes neither key nor prompt", async () => {
    const up = await upstream();
    const path = logPath("messages");
    const server = await proxy({ upstreams: [up.url], accessLog: path });
    const anthropic = new Anthropic({ baseURL: server.url, apiKey: clientKey, maxRetries: 0 });
    const message = await anthropic.messages.create({
      model: "test-model",
      max_tokens: 64,
      messages: [{ role: "user", content: secretPrompt }],
    });
    const line = await lineOf(path, (l) => l.route === "/v1/messages");
    expect(line).toMatchObject({ key: "team-a", status: 200, model: "test-model", strategy: "single" });
    expect(line.tokensOut).toBe(message.usage.output_tokens);
    const text = readFileSync(path, "utf8");
    for (const secret of [clientKey, upstreamKey, "private-question-marker", "private-answer-marker"])
      expect(text).not.toContain(secret);
  });

  it("writes lines for refused and failed requests: 401, 400, 429, 502, 404, with what is known", async () => {
    const up = await upstream();
    const path = logPath("failed");
    const server = await proxy({ upstreams: [up.url], accessLog: path });
    const messages = [{ role: "user" as const, content: secretPrompt }];

    const wrongKey = "sk-wrong-0c4d8e2f6a";
    await expect(
      client(server.url, wrongKey).chat.completions.create({ model: "test-model", messages }),
    ).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
    const unauthorized = await lineOf(path, (l) => l.status === 401);
    expect(unauthorized).toMatchObject({
      key: null,
      route: "/v1/chat/completions",
      model: null,
      tokensOut: null,
      error: "invalid_api_key",
    });

    await expect(
      client(server.url).chat.completions.create({ model: "test-model", messages, temperature: 9 }),
    ).rejects.toBeInstanceOf(OpenAI.BadRequestError);
    expect(await lineOf(path, (l) => l.status === 400)).toMatchObject({
      key: "team-a",
      route: "/v1/chat/completions",
      error: "invalid_request_error",
    });

    await expect(
      client(server.url, tinyKey).chat.completions.create({ model: "test-model", messages }),
    ).rejects.toBeInstanceOf(OpenAI.RateLimitError);
    expect(await lineOf(path, (l) => l.status === 429)).toMatchObject({
      key: "tiny",
      error: "rate_limit_exceeded",
    });

    await expect(
      client(server.url).chat.completions.create({
        model: "test-model",
        messages: [{ role: "user", content: "fail-upstream" }],
      }),
    ).rejects.toBeInstanceOf(OpenAI.InternalServerError);
    const failed = await lineOf(path, (l) => l.status >= 500);
    expect(failed).toMatchObject({
      key: "team-a",
      status: 502,
      model: "test-model",
      strategy: "single",
      stream: false,
      tokensOut: 0,
      error: "upstream_unavailable",
    });
    expect(failed.requestId).toMatch(/^chatcmpl-/);

    const missing = await fetch(`${server.url}/v2/nothing?api_key=${clientKey}`, {
      headers: { authorization: `Bearer ${clientKey}`, "x-request-id": "trace-7" },
    });
    expect(missing.status).toBe(404);
    expect(await lineOf(path, (l) => l.status === 404)).toMatchObject({
      key: "team-a",
      method: "GET",
      route: null,
      path: "/v2/nothing",
      clientRequestId: "trace-7",
    });

    const text = readFileSync(path, "utf8");
    for (const secret of [clientKey, tinyKey, wrongKey, upstreamKey, "private-question-marker"])
      expect(text).not.toContain(secret);
  });

  it("logs a stream when it ends, with its usage, and a client that leaves mid-stream as 499 with what was spent", async () => {
    // The first two upstream requests (the first stream's, the second's first sample) are
    // answered at once; the others take a minute (the client leaves before).
    const up = await upstream({ faults: (n) => (n <= 2 ? undefined : { kind: "slow", delayMs: 60_000 }) });
    const path = logPath("stream");
    const server = await proxy({ upstreams: [up.url], accessLog: path });

    let id = "";
    let usage: OpenAI.CompletionUsage | undefined;
    const stream = await client(server.url).chat.completions.create({
      model: "test-model",
      messages: [{ role: "user", content: secretPrompt }],
      stream: true,
      stream_options: { include_usage: true },
    });
    for await (const part of stream) {
      id = part.id;
      usage = part.usage ?? usage;
    }
    const ended = await lineOf(path, (l) => l.requestId === id);
    expect(ended).toMatchObject({
      key: "team-a",
      status: 200,
      stream: true,
      strategy: "single",
      tokensIn: usage!.prompt_tokens,
      tokensOut: usage!.completion_tokens,
      upstreamCalls: 1,
    });
    expect(ended.tokensOut).toBeGreaterThan(0);

    const controller = new AbortController();
    const response = await fetch(`${server.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${clientKey}` },
      body: JSON.stringify({
        model: "self-consistency-3/test-model",
        messages: [{ role: "user", content: "another question" }],
        stream: true,
        reckon: { batchSize: 1 },
      }),
      signal: controller.signal,
    });
    // Read until the proxy reports a drawn sample (its trace comment), then leave.
    const reader = response.body!.getReader();
    let seen = "";
    while (!seen.includes('"kind":"sample"')) {
      const { done, value } = await reader.read();
      if (done) throw new Error(`the stream ended before a sample: ${seen}`);
      seen += new TextDecoder().decode(value);
    }
    controller.abort();
    const left = await lineOf(path, (l) => l.status === 499);
    expect(left).toMatchObject({ key: "team-a", stream: true, strategy: "self-consistency" });
    expect(left.tokensOut).toBeGreaterThan(0);
    expect(left.upstreamCalls).toBeGreaterThanOrEqual(1);
  });

  it("adds the prompt and the answer with accessLogContent, still without a key", async () => {
    const up = await upstream();
    const path = logPath("content");
    const server = await proxy({ upstreams: [up.url], accessLog: path, accessLogContent: true });
    const response = await client(server.url).chat.completions.create({
      model: "test-model",
      messages: [{ role: "user", content: secretPrompt }],
    });
    const line = await lineOf(path, (l) => l.requestId === response.id);
    expect(line.prompt).toEqual([{ role: "user", content: secretPrompt }]);
    expect(line.answer).toBe(response.choices[0]!.message.content);
    const text = readFileSync(path, "utf8");
    for (const secret of [clientKey, upstreamKey]) expect(text).not.toContain(secret);
  });

  it("never fails a request when the log cannot be written, and says so once on stderr", async () => {
    const up = await upstream();
    // A folder cannot be opened as a file.
    const server = await proxy({ upstreams: [up.url], accessLog: dir });
    const stderr = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    try {
      for (let i = 0; i < 3; i++) {
        const response = await client(server.url).chat.completions.create({
          model: "test-model",
          messages: [{ role: "user", content: secretPrompt }],
        });
        expect(response.choices[0]!.message.content).toContain("boxed{4}");
      }
      const said = () =>
        stderr.mock.calls.map(([text]) => String(text)).filter((text) => text.includes("access log"));
      await vi.waitFor(() => expect(said()).toHaveLength(1), { timeout: 5_000, interval: 20 });
      expect(said()[0]).toContain(dir);
    } finally {
      stderr.mockRestore();
    }
  });
});

describe("reckon serve's access-log flags", () => {
  it("refuses --access-log-content without --access-log, and a log it cannot write, naming the flag", async () => {
    const content = await reckon(["serve", "--port", "0", "--access-log-content"]);
    expect(content.code).toBe(2);
    expect(content.stderr).toMatch(/--access-log-content/);
    const unwritable = await reckon([
      "serve",
      "--port",
      "0",
      "--access-log",
      join(dir, "no", "such", "dir.log"),
    ]);
    expect(unwritable.code).toBe(2);
    expect(unwritable.stderr).toMatch(/invalid --access-log: cannot write/);
  });
});

describe("reckon serve --access-log", () => {
  it("logs the requests of the command's server, with the upstream key read by --upstream-api-key-env and in no line", async () => {
    const up = await upstream();
    const path = logPath("cli");
    const keys = join(dir, "keys.txt");
    writeFileSync(keys, `${clientKey} name=team-a\n`);
    const child = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        "src/cli/main.ts",
        "serve",
        "--port",
        "0",
        "--upstream",
        up.url,
        "--upstream-api-key-env",
        "RECKON_TEST_UPSTREAM_KEY",
        "--api-key-file",
        keys,
        "--access-log",
        path,
      ],
      { cwd: repoRoot, env: { ...process.env, RECKON_TEST_UPSTREAM_KEY: upstreamKey, OPENAI_API_KEY: "" } },
    );
    const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
    cleanups.push(async () => {
      if (child.exitCode === null) child.kill("SIGTERM");
      await exited;
    });
    let stderr = "";
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    const url = await vi.waitFor(
      () => {
        const match = /serving .* at (http:\/\/\S+)\/v1/.exec(stderr);
        if (!match) throw new Error(`not serving yet: ${stderr}`);
        return match[1]!;
      },
      { timeout: 60_000, interval: 50 },
    );
    const response = await client(url).chat.completions.create({
      model: "test-model",
      messages: [{ role: "user", content: secretPrompt }],
    });
    expect(response.choices[0]!.message.content).toContain("boxed{4}");
    expect(up.requests.at(-1)!.authorization).toBe(`Bearer ${upstreamKey}`);
    const line = await lineOf(path, (l) => l.requestId === response.id);
    expect(line).toMatchObject({ key: "team-a", status: 200, route: "/v1/chat/completions" });
    const text = readFileSync(path, "utf8");
    for (const secret of [clientKey, upstreamKey, "private-question-marker"])
      expect(text).not.toContain(secret);
  });
});
