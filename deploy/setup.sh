#!/bin/sh
# vayla set-up: install the Debian 12 packages the build, the tests and the
# demo need (only those that are missing), then configure and build.
#
#   deploy/setup.sh            install packages, configure, build (build/)
#   deploy/setup.sh --deps     only install packages
#   deploy/setup.sh --asan     also configure and build build-asan/
#   deploy/setup.sh --bench    also install the benchmark tools (wrk, nginx
#                              as the reference relay, jemalloc and
#                              mimalloc to compare allocators; tests/bench/)
#
# Idempotent: a second run installs nothing and rebuilds incrementally.
# (python3-yaml and python3-jsonschema: tests/docs/check_openapi.py;
# Debian 12 has no python3-openapi-spec-validator. strace:
# tests/integration/nodelay.sh.)
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)

PKGS="build-essential cmake pkg-config openssl curl ca-certificates
libxml2-dev libxmlsec1-dev libssl-dev libcurl4-openssl-dev libevent-dev
libjansson-dev libzip-dev zlib1g-dev libinih-dev libsqlite3-dev libsystemd-dev
libcmocka-dev clang-14 libclang-rt-14-dev clang-format-14 sqlite3
libxml2-utils python3-zeep python3-lxml python3-yaml python3-jsonschema
xmlsec1 unzip strace"
BENCH_PKGS="wrk nginx libjemalloc2 libmimalloc2.0 valgrind"

deps_only=0
asan=0
for arg in "$@"; do
    case "$arg" in
    --deps) deps_only=1 ;;
    --asan) asan=1 ;;
    --bench) PKGS="$PKGS $BENCH_PKGS" ;;
    *) echo "setup.sh: unknown option: $arg" >&2; exit 1 ;;
    esac
done

missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
        missing="$missing $p"
    fi
done

if [ -n "$missing" ]; then
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1; then
            SUDO=sudo
        else
            echo "setup.sh: need root to install:$missing" >&2
            exit 1
        fi
    else
        SUDO=
    fi
    echo "setup.sh: installing:$missing"
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q
    # shellcheck disable=SC2086
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
        --no-install-recommends $missing
fi

[ "$deps_only" -eq 1 ] && exit 0

jobs=$(nproc 2>/dev/null || echo 2)
cmake -S "$here" -B "$here/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    ${XR_WERROR:+-DXR_WERROR=$XR_WERROR} >/dev/null
cmake --build "$here/build" -j "$jobs"

if [ "$asan" -eq 1 ]; then
    CC=clang-14 cmake -S "$here" -B "$here/build-asan" \
        -DCMAKE_BUILD_TYPE=Debug -DXR_ASAN=ON -DXR_UBSAN=ON \
        ${XR_WERROR:+-DXR_WERROR=$XR_WERROR} >/dev/null
    cmake --build "$here/build-asan" -j "$jobs"
fi
