/**
 * What streaming buys against a real server: llama.cpp's own llama-server on loopback, serving
 * the bundled model. Each figure is measured side by side in one run.
 *
 * 1. Time to first token through `reckon serve` for `single` and for `self-refine` (which
 *    streams its last round's pass): streamed, against the whole answer at once (what a
 *    buffered proxy gives), on passes of `--tokens` tokens.
 * 2. `first-finish` with the server's native `n`: latency and tokens against waiting for all n
 *    (one request of n samples that runs to the end).
 * 3. `deepconf` online (one streamed request per trace, cancelled when its confidence drops)
 *    against offline (every trace written to the end), at the same n: accuracy and tokens.
 *
 *   npx tsx bench/streaming-evidence.ts [--problems 20] [--level 4] [--tokens 400] [--seed 0]
 */
import { parseArgs } from "node:util";
import { createOpenAIBackend } from "../src/backends/openai.js";
import { totalTokens } from "../src/core/types.js";
import { run } from "../src/run.js";
import { createReckonServer } from "../src/server/app.js";
import { parseServerConfig } from "../src/server/config.js";
import { formatArithmeticPrompt, generateArithmeticProblems, toProblem } from "../src/tasks/arithmetic.js";
import { startLlamaServer } from "../test/support/llama-server.js";

const { values } = parseArgs({
  options: {
    problems: { type: "string", default: "20" },
    level: { type: "string", default: "4" },
    tokens: { type: "string", default: "400" },
    seed: { type: "string", default: "0" },
  },
});
const count = Number(values.problems);
const level = Number(values.level);
const answerTokens = Number(values.tokens);
const seed = Number(values.seed);
const sampling = { temperature: 1, topK: 0, topP: 1, maxTokens: 128 };
const fixed = (x: number, digits = 1) => x.toFixed(digits);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function timeToFirstToken(): Promise<void> {
  // --ignore-eos: every answer is exactly `answerTokens` long, so the two ways compare alike. A
  // context longer than the model was trained for, so that a critique of such a draft fits.
  const upstream = await startLlamaServer({
    parallel: 1,
    contextSize: 4096,
    extraArgs: ["--ignore-eos", "--override-kv", "llama.context_length=int:4096"],
  });
  const proxy = createReckonServer(
    parseServerConfig({ port: 0, host: "127.0.0.1", upstreams: [upstream.url], task: "arithmetic" }),
  );
  const url = `${await proxy.listen()}/v1/completions`;
  // `single` streams its one pass; self-refine its last round's, after a draft and a critique.
  const ways = [
    { label: "single", model: "single/reckon-tiny", reckon: undefined },
    {
      label: "self-refine (1 round, 8-token critique)",
      model: "self-refine/reckon-tiny",
      reckon: { maxRounds: 1, critiqueTokens: 8 },
    },
  ];
  try {
    for (const [index, way] of ways.entries()) {
      const body = (stream: boolean, i: number) =>
        JSON.stringify({
          model: way.model,
          prompt: formatArithmeticPrompt("12*7+45-9*3+16"),
          max_tokens: answerTokens,
          temperature: 1,
          seed: seed + i,
          stream,
          ...(way.reckon ? { reckon: way.reckon } : {}),
        });
      const streamed: number[] = [];
      const buffered: number[] = [];
      for (let i = 0; i < 8; i++) {
        // Alternating, so both ways see the same load.
        let started = performance.now();
        const response = await fetch(url, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: body(true, i),
        });
        const reader = response.body!.getReader();
        const decoder = new TextDecoder();
        let first: number | undefined;
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          if (first === undefined && /"text":"[^"]/.test(decoder.decode(value)))
            first = performance.now() - started;
        }
        streamed.push(first ?? Number.NaN);
        started = performance.now();
        await (
          await fetch(url, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: body(false, i),
          })
        ).json();
        buffered.push(performance.now() - started);
      }
      console.log(
        `1${"ab"[index]}. reckon serve, ${way.label}, passes of ${answerTokens} tokens, 8 requests each way (median):`,
      );
      console.log(
        `   time to first token streamed ${fixed(median(streamed))} ms, buffered ${fixed(median(buffered))} ms`,
      );
      console.log(`   buffered / streamed: ${fixed(median(buffered) / median(streamed), 1)}x sooner`);
    }
  } finally {
    await proxy.close();
    await upstream.close();
  }
}

