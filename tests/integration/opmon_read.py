#!/usr/bin/python3
"""Read a getSecurityServerOperationalData answer saved by curl.

Usage: opmon_read.py CONTENT_TYPE ANSWER_FILE

Prints one JSON object: the SOAP part's recordsCount and nextRecordsFrom,
the attachment's Content-Type and Content-ID, and the records decoded
from the gzip'd JSON. Exits 1 when the answer is not such a message.
Standard library only (Debian's /usr/bin/python3).
"""
import email.parser
import email.policy
import gzip
import json
import re
import sys

OM = "http://x-road.eu/xsd/op-monitoring.xsd"


def main():
    ctype, path = sys.argv[1], sys.argv[2]
    with open(path, "rb") as f:
        body = f.read()
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + body)
    if not msg.is_multipart():
        print(json.dumps({"error": "not multipart"}))
        return 1
    parts = list(msg.iter_parts())
    soap = parts[0].get_payload(decode=True).decode("utf-8")
    count = re.search(r"<om:recordsCount>(\d+)</om:recordsCount>", soap)
    nxt = re.search(r"<om:nextRecordsFrom>(\d+)</om:nextRecordsFrom>", soap)
    ref = re.search(r"<om:records>cid:([^<]+)</om:records>", soap)
    if OM not in soap or not count or not ref:
        print(json.dumps({"error": "not an operational data answer",
                          "soap": soap[:400]}))
        return 1
    att = [p for p in parts[1:] if p.get("Content-ID", "").strip("<>") ==
           ref.group(1)]
    if len(att) != 1:
        print(json.dumps({"error": "no attachment " + ref.group(1)}))
        return 1
    data = att[0].get_payload(decode=True)
    records = json.loads(gzip.decompress(data))["records"]
    print(json.dumps({
        "recordsCount": int(count.group(1)),
        "nextRecordsFrom": int(nxt.group(1)) if nxt else None,
        "content_type": att[0].get_content_type(),
        "records": records,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
