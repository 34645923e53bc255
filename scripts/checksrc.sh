#!/bin/sh
# Source gate (curl's checksrc idea): banned functions and formatting.
#   scripts/checksrc.sh            check every C file
# Exit 1 with the offending lines listed.
set -eu
cd "$(dirname "$0")/.."

files=$(git ls-files '*.c' '*.h' 2>/dev/null || find . -name '*.[ch]')
[ -n "$files" ] || exit 0
status=0

banned='\b(strcpy|strcat|strncpy|strtok|sprintf|vsprintf|gets|atoi|atol|atof|alloca|system|popen)[[:space:]]*\('
# shellcheck disable=SC2086
if grep -nE "$banned" $files | grep -vE '^\S+:[0-9]+:\s*(\*|//|/\*)'; then
    echo "checksrc: banned function used (see docs/c-style in the team notes)" >&2
    status=1
fi

if command -v clang-format-14 >/dev/null 2>&1; then
    cf=clang-format-14
elif command -v clang-format >/dev/null 2>&1; then
    cf=clang-format
else
    cf=
fi
if [ -n "$cf" ]; then
    # shellcheck disable=SC2086
    if ! $cf --dry-run --Werror $files 2>/tmp/checksrc.$$; then
        grep -E '^[^ ].*(warning|error):' /tmp/checksrc.$$ | sed 's/: warning: /: /' | sort -u | head -40 >&2
        echo "checksrc: clang-format differences (run: $cf -i FILE)" >&2
        status=1
    fi
    rm -f /tmp/checksrc.$$
fi
exit $status
