#!/usr/bin/python3
"""Live answers of `vayla serve` against docs/openapi.yaml.

    openapi_contract.py OPENAPI_YAML API_URL CA_PEM TOKEN UNIX_SOCKET

Sends a set of requests (successes and refusals) to a running daemon and
checks, for each answer, that docs/openapi.yaml lists its status for the
route and method, and that the JSON body validates against the response's
schema there (JSON Schema 2020-12, $refs resolved in the document). The
`code` of an error must be one the response's schema allows. Skips (77)
without python3-yaml or python3-jsonschema.
"""
import http.client
import json
import socket
import ssl
import sys
import urllib.parse

try:
    import jsonschema
    import yaml
except ImportError as e:
    print("SKIP: %s" % e)
    sys.exit(77)

ECHO = "FI-TEST/GOV/0245437-2/vayla-echo/echo/v1"
ECHO_BODY = b'<e:echo xmlns:e="urn:vayla:echo:1"><e:text>hello</e:text></e:echo>'
PERSON = {"hetu": "150380-903V", "end_user": "it.user", "purpose": "it case"}


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=60)
        self.unix_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(60)
        self.sock.connect(self.unix_path)


def template_of(doc, path):
    """The path template of doc that matches path (literal ones first)."""
    paths = doc["paths"]
    if path in paths:
        return path
    for t in paths:
        if "{" in t and t != "/{anything}" and \
                path.startswith(t.split("{")[0]):
            return t
    return "/{anything}"


def resolve(doc, node):
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        node = doc
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def check(doc, name, method, path, status, ctype, body, problems):
    tmpl = template_of(doc, urllib.parse.urlsplit(path).path)
    op = doc["paths"][tmpl].get(method.lower())
    if op is None and status == 405:
        # 405 answers a method the path does not have: the document lists
        # it under the path's own operations.
        op = next((o for o in doc["paths"][tmpl].values()
                   if isinstance(o, dict) and "405" in o.get("responses", {})),
                  None)
    if op is None:
        problems.append("%s: %s %s is not in openapi.yaml" % (name, method, tmpl))
        return
    resp = op["responses"].get(str(status))
    if resp is None:
        problems.append("%s: %s %s answered %d, which openapi.yaml does not "
                        "list" % (name, method, tmpl, status))
        return
    resp = resolve(doc, resp)
    media = (ctype or "").split(";")[0].strip()
    content = resp.get("content", {})
    if media not in content:
        problems.append("%s: %d answered %s; openapi.yaml lists %s" %
                        (name, status, media, sorted(content)))
        return
    schema = content[media].get("schema")
    if media == "application/json" and schema is not None:
        try:
            inst = json.loads(body)
        except ValueError as e:
            problems.append("%s: not JSON: %s" % (name, e))
            return
        resolver = jsonschema.RefResolver.from_schema(doc)
        v = jsonschema.Draft202012Validator(schema, resolver=resolver)
        for err in v.iter_errors(inst):
            problems.append("%s: %d body: %s at /%s" %
                            (name, status, err.message,
                             "/".join(str(p) for p in err.path)))
    print("ok: %s: %s %s -> %d %s" % (name, method, tmpl, status, media))


def main():
    spec, api, ca, token, sock = sys.argv[1:6]
    with open(spec, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    u = urllib.parse.urlsplit(api)
    tls = ssl.create_default_context(cafile=ca)
    bearer = {"Authorization": "Bearer " + token}
    soap_h = dict(bearer, **{"Content-Type": "application/xml",
                             "X-Road-UserId": "it.user",
                             "X-Road-Issue": "it case"})
    person_h = dict(bearer, **{"Content-Type": "application/json"})
    cases = [
        ("person found", "POST", "/v1/vtj/person", person_h,
         json.dumps(PERSON).encode(), 200),
        ("person not found", "POST", "/v1/vtj/person", person_h,
         json.dumps(dict(PERSON, hetu="010100-999N")).encode(), 404),
        ("person invalid hetu", "POST", "/v1/vtj/person", person_h,
         json.dumps(dict(PERSON, hetu="010100-999X")).encode(), 422),
        ("person unknown field", "POST", "/v1/vtj/person", person_h,
         b'{"hetu":"150380-903V","end_user":"a","purpose":"b","x":"y"}', 400),
        ("person malformed", "POST", "/v1/vtj/person", person_h, b"{", 400),
        ("person media type", "POST", "/v1/vtj/person",
         dict(bearer, **{"Content-Type": "text/plain"}), b"{}", 415),
        ("person no token", "POST", "/v1/vtj/person",
         {"Content-Type": "application/json"}, json.dumps(PERSON).encode(), 401),
        ("person product", "POST", "/v1/vtj/person", person_h,
         json.dumps(dict(PERSON, product="NOT-ALLOWED 9")).encode(), None),
        ("person GET", "GET", "/v1/vtj/person", bearer, None, 405),
        ("soap echo", "POST", "/v1/xroad/soap/" + ECHO, soap_h, ECHO_BODY, 200),
        ("soap bad id", "POST", "/v1/xroad/soap/FI-TEST/GOV", soap_h,
         ECHO_BODY, 400),
        ("soap not allowed", "POST",
         "/v1/xroad/soap/FI-TEST/GOV/0245437-2/vayla-echo/echoAdmin/v1",
         soap_h, ECHO_BODY, 403),
        ("soap not acceptable", "POST", "/v1/xroad/soap/" + ECHO,
         dict(soap_h, Accept="image/png"), ECHO_BODY, 406),
        ("soap no issue", "POST", "/v1/xroad/soap/" + ECHO,
         {k: v for k, v in soap_h.items() if k != "X-Road-Issue"},
         ECHO_BODY, 422),
        ("soap wrong wrapper", "POST", "/v1/xroad/soap/" + ECHO, soap_h,
         b"<x/>", 422),
        ("services", "GET", "/v1/xroad/services", bearer, None, 200),
        ("services unchecked", "GET", "/v1/xroad/services?check=false",
         bearer, None, 200),
        ("healthz", "GET", "/healthz", {}, None, 200),
        ("readyz", "GET", "/readyz", {}, None, 200),
        ("metrics", "GET", "/metrics", {}, None, 200),
        ("no route", "GET", "/v1/nope", {}, None, 404),
        ("healthz POST", "POST", "/healthz", {}, b"", 405),
    ]
    problems, answers = [], 0
    for name, method, path, headers, body, want in cases:
        for where in ("tcp", "unix") if name == "person found" else ("tcp",):
            conn = (http.client.HTTPSConnection(u.hostname, u.port,
                                                context=tls, timeout=60)
                    if where == "tcp" else UnixHTTPConnection(sock))
            h = dict(headers)
            if where == "unix":
                h.pop("Authorization", None)  # the peer uid names the caller
            conn.request(method, path, body=body, headers=h)
            r = conn.getresponse()
            data = r.read()
            conn.close()
            answers += 1
            label = name + ("" if where == "tcp" else " (UNIX socket)")
            if want is not None and r.status != want:
                problems.append("%s: HTTP %d, expected %d: %s" %
                                (label, r.status, want, data[:300]))
                continue
            check(doc, label, method, path, r.status,
                  r.getheader("Content-Type"), data, problems)
    for p in problems:
        print("FAIL: " + p)
    failed = len({p.split(":")[0] for p in problems})
    print("%d passed, %d failed" % (answers - failed, failed))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
