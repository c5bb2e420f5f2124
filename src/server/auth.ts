/**
 * API keys: `Authorization: Bearer KEY` (and, on the routes of Anthropic's API, `x-api-key:
 * KEY`), compared in constant time against every configured key (digests of equal length, no
 * early exit), answered with 401s.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { ApiKeyConfig } from "./config.js";
import { HttpError } from "./errors.js";

export interface Caller {
  /** A name for logs and metrics: the key's name, or a short fingerprint; "anonymous" without auth. */
  name: string;
  key?: ApiKeyConfig;
}

const digest = (text: string) => createHash("sha256").update(text).digest();

export class ApiKeyAuth {
  private readonly entries: { digest: Buffer; config: ApiKeyConfig; name: string }[];

  constructor(keys: readonly ApiKeyConfig[]) {
    this.entries = keys.map((config) => ({
      digest: digest(config.key),
      config,
      name: config.name ?? `key-${digest(config.key).toString("hex").slice(0, 8)}`,
    }));
  }

  get enabled(): boolean {
    return this.entries.length > 0;
  }

  /** The caller of a request with this Authorization header, or a 401. */
  identify(authorization: string | undefined): Caller {
    if (!this.enabled) return { name: "anonymous" };
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "");
    if (!match)
      throw new HttpError(
        401,
        "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
        "invalid_request_error",
      );
    return this.check(match[1]!);
  }

  /**
   * As `identify`, where clients may also send the key as `x-api-key` (Anthropic's SDKs and
   * Claude Code). A request with both headers must name one caller in both: each key offered
   * is checked, none is ignored.
   */
  identifyWithApiKeyHeader(authorization: string | undefined, apiKey: string | undefined): Caller {
    if (!this.enabled) return { name: "anonymous" };
    if (apiKey === undefined) {
      if (authorization === undefined)
        throw new HttpError(
          401,
          "You didn't provide an API key: send it in an x-api-key header, or as Authorization: Bearer YOUR_KEY.",
          "invalid_request_error",
        );
      return this.identify(authorization);
    }
    const match = /^\s*(\S+)\s*$/.exec(apiKey);
    if (!match)
      throw new HttpError(401, "The x-api-key header is empty or malformed.", "invalid_request_error");
    const caller = this.check(match[1]!);
    if (authorization !== undefined && this.identify(authorization).key !== caller.key)
      throw new HttpError(
        401,
        "The x-api-key and Authorization headers name different keys; send one.",
        "invalid_request_error",
        null,
        "invalid_api_key",
      );
    return caller;
  }

  /** The caller whose key this is, or a 401. */
  private check(key: string): Caller {
    const offered = digest(key);
    let found: (typeof this.entries)[number] | undefined;
    for (const entry of this.entries) if (timingSafeEqual(entry.digest, offered) && !found) found = entry;
    if (!found)
      throw new HttpError(
        401,
        `Incorrect API key provided: ${redact(key)}.`,
        "invalid_request_error",
        null,
        "invalid_api_key",
      );
    return { name: found.name, key: found.config };
  }
}

/** As OpenAI shows a wrong key: its first and last characters only. */
function redact(key: string): string {
  return key.length <= 8 ? "****" : `${key.slice(0, 3)}****${key.slice(-4)}`;
}

/**
 * The operator's pages (/metrics, /ui and its API): open only when the server has no keys at
 * all. With `adminKeys` only those open them; with API keys alone, any API key does. Browsers
 * reach the dashboard through their own Basic prompt (the key as password), scripts with
 * `Authorization: Bearer KEY`.
 */
export class AdminAuth {
  private readonly digests: Buffer[];

  constructor(adminKeys: readonly string[], apiKeys: readonly ApiKeyConfig[]) {
    const keys = adminKeys.length > 0 ? adminKeys : apiKeys.map((k) => k.key);
    this.digests = keys.map(digest);
  }

  get enabled(): boolean {
    return this.digests.length > 0;
  }

  check(authorization: string | undefined): void {
    if (!this.enabled) return;
    const offered = offeredKey(authorization);
    let found = false;
    if (offered !== undefined) {
      const d = digest(offered);
      for (const entry of this.digests) if (timingSafeEqual(entry, d)) found = true;
    }
    if (!found)
      throw new HttpError(
        401,
        "this page needs an admin key: Authorization: Bearer KEY (or the key as a Basic password)",
        "invalid_request_error",
        null,
        "invalid_api_key",
        { "www-authenticate": 'Basic realm="reckon", charset="UTF-8"' },
      );
  }
}

function offeredKey(authorization: string | undefined): string | undefined {
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "");
  if (bearer) return bearer[1];
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(authorization ?? "");
  if (!basic) return undefined;
  const decoded = Buffer.from(basic[1]!, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) return decoded;
  const password = decoded.slice(colon + 1);
  return password === "" ? decoded.slice(0, colon) : password;
}
