"""Training batches: seeded problems of all levels, with a fraction of steps corrupted.

A corrupted step states a wrong result and the rest of the solution continues consistently
from it, so the model learns to make occasional, varied slips instead of one systematic error;
that variety is what lets voting and verifiers improve on a single sample.
"""

import random

import torch

from arith_gen import apply_op, format_expression, format_prompt, generate_problem, reduce_expression
from vocab import BOS, EOS, encode


def corrupted_solution(nums, ops, step_error_rate, rng):
    def maybe_slip(a, op, b):
        c = apply_op(a, op, b)
        if rng.random() < step_error_rate:
            delta = rng.choice([d for d in range(-10, 11) if d != 0])
            c = c + delta if c + delta >= 0 else c - delta
        return c

    steps = reduce_expression(nums, ops, maybe_slip)
    return "".join(f"{a}{op}{b}={c}\n" for a, op, b, c in steps) + f"A: {steps[-1][3]}"


class BatchMaker:
    def __init__(self, spec, seed, step_error_rate, bos_rate=0.5):
        self.spec = spec
        self.seed = seed
        self.step_error_rate = step_error_rate
        self.bos_rate = bos_rate
        self.rng = random.Random(seed)
        self.index = 0
        self.levels = [lv["level"] for lv in spec["levels"]]

    def example(self, level):
        p = generate_problem(self.spec, level, self.seed, self.index)
        self.index += 1
        prompt = format_prompt(format_expression(p["_nums"], p["_ops"]))
        solution = corrupted_solution(p["_nums"], p["_ops"], self.step_error_rate, self.rng)
        # Half with BOS, half without: callers may or may not prepend it.
        prefix = [BOS] if self.rng.random() < self.bos_rate else []
        prompt_ids = prefix + encode(prompt)
        target_ids = encode(solution) + [EOS]
        return prompt_ids, target_ids

    def batch(self, size):
        # one level per batch: similar lengths, so little compute goes to padding
        level = self.rng.choice(self.levels)
        rows = [self.example(level) for _ in range(size)]
        length = max(len(p) + len(t) for p, t in rows)
        ids = torch.full((size, length), EOS, dtype=torch.long)
        targets = torch.full((size, length), -100, dtype=torch.long)
        for r, (p, t) in enumerate(rows):
            seq = p + t
            ids[r, : len(seq)] = torch.tensor(seq)
            # predict token i+1 from position i; loss only on the solution and EOS
            targets[r, len(p) - 1 : len(seq) - 1] = torch.tensor(t)
        return ids, targets
