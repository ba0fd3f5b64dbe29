#!/usr/bin/env python3
"""Counts the non-blank lines of Rust outside tests: leaves out the `tests/` crate,
every `*/tests/` folder and `#[cfg(test)] mod` blocks. For comparing a refactor's size.

Usage: benches/scripts/lines-outside-tests.py [REV] [-v]
  REV: a git revision (default: the working tree); -v: a count per file too.
"""
import os
import subprocess
import sys

args = [a for a in sys.argv[1:] if a != "-v"]
rev = args[0] if args else None
root = subprocess.check_output(["git", "rev-parse", "--show-toplevel"], text=True).strip()


def files():
    if rev:
        names = subprocess.check_output(["git", "-C", root, "ls-tree", "-r", "--name-only", rev], text=True)
    else:
        names = subprocess.check_output(["git", "-C", root, "ls-files", "-co", "--exclude-standard"], text=True)
    return [f for f in names.split() if f.endswith(".rs") and not f.startswith(("tests/", "target/")) and "/tests/" not in f]


def read(name):
    if rev:
        return subprocess.check_output(["git", "-C", root, "show", f"{rev}:{name}"], text=True)
    with open(os.path.join(root, name)) as f:
        return f.read()


def count(text):
    lines, n, i = text.split("\n"), 0, 0
    while i < len(lines):
        line = lines[i]
        header = lines[i + 1] if i + 1 < len(lines) else ""
        if line.strip() == "#[cfg(test)]" and header.lstrip().startswith("mod ") and header.rstrip().endswith("{"):
            indent = len(header) - len(header.lstrip())
            j = i + 2
            while j < len(lines) and not (lines[j].startswith(" " * indent + "}") and len(lines[j]) - len(lines[j].lstrip()) == indent):
                j += 1
            i = j + 1
            continue
        n += bool(line.strip())
        i += 1
    return n


per_file = {name: count(read(name)) for name in files()}
if "-v" in sys.argv:
    for name, n in sorted(per_file.items(), key=lambda item: -item[1]):
        print(n, name)
print(sum(per_file.values()))
