#!/usr/bin/env python3
"""Writes the fuzzers' seed inputs into OUT/TARGET/ (docs/reliability.md, "Fuzzing").

Seeds come from real files where the repository or the machine has them
(Fashion-MNIST's IDX files, examples/*.toml, test/Dialect/**/*.mlir, a
plan.json and a checkpoint written by simclrc/simclr-train) and are built
here otherwise (CIFAR-10 records, PNGs via zlib, JPEGs via a small libjpeg
program compiled on the fly). fuzz/run.sh merges them into fuzz/corpus/TARGET.

  fuzz/make_seeds.py OUT [--plan PLAN.json] [--checkpoint STEP.safetensors]

The committed seeds used `simclrc test/Frontend/Inputs/tiny.toml -o DIR`'s
DIR/plan.json and examples/fashion-mnist.toml's checkpoint after 1872 steps.
"""
import argparse
import glob
import gzip
import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FASHION_MNIST = "/usr/share/datasets/fashion-mnist"
SEPARATOR = b"--8<--"  # fuzz/FuzzInput.h, kPartSeparator


def write(out, target, name, data):
    os.makedirs(os.path.join(out, target), exist_ok=True)
    with open(os.path.join(out, target, name), "wb") as f:
        f.write(data)


def idx_images(pixels, count, height, width):
    return struct.pack(">IIII", 0x803, count, height, width) + pixels


def idx_labels(labels):
    return struct.pack(">II", 0x801, len(labels)) + bytes(labels)


def idx_seeds(out):
    """A few-image slice of Fashion-MNIST, plain and gzip, with and without labels."""
    images_path = os.path.join(FASHION_MNIST, "t10k-images-idx3-ubyte.gz")
    labels_path = os.path.join(FASHION_MNIST, "t10k-labels-idx1-ubyte.gz")
    if os.path.exists(images_path):
        raw_images = gzip.open(images_path).read()
        raw_labels = gzip.open(labels_path).read()
    else:
        raw_images = idx_images(bytes(range(256)) * 10, 3, 28, 28)
        raw_labels = idx_labels([1, 2, 3])
    for count in (1, 3):
        images = idx_images(raw_images[16:16 + count * 784], count, 28, 28)
        labels = idx_labels(list(raw_labels[8:8 + count]))
        write(out, "idx", f"fashion-{count}.idx", images)
        write(out, "idx", f"fashion-{count}-labeled.idx", images + SEPARATOR + labels)
        write(out, "idx", f"fashion-{count}-labeled.gz",
              gzip.compress(images, mtime=0) + SEPARATOR + gzip.compress(labels, mtime=0))
    write(out, "idx", "small-4x4.idx", idx_images(bytes(range(32)), 2, 4, 4)
          + SEPARATOR + idx_labels([0, 9]))


def cifar_seeds(out):
    record = lambda label, seed: bytes([label]) + bytes((seed + i) % 256 for i in range(3072))
    meta = b"airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n"
    write(out, "cifar10", "one-record.bin", record(3, 0))
    write(out, "cifar10", "two-records-meta.bin", record(0, 1) + record(9, 2) + SEPARATOR + meta)
    batches = [record(b, b) for b in range(5)]
    write(out, "cifar10", "train-and-test.bin",
          SEPARATOR.join([record(1, 7), meta] + batches))
    write(out, "cifar10", "gzip.bin", gzip.compress(record(4, 5), mtime=0))


def png(width, height, color_type, bit_depth, rows, interlace=0, extra_chunks=()):
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, interlace)
    body = b"".join(b"\x00" + row for row in rows)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + b"".join(chunk(k, d) for k, d in extra_chunks)
            + chunk(b"IDAT", zlib.compress(body)) + chunk(b"IEND", b""))


