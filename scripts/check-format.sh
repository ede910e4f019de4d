#!/usr/bin/env bash
# Fails when a C++ source differs from what clang-format (.clang-format, Google
# base) would write. Run by ctest as Style.ClangFormat; fix with `make format`.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(find src tests bench -name '*.cc' -o -name '*.h' 2>/dev/null | sort)
if ! clang-format --dry-run -Werror "${files[@]}" 2>/tmp/citybooks-format.$$; then
  grep -E '^[^ ].*: (error|warning):' /tmp/citybooks-format.$$ | cut -d: -f1 | sort -u |
    sed 's/^/not formatted: /'
  rm -f /tmp/citybooks-format.$$
  echo "run \`make format\` to fix"
  exit 1
fi
rm -f /tmp/citybooks-format.$$
echo "${#files[@]} files formatted"
