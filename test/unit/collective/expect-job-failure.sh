#!/usr/bin/env bash
# expect-job-failure.sh SECONDS PATTERN -- COMMAND...: runs COMMAND (an
# mpirun job) under `timeout SECONDS`; passes when it ends on its own with
# an exit code in 1..127 (not timeout's 124) and its output matches PATTERN.
set -u
limit=$1 pattern=$2
shift 3
output=$(timeout "$limit" "$@" 2>&1)
rc=$?
echo "$output"
echo "expect-job-failure.sh: exit code $rc"
if [[ $rc -eq 124 || $rc -eq 0 || $rc -gt 127 ]]; then
  echo "expect-job-failure.sh: FAILED: wanted a failure exit code 1..127 within ${limit}s" >&2
  exit 1
fi
if ! grep -Eq -- "$pattern" <<<"$output"; then
  echo "expect-job-failure.sh: FAILED: output does not match '$pattern'" >&2
  exit 1
fi