def png_seeds(out):
    w = h = 4
    gray = [bytes(range(y * 16, y * 16 + w)) for y in range(h)]
    rgb = [bytes(range(y * 3 * w, (y + 1) * 3 * w)) for y in range(h)]
    rgba = [bytes((y * 4 * w + i) % 256 for i in range(4 * w)) for y in range(h)]
    gray16 = [bytes(range(y * 2 * w, (y + 1) * 2 * w)) for y in range(h)]
    palette = [bytes([0, 1, 2, 1]) for _ in range(h)]
    plte = (b"PLTE", bytes([255, 0, 0, 0, 255, 0, 0, 0, 255]))
    trns = (b"tRNS", bytes([0, 128, 255]))
    seeds = {
        "gray8.png": png(w, h, 0, 8, gray),
        "rgb8.png": png(w, h, 2, 8, rgb),
        "rgba8.png": png(w, h, 6, 8, rgba),
        "gray16.png": png(w, h, 0, 16, gray16),
        "palette.png": png(w, h, 3, 8, palette, extra_chunks=[plte, trns]),
        "gray1.png": png(8, 2, 0, 1, [b"\xaa", b"\x55"]),
        "interlaced.png": png(w, h, 2, 8, rgb, interlace=1),
    }
    for name, data in seeds.items():
        write(out, "png", name, data)
    return seeds


# Encodes raw 8-bit pixels with libjpeg (libjpeg62-turbo-dev, in setup.sh):
#   jpeg-encode WIDTH HEIGHT COMPONENTS QUALITY PROGRESSIVE < PIXELS > JPEG
JPEG_ENCODER_SOURCE = r"""
#include <stdio.h>
#include <stdlib.h>
#include <jpeglib.h>
int main(int argc, char **argv) {
  struct jpeg_compress_struct c; struct jpeg_error_mgr e;
  int w = atoi(argv[1]), h = atoi(argv[2]), n = atoi(argv[3]);
  unsigned char *pixels = malloc(w * h * n);
  if (fread(pixels, 1, w * h * n, stdin) != (size_t)(w * h * n)) return 1;
  c.err = jpeg_std_error(&e); jpeg_create_compress(&c); jpeg_stdio_dest(&c, stdout);
  c.image_width = w; c.image_height = h; c.input_components = n;
  c.in_color_space = n == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_set_defaults(&c); jpeg_set_quality(&c, atoi(argv[4]), TRUE);
  if (atoi(argv[5])) jpeg_simple_progression(&c);
  jpeg_start_compress(&c, TRUE);
  for (int y = 0; y < h; ++y) { JSAMPROW row = pixels + y * w * n; jpeg_write_scanlines(&c, &row, 1); }
  jpeg_finish_compress(&c); return 0;
}
"""


def jpeg_seeds(out):
    compiler = shutil.which("cc") or shutil.which("gcc")
    if not compiler:
        print("make_seeds.py: no C compiler: no JPEG seeds", file=sys.stderr)
        return {}
    seeds = {}
    with tempfile.TemporaryDirectory() as tmp:
        source = os.path.join(tmp, "encode.c")
        encoder = os.path.join(tmp, "jpeg-encode")
        with open(source, "w") as f:
            f.write(JPEG_ENCODER_SOURCE)
        subprocess.run([compiler, source, "-o", encoder, "-ljpeg"], check=True)
        for name, (w, h, n, quality, progressive) in {
                "gray.jpg": (4, 4, 1, 90, 0), "rgb.jpg": (4, 4, 3, 90, 0),
                "progressive.jpg": (8, 8, 3, 75, 1), "odd-size-q10.jpg": (5, 3, 3, 10, 0)}.items():
            pixels = bytes((i * 37) % 256 for i in range(w * h * n))
            jpeg = subprocess.run([encoder, str(w), str(h), str(n), str(quality), str(progressive)],
                                  input=pixels, capture_output=True, check=True).stdout
            seeds[name] = jpeg
            write(out, "jpeg", name, jpeg)
    return seeds


def image_folder_seeds(out, pngs, jpegs):
    """Shape header (channels odd=1 even=3, height-1, width-1), then PATH\\nBYTES parts."""
    files = [(b"a.png", pngs["gray8.png"]), (b"sub/b.PNG", pngs["rgb8.png"])]
    if jpegs:
        files.append((b"sub/deeper/c.jpg", jpegs["rgb.jpg"]))
    parts = [b"\x00\x03\x03"] + [path + b"\n" + data for path, data in files]
    write(out, "image-folder", "mixed-rgb", SEPARATOR.join(parts))
    parts[0] = b"\x01\x03\x03"
    write(out, "image-folder", "mixed-gray", SEPARATOR.join(parts))
    write(out, "image-folder", "not-an-image",
          SEPARATOR.join([b"\x01\x03\x03", b"x.jpeg\nnot a jpeg", b"y.txt\nignored"]))


