import { describe, expect, it } from "vitest";
import { AbortedError } from "../../src/core/errors.js";
import { ConcurrencyLimiter } from "../../src/sandbox/limiter.js";

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

describe("ConcurrencyLimiter", () => {
  it("runs at most `limit` tasks at once, in the order they came", async () => {
    const limiter = new ConcurrencyLimiter(2);
    let running = 0;
    let peak = 0;
    const started: number[] = [];
    await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        limiter.run(async () => {
          started.push(i);
          peak = Math.max(peak, ++running);
          await tick();
          running--;
        }),
      ),
    );
    expect(peak).toBe(2);
    expect(started).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it("frees the slot of a task that throws, and drops a waiting task that is aborted", async () => {
    const limiter = new ConcurrencyLimiter(1);
    const failing = limiter.run(async () => {
      await tick();
      throw new Error("boom");
    });
    const controller = new AbortController();
    const aborted = limiter.run(async () => "never", controller.signal);
    const next = limiter.run(async () => "ran");
    // Watched before the abort rejects it, so the rejection is never unhandled.
    const abortedCheck = expect(aborted).rejects.toThrow(AbortedError);
    controller.abort();
    await expect(failing).rejects.toThrow("boom");
    await abortedCheck;
    await expect(next).resolves.toBe("ran");
  });
});
