/**
 * The verifiers a request may use. Those that reach the network (reward models over HTTP)
 * come only from the operator's configuration, as named entries (`verifiers: {rm:
 * "orm:http://…"}`, `--verifier rm=orm:http://…`); a client chooses one by name and can
 * never make the server call an address of its choosing. Verifiers that run in the process
 * or on the served model itself (`step-checker[:NOISE]`, `judge[:logprobs|verdict]`) may be
 * named by clients directly.
 */
import type { Verifier } from "../core/verifier.js";
import { resolveVerifier } from "../verifiers/registry.js";
import type { ServerConfig } from "./config.js";
import { invalidRequest } from "./errors.js";

/** Specs a client may give as they are: nothing in them names a place to connect to. */
const inProcessSpec = /^(step-checker(:(0(\.\d+)?|1(\.0+)?))?|judge(:(logprobs|verdict))?)$/;

export class ServerVerifiers {
  private readonly named: ReadonlyMap<string, string>;
  /** The spec of requests that name no verifier. */
  readonly defaultSpec: string | undefined;

  constructor(config: Pick<ServerConfig, "verifiers" | "verifier">) {
    this.named = new Map(Object.entries(config.verifiers));
    this.defaultSpec =
      config.verifier === undefined ? undefined : (this.named.get(config.verifier) ?? config.verifier);
  }

  /** The names clients may choose, configured ones first. */
  names(): string[] {
    return [...this.named.keys(), "step-checker[:NOISE]", "judge[:logprobs|verdict]"];
  }

  /** The spec for a client's `reckon.verifier` (or the default when it names none). */
  specFor(requested: string | undefined): string | undefined {
    if (requested === undefined) return this.defaultSpec;
    const configured = this.named.get(requested);
    if (configured !== undefined) return configured;
    if (inProcessSpec.test(requested)) return requested;
    throw invalidRequest(
      `unknown verifier "${requested.length > 80 ? `${requested.slice(0, 80)}…` : requested}"; this server offers: ${this.names().join(", ")}`,
      "reckon.verifier",
    );
  }

  /** Every spec the operator configured, for checking at start-up. */
  configuredSpecs(): { where: string; spec: string }[] {
    const specs = [...this.named].map(([name, spec]) => ({ where: `verifiers.${name}`, spec }));
    if (this.defaultSpec !== undefined) specs.push({ where: "verifier", spec: this.defaultSpec });
    return specs;
  }

  resolve(spec: string, task: string): Promise<Verifier> {
    return resolveVerifier(spec, { task });
  }
}