def safetensors(tensors, metadata=None):
    """tensors: list of (name, dtype, shape, bytes); packed in order."""
    header, data = {}, b""
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape,
                        "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data


def checkpoint_metadata(step, tensors):
    """runtime/include/simclr/Runtime/Checkpoint.h: format 2, a SHA-256 per tensor."""
    metadata = {"simclr.checkpoint_format": "2", "step": str(step), "epoch": "0",
                "artifact_identity": "0" * 64, "rng_seed": "0", "rng_next_step": str(step)}
    for name, _, _, raw in tensors:
        metadata["sha256:" + name] = hashlib.sha256(raw).hexdigest()
    return metadata


def safetensors_seeds(out, checkpoint):
    f32 = struct.pack("<6f", *range(6))
    small = [("w", "F32", [2, 3], f32), ("b", "F64", [1], struct.pack("<d", 1.5)),
             ("h", "F16", [2], b"\x00\x3c\x00\x40"), ("z", "BF16", [1], b"\x80\x3f"),
             ("i", "I64", [1], struct.pack("<q", -2)), ("j", "I32", [], struct.pack("<i", 7)),
             ("u", "U8", [3], b"\x01\x02\x03"), ("t", "BOOL", [2], b"\x00\x01"),
             ("empty", "F32", [0, 4], b"")]
    write(out, "safetensors", "all-dtypes.safetensors", safetensors(small, {"k": "v"}))
    write(out, "safetensors", "no-metadata.safetensors", safetensors(small[:2]))
    step1 = safetensors(small[:3], checkpoint_metadata(1, small[:3]))
    step2 = safetensors(small[:3], checkpoint_metadata(2, small[:3]))
    write(out, "checkpoint", "two-steps", step1 + SEPARATOR + step2)
    write(out, "checkpoint", "plain-weights", safetensors(small[:2]))
    if checkpoint:
        # The real checkpoint's header (every tensor name of a compiled
        # spec) with the data section cut to its first tensor.
        raw = open(checkpoint, "rb").read()
        (length,) = struct.unpack("<Q", raw[:8])
        header = json.loads(raw[8:8 + length])
        first = next(k for k in header if k != "__metadata__")
        cut = {"__metadata__": header["__metadata__"], first: header[first]}
        begin, end = header[first]["data_offsets"]
        data = raw[8 + length + begin:8 + length + end]
        cut[first]["data_offsets"] = [0, len(data)]
        text = json.dumps(cut).encode()
        one = struct.pack("<Q", len(text)) + text + data
        write(out, "checkpoint", "real-one-tensor", one)
        write(out, "safetensors", "real-one-tensor.safetensors", one)
        # The whole header with tensors truncated: exercises every name.
        write(out, "safetensors", "real-header-truncated.safetensors", raw[:8 + length + 64])


def copy_matching(out, target, pattern):
    for path in sorted(glob.glob(os.path.join(ROOT, pattern), recursive=True)):
        write(out, target, os.path.basename(path), open(path, "rb").read())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--plan", help="a plan.json written by simclrc (under 64 KiB)")
    parser.add_argument("--checkpoint", help="a checkpoint written by simclr-train")
    args = parser.parse_args()
    idx_seeds(args.out)
    cifar_seeds(args.out)
    pngs = png_seeds(args.out)
    jpegs = jpeg_seeds(args.out)
    image_folder_seeds(args.out, pngs, jpegs)
    safetensors_seeds(args.out, args.checkpoint)
    if args.plan:
        # Under run.sh's -max_len (64 KiB): a tiny spec's plan, as written and
        # compact (the fuzzer recomputes the checksum of whatever body it gets).
        text = open(args.plan, "rb").read()
        write(args.out, "plan", "plan.json", text)
        compact = json.dumps(json.loads(text), separators=(",", ":")).encode()
        write(args.out, "plan", "plan-compact.json", compact)
    copy_matching(args.out, "spec", "examples/*.toml")
    copy_matching(args.out, "spec", "test/Frontend/Inputs/*.toml")
    copy_matching(args.out, "mlir", "test/Dialect/**/*.mlir")


if __name__ == "__main__":
    main()
