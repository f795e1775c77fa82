#!/usr/bin/env python3
"""What a release tag needs and `make test` can check here (standard
library only):
- one version: Cargo.toml's, metadata.yml's io.kubewarden.policy.version,
  artifacthub-pkg.yml's, and, on a tag (GITHUB_REF_NAME=v*), the tag's;
- every `make <target>` the GitHub workflows run, and those Kubewarden's
  reusable release workflows run (annotated-policy.wasm, e2e-tests), is a
  target of the Makefile (make -n succeeds)."""
import glob
import os
import re
import subprocess
import sys


def field(path, pattern):
    match = re.search(pattern, open(path).read(), re.M)
    if not match:
        sys.exit("%s: no version found (%s)" % (path, pattern))
    return match.group(1).strip().strip('"')


versions = {
    "Cargo.toml": field("Cargo.toml", r'^version = "(.*)"'),
    "metadata.yml io.kubewarden.policy.version": field(
        "metadata.yml", r"^\s*io\.kubewarden\.policy\.version:\s*(\S+)"),
    "artifacthub-pkg.yml": field("artifacthub-pkg.yml", r"^version:\s*(\S+)"),
}
tag = os.environ.get("GITHUB_REF_NAME", "")
if tag.startswith("v"):
    versions["the tag " + tag] = tag[1:]
if len(set(versions.values())) != 1:
    sys.exit("versions differ: " + ", ".join("%s %s" % kv for kv in versions.items())
             + "; bump them together (then make artifacthub)")

problems = []
targets = {("Kubewarden's reusable release workflow", t) for t in ("annotated-policy.wasm", "e2e-tests")}
for workflow in sorted(glob.glob(".github/workflows/*.yml")):
    # Commands, not comments.
    lines = [l for l in open(workflow) if not l.lstrip().startswith("#")]
    for target in re.findall(r"\bmake\s+([A-Za-z0-9_.-]+)", "".join(lines)):
        targets.add((workflow, target))
for workflow, target in sorted(targets):
    # -n: what it would run, without running it (a missing target fails).
    run = subprocess.run(["make", "-n", target], capture_output=True, text=True)
    if run.returncode != 0:
        problems.append("%s runs make %s, which the Makefile does not have" % (workflow, target))
if problems:
    sys.exit("; ".join(problems))
print("release: version %s everywhere; the workflows' make targets exist (%s)"
      % (versions["Cargo.toml"], ", ".join(sorted({t for _, t in targets})) or "none"))
