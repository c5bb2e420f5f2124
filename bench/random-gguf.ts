/**
 * Writes a llama-architecture GGUF with random F32 weights and a byte-level vocabulary, of any
 * size: a stand-in for a larger model when measuring throughput offline (its text is noise, its
 * cost per token is real).
 *
 *   npx tsx bench/random-gguf.ts OUT.gguf [--embedding 512] [--layers 8] [--context 512]
 */
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";

const GGUF_UINT32 = 4;
const GGUF_INT32 = 5;
const GGUF_FLOAT32 = 6;
const GGUF_BOOL = 7;
const GGUF_STRING = 8;
const GGUF_ARRAY = 9;
const GGML_F32 = 0;
const ALIGNMENT = 32;

const u32 = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v);
  return b;
};
const i32 = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32LE(v);
  return b;
};
const u64 = (v: number) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(v));
  return b;
};
const f32 = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeFloatLE(v);
  return b;
};
const str = (s: string) => {
  const bytes = Buffer.from(s, "utf8");
  return Buffer.concat([u64(bytes.length), bytes]);
};

/** A seeded standard normal generator (mulberry32 + Box-Muller), so the file is reproducible. */
function normals(seed: number): () => number {
  let state = seed >>> 0;
  const uniform = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
}

export interface RandomModelShape {
  embedding: number;
  layers: number;
  heads: number;
  feedForward: number;
  context: number;
  /** Adds ChatML control tokens and chat template, like many instruction-tuned GGUFs. */
  chatml?: boolean;
}

const CHATML_TEMPLATE =
  "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/**
 * The random-weight model of over 100M parameters (107,768,064, about 430 MB in F32) that the
 * engine benches share, large enough that decoding streams its weights from memory.
 */
export const random107m: RandomModelShape = {
  embedding: 768,
  layers: 14,
  heads: 8,
  feedForward: 2304,
  context: 512,
};

