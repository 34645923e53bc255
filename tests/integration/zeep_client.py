"""A third-party SOAP client (zeep) against vayla-sim.

Run by zeep_client.sh with Debian's /usr/bin/python3. Loads DVV's VTJ WSDL
from the shared vectors, sends HenkilonTunnusKysely with the X-Road
headers the WSDL declares over HTTPS with a client certificate, and checks
the answer the way an information system would: zeep parses it, its
requestHash is base64(SHA-512(the exact bytes zeep sent)) and sits right
after id in the X-Road namespace, and request and answer validate (lxml)
against the schema set that lib.sh it_schemas prepared.

Exit 0 when every check passes, 1 otherwise (each failure on stdout),
77 when zeep or lxml is missing.
"""

import argparse
import base64
import hashlib
import sys
import uuid

try:
    from lxml import etree
    import requests
    import zeep
    from zeep.transports import Transport
except ImportError as e:  # the shell script skips with 77 as well
    print("SKIP: %s" % e)
    sys.exit(77)

NS_XROAD = "http://x-road.eu/xsd/xroad.xsd"
NS_WS = "http://xml.vrk.fi/ws/vtj/vtjkysely/1"
NS_MSG = "http://xml.vrk.fi/schema/vtjkysely"
BINDING = "{%s}BasicHttpBinding_ISoSoAdapterService60" % NS_WS


class CapturingTransport(Transport):
    """Keeps the exact request bytes and the answer of the last POST."""

    sent = None
    answer = None
    status = None

    def post(self, address, message, headers):
        self.sent = message if isinstance(message, bytes) else message.encode()
        response = super().post(address, message, headers)
        self.answer = response.content
        self.status = response.status_code
        return response


class Checks:
    def __init__(self):
        self.failures = 0

    def check(self, name, ok, detail=""):
        if ok:
            print("ok: %s" % name)
        else:
            self.failures += 1
            print("FAIL: %s %s" % (name, detail))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wsdl", required=True)
    ap.add_argument("--url", required=True)
    ap.add_argument("--ca", required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--schemas", required=True)
    ap.add_argument("--username", required=True)
    ap.add_argument("--password-file", required=True)
    ap.add_argument("--hetu", default="150380-903V")
    args = ap.parse_args()
    c = Checks()

    with open(args.password_file, encoding="utf-8") as f:
        password = f.readline().strip()
    session = requests.Session()
    # Only the test CA and no proxy: REQUESTS_CA_BUNDLE or HTTPS_PROXY in
    # the environment would otherwise override the settings below.
    session.trust_env = False
    session.verify = args.ca
    session.cert = (args.cert, args.key)
    transport = CapturingTransport(session=session, timeout=60,
                                   operation_timeout=60)
    client = zeep.Client(wsdl=args.wsdl, transport=transport)
    service = client.create_service(BINDING, args.url)

    msg_id = str(uuid.uuid4())
    headers = {
        "clientField": {
            "xRoadInstance": "FI-TEST",
            "memberClass": "MUN",
            "memberCode": "0101263-6",
            "subsystemCode": "vayla-demo",
            "objectType": "SUBSYSTEM",
        },
        "serviceField": {
            "xRoadInstance": "FI-TEST",
            "memberClass": "GOV",
            "memberCode": "0245437-2",
            "subsystemCode": "VTJkysely",
            "serviceCode": "HenkilonTunnusKysely",
            "serviceVersion": "v1",
            "objectType": "SERVICE",
        },
        "id": msg_id,
        "issue": "zeep case 1",
        "protocolVersion": "4.0",
        "userId": "zeep-user-1",
    }
    request = {
        "SoSoNimi": "PERUSSANOMA 3",
        "Kayttajatunnus": args.username,
        "Salasana": password,
        "Loppukayttaja": "zeep-user-1",
        "Henkilotunnus": args.hetu,
    }
    try:
        result = service.HenkilonTunnusKysely(request=request,
                                              _soapheaders=headers)
    except Exception as e:  # zeep's parse errors, faults, transport
        c.check("zeep call", False, "%s: %s" % (type(e).__name__, e))
        if transport.answer is not None:
            print("  answer: %s" % transport.answer[:800])
        return 1
    c.check("zeep call and parse", result is not None)
    c.check("HTTP 200", transport.status == 200, str(transport.status))

    # What zeep made of the answer: with output headers in the WSDL the
    # result has a header part and a body part.
    body = result.body
    header = result.header
    c.check("zeep reads the header echo",
            header is not None and header["id"] == msg_id
            and header["userId"] == "zeep-user-1"
            and header["clientField"]["subsystemCode"] == "vayla-demo",
            str(header))
    echo = body["request"]
    c.check("request echo, password emptied",
            echo is not None and echo["Henkilotunnus"] == args.hetu
            and not echo["Salasana"], str(echo))
    payload = body["response"]["_value_1"] if body["response"] else None
    palu = None
    for el in payload or []:
        if el.tag == "{%s}VTJHenkiloVastaussanoma" % NS_MSG:
            palu = el.find("{%s}Paluukoodi" % NS_MSG)
    c.check("VTJHenkiloVastaussanoma with Paluukoodi 0000",
            palu is not None and palu.get("koodi") == "0000")

    # The raw answer: requestHash over the exact bytes zeep sent.
    want = base64.b64encode(hashlib.sha512(transport.sent).digest()).decode()
    answer = etree.fromstring(transport.answer)
    hashes = answer.findall(".//{%s}requestHash" % NS_XROAD)
    c.check("one requestHash in the X-Road namespace", len(hashes) == 1,
            str(len(hashes)))
    if hashes:
        rh = hashes[0]
        got = "".join((rh.text or "").split())
        c.check("requestHash = base64(SHA-512(bytes sent))", got == want,
                "%s != %s" % (got, want))
        c.check("requestHash algorithmId",
                rh.get("algorithmId")
                == "http://www.w3.org/2001/04/xmlenc#sha512")
        prev = rh.getprevious()
        while prev is not None and not isinstance(prev.tag, str):
            prev = prev.getprevious()
        c.check("requestHash right after id",
                prev is not None and prev.tag == "{%s}id" % NS_XROAD
                and prev.text == msg_id)
    ids = answer.findall(".//{%s}id" % NS_XROAD)
    c.check("id echoed", len(ids) == 1 and ids[0].text == msg_id)

    # Both messages against the published schemas (lxml).
    schema = etree.XMLSchema(
        etree.parse("%s/soap-envelope.xsd" % args.schemas))
    for name, data in (("request", transport.sent),
                       ("answer", transport.answer)):
        doc = etree.fromstring(data)
        ok = schema.validate(doc)
        c.check("%s validates against the schemas" % name, ok,
                str(schema.error_log.last_error))
    return 1 if c.failures else 0


if __name__ == "__main__":
    sys.exit(main())
