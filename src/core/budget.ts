import { z } from "zod";
import { BudgetExhaustedError } from "./errors.js";
import type { Usage } from "./types.js";

export const budgetSchema = z
  .object({
    maxTokens: z.number().int().positive().optional(),
    maxCalls: z.number().int().positive().optional(),
    maxWallMs: z.number().positive().optional(),
  })
  .strict();

export type BudgetLimits = z.infer<typeof budgetSchema>;

/** Limits checked before each backend call; wall time counts from construction. */
export class Budget {
  private readonly startedAt = Date.now();

  constructor(readonly limits: BudgetLimits = {}) {}

  /** The first limit that `spent` has reached, if any. */
  exhausted(spent: Usage): BudgetExhaustedError | undefined {
    const { maxTokens, maxCalls, maxWallMs } = this.limits;
    if (maxTokens !== undefined && spent.promptTokens + spent.completionTokens >= maxTokens)
      return new BudgetExhaustedError("tokens");
    if (maxCalls !== undefined && spent.calls >= maxCalls) return new BudgetExhaustedError("calls");
    if (maxWallMs !== undefined && Date.now() - this.startedAt >= maxWallMs)
      return new BudgetExhaustedError("wallMs");
    return undefined;
  }

  /** Tokens still available, or undefined when unlimited. */
  remainingTokens(spent: Usage): number | undefined {
    if (this.limits.maxTokens === undefined) return undefined;
    return Math.max(0, this.limits.maxTokens - spent.promptTokens - spent.completionTokens);
  }

  /** Milliseconds left before the wall-time limit, or undefined when unlimited. */
  remainingMs(): number | undefined {
    if (this.limits.maxWallMs === undefined) return undefined;
    return Math.max(0, this.limits.maxWallMs - (Date.now() - this.startedAt));
  }
}
