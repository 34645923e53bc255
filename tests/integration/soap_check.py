#!/usr/bin/python3
"""The generic SOAP path (POST /v1/xroad/soap/{service}) as a client that
nobody here wrote would use it: Python's own http.client, ssl and email
packages build and read the multipart bodies, against `vayla serve` over
TLS and the simulator's echo service.

  soap_check.py BASE_URL CA_FILE TOKEN AUDIT_DB

Prints one "ok: ..." or "FAIL: ..." line per check; exits 1 when any
check failed.
"""
import base64
import email.parser
import email.policy
import http.client
import json
import os
import sqlite3
import ssl
import sys
import urllib.parse
import xml.etree.ElementTree as ET

BASE, CA, TOKEN, AUDIT_DB = sys.argv[1:5]
ECHO = "FI-TEST/GOV/0245437-2/vayla-echo/echo/v1"
ADMIN = "FI-TEST/GOV/0245437-2/vayla-echo/echoAdmin/v1"
NS = "urn:vayla:echo:1"
FAILS = 0


def ok(name):
    print("ok: " + name)


def fail(name, why):
    global FAILS
    FAILS += 1
    print("FAIL: %s: %s" % (name, why))


def request(method, path, body=b"", headers=None, token=TOKEN):
    url = urllib.parse.urlsplit(BASE)
    ctx = ssl.create_default_context(cafile=CA)
    conn = http.client.HTTPSConnection(url.hostname, url.port, context=ctx,
                                       timeout=30)
    h = {"X-Road-UserId": "FI-it-user", "X-Road-Issue": "generic path test"}
    if token:
        h["Authorization"] = "Bearer " + token
    h.update(headers or {})
    h = {k: v for k, v in h.items() if v is not None}
    conn.request(method, path, body=body, headers=h)
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp.status, resp.headers, data


def soap(payload, ctype="application/xml", accept="application/json",
         service=ECHO, **kw):
    headers = {"Content-Type": ctype, "Accept": accept}
    headers.update(kw.pop("headers", {}))
    return request("POST", "/v1/xroad/soap/" + service, payload,
                   headers=headers, **kw)


def multipart(root, root_type, parts, mtom=False):
    """A multipart/related body: the root part, then the attachments."""
    boundary = "it-" + os.urandom(12).hex()
    out = []
    out.append(b"--" + boundary.encode() + b"\r\n")
    out.append(b"Content-Type: " + root_type.encode() + b"\r\n")
    out.append(b"Content-ID: <root@it>\r\n\r\n")
    out.append(root + b"\r\n")
    for cid, ctype, data in parts:
        out.append(b"--" + boundary.encode() + b"\r\n")
        out.append(b"Content-Type: " + ctype.encode() + b"\r\n")
        out.append(b"Content-Transfer-Encoding: binary\r\n")
        out.append(b"Content-ID: <" + cid.encode() + b">\r\n\r\n")
        out.append(data + b"\r\n")
    out.append(b"--" + boundary.encode() + b"--\r\n")
    if mtom:
        ctype = ('multipart/related; type="application/xop+xml"; '
                 'start="<root@it>"; start-info="text/xml"; boundary="%s"'
                 % boundary)
    else:
        ctype = ('multipart/related; type="text/xml"; start="<root@it>"; '
                 'boundary="%s"' % boundary)
    return b"".join(out), ctype


def parse_multipart(ctype, body):
    """The parts of a multipart answer as (content-type, content-id,
    bytes), read by Python's email package."""
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + body)
    if not msg.is_multipart():
        raise ValueError("not multipart: " + ctype)
    parts = []
    for p in msg.iter_parts():
        parts.append((p.get_content_type(), (p["Content-ID"] or "").strip("<>"),
                      p.get_payload(decode=True)))
    return parts


def echo_payload(text, extra=""):
    return ('<e:echo xmlns:e="%s"><e:text>%s</e:text>%s</e:echo>'
            % (NS, text, extra)).encode()


def expect_error(name, got, status, code):
    st, _, data = got
    try:
        j = json.loads(data)
    except ValueError:
        j = {}
    if st == status and j.get("code") == code:
        ok(name)
        return j
    fail(name, "HTTP %d %s (want %d %s)" % (st, data[:300], status, code))
    return None


# --- success, JSON and XML ------------------------------------------------
st, hd, data = soap(echo_payload("hello"), accept="application/json")
try:
    j = json.loads(data)
    root = ET.fromstring(j["body"].encode())
    if (st == 200 and root.tag == "{%s}echoResponse" % NS and
            root.find("{%s}text" % NS).text == "hello" and
            j["message_id"] == hd["X-Road-Id"] and j["service"] == ECHO and
            j["attachments"] == []):
        ok("echo as JSON: the answer wrapper, message id = X-Road-Id")
        json_id = j["message_id"]
    else:
        raise ValueError("unexpected answer")
