/**
 * POST /v1/chat/completions, POST /v1/completions, GET /v1/models: OpenAI's shapes around the
 * pipeline every API shares (pipeline.ts), which runs each request's strategy through `run()`.
 */
import { randomUUID } from "node:crypto";
import type { Context, Hono } from "hono";
import type { Candidate } from "../core/types.js";
import { listStrategies } from "../strategies/registry.js";
import type { Endpoint } from "./models.js";
import { answerResponse, prepareAnswer, type RouteDeps } from "./pipeline.js";
import { type CompletionBody, chatBodySchema, completionBodySchema, parseBody, readJson } from "./request.js";
import { chunk, completionResponse, openAIFinishReason, usageChunk, wireLogprobs } from "./responses.js";

export type { RouteDeps } from "./pipeline.js";

export function openAIRoutes(app: Hono, deps: RouteDeps): void {
  app.post("/v1/chat/completions", (c) => complete(c, "chat", deps));
  app.post("/v1/completions", (c) => complete(c, "completion", deps));
  app.get("/v1/models", async (c) => {
    deps.auth.identify(c.req.header("authorization"));
    const models = await deps.source.list(c.req.raw.signal);
    const created = Math.floor(Date.now() / 1000);
    const entry = (id: string, owned_by: string) => ({ id, object: "model", created, owned_by });
    // Each model, then every strategy that can answer here as a prefix of it
    // (`self-consistency/<model>`): those needing a verifier only when a default one is set.
    const usable = listStrategies().filter(
      (s) => !s.needsVerifier || deps.verifiers.defaultSpec !== undefined,
    );
    const data = models.flatMap((model) => [
      entry(model, "upstream"),
      ...usable.map((s) => entry(`${s.name}/${model}`, "reckon")),
    ]);
    return c.json({ object: "list", data });
  });
}

async function complete(c: Context, endpoint: Endpoint, deps: RouteDeps): Promise<Response> {
  const caller = deps.auth.identify(c.req.header("authorization"));
  const raw = await readJson(c);
  const body =
    endpoint === "chat"
      ? parseBody(chatBodySchema, raw)
      : (parseBody(completionBodySchema, raw) as CompletionBody);
  const prepared = await prepareAnswer(deps, {
    endpoint,
    body,
    caller,
    id: `${endpoint === "chat" ? "chatcmpl" : "cmpl"}-${randomUUID().replaceAll("-", "")}`,
    route: endpoint === "chat" ? "/v1/chat/completions" : "/v1/completions",
    api: endpoint,
    context: c,
  });
  const { ids, sampling } = prepared;
  const logprobsOf = (chosen: Candidate | undefined) =>
    sampling.logprobs ? wireLogprobs(endpoint, chosen?.logprobs) : null;

  if (body.stream !== true) {
    const answer = await prepared.answer();
    const { chosen, text, reasoning, usage, reckon } = answer;
    return answerResponse(
      completionResponse(
        endpoint,
        ids,
        text,
        openAIFinishReason(chosen?.finishReason),
        usage,
        reckon,
        logprobsOf(chosen),
        reasoning,
      ),
      answer,
    );
  }

  const includeUsage = body.stream_options?.include_usage === true;
  const usageField = includeUsage ? { usage: null } : {};
  return prepared.stream((sse) => {
    sse.data(chunk(endpoint, ids, { role: "assistant", content: "" }, null, usageField));
    return {
      // The thinking streams as `reasoning_content` deltas, as reasoning servers send it (chat only).
      reasoning: (piece) => {
        if (endpoint === "chat")
          sse.data(chunk(endpoint, ids, { reasoning_content: piece }, null, usageField));
      },
      text: (piece, logprobs) =>
        sse.data(
          chunk(endpoint, ids, { content: piece }, null, usageField, wireLogprobs(endpoint, logprobs)),
        ),
      end: ({ chosen, usage, reckon }) => {
        sse.data(
          chunk(endpoint, ids, {}, openAIFinishReason(chosen?.finishReason), { ...usageField, reckon }),
        );
        if (includeUsage) sse.data(usageChunk(endpoint, ids, usage));
        sse.done();
      },
      fail: (failure) => {
        sse.data(failure.body());
        sse.done();
      },
    };
  });
}
