#!/usr/bin/python3
"""Every configuration key is documented, and the example is valid.

    check_config.py SRCDIR VAYLA

1. The keys the parser accepts are the rows of the key table in
   adapter/config.c (`{"section", "key", KT_...`); `caller` rows belong to
   every [caller.NAME] section.
2. Each must appear in deploy/vayla.conf.example inside its section, set
   (`key = value`) or commented out (`; key = value`), and in
   docs/configuration.md as a table row (| `key` |) under the section's
   heading (## `[section]` ...).
3. The example must pass `vayla check-config` once the paths it names are
   files of a `vayla dev init` environment: each path-valued key that is
   set is pointed at the matching dev file, everything else is kept.
"""
import os
import re
import subprocess
import sys
import tempfile

# Set path keys of the example -> the dev init file standing in for it.
DEV_FILES = {
    ("security_server", "ca_file"): "ss-ca.pem",
    ("security_server", "client_cert"): "client.pem",
    ("security_server", "client_key"): "client.key",
    ("vtj", "password_file"): "vtj-password",
}
# Set path keys that name something the daemon creates: into the temp dir.
CREATED = {("audit", "path"): "audit.db", ("listen", "unix_socket"): "api.sock"}


def accepted_keys(src):
    with open(os.path.join(src, "adapter/config.c"), encoding="utf-8") as f:
        text = f.read()
    m = re.search(r"static const struct key_def keys\[\] = \{(.*?)\n\};", text,
                  re.S)
    if not m:
        raise SystemExit("config: the key table of adapter/config.c was not "
                         "found")
    keys = re.findall(r'\{\s*"([a-z_]+)",\s*"([a-z0-9_]+)",\s*KT_', m.group(1))
    if len(keys) < 40:
        raise SystemExit("config: only %d keys read from adapter/config.c" %
                         len(keys))
    return keys


def ini_walk(text):
    """(line, section, key, set?) for each line; key is None on a line that
    sets nothing (a commented key line counts, with set? False)."""
    sec = None
    for line in text.splitlines():
        s = line.strip()
        h = re.fullmatch(r"\[([a-z_]+)(?:\.[A-Za-z0-9_-]+)?\]", s)
        if h:
            sec = h.group(1)
            yield line, sec, None, False
            continue
        k = re.fullmatch(r"(;\s*)?([a-z0-9_]+)\s*=.*", s)
        yield line, sec, k.group(2) if k else None, bool(k and not k.group(1))


def ini_sections(text):
    """(section, key, set?) for each key line, commented or not."""
    return [(sec, key, on) for _, sec, key, on in ini_walk(text)
            if key and sec]


def doc_sections(text):
    out, sec = set(), None
    for line in text.splitlines():
        h = re.match(r"##\s+`\[([a-z_]+)(?:\.[A-Z]+)?\]`", line)
        if h:
            sec = h.group(1)
            continue
        if line.startswith("## "):
            sec = None
        k = re.match(r"\|\s*`([a-z0-9_]+)`\s*\|", line)
        if k and sec:
            out.add((sec, k.group(1)))
    return out


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    src, vayla = sys.argv[1], sys.argv[2]
    keys = accepted_keys(src)
    ex_path = os.path.join(src, "deploy/vayla.conf.example")
    with open(ex_path, encoding="utf-8") as f:
        example = f.read()
    with open(os.path.join(src, "docs/configuration.md"), encoding="utf-8") as f:
        doc = doc_sections(f.read())
    ex = {(s, k) for s, k, _ in ini_sections(example)}
    problems = []
    for sk in keys:
        if sk not in ex:
            problems.append("[%s] %s is not in deploy/vayla.conf.example" % sk)
        if sk not in doc:
            problems.append("[%s] %s is not in docs/configuration.md" % sk)
    for sk in sorted(ex - set(keys)):
        problems.append("[%s] %s is in deploy/vayla.conf.example but the "
                        "parser does not accept it" % sk)

    with tempfile.TemporaryDirectory(prefix="vayla-conf-") as tmp:
        env = os.path.join(tmp, "env")
        r = subprocess.run([vayla, "dev", "init", env], capture_output=True,
                           text=True)
        if r.returncode != 0:
            print("config: vayla dev init failed: " + r.stderr)
            return 1
        lines = []
        for line, sec, key, on in ini_walk(example):
            if on and (sec, key) in DEV_FILES:
                line = "%s = %s" % (key, os.path.join(env, DEV_FILES[(sec, key)]))
            elif on and (sec, key) in CREATED:
                line = "%s = %s" % (key, os.path.join(tmp, CREATED[(sec, key)]))
            lines.append(line)
        filled = os.path.join(tmp, "vayla.conf")
        with open(filled, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        r = subprocess.run([vayla, "check-config", "-c", filled],
                           capture_output=True, text=True)
        if r.returncode != 0 or "configuration OK" not in r.stdout:
            problems.append("the example (paths filled in) fails check-config "
                            "(exit %d):\n%s%s" % (r.returncode, r.stdout,
                                                  r.stderr))
    print("config: %d keys accepted by adapter/config.c" % len(keys))
    for p in problems:
        print("config: " + p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
