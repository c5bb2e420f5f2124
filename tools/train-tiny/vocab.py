"""Character vocabulary laid out the way llama.cpp's SentencePiece ("llama") tokenizer expects.

All 256 <0xXX> byte tokens are present so that llama.cpp can fall back to bytes for any
character the model never saw (without them loading aborts); newline is <0x0A>, space is U+2581.
"""

SPACE = "\u2581"
CHARS = [SPACE] + list("0123456789") + list("+-*=?:AQ")
UNK, BOS, EOS = 0, 1, 2
BYTE_OFFSET = 3

TOKEN_NORMAL, TOKEN_UNKNOWN, TOKEN_CONTROL, TOKEN_BYTE = 1, 2, 3, 6

TOKENS = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)] + CHARS
TOKEN_TYPES = [TOKEN_UNKNOWN, TOKEN_CONTROL, TOKEN_CONTROL] + [TOKEN_BYTE] * 256 + [TOKEN_NORMAL] * len(CHARS)
CHAR_IDS = {ch: BYTE_OFFSET + 256 + i for i, ch in enumerate(CHARS)}
VOCAB_SIZE = len(TOKENS)


def encode(text):
    """Token ids as llama.cpp produces them (no BOS, add_space_prefix=false)."""
    ids = []
    for ch in text:
        key = SPACE if ch == " " else ch
        if key in CHAR_IDS:
            ids.append(CHAR_IDS[key])
        else:
            ids.extend(BYTE_OFFSET + b for b in ch.encode("utf-8"))
    return ids


def decode(ids):
    out = bytearray()
    for i in ids:
        if i < BYTE_OFFSET:
            continue
        if i < BYTE_OFFSET + 256:
            out.append(i - BYTE_OFFSET)
        else:
            out.extend(TOKENS[i].replace(SPACE, " ").encode("utf-8"))
    return out.decode("utf-8", errors="replace")
