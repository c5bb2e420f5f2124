import { describe, expect, it } from "vitest";
import { LiveRequests } from "../../src/server/live.js";

const request = (id: string) => ({
  id,
  endpoint: "chat",
  model: "m",
  strategy: "single",
  caller: "anonymous",
  stream: false,
});

describe("the live view's recent requests", () => {
  it("keeps the newest `capacity` requests, newest first, also once it has wrapped around", () => {
    const live = new LiveRequests(3);
    for (const id of ["a", "b"]) live.start(request(id));
    expect(live.recent().map((r) => r.id)).toEqual(["b", "a"]);
    for (const id of ["c", "d", "e"]) live.start(request(id));
    expect(live.recent().map((r) => r.id)).toEqual(["e", "d", "c"]);
  });

  it("shows when each request started and, once it ended, how long it took", () => {
    const live = new LiveRequests(2);
    const before = Date.now();
    const entry = live.start(request("a"));
    live.end(entry, 200);
    const [shown] = live.recent();
    expect(Date.parse(shown!.startedAt)).toBeGreaterThanOrEqual(before - 1);
    expect(shown!.status).toBe(200);
    expect(shown!.latencyMs).toBeGreaterThanOrEqual(0);
    expect(shown).not.toHaveProperty("startedMs");
  });

  it("keeps nothing with a capacity of 0", () => {
    const live = new LiveRequests(0);
    live.start(request("a"));
    expect(live.recent()).toEqual([]);
  });
});
