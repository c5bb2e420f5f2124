import { z } from "zod";
import type { Backend } from "../core/backend.js";
import { InvalidInputError } from "../core/errors.js";
import { parseOrThrow } from "../core/validate.js";
import type { RetryEvent } from "./openai-http.js";

export const backendSpecSchema = z
  .object({
    /** `openai:URL`, `llamacpp:PATH`, `replay:FILE`, or a bare kind; absent: the bundled model. */
    backend: z.string().min(1).optional(),
    /** Base URL of an OpenAI-compatible server (implies the openai backend). */
    endpoint: z.url().optional(),
    /** Model name on the server, or a GGUF path for llamacpp. */
    model: z.string().min(1).optional(),
    apiKey: z.string().optional(),
    mode: z.enum(["chat", "completion"]).optional(),
    concurrency: z.number().int().positive().optional(),
    /** openai: per attempt, and retries after the first attempt; each retry is reported to `onRetry`. */
    timeoutMs: z.number().positive().optional(),
    maxRetries: z.number().int().nonnegative().optional(),
    onRetry: z.custom<(event: RetryEvent) => void>((value) => typeof value === "function").optional(),
  })
  .strict();

export type BackendSpec = z.infer<typeof backendSpecSchema>;

/**
 * Turns what a user wrote (CLI flags, a recipe) into a backend. Engines are imported lazily so
 * that an HTTP-only user never loads llama.cpp.
 */
export async function resolveBackend(input: BackendSpec): Promise<Backend> {
  const spec = parseOrThrow(backendSpecSchema, input, "backend");
  const [kind, ...rest] = (spec.backend ?? (spec.endpoint ? "openai" : "llamacpp")).split(":");
  const target = rest.join(":") || undefined;
  switch (kind) {
    case "openai": {
      const baseURL = target ?? spec.endpoint;
      if (!baseURL)
        throw new InvalidInputError(
          "endpoint",
          "the openai backend needs a URL",
          "--endpoint http://host:port/v1",
        );
      if (!spec.model)
        throw new InvalidInputError("model", "the openai backend needs a model name", "--model NAME");
      const { createOpenAIBackend } = await import("./openai.js");
      return createOpenAIBackend({
        baseURL,
        model: spec.model,
        apiKey: spec.apiKey,
        mode: spec.mode,
        concurrency: spec.concurrency,
        timeoutMs: spec.timeoutMs,
        maxRetries: spec.maxRetries,
        onRetry: spec.onRetry,
      });
    }
    case "llamacpp": {
      const { createLlamaCppBackend, defaultModelPath } = await import("./embedded.js");
      return createLlamaCppBackend({
        modelPath: target ?? spec.model ?? defaultModelPath(),
        mode: spec.mode,
      });
    }
    case "replay": {
      if (!target)
        throw new InvalidInputError("backend", "replay needs a file", "--backend replay:FILE.jsonl");
      const { createReplayBackend } = await import("./replay.js");
      return createReplayBackend({ path: target });
    }
    default:
      throw new InvalidInputError(
        "backend",
        `unknown backend "${kind}"`,
        "one of: openai:URL, llamacpp:PATH, replay:FILE",
      );
  }
}
