#!/bin/bash
# Containers verified per second on one core (bench_asic), next to the
# RSA-2048 verify rate `openssl speed` measures in the same run.
#   tests/bench/bench_asic.sh [BUILD_DIR]
set -eu
build=${1:-build}
rate=$(openssl speed -seconds 3 rsa2048 2>/dev/null |
    awk '$1 == "rsa" && $2 == "2048" { print $7 }')
"$build/tests/bench/bench_asic" --rsa-verify-rate "${rate:-0}"
