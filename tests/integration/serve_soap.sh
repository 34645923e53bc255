#!/usr/bin/env bash
# The generic SOAP path of `vayla serve` (issue 14) end to end, in the
# production shape `vayla dev init` writes (TLS towards callers, mTLS
# towards the simulator), against the simulator's echo service, driven by
# soap_check.py (Python's own HTTP, TLS and MIME code): JSON and XML
# answers, a provider fault, SwA and MTOM attachments both ways, the
# refusals (403 service, 400 id, 413 size, 422 headers and XML, 406,
# 401), GET /v1/xroad/services with allowedMethods, and the audit trail.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"
sv_init "$@"
it_need /usr/bin/python3
# echoAdmin is listed for the caller, but the provider grants it not.
it_conf caller.demo services \
    "FI-TEST/GOV/0245437-2/vayla-echo/echo/v1, FI-TEST/GOV/0245437-2/vayla-echo/echoAdmin/v1"
it_conf api max_soap_body_bytes 262144
it_start_sim
sv_start

if /usr/bin/python3 "$(dirname "$0")/soap_check.py" "$API" "$ENV/ca.pem" \
    "$(cat "$ENV/token")" "$ENV/audit.db" >"$IT_DIR/check.out" 2>&1; then
    cat "$IT_DIR/check.out"
else
    cat "$IT_DIR/check.out"
    it_fail "soap_check.py failed"
fi
# The access log and metrics name the route, never a payload.
grep -q 'echo:1' "$IT_DIR/serve.err" &&
    it_fail "a payload reached the operational log"
metrics=$(curl -sS --max-time 10 --cacert "$ENV/ca.pem" "$API/metrics")
printf '%s\n' "$metrics" | grep -q 'route="xroad_soap"' &&
    it_log "ok: metrics count the route xroad_soap" ||
    it_fail "no xroad_soap route in the metrics"
sv_stop
[ "$SV_RC" = 0 ] || it_fail "vayla serve exited $SV_RC"
[ "$IT_FAILS" -eq 0 ] || exit 1
echo "serve_soap: all checks passed"
