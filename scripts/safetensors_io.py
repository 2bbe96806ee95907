"""safetensors_io.py - float32 safetensors files from Python, without the
`safetensors` package (Debian 12 has none).

Used by scripts/make_pytorch_goldens.py (the PyTorch goldens) and
bench/pytorch_simclr.py (PyTorch-trained weights for simclr-eval). Needs
numpy only.
"""

import json
import os
import struct

import numpy as np

SAFETENSORS_ALIGN = 8


def write_safetensors(path, tensors, metadata):
    """Writes `tensors` (name -> float32 numpy array, in order) to `path`.

    Layout as lib/include/simclr/Support/Safetensors.h: u64 LE header length,
    JSON header ("__metadata__" first, then tensors in insertion order, keys
    dtype/shape/data_offsets), spaces to a multiple of 8, packed LE data.
    """
    header = {"__metadata__": metadata}
    chunks = []
    offset = 0
    for name, array in tensors.items():
        data = np.ascontiguousarray(array, dtype="<f4").tobytes()
        header[name] = {
            "dtype": "F32",
            "shape": list(array.shape),
            "data_offsets": [offset, offset + len(data)],
        }
        chunks.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % SAFETENSORS_ALIGN)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for chunk in chunks:
            f.write(chunk)
    os.replace(tmp, path)


def read_safetensors(path):
    """Returns (name -> float32 numpy array, metadata) from `path`."""
    with open(path, "rb") as f:
        blob = f.read()
    (length,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8 : 8 + length])
    metadata = header.pop("__metadata__", {})
    base = 8 + length
    tensors = {}
    for name, info in header.items():
        assert info["dtype"] == "F32", f"{path}: {name} is {info['dtype']}"
        begin, end = info["data_offsets"]
        tensors[name] = np.frombuffer(
            blob[base + begin : base + end], dtype="<f4"
        ).reshape(info["shape"])
    return tensors, metadata
