import { describe, expect, it } from "vitest";
import { Semaphore } from "../../src/backends/semaphore.js";
import { AbortedError } from "../../src/core/errors.js";

describe("Semaphore", () => {
  it("grants up to the limit and serves waiters in order", async () => {
    const semaphore = new Semaphore(2);
    const a = await semaphore.acquire();
    const b = await semaphore.acquire();
    const order: string[] = [];
    const c = semaphore.acquire().then((release) => {
      order.push("c");
      return release;
    });
    const d = semaphore.acquire().then((release) => {
      order.push("d");
      return release;
    });
    expect(semaphore.inUse).toBe(2);
    a();
    a(); // releasing twice frees one slot only
    (await c)();
    b();
    (await d)();
    expect(order).toEqual(["c", "d"]);
    expect(semaphore.inUse).toBe(0);
  });

  it("drops a waiter whose signal aborts", async () => {
    const semaphore = new Semaphore(1);
    const held = await semaphore.acquire();
    const controller = new AbortController();
    const waiting = semaphore.acquire(controller.signal);
    controller.abort();
    await expect(waiting).rejects.toThrow(AbortedError);
    held();
    expect(semaphore.inUse).toBe(0);
    (await semaphore.acquire())();
  });
});
