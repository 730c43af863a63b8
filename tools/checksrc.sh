#!/usr/bin/env bash
# Fails when a C tree (default: src/) calls a function we do not use, as
# curl's checksrc does: unbounded copies and formats, and conversions that
# cannot report errors. Use snprintf, memcpy with a checked length,
# pat_text_set, or strtol/strtoll instead.
# Usage: tools/checksrc.sh [DIR] | --self-test
set -euo pipefail
cd "$(dirname "$0")/.."
banned='strcpy|strcat|sprintf|vsprintf|gets|atoi|atol|atoll|strtok'

scan() {
  # A call is the name followed by "(", not part of a longer name
  # (snprintf, strtok_r stay allowed); comment lines are not calls.
  grep -rnE "(^|[^A-Za-z0-9_])($banned)[[:space:]]*\(" "$1" --include='*.c' --include='*.h' |
    grep -vE '^[^:]+:[0-9]+:[[:space:]]*(/\*|\*|//)' || true
}

if [ "${1:-}" = --self-test ]; then
  # The check must catch a banned call and pass the allowed look-alikes.
  tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
  printf 'void f(char *d) { snprintf(d, 4, "x"); strtok_r(d, " ", 0); }\n' > "$tmp/ok.c"
  [ -z "$(scan "$tmp")" ] || { echo "checksrc self-test: flagged allowed calls" >&2; exit 1; }
  printf 'void g(char *d) { strcpy(d, "x"); }\n' > "$tmp/bad.c"
  [ -n "$(scan "$tmp")" ] || { echo "checksrc self-test: missed strcpy" >&2; exit 1; }
  echo "checksrc: self-test passed"
  exit 0
fi

dir=${1:-src}
hits=$(scan "$dir")
if [ -n "$hits" ]; then
  echo "banned functions in $dir/ (see tools/checksrc.sh):" >&2
  echo "$hits" >&2
  exit 1
fi
echo "checksrc: no banned functions in $dir/"