except (ValueError, KeyError, TypeError, AttributeError, ET.ParseError) as e:
    fail("echo as JSON", "%s: HTTP %d %s" % (e, st, data[:300]))
    json_id = None

st, hd, data = soap(echo_payload("xml please"), ctype="text/xml",
                    accept="application/xml")
try:
    root = ET.fromstring(data)
    if (st == 200 and hd.get_content_type() == "application/xml" and
            root.tag == "{%s}echoResponse" % NS and
            root.find("{%s}text" % NS).text == "xml please"):
        ok("echo as XML (text/xml in, Accept application/xml)")
    else:
        raise ValueError("unexpected answer")
except (ValueError, AttributeError, ET.ParseError) as e:
    fail("echo as XML", "%s: HTTP %d %s" % (e, st, data[:300]))

# --- a fault of the provider's side ---------------------------------------
got = soap(echo_payload("x", '<e:fault string="refused on request">'
                        'Echo.Refused</e:fault>'))
j = expect_error("a provider fault", got, 502, "xroad_fault")
if j is not None:
    f = j.get("fault", {})
    if f.get("code") == "Echo.Refused" and f.get("origin") == "service" and \
            f.get("string") == "refused on request":
        ok("the fault keeps its code and string, origin service")
    else:
        fail("the fault's details", json.dumps(j)[:300])
st, hd, data = soap(echo_payload("x", '<e:fault>Echo.Refused</e:fault>'),
                    accept="application/xml")
if st == 502 and b"xroad_fault" in data and \
        hd.get_content_type() == "application/xml":
    ET.fromstring(data)
    ok("a provider fault, asked as XML: an XML error document")
else:
    fail("a provider fault as XML", "HTTP %d %s" % (st, data[:300]))

# --- attachments both ways ------------------------------------------------
blob = os.urandom(70000) + b"\r\n--not-a-boundary\r\n" + bytes(range(256))
pdf = b"%PDF-1.4 " + os.urandom(3000)
for mtom in (False, True):
    kind = "MTOM" if mtom else "SwA"
    if mtom:
        root = echo_payload('<xop:Include xmlns:xop="http://www.w3.org/2004/'
                            '08/xop/include" href="cid:blob@it"/>')
        rtype = 'application/xop+xml; type="text/xml"; charset=UTF-8'
    else:
        root = echo_payload("with attachments")
        rtype = "text/xml; charset=UTF-8"
    body, ctype = multipart(root, rtype, [
        ("blob@it", "application/octet-stream", blob),
        ("doc@it", "application/pdf", pdf)], mtom=mtom)
    st, hd, data = soap(body, ctype=ctype, accept="multipart/related")
    try:
        parts = parse_multipart(hd["Content-Type"], data)
        want_root = "application/xop+xml" if mtom else "text/xml"
        r0 = ET.fromstring(parts[0][2])
        if (st == 200 and parts[0][0] == want_root and
                r0.tag == "{%s}echoResponse" % NS and
                [p[1:] for p in parts[1:]] ==
                [("blob@it", blob), ("doc@it", pdf)] and
                [p[0] for p in parts[1:]] ==
                ["application/octet-stream", "application/pdf"]):
            ok("%s round trip, multipart answer: both attachments byte for "
               "byte" % kind)
        else:
            raise ValueError("parts %r" % [(p[0], p[1], len(p[2]))
                                           for p in parts])
    except (ValueError, KeyError, IndexError, ET.ParseError) as e:
        fail("%s round trip as multipart" % kind,
             "%s: HTTP %d %s" % (e, st, data[:200]))
    st, hd, data = soap(body, ctype=ctype, accept="application/json")
    try:
        j = json.loads(data)
        att = j["attachments"]
        if (st == 200 and len(att) == 2 and
                base64.b64decode(att[0]["data"]) == blob and
                att[0]["content_id"] == "blob@it" and
                att[0]["size"] == len(blob) and
                base64.b64decode(att[1]["data"]) == pdf and
                att[1]["content_type"].startswith("application/pdf")):
            ok("%s round trip, JSON answer: attachments in base64" % kind)
        else:
            raise ValueError("attachments %s" % json.dumps(att)[:300])
    except (ValueError, KeyError, IndexError, TypeError) as e:
        fail("%s round trip as JSON" % kind, "%s: HTTP %d %s"
             % (e, st, data[:200]))

