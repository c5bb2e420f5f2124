"""Train the tiny arithmetic model. Run by hand in the background, never in CI, e.g.:

  OMP_WAIT_POLICY=PASSIVE OPENBLAS_NUM_THREADS=1 nohup /usr/bin/python3 tools/train-tiny/train.py \
      --out tools/train-tiny/out/main --minutes 68 --threads 1 > tools/train-tiny/out/main.log 2>&1 &

Rerunning with the same --out resumes from its last checkpoint. See models/README.md for the
settings of the shipped model.
"""

import argparse
import json
import math
import os
import shutil
import time

import torch
import torch.nn.functional as F

from arith_gen import load_spec
from data import BatchMaker
from model import Config, TinyLlama
from vocab import VOCAB_SIZE


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--out", required=True)
    p.add_argument("--dim", type=int, default=128)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--ffn", type=int, default=384)
    p.add_argument("--steps", type=int, default=100000, help="upper bound; --minutes usually ends the run")
    p.add_argument("--minutes", type=float, default=60.0, help="time budget; the learning rate decays over it")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--warmup", type=int, default=50)
    p.add_argument("--step-error-rate", type=float, default=0.1)
    p.add_argument("--seed", type=int, default=2_000_000)
    p.add_argument("--checkpoint-every", type=int, default=100)
    p.add_argument("--keep-every", type=int, default=300, help="also keep ckpt-<step>.pt this often")
    p.add_argument("--threads", type=int, default=2)
    return p.parse_args()


def progress_at(step, elapsed, args):
    """Fraction of the run done: by steps or by the time budget, whichever is further."""
    return max(step / args.steps, elapsed / (args.minutes * 60))


def lr_at(step, progress, args):
    if step < args.warmup:
        return args.lr * (step + 1) / args.warmup
    return args.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


def save(path, model, opt, step, args, batches, elapsed):
    tmp = path + ".tmp"
    torch.save(
        {
            "config": model.cfg.to_dict(),
            "model": model.state_dict(),
            "opt": opt.state_dict(),
            "step": step,
            "args": vars(args),
            "batch_index": batches.index,
            "rng": batches.rng.getstate(),
            "elapsed": elapsed,
        },
        tmp,
    )
    os.replace(tmp, path)


def main():
    args = parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    os.makedirs(args.out, exist_ok=True)
    cfg = Config(vocab_size=VOCAB_SIZE, dim=args.dim, n_layers=args.layers, n_heads=args.heads, ffn_dim=args.ffn)
    model = TinyLlama(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.98), weight_decay=0.01)
    batches = BatchMaker(load_spec(), args.seed, args.step_error_rate)
    ckpt_path = os.path.join(args.out, "ckpt.pt")
    start = 0
    elapsed_before = 0.0
    if os.path.exists(ckpt_path):
        state = torch.load(ckpt_path)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        start = state["step"]
        batches.index = state["batch_index"]
        batches.rng.setstate(state["rng"])
        elapsed_before = state["elapsed"]
        print(f"resumed at step {start}", flush=True)
    n_params = sum(p.numel() for p in model.parameters())
    print(json.dumps({"params": n_params, **vars(args)}), flush=True)
    t0 = time.time() - elapsed_before
    running = None
    step = start
    while step < args.steps:
        progress = progress_at(step, time.time() - t0, args)
        if progress >= 1.0:
            break
        lr = lr_at(step, progress, args)
        for g in opt.param_groups:
            g["lr"] = lr
        ids, targets = batches.batch(args.batch)
        logits = model(ids)
        loss = F.cross_entropy(logits.view(-1, logits.shape[-1]), targets.view(-1), ignore_index=-100)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        running = loss.item() if running is None else 0.95 * running + 0.05 * loss.item()
        step += 1
        if step % 10 == 0:
            print(f"step {step} loss {running:.4f} lr {lr:.2e} elapsed {time.time() - t0:.0f}s", flush=True)
        if step % args.checkpoint_every == 0:
            save(ckpt_path, model, opt, step, args, batches, time.time() - t0)
            if step % args.keep_every == 0:
                shutil.copy(ckpt_path, os.path.join(args.out, f"ckpt-{step}.pt"))
    save(ckpt_path, model, opt, step, args, batches, time.time() - t0)
    shutil.copy(ckpt_path, os.path.join(args.out, "final.pt"))
    print(f"finished {step} steps in {time.time() - t0:.0f}s", flush=True)


if __name__ == "__main__":
    main()
