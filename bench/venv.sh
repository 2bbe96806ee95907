#!/usr/bin/env bash
# venv.sh - the benchmarks' Python: a virtual environment with PyTorch 2.x, made once.
#
#   bench/venv.sh            prints the environment's python (creating it first
#                            if it is missing or its pins changed)
#   bench/venv.sh --check    the same, but fails instead of creating it
#
# bench/compare.sh calls it; run bench/pytorch_simclr.py and
# bench/augment_torchvision.py with the python it prints.
#
# Where: $SIMCLR_BENCH_VENV, else ${XDG_CACHE_HOME:-~/.cache}/simclrc-bench-venv
# (outside the work tree: it survives `git clean` and serves every checkout;
# beside, not inside, simclrc's kernel cache ~/.cache/simclrc, so clearing
# that keeps the venv).
# What: bench/requirements.txt (torch, torchvision and everything they pull
# in, each pinned), installed with pip from PyPI into a venv of Debian's
# /usr/bin/python3 (Python 3.11; scripts/setup.sh installs python3-venv, and
# python3-dev and g++ for torch.compile, whose inductor backend builds C++
# against Python.h). The venv holds a stamp, simclrc-bench-pins.txt: the
# requirements and the interpreter's version. A later run whose stamp
# matches uses the venv as it is, without the network; one whose pins
# changed rebuilds it from scratch. Progress goes to stderr.
#
# Why PyPI's CUDA wheel on a CPU benchmark: PyTorch's CPU-only wheels
# (torch==X+cpu) are served only by PyTorch's own index, which these
# machines cannot reach (only Debian's archive and PyPI can be); PyPI's
# Linux x86_64 wheel is the CUDA build, and it cannot even be imported
# without the NVIDIA libraries it links (with --no-deps `import torch` fails
# on libcufile.so.0), so they come along: 2.8 GiB of wheels, 5.5 GB
# installed, about 2 minutes to create on a fast link. The CUDA code is never called: the
# benchmarks run on the CPU. Debian 12's python3-torch (1.13) has no
# torch.compile; it stays what scripts/make_pytorch_goldens.py uses.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
requirements="$root/bench/requirements.txt"
base_python=/usr/bin/python3  # Debian's; what scripts/setup.sh provides
venv="${SIMCLR_BENCH_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/simclrc-bench-venv}"
stamp_name=simclrc-bench-pins.txt

check_only=0
case "${1:-}" in
  "") ;;
  --check) check_only=1 ;;
  -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
  *) echo "venv.sh: error: unknown argument '$1' (--help lists them)" >&2; exit 2 ;;
esac

say() { echo "venv.sh: $*" >&2; }
fail() { echo "venv.sh: error: $*" >&2; exit 1; }

[[ -x $base_python ]] || fail "$base_python is missing; run scripts/setup.sh as root"
expected="$(printf '# python: %s\n' "$("$base_python" --version 2>&1)"; cat "$requirements")"
is_current() { [[ -f $venv/$stamp_name && "$(cat "$venv/$stamp_name")" == "$expected" ]]; }

if ! is_current; then
  ((check_only == 0)) || fail "$venv is missing or its pins differ from bench/requirements.txt; run bench/venv.sh"
  mkdir -p "$(dirname "$venv")"
  # One creator at a time; a second waits, then finds the venv made.
  exec 9>"$venv.lock"
  flock 9
  if ! is_current; then
    "$base_python" -c 'import ensurepip, venv' 2>/dev/null ||
      fail "$base_python has no venv module; run scripts/setup.sh as root (python3-venv)"
    include="$("$base_python" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')"
    [[ -f $include/Python.h ]] ||
      fail "$include/Python.h is missing (torch.compile builds against it); run scripts/setup.sh as root (python3-dev)"
    command -v g++ >/dev/null || fail "g++ is missing (torch.compile's C++ backend); run scripts/setup.sh as root"
    say "creating $venv from bench/requirements.txt (PyPI, 2.8 GiB to download; once)"
    start=$(date +%s)
    rm -rf "$venv"
    "$base_python" -m venv "$venv"
    # Wheels only (nothing is built from source); no pip cache, which would
    # keep a second copy of the 3 GB of wheels.
    "$venv/bin/python" -m pip install --quiet --no-input --no-cache-dir --only-binary=:all: \
      --disable-pip-version-check -r "$requirements" >&2 ||
      { rm -rf "$venv"; fail "pip could not install bench/requirements.txt (see above)"; }
    "$venv/bin/python" -c 'import torch, torchvision' ||
      { rm -rf "$venv"; fail "the new venv cannot import torch and torchvision (see above)"; }
    printf '%s\n' "$expected" > "$venv/$stamp_name"
    say "made $venv in $(($(date +%s) - start)) s, $(du -sh "$venv" | cut -f1)"
  fi
  exec 9>&-
fi
echo "$venv/bin/python"
