#!/usr/bin/python3
"""docs/openapi.yaml against OpenAPI 3.1 and against the C sources.

    check_openapi.py SRCDIR valid   the document is valid OpenAPI 3.1
    check_openapi.py SRCDIR drift   the document and the API's sources
                                    name the same error codes and statuses

`valid` uses openapi-spec-validator when /usr/bin/python3 has it (Debian
13's python3-openapi-spec-validator). Debian 12 does not package it; there
the document is validated with python3-jsonschema against the official
OpenAPI 3.1 schema (tests/docs/oas-3.1-schema.json, the OpenAPI
Initiative's schemas/v3.1/schema.json 2022-10-07, Apache-2.0: the same
file openapi-spec-validator checks with), and every local $ref must
resolve and every path template parameter must be declared. Exit 77
(skip) only when neither module can be imported.

`drift` reads what the API can send from the C sources (comments
removed, white space collapsed):

  * the literal codes and statuses of every call of the error writers
    adp__api_reject() and adp__api_reply_error() in adapter/api*.c;
  * the verdict table of adapter/api.c ([ADP_VERDICT_X] = {STATUS, "code"})
    and the codes and statuses adp_api_verdict_status() sets;
  * codes that are not literals at the call site, each from its one
    source: the VTJ outcomes that are `no_data` (services/vtj.c: found is
    false and error is false), the transport classes (xfer.c,
    adp_xfer_class_name()), the reasons of the input checks that
    adp__api_reply_input_error() and the `rejected` verdict pass on
    (every reason literal of the files in INPUT_FILES, and the text
    table of adapter/query.c), and libxroad's MIME reasons (xroad/mime.c)
    for the multipart body of the SOAP route. A writer call whose code is
    an expression the test does not know fails the test: classify it here
    first;
  * the statuses of the HTTP layer that server.c turns on (400, 413, 501)
    and conn.c's framing statuses.

and from docs/openapi.yaml every string of an `enum` of a property named
`code`, and every response status of every operation. Both directions
must agree; every code must also be named (in backticks) in docs/api.md.
The test prints what is missing where.
"""
import json
import os
import re
import sys

SKIP = 77

# Reasons of the input checks that reach the API (422, or 400 for MIME).
INPUT_FILES = [
    "adapter/query.c",
    "adapter/services/vtj_request.c",
    "adapter/services/vtj_call.c",
    "adapter/services/soap.c",
    "xroad/envelope.c",
    "xroad/xml.c",
    "xroad/mime.c",
]
# Reasons in those files that cannot reach an API caller, and why.
NOT_API = {
    "missing_username": "VTJ credentials: checked when the configuration loads",
    "missing_password": "VTJ credentials: checked when the configuration loads",
    "credential_too_long": "VTJ credentials: checked when the configuration loads",
    "invalid_credential": "VTJ credentials: checked when the configuration loads",
    "credential_unavailable": "reading the password file: configuration load",
    "credential_file_permissions": "reading the password file: configuration load",
    "invalid_laji": "`vayla vtj schema-body --laji` only",
}
# Writer calls whose code is an expression, by file: what it can be.
DYNAMIC_CALLS = {
    ("adapter/api.c", "err->reason"): "input",
    ("adapter/api_soap.c", "err.reason"): "mime",
}


def strip_c(text):
    """Comments out, strings kept, white space collapsed."""
    def repl(m):
        s = m.group(0)
        return s if s.startswith('"') else " "
    text = re.sub(r'"(?:\\.|[^"\\\n])*"|/\*.*?\*/|//[^\n]*', repl, text,
                  flags=re.S)
    return re.sub(r"\s+", " ", text)


def read(src, rel):
    with open(os.path.join(src, rel), encoding="utf-8") as f:
        return f.read()


def reasons_of(text):
    """Literal reasons of xr_error_set()/xr_error_set_errno() calls."""
    pat = (r'xr_error_set(?:_errno)?\(\s*[^,()]+,\s*XR_\w+\s*,'
           r'\s*(?:[^,"()]+,\s*)?"([a-z0-9_]+)"')
    return set(re.findall(pat, text))


