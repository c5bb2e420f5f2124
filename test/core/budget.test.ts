import { describe, expect, it } from "vitest";
import { Budget } from "../../src/core/budget.js";
import { BudgetExhaustedError } from "../../src/core/errors.js";
import { estimateFlops, Meter } from "../../src/core/meter.js";
import { emptyUsage, type Usage } from "../../src/core/types.js";

const spend = (meter: Meter, usage: Partial<Usage>) => meter.record({ ...emptyUsage(), ...usage });

describe("Budget", () => {
  it("reports the first limit reached, verifier tokens included", () => {
    const meter = new Meter();
    const budget = new Budget({ maxTokens: 100, maxCalls: 3 }, meter);
    spend(meter, { promptTokens: 40, completionTokens: 50, calls: 2 });
    expect(budget.exhausted()).toBeUndefined();
    expect(budget.remainingTokens()).toBe(10);
    spend(meter, { verifierTokens: 10 });
    const tokens = budget.exhausted();
    expect(tokens).toBeInstanceOf(BudgetExhaustedError);
    expect(tokens?.limit).toBe("tokens");
  });

  it("counts calls", () => {
    const meter = new Meter();
    const budget = new Budget({ maxCalls: 3 }, meter);
    spend(meter, { calls: 3 });
    expect(budget.exhausted()?.limit).toBe("calls");
  });

  it("is unlimited when no limit is set", () => {
    const meter = new Meter();
    const budget = new Budget({}, meter);
    spend(meter, { completionTokens: 1e9, calls: 1e6 });
    expect(budget.exhausted()).toBeUndefined();
    expect(budget.remainingTokens()).toBeUndefined();
  });

  it("expires on wall time", async () => {
    const budget = new Budget({ maxWallMs: 1 }, new Meter());
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(budget.exhausted()?.limit).toBe("wallMs");
  });

  it("stops on money once prices turned usage into cost", () => {
    const meter = new Meter();
    const budget = new Budget({ maxCostUsd: 0.01 }, meter);
    spend(meter, { costUsd: 0.005 });
    expect(budget.exhausted()).toBeUndefined();
    spend(meter, { costUsd: 0.005 });
    expect(budget.exhausted()?.limit).toBe("costUsd");
  });

  it("nests: a child scope answers to its parent's limits and reports its spending upward", () => {
    const parentMeter = new Meter();
    const parent = new Budget({ maxTokens: 100 }, parentMeter);
    const childMeter = new Meter(parentMeter);
    const child = new Budget({ maxTokens: 1000 }, childMeter, parent);
    spend(parentMeter, { completionTokens: 60 });
    expect(child.remainingTokens()).toBe(40);
    spend(childMeter, { completionTokens: 40 });
    expect(parentMeter.usage.completionTokens).toBe(100);
    expect(childMeter.usage.completionTokens).toBe(40);
    expect(child.exhausted()?.limit).toBe("tokens");
  });
});

describe("estimateFlops", () => {
  it("counts two operations per parameter per processed token", () => {
    expect(estimateFlops(1_000_000, { ...emptyUsage(), promptTokens: 10, completionTokens: 5 })).toBe(
      30_000_000,
    );
  });
});
