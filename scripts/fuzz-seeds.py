#!/usr/bin/env python3
"""Seeds the fuzz corpora (fuzz/corpus/<target>/) from the repo's requests and
settings: every request of test_data/requests
as a `validate` payload under each test settings file, and every settings
file as a `validate_settings` input. Run by `make fuzz`."""
import glob
import hashlib
import json
import os
import sys

import yaml  # PyYAML, installed with kubernetes-validate by make tools

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def write(target, data):
    directory = os.path.join(ROOT, "fuzz", "corpus", target)
    os.makedirs(directory, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()
    with open(os.path.join(directory, name), "wb") as f:
        f.write(data)


def main():
    settings = []
    for path in sorted(glob.glob(os.path.join(ROOT, "test_data", "settings*.yaml"))):
        with open(path) as f:
            settings.append(yaml.safe_load(f))
    for path in sorted(glob.glob(os.path.join(ROOT, "examples", "*.yaml"))):
        with open(path) as f:
            for doc in yaml.safe_load_all(f):
                if doc and "settings" in doc.get("spec", {}):
                    settings.append(doc["spec"]["settings"])
    for s in settings:
        write("validate_settings", json.dumps(s).encode())
    requests = sorted(glob.glob(os.path.join(ROOT, "test_data", "requests", "*.json")))
    count = 0
    for path in requests:
        with open(path) as f:
            request = json.load(f)
        request = request.get("request", request)  # an AdmissionReview wraps it
        for s in settings:
            write("validate", json.dumps({"request": request, "settings": s}).encode())
            count += 1
    # The structure-aware target starts from its own built-in requests.
    for seed in (b"\x00\x00", b"\x01\x01\x00\x05\x00\x00", b"\x02\x01\x03\x07\x00\x01\x02"):
        write("mutate_request", seed)
    print(f"fuzz seeds: {count} validate payloads, {len(settings)} settings", file=sys.stderr)


if __name__ == "__main__":
    main()