async function firstFinishAndDeepConf(): Promise<void> {
  const upstream = await startLlamaServer({ parallel: 8, contextSize: 8 * 256 });
  const backend = createOpenAIBackend({ baseURL: upstream.url, model: "reckon-tiny", mode: "completion" });
  const problems = generateArithmeticProblems({ level, count, seed }).map(toProblem);
  const totals = {
    all: { ms: 0, tokens: 0, right: 0 },
    first: { ms: 0, tokens: 0, right: 0 },
    offline: { tokens: 0, right: 0 },
    online: { tokens: 0, right: 0, abandoned: 0 },
  };
  try {
    for (const [i, problem] of problems.entries()) {
      const base = { problem, backend, sampling: { ...sampling, seed: seed + i } };
      let started = performance.now();
      const all = await run({ ...base, strategy: "self-consistency", options: { n: 8 } });
      totals.all.ms += performance.now() - started;
      totals.all.tokens += all.usage.completionTokens;
      totals.all.right += all.answer === problem.reference ? 1 : 0;
      started = performance.now();
      const first = await run({ ...base, strategy: "first-finish", options: { n: 8, k: 1 } });
      totals.first.ms += performance.now() - started;
      totals.first.tokens += first.usage.completionTokens;
      totals.first.right += first.answer === problem.reference ? 1 : 0;
      const deep = { n: 24, warmup: 8, keep: 0.5, window: 4, topLogprobs: 3, consensus: 1 };
      const offline = await run({ ...base, strategy: "deepconf", options: { ...deep, mode: "offline" } });
      totals.offline.tokens += totalTokens(offline.usage);
      totals.offline.right += offline.answer === problem.reference ? 1 : 0;
      const online = await run({ ...base, strategy: "deepconf", options: { ...deep, mode: "online" } });
      totals.online.tokens += totalTokens(online.usage);
      totals.online.right += online.answer === problem.reference ? 1 : 0;
      totals.online.abandoned += Number(online.detail?.abandoned ?? 0);
    }
  } finally {
    await upstream.close();
  }
  const per = (x: number) => fixed(x / count);
  console.log(
    `\n2. level ${level}, ${count} problems, one request of n=8 on llama-server --parallel 8 (means per problem):`,
  );
  console.log(
    `   all 8 (majority)   ${per(totals.all.ms)} ms, ${per(totals.all.tokens)} completion tokens, accuracy ${fixed((100 * totals.all.right) / count)}%`,
  );
  console.log(
    `   first-finish k=1   ${per(totals.first.ms)} ms, ${per(totals.first.tokens)} completion tokens, accuracy ${fixed((100 * totals.first.right) / count)}%`,
  );
  console.log(
    `   first-finish / all: latency ${fixed(totals.first.ms / totals.all.ms, 2)}x, tokens ${fixed(totals.first.tokens / totals.all.tokens, 2)}x`,
  );
  console.log(`\n3. deepconf n=24 (8 warm-up), keep 0.5, window 4, top-3 confidence (means per problem):`);
  console.log(
    `   offline  ${per(totals.offline.tokens)} tokens, accuracy ${fixed((100 * totals.offline.right) / count)}%`,
  );
  console.log(
    `   online   ${per(totals.online.tokens)} tokens, accuracy ${fixed((100 * totals.online.right) / count)}%, ${per(totals.online.abandoned)} traces abandoned`,
  );
  console.log(`   online / offline tokens: ${fixed(totals.online.tokens / totals.offline.tokens, 2)}x`);
}

await timeToFirstToken();
await firstFinishAndDeepConf();
