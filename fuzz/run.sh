#!/usr/bin/env bash
# Runs the libFuzzer targets of fuzz/ (docs/reliability.md, "Fuzzing").
#
#   fuzz/run.sh TARGET SECONDS   fuzz one target: new inputs go to
#                                $FUZZ_WORK_DIR/corpus/TARGET (default
#                                /tmp/simclr-fuzz), seeded from
#                                fuzz/corpus/TARGET; findings to
#                                $FUZZ_WORK_DIR/findings/TARGET/
#   fuzz/run.sh --merge TARGET   minimizes the work corpus into
#                                fuzz/corpus/TARGET (libFuzzer -merge=1)
#   fuzz/run.sh --smoke SECONDS  every built target for SECONDS over its
#                                committed corpus (new inputs in a temporary
#                                directory); fails on any finding
#   fuzz/run.sh --build          configures and builds them (clang-14) into
#                                $FUZZ_BUILD_DIR (default build-fuzz);
#                                SIMCLR_BUILD_COMPILER=OFF in the environment
#                                builds only the runtime readers
#
# TARGET: spec mlir idx cifar10 png jpeg image-folder safetensors checkpoint
# plan. The executables are $FUZZ_BUILD_DIR/bin/fuzz/fuzz-TARGET.
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=${FUZZ_BUILD_DIR:-build-fuzz}
work_dir=${FUZZ_WORK_DIR:-/tmp/simclr-fuzz}
# Per-input limits: a reader that needs more than this on inputs of a few
# KiB is itself a finding (unbounded time or memory).
options=(-timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1)
# Leaks are not reported: std::filesystem and MLIR's uniquing keep memory by
# design, and a fuzzer process lives for one run.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}

dictionary_of() {
  case "$1" in
    idx|cifar10|image-folder) echo fuzz/dicts/multi-file.dict ;;
    png|jpeg) echo fuzz/dicts/multi-file.dict ;;
    *) echo "fuzz/dicts/$1.dict" ;;
  esac
}

executable_of() {
  local exe="$build_dir/bin/fuzz/fuzz-$1"
  if [[ ! -x "$exe" ]]; then
    echo "run.sh: error: $exe not built (fuzz/run.sh --build)" >&2
    exit 2
  fi
  echo "$exe"
}

case "${1:-}" in
--build)
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 \
    -DSIMCLR_BUILD_FUZZERS=ON -DSIMCLR_BUILD_TESTS=OFF \
    -DSIMCLR_BUILD_COMPILER="${SIMCLR_BUILD_COMPILER:-ON}" >/dev/null
  cmake --build "$build_dir" -j "${SIMCLR_JOBS:-2}" --target simclr-fuzzers
  ;;
--merge)
  target=${2:?usage: run.sh --merge TARGET}
  exe=$(executable_of "$target")
  mkdir -p "fuzz/corpus/$target.new"
  "$exe" -merge=1 "${options[@]}" "fuzz/corpus/$target.new" \
    "fuzz/corpus/$target" "$work_dir/corpus/$target"
  rm -rf "fuzz/corpus/$target"
  mv "fuzz/corpus/$target.new" "fuzz/corpus/$target"
  echo "run.sh: fuzz/corpus/$target: $(ls "fuzz/corpus/$target" | wc -l) inputs, $(du -sh "fuzz/corpus/$target" | cut -f1)"
  ;;
--smoke)
  seconds=${2:?usage: run.sh --smoke SECONDS}
  scratch=$(mktemp -d)
  trap 'rm -rf "$scratch"' EXIT
  failed=()
  for exe in "$build_dir"/bin/fuzz/fuzz-*; do
    target=${exe##*/fuzz-}
    mkdir -p "$scratch/$target"
    echo "run.sh: smoke-fuzzing $target for ${seconds} s"
    if ! "$exe" "${options[@]}" -max_total_time="$seconds" \
      -dict="$(dictionary_of "$target")" -artifact_prefix="$scratch/" \
      "$scratch/$target" "fuzz/corpus/$target" >"$scratch/$target.log" 2>&1; then
      failed+=("$target")
      tail -n 60 "$scratch/$target.log"
      for finding in "$scratch"/crash-* "$scratch"/leak-* "$scratch"/timeout-* \
        "$scratch"/oom-*; do
        [[ -e "$finding" ]] && echo "run.sh: finding $finding: $(base64 -w0 "$finding" | head -c 2000)"
      done
    else
      grep -E "^#[0-9]+[[:space:]]+DONE" "$scratch/$target.log" | tr '\n' ' '
      echo
    fi
  done
  if ((${#failed[@]})); then
    echo "run.sh: error: findings in ${failed[*]} (inputs printed above in base64)" >&2
    exit 1
  fi
  ;;
-*|"")
  sed -n '2,22p' "$0" >&2
  exit 2
  ;;
*)
  target=$1
  seconds=${2:?usage: run.sh TARGET SECONDS}
  exe=$(executable_of "$target")
  mkdir -p "$work_dir/corpus/$target" "$work_dir/findings/$target"
  exec "$exe" "${options[@]}" -max_total_time="$seconds" \
    -dict="$(dictionary_of "$target")" \
    -artifact_prefix="$work_dir/findings/$target/" \
    "$work_dir/corpus/$target" "fuzz/corpus/$target"
  ;;
esac
