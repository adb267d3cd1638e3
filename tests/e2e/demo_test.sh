#!/usr/bin/env bash
# Runs examples/demo with the binaries of an existing build and checks that
# it exits 0 within a minute and that each account's call list shows its
# own CallSids and none of the other account's.
#
#   tests/e2e/demo_test.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
source_dir=$1
build_dir=$2

a_call=CA0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a01
b_calls=(CA0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b01 CA0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b02)

output=$(mktemp /tmp/skyiq-demo-test.XXXXXX)
trap 'rm -f "$output"' EXIT

status=0
SKYIQ_DEMO_BUILD_DIR=$build_dir timeout 60 bash "$source_dir/examples/demo" \
  >"$output" 2>&1 || status=$?
cat "$output"
if [ "$status" -ne 0 ]; then
  echo "demo_test: examples/demo exited with status $status" \
    "(124 means it ran over 60 s)" >&2
  exit 1
fi

# section TITLE: prints the lines after the "=== TITLE" header up to the
# next header.
section() {
  awk -v title="=== $1" '
    index($0, "=== ") == 1 { inside = index($0, title) == 1; next }
    inside { print }' "$output"
}

failures=0
expect() {
  if ! eval "$2"; then
    echo "demo_test: $1" >&2
    failures=$((failures + 1))
  fi
}

calls_a=$(section "calls of account A")
calls_b=$(section "calls of account B")
expect "account A's list lacks its call $a_call" \
  '[[ $calls_a == *"$a_call"* ]]'
expect "account B's list shows account A's call $a_call" \
  '[[ $calls_b != *"$a_call"* ]]'
for call in "${b_calls[@]}"; do
  expect "account B's list lacks its call $call" '[[ $calls_b == *"$call"* ]]'
  expect "account A's list shows account B's call $call" \
    '[[ $calls_a != *"$call"* ]]'
done
forbidden=$(section "account A's token on account B's calls")
expect "account A's token was not rejected with 403 on B's calls" \
  '[[ $forbidden == *"-> 403"*"\"forbidden\""* ]]'

if [ "$failures" -ne 0 ]; then
  exit 1
fi
echo "demo_test: the demo ran and each account saw only its own calls"