def vtj_no_data(src):
    """Outcome names of VTJ outcomes that are neither found nor error."""
    t = strip_c(read(src, "adapter/services/vtj.c"))

    def switch_of(fn):
        m = re.search(fn + r"\([^)]*\) \{ switch \(\w+\) \{(.*?)\} return",
                      t)
        if not m:
            raise SystemExit("drift: cannot find the switch of " + fn)
        return m.group(1)

    names = dict(re.findall(r'case (VTJ_OUTCOME_\w+): return "([a-z0-9_]+)";',
                            switch_of("vtj_outcome_name")))

    def false_cases(fn):
        out, pending = set(), []
        for tok in re.findall(r"case (VTJ_OUTCOME_\w+):|return (true|false);",
                              switch_of(fn)):
            if tok[0]:
                pending.append(tok[0])
            else:
                if tok[1] == "false":
                    out.update(pending)
                pending = []
        return out

    nd = false_cases("vtj_outcome_is_found") & false_cases("vtj_outcome_is_error")
    if not nd or not names:
        raise SystemExit("drift: no VTJ no_data outcomes found in vtj.c")
    return {names[e] for e in nd}


def source_codes(src):
    """(codes, statuses, problems) the API's sources can send."""
    codes, statuses, problems = {}, set(), []

    def add(code, where):
        codes.setdefault(code, where)

    api_files = sorted(f for f in os.listdir(os.path.join(src, "adapter"))
                       if re.fullmatch(r"api(_\w+)?\.c", f))
    dyn_kinds = set()
    for f in api_files:
        rel = "adapter/" + f
        t = strip_c(read(src, rel))
        calls = [(m.group(1), m.group(2)) for m in re.finditer(
            r"adp__api_reject\(\s*[^,]+,\s*[^,]+,\s*(\d{3})\s*,\s*([^,]+),", t)]
        calls += [(m.group(1), m.group(2)) for m in re.finditer(
            r"adp__api_reply_error\(\s*[^,]+,\s*(\d{3})\s*,\s*([^,]+),", t)]
        for status, code in calls:
            statuses.add(int(status))
            code = code.strip()
            lit = re.fullmatch(r'"([a-z0-9_]+)"', code)
            if lit:
                add(lit.group(1), rel)
            elif (rel, code) in DYNAMIC_CALLS:
                dyn_kinds.add(DYNAMIC_CALLS[(rel, code)])
            elif not (rel == "adapter/api.c" and code in ("code",)):
                problems.append("%s: a writer call with status %s and code "
                                "`%s`: classify it in DYNAMIC_CALLS" %
                                (rel, status, code))
        for m in re.finditer(r"\br->status = [^;]*", t):
            statuses.update(int(s) for s in re.findall(r"\b([1-5]\d\d)\b",
                                                        m.group(0)))
        for s in re.findall(r"evhttp_send_error\(\s*[^,]+,\s*(\d{3})", t):
            statuses.add(int(s))

    api = strip_c(read(src, "adapter/api.c"))
    table = re.findall(
        r'\[ADP_VERDICT_(\w+)\] = \{\s*(\d{3})\s*,\s*(NULL|"[a-z0-9_]+")\s*\}',
        api)
    if len(table) < 9:
        problems.append("adapter/api.c: the verdict table was not found "
                        "(%d rows read)" % len(table))
    for cls, status, code in table:
        statuses.add(int(status))
        if code != "NULL":
            add(code.strip('"'), "verdict table")
    m = re.search(r"int adp_api_verdict_status\(.*?\n?\}", api)
    body = api[m.start():api.find("return status; }", m.start())] if m else ""
    if not body:
        problems.append("adapter/api.c: adp_api_verdict_status() not found")
    for c in re.findall(r'\*code = [^;]*?"([a-z0-9_]+)"', body):
        add(c, "adp_api_verdict_status")
    for s in re.findall(r"\bstatus = (\d{3});", body):
        statuses.add(int(s))
    if "*code = v->outcome" in body:
        for o in vtj_no_data(src):
            add(o, "no_data outcome (services/vtj.c)")
    if "adp_xfer_class_name(v->transport)" in body:
        x = strip_c(read(src, "adapter/xfer.c"))
        m = re.search(r"const char \*adp_xfer_class_name\([^)]*\) \{ "
                      r"switch \(\w+\) \{(.*?)\} return", x)
        if not m:
            problems.append("adapter/xfer.c: adp_xfer_class_name() not found")
        for c in re.findall(r'return "([a-z0-9_]+)";', m.group(1) if m else ""):
            if c != "ok":
                add(c, "transport class (xfer.c)")
    if "v->err.reason" in body:
        dyn_kinds.add("input")

    if "input" in dyn_kinds:
        for rel in INPUT_FILES:
            t = strip_c(read(src, rel))
            found = reasons_of(t)
            if rel == "adapter/query.c":
                m = re.search(r"texts\[\] = \{(.*?)\};", t)
                if not m:
                    problems.append("adapter/query.c: texts[] not found")
                else:
                    for quad in re.findall(
                            r'\{\s*"[a-z_]+"\s*,\s*"([a-z_]+)"\s*,\s*'
                            r'"([a-z_]+)"\s*,\s*"([a-z_]+)"\s*\}',
                            m.group(1)):
                        found.update(quad)
            for c in found - set(NOT_API):
                add(c, rel)
    if "mime" in dyn_kinds:
        for c in reasons_of(strip_c(read(src, "xroad/mime.c"))):
            add(c, "xroad/mime.c")

    # The HTTP layer and conn.c's framing check.
    srv = strip_c(read(src, "adapter/server.c"))
    if "evhttp_set_max_body_size(" in srv:
        statuses.add(413)
    if "evhttp_set_allowed_methods(" in srv:
        statuses.update({400, 501})
    conn = strip_c(read(src, "adapter/conn.c"))
    statuses.update(int(s) for s in
                    re.findall(r"bad_status = (\d{3});", conn))
    return codes, statuses, problems


