/**
 * A process reward model on 127.0.0.1 (ephemeral port) for tests, judging the arithmetic task
 * with the exact step checker, so searches guided by it behave like searches with a good PRM.
 *
 *   const prm = await startPrmServer({ style: "math-shepherd" });
 *   processRewardModelVerifier({ url: prm.url, protocol: "vllm-pooling" });   // POST {url}/pooling
 *   processRewardModelVerifier({ url: `${prm.url}/score` });                   // the JSON protocol
 *
 * Speaks vLLM's pooling API as served with step pooling (`{input}` text with ` ки` tags for
 * math-shepherd, `{messages}` with `<extra_0>` separators for qwen: one [P(+), P(-)] or
 * [P(bad), P(good)] row per tag) and the plain JSON protocol (`{input: [...], step_tag}` →
 * `{scores: [[...]]}`). A valid step gets `good` (0.9), any other `1 - good`.
 * `garbage` makes every answer wrong in the given way.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { parseArithmeticPrompt } from "../../src/tasks/arithmetic.js";
import { checkArithmeticSolution } from "../../src/verifiers/step-checker.js";

export type Garbage = "html" | "wrong-shape" | "wrong-count" | "status-500" | "not-json";

export interface PrmServerOptions {
  style?: "math-shepherd" | "qwen";
  good?: number;
  garbage?: Garbage;
}

export interface TestServer {
  /** Base URL, without a trailing slash. */
  url: string;
  /** Bodies received, in order. */
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary wire fields
  requests: { path: string; body: any }[];
  close(): Promise<void>;
}

/** Step verdicts of an arithmetic question and its steps: one P(good step) per step. */
export function arithmeticStepScores(question: string, steps: readonly string[], good: number): number[] {
  const expression = parseArithmeticPrompt(`${question.trim()}\n`);
  if (expression === undefined) return steps.map(() => 0.5);
  const check = checkArithmeticSolution(expression, steps.join("\n"));
  return steps.map((_, i) => (check.steps[i]?.valid ? good : 1 - good));
}

export async function startPrmServer(options: PrmServerOptions = {}): Promise<TestServer> {
  const style = options.style ?? "math-shepherd";
  const good = options.good ?? 0.9;
  const tag = style === "qwen" ? "<extra_0>" : " ки";
  const scoresOf = (question: string, tagged: string): number[] => {
    const pieces = tagged.split(tag);
    const steps = pieces.slice(0, -1).map((s) => s.trim());
    return arithmeticStepScores(question, steps, good);
  };
  /** A math-shepherd input: the question's first line, then tagged steps. */
  const fromText = (text: string): number[] => {
    const newline = text.indexOf("\n");
    return scoresOf(text.slice(0, newline + 1), text.slice(newline + 1));
  };
  const row = (p: number) => (style === "qwen" ? [1 - p, p] : [p, 1 - p]);
  return startJsonServer(options.garbage, (path, body) => {
    if (path === "/pooling") {
      if (Array.isArray(body.messages)) {
        const user = body.messages.find((m: { role: string }) => m.role === "user")?.content ?? "";
        const assistant = body.messages.find((m: { role: string }) => m.role === "assistant")?.content ?? "";
        const scores = scoresOf(user, assistant);
        return poolingAnswer([scores.map(row)], [user + assistant]);
      }
      const inputs: string[] = Array.isArray(body.input) ? body.input : [body.input];
      return poolingAnswer(
        inputs.map((text) => fromText(text).map(row)),
        inputs,
      );
    }
    if (path === "/score") {
      const inputs: string[] = body.input;
      return { scores: inputs.map(fromText) };
    }
    return undefined;
  });
}

// biome-ignore lint/suspicious/noExplicitAny: pooling outputs are nested arrays of any depth
export function poolingAnswer(outputs: any[], inputs: string[]): unknown {
  const tokens = inputs.reduce((sum, t) => sum + t.length, 0);
  return {
    id: "pool-1",
    object: "list",
    created: Math.floor(Date.now() / 1000),
    model: "test-rm",
    data: outputs.map((data, index) => ({ index, object: "pooling", data })),
    usage: { prompt_tokens: tokens, total_tokens: tokens, completion_tokens: 0 },
  };
}

/** A JSON-over-POST server: `answer` returns the body to send, or undefined for a 404. */
export async function startJsonServer(
  garbage: Garbage | undefined,
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary wire fields
  answer: (path: string, body: any) => unknown,
): Promise<TestServer> {
  const requests: TestServer["requests"] = [];
  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => send(res, 500, { error: String(error) }));
  });
  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const path = (req.url ?? "/").split("?")[0]!;
    let body: unknown;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    } catch {
      send(res, 400, { error: "body is not JSON" });
      return;
    }
    requests.push({ path, body });
    if (garbage === "html") {
      res.writeHead(200, { "content-type": "text/html" }).end("<html><body>Dashboard</body></html>");
      return;
    }
    if (garbage === "not-json") {
      res.writeHead(200, { "content-type": "application/json" }).end('{"data": [{"index": 0, "da');
      return;
    }
    if (garbage === "status-500") {
      send(res, 500, { error: { message: "CUDA out of memory" } });
      return;
    }
    if (garbage === "wrong-shape") {
      send(res, 200, { result: "ok", rewards: "high" });
      return;
    }
    const answered = answer(path, body);
    if (answered === undefined) {
      send(res, 404, { error: `no route ${path}` });
      return;
    }
    if (garbage === "wrong-count") {
      const a = answered as { data?: unknown[]; scores?: unknown[]; score?: unknown[] };
      if (a.data) a.data = a.data.map((d) => ({ ...(d as object), data: [[0.5, 0.5]] }));
      if (a.scores) a.scores = a.scores.map(() => [0.5]);
      if (Array.isArray(a.score)) a.score = [...a.score, 0.5];
    }
    send(res, 200, answered);
  }
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
}
