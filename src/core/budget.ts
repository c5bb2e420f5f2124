import { z } from "zod";
import { BudgetExhaustedError } from "./errors.js";
import type { Meter } from "./meter.js";
import { totalTokens } from "./types.js";

export const budgetSchema = z
  .object({
    /** Generator and verifier tokens together, prompt and completion. */
    maxTokens: z.number().int().positive().optional(),
    maxCalls: z.number().int().positive().optional(),
    maxWallMs: z.number().positive().optional(),
    /** Needs prices (`RunOptions.prices`) to mean anything. */
    maxCostUsd: z.number().positive().optional(),
  })
  .strict();

export type BudgetLimits = z.infer<typeof budgetSchema>;

/**
 * Limits on what one scope may spend, read from that scope's meter; a child scope's budget
 * also answers to its parent's, so a nested strategy can never outspend its caller. Wall time
 * counts from construction.
 */
export class Budget {
  /** When the clock of a wall-time limit started (read only under such a limit). */
  private readonly startedAt: number;

  constructor(
    readonly limits: BudgetLimits,
    private readonly meter: Meter,
    private readonly parent?: Budget,
  ) {
    this.startedAt = limits.maxWallMs === undefined ? 0 : Date.now();
  }

  /** The first limit reached, here or in an enclosing scope, if any. */
  exhausted(): BudgetExhaustedError | undefined {
    const { maxTokens, maxCalls, maxWallMs, maxCostUsd } = this.limits;
    // Without limits of its own (most scopes), nothing here to read.
    if (
      maxTokens === undefined &&
      maxCalls === undefined &&
      maxWallMs === undefined &&
      maxCostUsd === undefined
    )
      return this.parent?.exhausted();
    const spent = this.meter.usage;
    if (maxTokens !== undefined && totalTokens(spent) >= maxTokens) return new BudgetExhaustedError("tokens");
    if (maxCalls !== undefined && spent.calls >= maxCalls) return new BudgetExhaustedError("calls");
    if (maxWallMs !== undefined && Date.now() - this.startedAt >= maxWallMs)
      return new BudgetExhaustedError("wallMs");
    if (maxCostUsd !== undefined && (spent.costUsd ?? 0) >= maxCostUsd)
      return new BudgetExhaustedError("costUsd");
    return this.parent?.exhausted();
  }

  /** Tokens still available here and in every enclosing scope, or undefined when unlimited. */
  remainingTokens(): number | undefined {
    const own =
      this.limits.maxTokens === undefined
        ? undefined
        : Math.max(0, this.limits.maxTokens - totalTokens(this.meter.usage));
    const parent = this.parent?.remainingTokens();
    if (own === undefined) return parent;
    return parent === undefined ? own : Math.min(own, parent);
  }

  /** Milliseconds left before a wall-time limit, or undefined when unlimited. */
  remainingMs(): number | undefined {
    const own =
      this.limits.maxWallMs === undefined
        ? undefined
        : Math.max(0, this.limits.maxWallMs - (Date.now() - this.startedAt));
    const parent = this.parent?.remainingMs();
    if (own === undefined) return parent;
    return parent === undefined ? own : Math.min(own, parent);
  }
}
