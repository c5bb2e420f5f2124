"""Seeded generator of the arithmetic task; mirrors src/tasks/arithmetic.ts exactly.

Both read src/tasks/arithmetic-spec.json and use the same PRNG (mulberry32 seeded through
murmur3's fmix32), so a (level, seed, index) triple names the same problem in both languages.
No torch here: the cross-language test imports this module with a bare python3.
"""

import argparse
import json
import os

M32 = 0xFFFFFFFF
SPEC_PATH = os.path.join(os.path.dirname(__file__), "..", "..", "src", "tasks", "arithmetic-spec.json")


def load_spec(path=SPEC_PATH):
    with open(path) as f:
        return json.load(f)


def imul(a, b):
    return (a * b) & M32


def fmix32(h):
    h &= M32
    h ^= h >> 16
    h = imul(h, 0x85EBCA6B)
    h ^= h >> 13
    h = imul(h, 0xC2B2AE35)
    h ^= h >> 16
    return h


def problem_seed(seed, level, index):
    return fmix32((fmix32(fmix32(seed) ^ level) + index) & M32)


class Mulberry32:
    def __init__(self, seed):
        self.state = seed & M32

    def next_u32(self):
        self.state = (self.state + 0x6D2B79F5) & M32
        a = self.state
        t = imul(a ^ (a >> 15), a | 1)
        t = ((t + imul(t ^ (t >> 7), t | 61)) & M32) ^ t
        return (t ^ (t >> 14)) & M32

    def int(self, lo, hi):
        """Uniform integer in [lo, hi]."""
        return lo + ((self.next_u32() * (hi - lo + 1)) >> 32)

    def pick(self, items):
        return items[self.int(0, len(items) - 1)]


def apply_op(a, op, b):
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    return a * b


def reduce_expression(nums, ops, result):
    """Steps [(a, op, b, c)] in the canonical order: products left to right, then sums left to right.

    `result(a, op, b)` gives each step's value (None gives up and returns None), so the exact
    solver and the training data's corrupted solutions share one order of reduction."""
    nums, ops = list(nums), list(ops)
    steps = []
    while ops:
        j = ops.index("*") if "*" in ops else 0
        a, op, b = nums[j], ops[j], nums[j + 1]
        c = result(a, op, b)
        if c is None:
            return None
        steps.append((a, op, b, c))
        nums[j : j + 2] = [c]
        del ops[j]
    return steps


def solve(nums, ops, max_value):
    """The exact solution, or None when a value leaves [0, max_value]."""

    def exact(a, op, b):
        c = apply_op(a, op, b)
        return c if 0 <= c <= max_value else None

    return reduce_expression(nums, ops, exact)


def format_expression(nums, ops):
    out = str(nums[0])
    for op, n in zip(ops, nums[1:]):
        out += op + str(n)
    return out


def format_prompt(expression):
    return "Q: " + expression + "=?\n"


def format_solution(steps):
    lines = [f"{a}{op}{b}={c}" for a, op, b, c in steps]
    return "".join(line + "\n" for line in lines) + f"A: {steps[-1][3]}"


def generate_problem(spec, level, seed, index):
    cfg = next((lv for lv in spec["levels"] if lv["level"] == level), None)
    if cfg is None:
        raise ValueError(f"unknown level {level}")
    rng = Mulberry32(problem_seed(seed, level, index))
    n_ops = cfg["operations"]
    for _ in range(spec["maxAttempts"]):
        ops = [rng.pick(cfg["operators"]) for _ in range(n_ops)]
        nums = []
        for i in range(n_ops + 1):
            next_to_mul = (i > 0 and ops[i - 1] == "*") or (i < n_ops and ops[i] == "*")
            if next_to_mul:
                nums.append(rng.int(2, cfg["maxFactor"]))
            else:
                nums.append(rng.int(cfg["minOperand"], cfg["maxOperand"]))
        steps = solve(nums, ops, spec["maxValue"])
        if steps is not None:
            expression = format_expression(nums, ops)
            return {
                "id": f"arith-L{level}-s{seed}-{index}",
                "level": level,
                "expression": expression,
                "prompt": format_prompt(expression),
                "steps": [f"{a}{op}{b}={c}" for a, op, b, c in steps],
                "solution": format_solution(steps),
                "reference": str(steps[-1][3]),
                "_nums": nums,
                "_ops": ops,
            }
    raise RuntimeError(f"no valid problem for level {level} seed {seed} index {index}")


def generate_problems(level, count, seed, spec=None, start=0):
    spec = spec or load_spec()
    return [generate_problem(spec, level, seed, i) for i in range(start, start + count)]


def main():
    parser = argparse.ArgumentParser(description="Print seeded arithmetic problems as JSON.")
    parser.add_argument("--level", type=int, required=True)
    parser.add_argument("--count", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    problems = generate_problems(args.level, args.count, args.seed)
    for p in problems:
        del p["_nums"], p["_ops"]
    print(json.dumps(problems))


if __name__ == "__main__":
    main()
