#!/usr/bin/env python3
"""Checks that an SPDX SBOM (make sbom) lists every crate, by name and
version, that the wasm32-wasip1 build of the policy compiles: cargo tree's
normal dependencies of sidecarset-policy for that target (proc-macro crates
included: they shape the code)."""
import json
import subprocess
import sys

sbom = json.load(open(sys.argv[1]))
assert sbom.get("spdxVersion", "").startswith("SPDX-"), "not an SPDX document"
listed = {(p["name"], p.get("versionInfo")) for p in sbom["packages"]}
tree = subprocess.run(
    ["cargo", "tree", "-p", "sidecarset-policy", "--target", "wasm32-wasip1",
     "-e", "normal", "--prefix", "none", "--locked"],
    check=True, capture_output=True, text=True).stdout
linked = set()
for line in tree.splitlines():
    parts = line.split()
    if len(parts) >= 2 and parts[1].startswith("v"):
        linked.add((parts[0], parts[1][1:]))
missing = sorted(linked - listed)
if missing:
    sys.exit("the SBOM lacks crates the wasm build links: " +
             ", ".join("%s %s" % crate for crate in missing))
print("%s: lists all %d crates the wasm build links (%d packages)"
      % (sys.argv[1], len(linked), len(sbom["packages"])))
