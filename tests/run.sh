#!/bin/sh
# The whole test suite, from a fresh Debian 12 machine: installs what is
# missing (deploy/setup.sh), builds, then runs every ctest test (unit,
# vectors, fuzz corpora, simulator integration).
#   tests/run.sh [ctest args...]
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
"$here/deploy/setup.sh"
cd "$here/build"
exec ctest --output-on-failure --timeout 300 -j2 "$@"