export function randomLlamaGguf(shape: RandomModelShape, seed = 1): Buffer {
  const { embedding: E, layers: L, heads: H, feedForward: FF, context } = shape;
  const bytes = Array.from({ length: 256 }, (_, i) => `<0x${i.toString(16).toUpperCase().padStart(2, "0")}>`);
  const chatTokens = shape.chatml ? ["<|im_start|>", "<|im_end|>"] : [];
  const tokens = ["<unk>", "<s>", "</s>", ...bytes, ...chatTokens];
  const types = [2, 3, 3, ...Array(256).fill(6), ...chatTokens.map(() => 3)];
  const V = tokens.length;
  const kv: Buffer[] = [];
  const add = (key: string, type: number, value: Buffer) =>
    kv.push(Buffer.concat([str(key), u32(type), value]));
  const array = (type: number, items: Buffer[]) => Buffer.concat([u32(type), u64(items.length), ...items]);
  add("general.architecture", GGUF_STRING, str("llama"));
  add("general.name", GGUF_STRING, str("random-llama"));
  add("llama.context_length", GGUF_UINT32, u32(context));
  add("llama.embedding_length", GGUF_UINT32, u32(E));
  add("llama.block_count", GGUF_UINT32, u32(L));
  add("llama.feed_forward_length", GGUF_UINT32, u32(FF));
  add("llama.attention.head_count", GGUF_UINT32, u32(H));
  add("llama.attention.head_count_kv", GGUF_UINT32, u32(H));
  add("llama.rope.dimension_count", GGUF_UINT32, u32(E / H));
  add("llama.attention.layer_norm_rms_epsilon", GGUF_FLOAT32, f32(1e-5));
  add("tokenizer.ggml.model", GGUF_STRING, str("llama"));
  add("tokenizer.ggml.tokens", GGUF_ARRAY, array(GGUF_STRING, tokens.map(str)));
  add(
    "tokenizer.ggml.scores",
    GGUF_ARRAY,
    array(
      GGUF_FLOAT32,
      tokens.map(() => f32(0)),
    ),
  );
  add("tokenizer.ggml.token_type", GGUF_ARRAY, array(GGUF_INT32, types.map(i32)));
  add("tokenizer.ggml.unknown_token_id", GGUF_UINT32, u32(0));
  add("tokenizer.ggml.bos_token_id", GGUF_UINT32, u32(1));
  // Random logits make the end token as likely as any byte: samples end early now and then.
  add("tokenizer.ggml.eos_token_id", GGUF_UINT32, u32(shape.chatml ? tokens.indexOf("<|im_end|>") : 2));
  if (shape.chatml) add("tokenizer.chat_template", GGUF_STRING, str(CHATML_TEMPLATE));
  add("tokenizer.ggml.add_bos_token", GGUF_BOOL, Buffer.from([1]));
  add("tokenizer.ggml.add_space_prefix", GGUF_BOOL, Buffer.from([0]));

  const normal = normals(seed);
  const tensors: { name: string; dims: number[]; scale: number }[] = [
    { name: "token_embd.weight", dims: [E, V], scale: 1 },
  ];
  for (let i = 0; i < L; i++) {
    tensors.push({ name: `blk.${i}.attn_norm.weight`, dims: [E], scale: 0 });
    for (const part of ["q", "k", "v", "output"])
      tensors.push({ name: `blk.${i}.attn_${part}.weight`, dims: [E, E], scale: 1 / Math.sqrt(E) });
    tensors.push({ name: `blk.${i}.ffn_norm.weight`, dims: [E], scale: 0 });
    tensors.push({ name: `blk.${i}.ffn_gate.weight`, dims: [E, FF], scale: 1 / Math.sqrt(E) });
    tensors.push({ name: `blk.${i}.ffn_up.weight`, dims: [E, FF], scale: 1 / Math.sqrt(E) });
    tensors.push({ name: `blk.${i}.ffn_down.weight`, dims: [FF, E], scale: 1 / Math.sqrt(FF) });
  }
  tensors.push({ name: "output_norm.weight", dims: [E], scale: 0 });
  tensors.push({ name: "output.weight", dims: [E, V], scale: 1 / Math.sqrt(E) });

  const infos: Buffer[] = [];
  const data: Buffer[] = [];
  let offset = 0;
  for (const tensor of tensors) {
    const count = tensor.dims.reduce((a, b) => a * b, 1);
    const values = new Float32Array(count);
    // Norm weights are ones (scale 0 marks them); the rest are scaled normals.
    for (let i = 0; i < count; i++) values[i] = tensor.scale === 0 ? 1 : normal() * tensor.scale;
    const bytes = Buffer.from(values.buffer);
    const padding = (ALIGNMENT - (bytes.length % ALIGNMENT)) % ALIGNMENT;
    infos.push(
      Buffer.concat([
        str(tensor.name),
        u32(tensor.dims.length),
        ...tensor.dims.map(u64),
        u32(GGML_F32),
        u64(offset),
      ]),
    );
    data.push(bytes, Buffer.alloc(padding));
    offset += bytes.length + padding;
  }
  const header = Buffer.concat([
    Buffer.from("GGUF"),
    u32(3),
    u64(tensors.length),
    u64(kv.length),
    ...kv,
    ...infos,
  ]);
  const headerPadding = (ALIGNMENT - (header.length % ALIGNMENT)) % ALIGNMENT;
  return Buffer.concat([header, Buffer.alloc(headerPadding), ...data]);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      embedding: { type: "string", default: "512" },
      layers: { type: "string", default: "8" },
      context: { type: "string", default: "512" },
    },
  });
  const out = positionals[0];
  if (!out) throw new Error("usage: npx tsx bench/random-gguf.ts OUT.gguf [--embedding 512] [--layers 8]");
  const embedding = Number(values.embedding);
  const shape = {
    embedding,
    layers: Number(values.layers),
    heads: 8,
    feedForward: embedding * 3,
    context: Number(values.context),
  };
  writeFileSync(out, randomLlamaGguf(shape));
  console.log(`wrote ${out}: ${JSON.stringify(shape)}`);
}
