#!/usr/bin/env bash
# The documents' own examples against a `vayla dev init` environment, the
# simulator and `vayla serve`:
#   - every `curl` command of the ```sh blocks of docs/api.md and of
#     docs/operations.md that talks to the daemon, as written, with the
#     dev environment's paths and ports put in (ca.pem, token and
#     /tmp/vayla-dev are the files `vayla dev init` writes; 18443 is its
#     daemon port), must succeed with HTTP 2xx;
#   - the quick start of docs/simulator.md (`vayla query person ...`);
#   - openapi_contract.py: live answers of every route, successes and
#     refusals, against docs/openapi.yaml (status listed, body valid).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"
sv_init "$@"
it_need /usr/bin/python3
DOCS=$(cd "$(dirname "$0")/../../docs" && pwd)
it_start_sim
sv_start
SOCK=$(sed -n 's/^unix_socket=//p' "$IT_DIR/serve.ready")

# The commands of the ```sh blocks of FILE whose first word is WORD, one
# per line (continuation lines joined, comments dropped).
commands_of() {
    awk -v word="$2" '
        /^```/ { inb = !inb; if (inb) sh = ($0 ~ /^```(sh|bash)$/); next }
        !inb || !sh { next }
        /^[[:space:]]*#/ { next }
        { line = (cont ? line " " : "") $0
          if (line ~ /\\$/) { sub(/\\$/, "", line); cont = 1; next }
          cont = 0
          if (line ~ "^[[:space:]]*" word " ") print line
          line = "" }' "$1"
}

n=0
for doc in api.md operations.md; do
    while IFS= read -r cmd; do
        case "$cmd" in
        *18443* | *vayla.sock*) ;;
        *) continue ;; # not the dev daemon (s_client, the simulator, ...)
        esac
        run=${cmd//https:\/\/127.0.0.1:18443/$API}
        run=${run//\/tmp\/vayla-dev\/vayla.sock/$SOCK}
        run=${run//\/tmp\/vayla-dev/$ENV}
        run=${run/curl /curl -sS --max-time 60 -o /dev/null -w %\{http_code\} }
        n=$((n + 1))
        code=$(cd "$ENV" && bash -c "$run" 2>"$IT_DIR/ex.err")
        case "$code" in
        2??) it_log "ok: $doc example $n: HTTP $code" ;;
        *) it_fail "$doc example $n: HTTP $code: $cmd"
           head -c 400 "$IT_DIR/ex.err" ;;
        esac
    done < <(commands_of "$DOCS/$doc" curl)
done
[ "$n" -ge 3 ] || it_fail "only $n curl examples found in api.md and operations.md"

# docs/simulator.md, quick start.
qs=$(commands_of "$DOCS/simulator.md" build/adapter/vayla | grep 'query person')
if [ -z "$qs" ]; then
    it_fail "simulator.md: the quick start's query was not found"
else
    run=${qs//build\/adapter\/vayla/$VAYLA}
    run=${run//\/tmp\/vayla-dev/$ENV}
    if out=$(bash -c "$run" 2>"$IT_DIR/ex.err") &&
        printf '%s' "$out" | grep -qF '"outcome":"found"'; then
        it_log "ok: simulator.md quick start"
    else
        it_fail "simulator.md quick start: $qs"
        head -c 400 "$IT_DIR/ex.err"
    fi
fi

if /usr/bin/python3 "$(dirname "$0")/openapi_contract.py" \
    "$DOCS/openapi.yaml" "$API" "$ENV/ca.pem" "$(cat "$ENV/token")" \
    "$SOCK" >"$IT_DIR/contract.out" 2>&1; then
    cat "$IT_DIR/contract.out"
else
    rc=$?
    cat "$IT_DIR/contract.out"
    [ "$rc" = 77 ] && exit 77
    it_fail "openapi_contract.py"
fi

sv_stop
[ "$SV_RC" = 0 ] || it_fail "vayla serve exited $SV_RC after SIGTERM"
it_finish