def doc_codes(doc):
    """Every string of an enum of a `code` property; every response status
    of every operation."""
    codes, statuses = set(), set()

    def walk(node, under_code=False):
        if isinstance(node, dict):
            for k, v in node.items():
                if k == "enum" and under_code and isinstance(v, list):
                    codes.update(x for x in v if isinstance(x, str))
                elif k == "properties" and isinstance(v, dict):
                    for pk, pv in v.items():
                        walk(pv, pk == "code")
                else:
                    walk(v, under_code and k in ("allOf", "oneOf", "anyOf",
                                                 "items"))
        elif isinstance(node, list):
            for x in node:
                walk(x, under_code)
    walk(doc)
    # A property `code` may also be a $ref to a component schema.
    for name, sch in doc.get("components", {}).get("schemas", {}).items():
        if name.endswith("Code") and isinstance(sch, dict):
            walk({"properties": {"code": sch}})
    for path, item in doc.get("paths", {}).items():
        for method, op in item.items():
            if isinstance(op, dict) and "responses" in op:
                for st in op["responses"]:
                    if str(st).isdigit():
                        statuses.add(int(st))
    return codes, statuses


def load_doc(src):
    import yaml
    with open(os.path.join(src, "docs/openapi.yaml"), encoding="utf-8") as f:
        return yaml.safe_load(f)


def drift(src):
    doc = load_doc(src)
    scodes, sstat, problems = source_codes(src)
    dcodes, dstat = doc_codes(doc)
    missing = sorted(set(scodes) - dcodes)
    extra = sorted(dcodes - set(scodes))
    smiss = sorted(sstat - dstat)
    sextra = sorted(dstat - sstat - {200})
    for c in missing:
        problems.append("code `%s` (from %s) is not in docs/openapi.yaml" %
                        (c, scodes[c]))
    for c in extra:
        problems.append("code `%s` is in docs/openapi.yaml but no source "
                        "sends it" % c)
    with open(os.path.join(src, "docs/api.md"), encoding="utf-8") as f:
        api_md = f.read()
    for c in sorted(scodes):
        if "`%s`" % c not in api_md:
            problems.append("code `%s` (from %s) is not named in docs/api.md" %
                            (c, scodes[c]))
    for s in smiss:
        problems.append("status %d can be sent but no operation in "
                        "docs/openapi.yaml lists it" % s)
    for s in sextra:
        problems.append("status %d is in docs/openapi.yaml but no source "
                        "sends it" % s)
    print("drift: %d codes and %d statuses in the sources, %d codes and %d "
          "statuses in docs/openapi.yaml" % (len(scodes), len(sstat),
                                             len(dcodes), len(dstat)))
    for p in problems:
        print("drift: " + p)
    return 1 if problems else 0


