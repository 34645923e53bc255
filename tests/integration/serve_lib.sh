# Helpers for the daemon tests (sourced after lib.sh, bash).
#
# sv_start starts `vayla serve` on an ephemeral port with the environment
# made by `vayla dev init`, waits for its ready file (bounded) and sets
# API_PORT; sv_post sends one person query and sets HCODE and HBODY.

SV_PID=""

sv_cleanup() {
    if [ -n "$SV_PID" ]; then
        kill -TERM "$SV_PID" 2>/dev/null
        wait "$SV_PID" 2>/dev/null
        SV_PID=""
    fi
    it_cleanup
}

sv_init() {
    it_init "$@"
    trap sv_cleanup EXIT
    it_conf listen port 0
    it_conf api threads 2
}

sv_start() {
    rm -f "$IT_DIR/serve.ready"
    "$VAYLA" serve -c "$ENV/vayla.conf" --ready-file "$IT_DIR/serve.ready" \
        >>"$IT_DIR/serve.out" 2>>"$IT_DIR/serve.err" &
    SV_PID=$!
    local i=0
    while [ ! -s "$IT_DIR/serve.ready" ]; do
        i=$((i + 1))
        if [ "$i" -gt 300 ] || ! kill -0 "$SV_PID" 2>/dev/null; then
            tail -n 40 "$IT_DIR/serve.err"
            echo "FAIL: vayla serve did not become ready"
            exit 1
        fi
        sleep 0.1
    done
    API_PORT=$(sed -n 's/^tcp_port=//p' "$IT_DIR/serve.ready")
    API="https://127.0.0.1:$API_PORT"
}

# sv_stop: SIGTERM and wait (bounded); sets SV_RC.
sv_stop() {
    local i=0
    kill -TERM "$SV_PID" 2>/dev/null
    while kill -0 "$SV_PID" 2>/dev/null; do
        i=$((i + 1))
        if [ "$i" -gt 600 ]; then
            it_fail "vayla serve did not stop within 60 s of SIGTERM"
            kill -KILL "$SV_PID" 2>/dev/null
            break
        fi
        sleep 0.1
    done
    wait "$SV_PID" 2>/dev/null
    SV_RC=$?
    SV_PID=""
}

# sv_post JSON [curl args...]: POST /v1/vtj/person with the demo token
# (unless the extra arguments bring their own credentials).
sv_post() {
    local json=$1
    shift
    local out
    out=$(curl -sS --max-time 60 --cacert "$ENV/ca.pem" \
        -H 'Content-Type: application/json' "$@" \
        --data "$json" -w '\n%{http_code}' "$API/v1/vtj/person" \
        2>"$IT_DIR/curl.err")
    HCODE=$(printf '%s' "$out" | tail -n 1)
    HBODY=$(printf '%s' "$out" | sed '$d')
}

sv_token() {
    printf 'Authorization: Bearer %s' "$(cat "$ENV/token")"
}

# sv_person HETU [extra JSON members]: a complete valid query body.
sv_person() {
    local extra=${2:-}
    printf '{"hetu":"%s","end_user":"it.user@example.fi","purpose":"it case 1"%s}' \
        "$1" "$extra"
}

# sv_expect NAME HTTP_CODE PATTERN...: check the last answer.
sv_expect() {
    local name=$1 code=$2 ok=1
    shift 2
    if [ "$HCODE" != "$code" ]; then
        ok=0
        it_fail "$name: HTTP $HCODE, expected $code"
    fi
    for p in "$@"; do
        if ! printf '%s' "$HBODY" | grep -qF -- "$p"; then
            ok=0
            it_fail "$name: answer lacks $p"
        fi
    done
    if [ "$ok" = 1 ]; then
        it_log "ok: $name"
    else
        printf '  answer: %s\n  curl: %s\n' "$(printf '%s' "$HBODY" | head -c 800)" \
            "$(head -c 300 "$IT_DIR/curl.err")"
    fi
}

sv_message_id() {
    printf '%s' "$HBODY" | sed -n 's/.*"message_id":"\([^"]*\)".*/\1/p' | head -n 1
}
