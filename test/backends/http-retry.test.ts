import { describe, expect, it } from "vitest";
import { backoffDelayMs, parseRetryAfter, retryDelayMs, sleep } from "../../src/backends/http-retry.js";
import { AbortedError } from "../../src/core/errors.js";

const policy = { maxRetries: 5, baseDelayMs: 100, maxDelayMs: 1000 };

describe("retry timing", () => {
  it("reads Retry-After as seconds or as an HTTP date", () => {
    const now = Date.parse("2026-01-01T00:00:00Z");
    expect(parseRetryAfter("3", now)).toBe(3000);
    expect(parseRetryAfter(" 0.5 ", now)).toBe(500);
    expect(parseRetryAfter("Thu, 01 Jan 2026 00:00:10 GMT", now)).toBe(10_000);
    expect(parseRetryAfter("Wed, 31 Dec 2025 23:59:00 GMT", now)).toBe(0);
    expect(parseRetryAfter("soon", now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });

  it("doubles the backoff ceiling per retry, keeps half of it, and caps it", () => {
    expect(backoffDelayMs(0, policy, () => 0)).toBe(50);
    expect(backoffDelayMs(0, policy, () => 1)).toBe(100);
    expect(backoffDelayMs(2, policy, () => 0)).toBe(200);
    expect(backoffDelayMs(2, policy, () => 1)).toBe(400);
    expect(backoffDelayMs(10, policy, () => 1)).toBe(1000);
  });

  it("prefers the server's Retry-After, capped by the policy", () => {
    expect(retryDelayMs(0, policy, 700)).toBe(700);
    expect(retryDelayMs(0, policy, 60_000)).toBe(1000);
    expect(retryDelayMs(0, policy, 0)).toBe(0);
  });

  it("sleep rejects with AbortedError as soon as the signal aborts", async () => {
    const controller = new AbortController();
    const pending = sleep(600_000, controller.signal);
    controller.abort();
    await expect(pending).rejects.toThrow(AbortedError);
    await expect(sleep(1, AbortSignal.abort())).rejects.toThrow(AbortedError);
    await expect(sleep(1)).resolves.toBeUndefined();
  });
});
