#!/usr/bin/python3
"""Every file docs/architecture.md and docs/cli.md name exists.

    check_files.py SRCDIR

A name is a `code span` that ends in a source or document suffix (.c .h
.md .sh .py .yaml .json .conf .example .service) or ends in `/` (a
folder), without spaces or wildcards. A name with a `/` is looked up from
the repository root (and from adapter/ for services/...); a bare name in
the repository's source folders (adapter/, adapter/services/, xroad/,
include/xroad/, tests/*/, deploy/, docs/). Names of files a command
writes (vayla.conf, sim.conf, token, ...) are listed in GENERATED, the
proposed files of "Designed for next" in FUTURE; templates with NAME are
skipped. Also: every adapter/*.c, adapter/services/*.c and
xroad/*.c file is named in architecture.md (its tables are complete).
"""
import glob
import os
import re
import sys

SUFFIX = re.compile(r"\.(c|h|md|sh|py|yaml|json|example|service)$|/$")
GENERATED = {"vayla.conf", "sim.conf", "vayla.sock", "audit.db", "token",
             "verificationconf.zip", "message.xml"}
# Files the "Designed for next" section proposes: they do not exist yet.
FUTURE = {"api_audit.c", "debian/"}
DOCS = ["docs/architecture.md", "docs/cli.md"]


def main():
    src = sys.argv[1]
    dirs = ["", "adapter", "adapter/services", "xroad", "include/xroad",
            "deploy", "docs", "tests"] + [
        os.path.relpath(d, src) for d in glob.glob(os.path.join(src, "tests/*/"))]
    problems = []
    for doc in DOCS:
        with open(os.path.join(src, doc), encoding="utf-8") as f:
            text = f.read()
        for name in sorted(set(re.findall(r"`([^`\s*]+)`", text))):
            if (not SUFFIX.search(name) or name in GENERATED or
                    name in FUTURE or "://" in name or "NAME" in name or
                    name.startswith(".")):
                continue
            if name.startswith("../shared/"):
                continue
            cands = ([name, os.path.join("adapter", name)] if "/" in name.rstrip("/")
                     else [os.path.join(d, name) for d in dirs])
            if not any(os.path.exists(os.path.join(src, c)) for c in cands):
                problems.append("%s names `%s`, which does not exist" % (doc, name))
    with open(os.path.join(src, "docs/architecture.md"), encoding="utf-8") as f:
        arch = f.read()
    for pat in ("adapter/*.c", "adapter/services/*.c", "xroad/*.c"):
        for path in sorted(glob.glob(os.path.join(src, pat))):
            base = os.path.basename(path)
            short = os.path.relpath(path, os.path.join(src, "adapter"))
            if "`%s`" % base not in arch and "`%s`" % short not in arch:
                problems.append("docs/architecture.md does not name %s" %
                                os.path.relpath(path, src))
    for p in problems:
        print("files: " + p)
    print("files: %d problems" % len(problems))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
