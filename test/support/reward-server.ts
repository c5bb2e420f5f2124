/**
 * An outcome reward model on 127.0.0.1 (ephemeral port) for tests, scoring arithmetic
 * solutions with the exact step checker's outcome score.
 *
 *   const rm = await startRewardServer();
 *   rewardModelVerifier({ url: rm.url, protocol: "vllm-pooling" });   // POST {url}/pooling
 *   rewardModelVerifier({ url: `${rm.url}/score` });                  // {input: [...]} → {score: [...]}
 *
 * The pooling answer is a per-token list whose last entry is the reward, as vLLM's ALL pooling
 * gives for a reward head. `garbage` makes every answer wrong in the given way.
 */
import { arithmeticTask, parseArithmeticPrompt } from "../../src/tasks/arithmetic.js";
import { scoreArithmeticCandidate } from "../../src/verifiers/step-checker.js";
import { type Garbage, poolingAnswer, startJsonServer, type TestServer } from "./prm-server.js";

/** The checker's score of a prompt followed by a solution; 0 for anything else. */
export function arithmeticReward(text: string): number {
  const newline = text.indexOf("\n");
  const expression = parseArithmeticPrompt(text.slice(0, newline + 1));
  if (expression === undefined) return 0;
  const problem = { id: "rm", prompt: `Q: ${expression}=?\n`, task: arithmeticTask };
  return scoreArithmeticCandidate(problem, text.slice(newline + 1));
}

export function startRewardServer(options: { garbage?: Garbage } = {}): Promise<TestServer> {
  return startJsonServer(options.garbage, (path, body) => {
    const inputs: string[] = Array.isArray(body.input) ? body.input : [body.input];
    if (path === "/pooling")
      return poolingAnswer(
        inputs.map((text) => [0.01, 0.02, arithmeticReward(text)]),
        inputs,
      );
    if (path === "/score") return { score: inputs.map(arithmeticReward) };
    return undefined;
  });
}