# --- refusals -------------------------------------------------------------
expect_error("a service the caller may not call: 403",
             soap(b'<e:other xmlns:e="urn:vayla:echo:1"/>',
                  service="FI-TEST/GOV/0245437-2/vayla-echo/other/v1"), 403,
             "service_not_allowed")
# Listed for the caller, but the provider grants the client no access:
# the security server refuses it, and says so.
j = expect_error("a service the provider does not grant: 502 fault",
                 soap(b'<e:echoAdmin xmlns:e="urn:vayla:echo:1"/>',
                      service=ADMIN), 502, "xroad_fault")
if j is not None:
    f = j.get("fault", {})
    if "AccessDenied" in f.get("code", "") and \
            f.get("origin") == "server_proxy":
        ok("the refusal is the provider security server's AccessDenied (origin server_proxy)")
    else:
        fail("the not-granted fault", json.dumps(j)[:300])
expect_error("a path that is no service id: 400",
             soap(echo_payload("x"), service="FI-TEST/GOV/0245437-2"), 400,
             "invalid_service_id")
# Over the cap the body is refused before it is read: the HTTP layer's
# 413 and the connection closed (docs/api.md).
st, _, data = soap(echo_payload("x" * 300000))
if st == 413:
    ok("a payload over max_soap_body_bytes: 413, before the body is read")
else:
    fail("a payload over the cap", "HTTP %d %s" % (st, data[:200]))
expect_error("no X-Road-UserId: 422",
             soap(echo_payload("x"), headers={"X-Road-UserId": None}), 422,
             "missing_end_user")
expect_error("no X-Road-Issue: 422",
             soap(echo_payload("x"), headers={"X-Road-Issue": None}), 422,
             "missing_purpose")
expect_error("malformed XML: 422", soap(b"<e:echo xmlns:e='urn:x'><oops>"),
             422, "malformed_xml")
expect_error("a wrapper not named like the service: 422",
             soap(b'<e:notecho xmlns:e="urn:vayla:echo:1"/>'), 422,
             "body_invalid")
st, _, data = soap(echo_payload("x"), accept="text/html")
if st == 406:
    ok("Accept nothing it can give: 406")
else:
    fail("Accept text/html", "HTTP %d %s" % (st, data[:200]))
expect_error("no credentials: 401", soap(echo_payload("x"), token=None),
             401, "unauthenticated")

# --- GET /v1/xroad/services -----------------------------------------------
st, _, data = request("GET", "/v1/xroad/services")
try:
    svcs = {s["service"]: s for s in json.loads(data)["services"]}
    if (st == 200 and svcs[ECHO]["granted"] is True and
            svcs[ADMIN]["granted"] is False and
            svcs[ADMIN]["check"] == "allowed_methods" and
            svcs[ECHO]["path"] == "/v1/xroad/soap/" + ECHO):
        ok("services: echo granted, echoAdmin listed but not granted "
           "(allowedMethods)")
    else:
        raise ValueError("unexpected")
except (ValueError, KeyError, TypeError) as e:
    fail("GET /v1/xroad/services", "%s: HTTP %d %s" % (e, st, data[:300]))
st, _, data = request("GET", "/v1/xroad/services?check=false")
try:
    svcs = json.loads(data)["services"]
    if st == 200 and all(s["granted"] is None and s["check"] == "not_checked"
                         for s in svcs) and len(svcs) == 2:
        ok("services?check=false: the configuration alone")
    else:
        raise ValueError("unexpected")
except (ValueError, KeyError, TypeError) as e:
    fail("services?check=false", "%s: HTTP %d %s" % (e, st, data[:300]))

# --- the audit trail ------------------------------------------------------
st, hd, data = soap(echo_payload("audited"),
                    headers={"X-Vayla-Subject": "case-4711"})
mid = hd.get("X-Road-Id")
db = sqlite3.connect(AUDIT_DB)
rows = db.execute("SELECT kind, subject, service, end_user, purpose, "
                  "request_sha512 IS NOT NULL FROM records "
                  "WHERE message_id = ? ORDER BY seq", (mid,)).fetchall()
if st == 200 and len(rows) == 2 and rows[0][1] == "case-4711" and \
        rows[0][2] == ECHO and rows[0][3] == "FI-it-user" and \
        rows[0][4] == "generic path test":
    ok("the query is audited: intent and outcome, subject from X-Vayla-Subject")
else:
    fail("audit of a generic query", "HTTP %d rows %r" % (st, rows))
db.close()

sys.exit(1 if FAILS else 0)