def local_refs(doc):
    """Every local $ref must point at something."""
    bad = []

    def resolve(ref):
        node = doc
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, dict) or part not in node:
                return False
            node = node[part]
        return True

    def walk(node):
        if isinstance(node, dict):
            r = node.get("$ref")
            if isinstance(r, str) and r.startswith("#/") and not resolve(r):
                bad.append(r)
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
    walk(doc)
    return bad


def path_params(doc):
    bad = []
    for path, item in doc.get("paths", {}).items():
        want = set(re.findall(r"\{([^}]+)\}", path))
        for method, op in item.items():
            if not isinstance(op, dict) or "responses" not in op:
                continue
            have = {p.get("name") for p in
                    item.get("parameters", []) + op.get("parameters", [])
                    if isinstance(p, dict) and p.get("in") == "path"}
            for p in want - have:
                bad.append("%s %s: path parameter {%s} not declared" %
                           (method.upper(), path, p))
    return bad


def jsonschema_version():
    try:
        from importlib.metadata import version
        return version("jsonschema")
    except Exception:  # metadata missing: the version is only informative
        return "?"


def valid(src):
    doc = load_doc(src)
    if not str(doc.get("openapi", "")).startswith("3.1."):
        print("valid: docs/openapi.yaml declares openapi %r, not 3.1.x" %
              doc.get("openapi"))
        return 1
    try:
        from openapi_spec_validator import validate
    except ImportError:
        validate = None
    if validate is None:
        try:
            from openapi_spec_validator import validate_spec as validate
        except ImportError:
            validate = None
    if validate is not None:
        try:
            validate(doc)
        except Exception as e:  # the validator's own error types vary
            print("valid: openapi-spec-validator: %s" % e)
            return 1
        print("valid: docs/openapi.yaml passes openapi-spec-validator")
        return 0
    try:
        import jsonschema
    except ImportError:
        print("valid: SKIP: neither openapi_spec_validator nor jsonschema "
              "(Debian: python3-jsonschema) is available")
        return SKIP
    with open(os.path.join(src, "tests/docs/oas-3.1-schema.json"),
              encoding="utf-8") as f:
        schema = json.load(f)
    v = jsonschema.Draft202012Validator(schema)
    errors = sorted(v.iter_errors(doc), key=lambda e: list(e.path))
    problems = ["%s: %s" % ("/".join(str(p) for p in e.path), e.message)
                for e in errors]
    problems += ["unresolved $ref " + r for r in local_refs(doc)]
    problems += path_params(doc)
    ids = [op.get("operationId") for item in doc.get("paths", {}).values()
           for op in item.values() if isinstance(op, dict) and
           op.get("operationId")]
    problems += ["operationId %s twice" % i for i in set(ids)
                 if ids.count(i) > 1]
    for p in problems:
        print("valid: " + p)
    if problems:
        return 1
    print("valid: docs/openapi.yaml passes the OpenAPI 3.1 schema "
          "(jsonschema %s), $refs and path parameters" %
          jsonschema_version())
    return 0


def main():
    if len(sys.argv) != 3 or sys.argv[2] not in ("valid", "drift"):
        print(__doc__, file=sys.stderr)
        return 2
    try:
        import yaml  # noqa: F401
    except ImportError:
        print("SKIP: python3-yaml is not installed")
        return SKIP
    return valid(sys.argv[1]) if sys.argv[2] == "valid" else drift(sys.argv[1])


if __name__ == "__main__":
    sys.exit(main())
