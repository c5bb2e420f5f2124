"""Minimal GGUF v3 writer (metadata + F32 tensors), enough for llama.cpp's llama architecture."""

import struct

import numpy as np

ALIGNMENT = 32
GGUF_MAGIC = 0x46554747  # "GGUF" little-endian
T_UINT32, T_INT32, T_FLOAT32, T_BOOL, T_STRING, T_ARRAY = 4, 5, 6, 7, 8, 9
GGML_TYPE_F32 = 0


def _string(s):
    data = s.encode("utf-8")
    return struct.pack("<Q", len(data)) + data


def _value(kind, value):
    if kind == T_UINT32:
        return struct.pack("<I", value)
    if kind == T_INT32:
        return struct.pack("<i", value)
    if kind == T_FLOAT32:
        return struct.pack("<f", value)
    if kind == T_BOOL:
        return struct.pack("<?", value)
    if kind == T_STRING:
        return _string(value)
    raise ValueError(f"unsupported kind {kind}")


class GGUFWriter:
    def __init__(self):
        self.kv = []  # (key, bytes)
        self.tensors = []  # (name, float32 array)

    def add(self, key, kind, value):
        self.kv.append((key, struct.pack("<I", kind) + _value(kind, value)))

    def add_array(self, key, kind, values):
        body = struct.pack("<IIQ", T_ARRAY, kind, len(values))
        body += b"".join(_value(kind, v) for v in values)
        self.kv.append((key, body))

    def add_tensor(self, name, array):
        self.tensors.append((name, np.ascontiguousarray(array, dtype=np.float32)))

    def write(self, path):
        out = bytearray()
        out += struct.pack("<IIQQ", GGUF_MAGIC, 3, len(self.tensors), len(self.kv))
        for key, body in self.kv:
            out += _string(key) + body
        offset = 0
        offsets = []
        for name, arr in self.tensors:
            dims = list(reversed(arr.shape))  # ggml lists the fastest-varying dimension first
            out += _string(name) + struct.pack("<I", len(dims))
            out += b"".join(struct.pack("<Q", d) for d in dims)
            out += struct.pack("<IQ", GGML_TYPE_F32, offset)
            offsets.append(offset)
            offset += _aligned(arr.nbytes)
        out += b"\0" * (_aligned(len(out)) - len(out))
        for (_, arr), start in zip(self.tensors, offsets):
            data = arr.tobytes()
            out += data + b"\0" * (_aligned(len(data)) - len(data))
        with open(path, "wb") as f:
            f.write(out)


def _aligned(n):
    return (n + ALIGNMENT - 1) // ALIGNMENT * ALIGNMENT
