#!/usr/bin/env python3
"""What a release tag needs and `make test` can check here (standard
library only):
- one version: Cargo.toml's, metadata.yml's io.kubewarden.policy.version,
  artifacthub-pkg.yml's, and, on a tag (GITHUB_REF_NAME=v*), the tag's;
- every `make <target>` the GitHub workflows run, and those Kubewarden's
  reusable release workflows run (annotated-policy.wasm, e2e-tests), is a
  target of the Makefile (make -n succeeds);
- what Kubewarden's release workflow expects of the repository: the release
  job's permissions (contents, packages, id-token: write) and oci-target,
  a draft release kept by release-drafter (its workflow and config),
  artifacthub-repo.yml at the root, Renovate's config; every action and
  reusable workflow pinned (by commit SHA with its tag in a comment, or by a
  full vX.Y.Z tag).
GitHub's workflow schema and zizmor run beside it (make release-tests)."""
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
    "kubectl-sidecarset/Cargo.toml": field("kubectl-sidecarset/Cargo.toml", r'^version = "(.*)"'),
}
tag = os.environ.get("GITHUB_REF_NAME", "")
if tag.startswith("v"):
    versions["the tag " + tag] = tag[1:]
if len(set(versions.values())) != 1:
    sys.exit("versions differ: " + ", ".join("%s %s" % kv for kv in versions.items())
             + "; bump them together (then make artifacthub)")

problems = []
release = open(".github/workflows/release.yml").read()
for needed in ("contents: write", "packages: write", "id-token: write", "oci-target:",
               "reusable-test-policy-rust.yml@", "reusable-release-policy-rust.yml@"):
    if needed not in release:
        problems.append(".github/workflows/release.yml lacks %r, which Kubewarden's release needs" % needed)
for path, why in ((".github/workflows/release-drafter.yml", "the draft release policy-release publishes"),
                  (".github/release-drafter.yml", "release-drafter's config"),
                  ("artifacthub-repo.yml", "Artifact Hub's repository metadata"),
                  ("renovate.json", "Renovate's config, as Kubewarden's policies have")):
    if not os.path.isfile(path):
        problems.append("%s is missing (%s)" % (path, why))
for workflow in sorted(glob.glob(".github/workflows/*.yml")):
    for number, line in enumerate(open(workflow), 1):
        match = re.match(r"\s*(?:-\s*)?uses:\s*(\S+)(.*)", line)
        if not match or match.group(1).startswith("./"):
            continue
        ref = match.group(1).partition("@")[2]
        if not (re.fullmatch(r"[0-9a-f]{40}", ref) and re.search(r"#\s*v\d", match.group(2))
                or re.fullmatch(r"v\d+\.\d+\.\d+", ref)):
            problems.append("%s:%d: %s is not pinned by commit SHA (with # vX.Y.Z) or by a full vX.Y.Z tag"
                            % (workflow, number, match.group(1)))
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
# The kubectl plugin's archives: the platforms the release workflow builds
# are the ones the krew manifest lists, each archive named as it names it.
built = set(re.findall(r"os: (\w+), arch: (\w+)", release))
krew = open("krew/sidecarset.yaml").read()
listed = set(re.findall(r"matchLabels: \{os: (\w+), arch: (\w+)\}", krew))
named = set(re.findall(r"kubectl-sidecarset_\{\{ \.TagName \}\}_(\w+)_(\w+)\.tar\.gz", krew))
if not built or built != listed or listed != named:
    problems.append("the plugin's platforms differ: release.yml builds %s, krew/sidecarset.yaml selects %s and names %s"
                    % (sorted(built), sorted(listed), sorted(named)))
if "kubectl-sidecarset_$(TAG)_$(OS)_$(ARCH)" not in open("Makefile").read():
    problems.append("make plugin-archive does not name its archive kubectl-sidecarset_<tag>_<os>_<arch>.tar.gz as krew/sidecarset.yaml does")
if problems:
    sys.exit("; ".join(problems))
print("release: version %s everywhere; the workflows' make targets exist (%s)"
      % (versions["Cargo.toml"], ", ".join(sorted({t for _, t in targets})) or "none"))
