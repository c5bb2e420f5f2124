import { describe, expect, it } from "vitest";
import { Budget } from "../../src/core/budget.js";
import { BudgetExhaustedError } from "../../src/core/errors.js";
import { estimateFlops } from "../../src/core/meter.js";
import { emptyUsage } from "../../src/core/types.js";

describe("Budget", () => {
  it("reports the first limit reached", () => {
    const budget = new Budget({ maxTokens: 100, maxCalls: 3 });
    expect(
      budget.exhausted({ ...emptyUsage(), promptTokens: 40, completionTokens: 59, calls: 2 }),
    ).toBeUndefined();
    const tokens = budget.exhausted({ ...emptyUsage(), promptTokens: 40, completionTokens: 60, calls: 1 });
    expect(tokens).toBeInstanceOf(BudgetExhaustedError);
    expect(tokens?.limit).toBe("tokens");
    expect(budget.exhausted({ ...emptyUsage(), calls: 3 })?.limit).toBe("calls");
    expect(budget.remainingTokens({ ...emptyUsage(), completionTokens: 30 })).toBe(70);
  });

  it("is unlimited when no limit is set", () => {
    const budget = new Budget();
    expect(budget.exhausted({ ...emptyUsage(), completionTokens: 1e9, calls: 1e6 })).toBeUndefined();
    expect(budget.remainingTokens(emptyUsage())).toBeUndefined();
  });

  it("expires on wall time", async () => {
    const budget = new Budget({ maxWallMs: 1 });
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(budget.exhausted(emptyUsage())?.limit).toBe("wallMs");
  });
});

describe("estimateFlops", () => {
  it("counts two operations per parameter per processed token", () => {
    expect(estimateFlops(1_000_000, { ...emptyUsage(), promptTokens: 10, completionTokens: 5 })).toBe(
      30_000_000,
    );
  });
});
