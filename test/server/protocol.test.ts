/**
 * The protocol edges of `reckon serve`: lookups that cannot be fooled by property names, the
 * statuses the docs promise (504 on timeouts, 405, 415), `param` naming the field the client
 * wrote, readiness, and a server that refuses to start on a configuration that cannot work.
 */

import { createServer as createHttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createServer } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createReckonServer } from "../../src/server/app.js";
import { parseServerConfig, type ServerConfigInput } from "../../src/server/config.js";
import { type OpenAITestServer, startOpenAITestServer } from "../support/openai-test-server.js";
import { postJson, type RunningProxy, startProxy } from "./helpers.js";

let upstream: OpenAITestServer;
let proxy: RunningProxy;
const messages = [{ role: "user", content: "What is 2+2?" }];
const chat = (server: RunningProxy) => `${server.url}/v1/chat/completions`;

beforeAll(async () => {
  upstream = await startOpenAITestServer({ respond: () => "The answer is \\boxed{4}." });
  proxy = await startProxy({ upstreams: [upstream.url] });
});
afterAll(async () => {
  await proxy.close();
  await upstream.close();
});

describe("names from the client", () => {
  it.each(["__proto__", "constructor", "toString", "hasOwnProperty"])(
    "answers the task, strategy or verifier %s with a 400 naming the field",
    async (name) => {
      for (const [reckon, param] of [
        [{ task: name }, "reckon.task"],
        [{ strategy: name }, "reckon.strategy"],
        [{ strategy: "best-of-n", verifier: name }, "reckon.verifier"],
      ] as const) {
        const response = await postJson(chat(proxy), { model: "test-model", messages, reckon });
        expect(response.status, JSON.stringify(reckon)).toBe(400);
        expect(response.json.error.param).toBe(param);
      }
    },
  );

  it("takes no option from a __proto__ key", async () => {
    const body = `{"model": "test-model", "messages": ${JSON.stringify(messages)}, "reckon": {"strategy": "self-consistency", "__proto__": {"n": 3}}}`;
    const response = await postJson(chat(proxy), body);
    if (response.status === 400) expect(response.json.error.param).toBe("reckon.__proto__");
    else {
      expect(response.status).toBe(200);
      expect(response.json.reckon.options.n).toBeUndefined();
      expect(({} as { n?: number }).n).toBeUndefined();
    }
  });

  it("names the model when its prefix carries a bad sample count, and reckon.<option> for an unknown option", async () => {
    const prefixed = await postJson(chat(proxy), { model: "self-consistency-0/test-model", messages });
    expect(prefixed.status).toBe(400);
    expect(prefixed.json.error.param).toBe("model");
    const unknown = await postJson(chat(proxy), {
      model: "test-model",
      messages,
      reckon: { strategy: "esc", windowsize: 4 },
    });
    expect(unknown.status).toBe(400);
    expect(unknown.json.error.param).toBe("reckon.windowsize");
  });
});

describe("statuses", () => {
  it("answers 415 to a body that is not JSON, and 405 with Allow to a wrong method", async () => {
    for (const type of ["text/plain", "application/x-www-form-urlencoded", undefined]) {
      const response = await fetch(chat(proxy), {
        method: "POST",
        headers: type ? { "content-type": type } : {},
        body: JSON.stringify({ model: "test-model", messages }),
      });
      expect(response.status, String(type)).toBe(415);
    }
    const charset = await postJson(
      chat(proxy),
      { model: "test-model", messages },
      {
        "content-type": "application/json; charset=utf-8",
      },
    );
    expect(charset.status).toBe(200);
    for (const [method, path, allow] of [
      ["GET", "/v1/chat/completions", "POST"],
      ["PUT", "/v1/completions", "POST"],
      ["POST", "/v1/models", "GET"],
      ["DELETE", "/healthz", "GET"],
    ] as const) {
      const response = await fetch(`${proxy.url}${path}`, { method });
      expect(response.status, `${method} ${path}`).toBe(405);
      expect(response.headers.get("allow")).toBe(allow);
    }
    expect((await fetch(`${proxy.url}/nowhere`)).status).toBe(404);
  });

  it("answers 504 when the upstream does not answer in time", async () => {
    const slow = await startOpenAITestServer({ faults: () => ({ kind: "slow", delayMs: 3_000 }) });
    const server = await startProxy({
      upstreams: [slow.url],
      upstreamTimeoutMs: 200,
      pool: { maxAttempts: 1 },
    });
    try {
      const response = await postJson(chat(server), { model: "test-model", messages });
      expect(response.status).toBe(504);
      expect(response.json.error.code).toBe("upstream_timeout");
    } finally {
      await server.close();
      await slow.close();
    }
  });

  it("ends a request that runs past limits.maxRequestMs with a 504, whatever the upstream does", async () => {
    const slow = await startOpenAITestServer({ faults: () => ({ kind: "slow", delayMs: 5_000 }) });
    const server = await startProxy({ upstreams: [slow.url], limits: { maxRequestMs: 300 } });
    try {
      for (const stream of [false, true]) {
        const response = await postJson(chat(server), { model: "test-model", messages, stream });
        const text = JSON.stringify(response.json);
        if (stream) expect(text).toContain("request_timeout");
        else expect(response.status).toBe(504);
      }
    } finally {
      await server.close();
      await slow.close();
    }
  });

  it("says ready only while an upstream answers", async () => {
    expect((await fetch(`${proxy.url}/readyz`)).status).toBe(200);
    const gone = await startOpenAITestServer();
    const url = gone.url;
    await gone.close();
    const server = await startProxy({ upstreams: [url] });
    try {
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
      const ready = await fetch(`${server.url}/readyz`);
      expect(ready.status).toBe(503);
      expect(((await ready.json()) as { status: string }).status).toBe("unavailable");
    } finally {
      await server.close();
    }
  });
});

