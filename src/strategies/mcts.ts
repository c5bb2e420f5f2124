import { z } from "zod";
import type { Candidate, StopReason } from "../core/types.js";
import {
  asCandidate,
  expandNodes,
  growNodes,
  nodeCandidate,
  requireContinuation,
  rootNode,
  type SearchNode,
  selectAnswer,
  stepSearchFields,
  stepSettings,
} from "./steps.js";
import { defineStrategy } from "./strategy.js";

const mctsOptions = z
  .object({
    simulations: z.number().int().min(1).max(4096).default(16).describe("select-expand-evaluate rounds"),
    branching: z.number().int().min(1).max(64).default(3).describe("children drawn when a leaf is expanded"),
    exploration: z.number().min(0).max(100).default(1).describe("UCT exploration constant c"),
    value: z
      .enum(["prm", "rollout"])
      .default("prm")
      .describe("a new node's value: its path score, or the verifier's score of a sampled completion"),
    ...stepSearchFields,
  })
  .strict();

/** A node of the MCTS tree: a search node with its visit count and summed value. */
export interface TreeNode {
  node: SearchNode;
  parent?: TreeNode;
  children: TreeNode[];
  visits: number;
  valueSum: number;
}

/** Mean value plus the UCT exploration bonus (Kocsis & Szepesvári 2006). */
export function uct(child: Pick<TreeNode, "visits" | "valueSum">, parentVisits: number, c: number): number {
  if (child.visits === 0) return Number.POSITIVE_INFINITY;
  return child.valueSum / child.visits + c * Math.sqrt(Math.log(Math.max(1, parentVisits)) / child.visits);
}

/** The child a simulation descends into: the highest UCT (an unvisited one first); ties: the earliest. */
export function selectChild<T extends Pick<TreeNode, "visits" | "valueSum">>(
  children: readonly T[],
  parentVisits: number,
  c: number,
): T {
  return children.reduce((best, child) =>
    uct(child, parentVisits, c) > uct(best, parentVisits, c) ? child : best,
  );
}

/**
 * Monte Carlo tree search over solution steps (as in rStar and the MCTS variants of step-level
 * search): each simulation walks down the tree by UCT to a leaf, expands it with `branching`
 * next steps, values each new node (its process-verifier path score, or the outcome score of a
 * rollout to the end) and backs the values up the path. Finished paths, and rollouts, are the
 * candidates.
 */
export const mcts = defineStrategy({
  name: "mcts",
  description:
    "Monte Carlo tree search over steps: UCT selection, expansion by `branching` steps, value from the verifier or rollouts.",
  options: mctsOptions,
  needsVerifier: true,
  sampleBudget: "simulations",
  async run(problem, ctx, options) {
    requireContinuation(ctx, "mcts");
    const settings = stepSettings(problem, ctx, options);
    const root: TreeNode = { node: rootNode(ctx), children: [], visits: 0, valueSum: 0 };
    const candidates: Candidate[] = [];
    let stopReason: StopReason = "completed";
    let simulations = 0;
    const backup = (leaf: TreeNode, value: number) => {
      for (let t: TreeNode | undefined = leaf; t; t = t.parent) {
        t.visits += 1;
        t.valueSum += value;
      }
    };
    for (; simulations < options.simulations; simulations++) {
      let leaf = root;
      while (leaf.children.length > 0) {
        leaf = selectChild(leaf.children, leaf.visits, options.exploration);
      }
      const outcome = await simulate(leaf);
      if (outcome === "budget") {
        stopReason = "budget";
        simulations++;
        break;
      }
      if (outcome === "stuck") break; // nothing drawn: the tree cannot grow
    }

    /**
     * From a selected leaf: with PRM values, keep growing and descending into the best new child
     * until the solution ends, and back up the end's score (new siblings start with their own
     * score as one visit, so UCT compares them without drawing them first); with rollouts, grow
     * once and back up each child's rollout score.
     */
    async function simulate(leaf: TreeNode): Promise<"ok" | "budget" | "stuck"> {
      let current = leaf;
      for (;;) {
        // A finished solution (or a path at the depth limit) is re-valued, not grown.
        if (current.node.done || current.node.depth >= options.maxDepth) {
          backup(current, current.node.score);
          return "ok";
        }
        const grown = await growNodes(problem, ctx, settings, [
          { parent: current.node, n: options.branching },
        ]);
        const parent = current;
        const children = grown.nodes.map(
          (node): TreeNode => ({ node, parent, children: [], visits: 0, valueSum: 0 }),
        );
        parent.children.push(...children);
        for (const child of children)
          if (child.node.done) candidates.push(nodeCandidate(problem, child.node));
        if (children.length === 0) return grown.budgetExhausted ? "budget" : "stuck";
        if (options.value === "rollout") {
          let budgetExhausted = grown.budgetExhausted;
          let values = children.map((child) => child.node.score);
          if (!budgetExhausted) {
            const rolled = await rollout(children.filter((c) => !c.node.done).map((c) => c.node));
            budgetExhausted = rolled.budgetExhausted;
            values = children.map((child) => rolled.values.get(child.node) ?? child.node.score);
          }
          children.forEach((child, i) => {
            backup(child, values[i]!);
          });
          return budgetExhausted ? "budget" : "ok";
        }
        const best = children.reduce((a, b) => (b.node.score > a.node.score ? b : a));
        for (const child of children)
          if (child !== best) {
            child.visits = 1;
            child.valueSum = child.node.score;
          }
        if (grown.budgetExhausted) {
          backup(best, best.node.score);
          return "budget";
        }
        current = best;
      }
    }

    /** Completes open nodes with one sampled continuation each and scores the whole solutions. */
    async function rollout(nodes: SearchNode[]) {
      const values = new Map<SearchNode, number>();
      if (nodes.length === 0) return { values, budgetExhausted: false };
      const drawn = await expandNodes(
        problem,
        ctx,
        settings,
        nodes.map((parent) => ({ parent, n: 1, toEnd: true })),
      );
      const completed = drawn.steps.map((s) =>
        asCandidate(problem, s.parent.text + s.text, s.finishReason, s.parent.tokens + s.tokens),
      );
      if (completed.length > 0) {
        const scores = await ctx.verifier!.score(problem, completed, ctx.verifierContext);
        completed.forEach((candidate, i) => {
          const scored = { ...candidate, score: scores[i]! };
          if (scored.finishReason !== "length") candidates.push(scored);
          values.set(drawn.steps[i]!.parent, scored.score);
          ctx.trace.emit({
            kind: "scored",
            parent: drawn.steps[i]!.parent.id,
            text: drawn.steps[i]!.text,
            tokens: drawn.steps[i]!.tokens,
            score: scored.score,
            data: { rollout: true },
          });
        });
      }
      return { values, budgetExhausted: drawn.budgetExhausted };
    }

    // Nothing finished: fall back to the most visited path's end, so there is still an answer.
    if (candidates.length === 0) {
      let t = root;
      while (t.children.length > 0) t = t.children.reduce((a, b) => (b.visits > a.visits ? b : a));
      if (t !== root) candidates.push(nodeCandidate(problem, t.node));
    }
    const { answer, tally, chosen } = selectAnswer(problem, candidates, options.select);
    return {
      answer,
      candidates,
      tally,
      chosen,
      stopReason,
      detail: { simulations, rootVisits: root.visits, treeSize: countNodes(root) - 1 },
    };
  },
});

function countNodes(t: TreeNode): number {
  return 1 + t.children.reduce((sum, c) => sum + countNodes(c), 0);
}
