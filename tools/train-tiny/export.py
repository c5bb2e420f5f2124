"""Write a checkpoint as GGUF (llama architecture, F32) plus reference next-token probabilities.

  /usr/bin/python3 tools/train-tiny/export.py --ckpt tools/train-tiny/out/run1/ckpt.pt \
      --gguf models/reckon-tiny.gguf --reference models/reckon-tiny.reference.json
"""

import argparse
import json

import torch

from gguf_writer import T_BOOL, T_FLOAT32, T_INT32, T_STRING, T_UINT32, GGUFWriter
from model import Config, TinyLlama
from vocab import BOS, CHAR_IDS, EOS, TOKEN_TYPES, TOKENS, UNK, encode

# Prefixes whose next-token distribution the GGUF must reproduce (with and without BOS).
REFERENCE_PREFIXES = [
    (True, "Q: 5+12*3-7*4=?\n"),
    (True, "Q: 5+12*3-7*4=?\n12*3=36\n7*4="),
    (False, "Q: 36-1=?\n"),
    (False, "Q: 43+86-78+68+8*3=?\n8*3=24\n43+86=129\n129-78=51\n51+68=119\n119+24=143\nA: "),
]


def load(ckpt_path):
    state = torch.load(ckpt_path, map_location="cpu")
    model = TinyLlama(Config(**state["config"]))
    model.load_state_dict(state["model"])
    model.eval()
    return model, state


def write_gguf(model, path, name):
    cfg = model.cfg
    w = GGUFWriter()
    w.add("general.architecture", T_STRING, "llama")
    w.add("general.name", T_STRING, name)
    w.add("general.file_type", T_UINT32, 0)
    w.add("llama.context_length", T_UINT32, cfg.context_length)
    w.add("llama.embedding_length", T_UINT32, cfg.dim)
    w.add("llama.block_count", T_UINT32, cfg.n_layers)
    w.add("llama.feed_forward_length", T_UINT32, cfg.ffn_dim)
    w.add("llama.attention.head_count", T_UINT32, cfg.n_heads)
    w.add("llama.attention.head_count_kv", T_UINT32, cfg.n_heads)
    w.add("llama.rope.dimension_count", T_UINT32, cfg.dim // cfg.n_heads)
    w.add("llama.rope.freq_base", T_FLOAT32, cfg.rope_base)
    w.add("llama.attention.layer_norm_rms_epsilon", T_FLOAT32, cfg.norm_eps)
    w.add("llama.vocab_size", T_UINT32, cfg.vocab_size)
    w.add("tokenizer.ggml.model", T_STRING, "llama")
    w.add_array("tokenizer.ggml.tokens", T_STRING, TOKENS)
    w.add_array("tokenizer.ggml.scores", T_FLOAT32, [0.0] * len(TOKENS))
    w.add_array("tokenizer.ggml.token_type", T_INT32, TOKEN_TYPES)
    w.add("tokenizer.ggml.bos_token_id", T_UINT32, BOS)
    w.add("tokenizer.ggml.eos_token_id", T_UINT32, EOS)
    w.add("tokenizer.ggml.unknown_token_id", T_UINT32, UNK)
    w.add("tokenizer.ggml.add_bos_token", T_BOOL, True)
    w.add("tokenizer.ggml.add_eos_token", T_BOOL, False)
    w.add("tokenizer.ggml.add_space_prefix", T_BOOL, False)
    sd = {k: v.detach().float().numpy() for k, v in model.state_dict().items()}
    w.add_tensor("token_embd.weight", sd["embed.weight"])
    for i in range(cfg.n_layers):
        p = f"blocks.{i}."
        g = f"blk.{i}."
        w.add_tensor(g + "attn_norm.weight", sd[p + "attn_norm.weight"])
        w.add_tensor(g + "attn_q.weight", sd[p + "wq.weight"])
        w.add_tensor(g + "attn_k.weight", sd[p + "wk.weight"])
        w.add_tensor(g + "attn_v.weight", sd[p + "wv.weight"])
        w.add_tensor(g + "attn_output.weight", sd[p + "wo.weight"])
        w.add_tensor(g + "ffn_norm.weight", sd[p + "ffn_norm.weight"])
        w.add_tensor(g + "ffn_gate.weight", sd[p + "w_gate.weight"])
        w.add_tensor(g + "ffn_up.weight", sd[p + "w_up.weight"])
        w.add_tensor(g + "ffn_down.weight", sd[p + "w_down.weight"])
    w.add_tensor("output_norm.weight", sd["norm.weight"])
    w.add_tensor("output.weight", sd["output.weight"])
    w.write(path)


def reference_probabilities(model):
    watched = sorted(CHAR_IDS.values()) + [EOS]
    rows = []
    with torch.no_grad():
        for with_bos, text in REFERENCE_PREFIXES:
            ids = ([BOS] if with_bos else []) + encode(text)
            probs = model(torch.tensor([ids]))[0, -1].softmax(-1)
            rows.append(
                {
                    "text": text,
                    "bos": with_bos,
                    "tokens": ids,
                    "probabilities": {str(t): round(float(probs[t]), 6) for t in watched},
                }
            )
    return rows


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--ckpt", required=True)
    p.add_argument("--gguf", required=True)
    p.add_argument("--reference")
    p.add_argument("--name", default="reckon-tiny")
    args = p.parse_args()
    model, state = load(args.ckpt)
    write_gguf(model, args.gguf, args.name)
    n_params = sum(t.numel() for t in model.parameters())
    print(f"wrote {args.gguf}: step {state['step']}, {n_params} parameters")
    if args.reference:
        with open(args.reference, "w") as f:
            json.dump({"step": state["step"], "prefixes": reference_probabilities(model)}, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()
