"""checkpoint_to_weights.py IN OUT - what another framework's export looks like.

Copies a simclr-train checkpoint's parameters and running statistics to OUT
without its metadata and optimizer state (names ending in .exp_avg,
.exp_avg_sq or .momentum_buffer), as bench/pytorch_simclr.py --mode train
writes PyTorch's weights. Standard library only: lit runs it with its own
Python.
"""
import json
import struct
import sys

OPTIMIZER_STATE_SUFFIXES = (".exp_avg", ".exp_avg_sq", ".momentum_buffer")
ALIGN = 8  # safetensors pads its header with spaces to a multiple of 8

source, target = sys.argv[1], sys.argv[2]
with open(source, "rb") as f:
    blob = f.read()
(length,) = struct.unpack("<Q", blob[:8])
header = json.loads(blob[8:8 + length])
header.pop("__metadata__", None)
kept, chunks, offset = {}, [], 0
for name, info in header.items():
    if name.endswith(OPTIMIZER_STATE_SUFFIXES):
        continue
    begin, end = info["data_offsets"]
    chunks.append(blob[8 + length + begin:8 + length + end])
    kept[name] = dict(info, data_offsets=[offset, offset + end - begin])
    offset += end - begin
text = json.dumps(kept).encode()
text += b" " * (-len(text) % ALIGN)
with open(target, "wb") as f:
    f.write(struct.pack("<Q", len(text)) + text + b"".join(chunks))
