/**
 * What `reckon serve` checks before it binds a port: a default strategy, task or verifier
 * that could never work is the operator's mistake, so the server refuses to start and says
 * which setting to fix, instead of starting and failing every client's request.
 */
import { InvalidInputError, ReckonError } from "../core/errors.js";
import { formatIssuePath } from "../core/validate.js";
import { getStrategy, listStrategies } from "../strategies/registry.js";
import { getTask, taskNames } from "../tasks/registry.js";
import type { ServerConfig } from "./config.js";
import type { ServerVerifiers } from "./verifiers.js";

export async function checkServerConfig(
  config: ServerConfig,
  defaultTask: string,
  verifiers: ServerVerifiers,
): Promise<void> {
  const { name, options } = config.defaultStrategy;
  const names = listStrategies().map((s) => s.name);
  if (!names.includes(name))
    throw new InvalidInputError(
      "default strategy (--strategy)",
      `unknown strategy "${name}"`,
      `one of: ${names.join(", ")}`,
    );
  const strategy = getStrategy(name);
  const parsed = strategy.options.safeParse(options);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new InvalidInputError(
      `defaultStrategy.options${issue.path.length > 0 ? `.${formatIssuePath(issue.path)}` : ""}`,
      issue.message,
    );
  }
  const task = config.task ?? defaultTask;
  if (!taskNames.includes(task))
    throw new InvalidInputError("--task", `unknown task "${task}"`, `one of: ${taskNames.join(", ")}`);
  getTask(task);
  if (strategy.needsVerifier && verifiers.defaultSpec === undefined)
    throw new InvalidInputError(
      "--verifier",
      `the default strategy "${name}" needs a verifier`,
      "give one with --verifier SPEC (e.g. --verifier orm:http://HOST:PORT/v1) or choose another --strategy",
    );
  for (const { where, spec } of verifiers.configuredSpecs()) {
    try {
      // The step checker judges only its own task; check it against that one.
      await verifiers.resolve(spec, spec.startsWith("step-checker") ? "arithmetic" : task);
    } catch (error) {
      if (!(error instanceof ReckonError)) throw error;
      throw new InvalidInputError(where, `cannot use verifier "${spec}": ${error.message.split("\n")[0]}`);
    }
  }
}