describe("start-up", () => {
  const refuses = async (config: ServerConfigInput, message: RegExp) => {
    const server = createReckonServer(parseServerConfig({ port: 0, upstreams: [upstream.url], ...config }));
    await expect(server.listen()).rejects.toThrow(message);
    await server.close();
  };

  it("refuses a default strategy, task or verifier that cannot work", async () => {
    await refuses({ defaultStrategy: { name: "nope", options: {} } }, /unknown strategy "nope"/);
    await refuses({ defaultStrategy: { name: "__proto__", options: {} } }, /unknown strategy/);
    await refuses({ defaultStrategy: { name: "best-of-n", options: {} } }, /needs a verifier/);
    await refuses(
      { defaultStrategy: { name: "self-consistency", options: { n: "x" } } },
      /defaultStrategy\.options\.n/,
    );
    await refuses({ task: "poetry" }, /unknown task/);
    await refuses({ verifiers: { rm: "orm:not a url" } }, /verifiers\.rm/);
    await refuses({ verifier: "magic" }, /cannot use verifier/);
  });

  it("says in one line that the port is in use", async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
    const port = (holder.address() as AddressInfo).port;
    try {
      const server = createReckonServer(
        parseServerConfig({ port, host: "127.0.0.1", upstreams: [upstream.url] }),
      );
      const error = await server.listen().then(
        () => undefined,
        (e: Error) => e,
      );
      expect(error?.message).toMatch(/port is in use/);
      expect(error?.message.split("\n")[0]).not.toMatch(/^\s+at /);
      expect(error?.name).toBe("ReckonError");
      await server.close();
    } finally {
      await new Promise<void>((resolve) => holder.close(() => resolve()));
    }
  });
});

describe("token accounting", () => {
  it("counts cached prompt tokens in the budget as usage does, for the client and its key", async () => {
    // An upstream with a prefix cache: 48 of its 100 prompt tokens were served from it.
    const cached = createHttpServer((req, res) => {
      req.resume();
      req.on("end", () => {
        if (req.url?.endsWith("/models")) {
          res.writeHead(200, { "content-type": "application/json" }).end('{"data":[{"id":"test-model"}]}');
          return;
        }
        res.writeHead(200, { "content-type": "application/json" }).end(
          JSON.stringify({
            id: "x",
            object: "chat.completion",
            created: 0,
            model: "test-model",
            choices: [
              { index: 0, message: { role: "assistant", content: "\\boxed{4}" }, finish_reason: "stop" },
            ],
            usage: {
              prompt_tokens: 100,
              completion_tokens: 10,
              total_tokens: 110,
              prompt_tokens_details: { cached_tokens: 48 },
            },
          }),
        );
      });
    });
    await new Promise<void>((resolve) => cached.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(cached.address() as AddressInfo).port}/v1`;
    const key = "sk-cached-0123456789";
    const server = await startProxy({ upstreams: [url], apiKeys: [{ key, tokensPerMinute: 1_000 }] });
    try {
      const response = await postJson(
        chat(server),
        { model: "test-model", messages },
        { authorization: `Bearer ${key}` },
      );
      expect(response.status).toBe(200);
      expect(response.json.usage.total_tokens).toBe(110);
      expect(response.json.usage.prompt_tokens_details.cached_tokens).toBe(48);
      expect(response.json.reckon.budget.spent_tokens).toBe(response.json.usage.total_tokens);
    } finally {
      await server.close();
      await new Promise<void>((resolve) => cached.close(() => resolve()));
    }
  });
});
