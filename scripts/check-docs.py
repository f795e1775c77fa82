#!/usr/bin/env python3
"""make docs-tests: README.md and docs/*.md hold what they say.

- links: every relative link names a file of the repository, and every
  #anchor a heading of that file (GitHub's slugs);
- examples: every fenced block is preceded by an HTML comment that says
  how it is run (`<!-- example: KIND ... -->`) or why it is not an example
  (`<!-- not an example: ... -->`), and every example is run (see KINDS);
- messages: every message pattern of docs/troubleshooting.md and
  docs/settings.md (a `message:` line) matches a message the tests assert,
  and every message the tests assert matches a pattern of one of them;
- make run: its rollout demo evaluates a Pod under
  examples/rollout-policy.yaml in a Namespace with the revision label and
  in one without, and the two answer differently; what it prints of each
  patch tells the changes by name, none said removed that the patched Pod
  has, none left out (check_changes).

Run with the tools venv's python (PyYAML); KWCTL is kwctl or the host/
runner (`sidecarset-host`, which takes kwctl's flags)."""
import glob
import json
import os
import re
import subprocess
import sys
import tempfile

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.chdir(ROOT)
DOCS = ["README.md"] + sorted(glob.glob("docs/*.md"))
problems = []


REPOSITORY = "https://github.com/kubewarden-contrib/sidecarset-policy/blob/main/"


def slug(heading):
    """GitHub's anchor of a heading."""
    text = re.sub(r"[`*_]|\[|\]\([^)]*\)", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path):
    text = open(path).read()
    text = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
    return {slug(h) for h in re.findall(r"^#+ (.*)$", text, re.M)}


def check_links(doc):
    text = open(doc).read()
    text_without_code = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
    for target in re.findall(r"\]\(([^)\s]+)\)", text_without_code):
        if target.startswith(REPOSITORY):
            # The README's absolute links (it is shown without the repository).
            target = os.path.relpath(target[len(REPOSITORY):], os.path.dirname(doc) or ".")
        elif re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        full = os.path.normpath(os.path.join(os.path.dirname(doc), path)) if path else doc
        if not os.path.exists(full):
            problems.append("%s: the link %s names no file" % (doc, target))
        elif anchor and full.endswith(".md") and anchor not in anchors(full):
            problems.append("%s: the link %s names no heading of %s" % (doc, target, full))



# --- messages ------------------------------------------------------------

TEST_FILES = sorted(set(glob.glob("src/**/tests.rs", recursive=True)
                        + glob.glob("src/**/tests/*.rs", recursive=True)
                        + glob.glob("tests/*.rs") + glob.glob("host/tests/*.rs")))
LITERAL = re.compile(r'r#"(.*?)"#|"((?:[^"\\]|\\.)*)"', re.S)
# Literals of the tests that are not the policy's messages: JSON Patch
# operations, JSON, format strings, single words.
NOT_MESSAGES = [r"^(add|remove|replace|move|copy|test) /", r"^[\[{]", r"\{[a-z_]+(:[^}]*)?\}|\{:|\{\}[;:,]",
                r"^\S+$"]
# What the policy's messages have and the tests' own descriptions do not.
MESSAGE_MARKS = ["sidecar set", "sidecarset.kubewarden.io", "; ", "PodSecurity", "Pod Security",
                 "start order", "stop order", "effective requests", "spec.", "metadata.annotations[",
                 "metadata.labels[", "sidecarSets", "settings:", "settings.", "unknown field `",
                 "unknown field;", "must set", "must not", "!= ", "(container", "(pod", "(volume",
                 "(annotation", "cannot be injected", "Namespace \"", "DNS-1123", "injected sidecars",
                 "is not a quantity", "unknown variant", "invalid type"]


def rust_unescape(body):
    body = re.sub(r"\\\n\s*", "", body)
    body = re.sub(r"\\u\{([0-9a-fA-F]+)\}", lambda m: chr(int(m.group(1), 16)), body)
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t", "0": "\0"}.get(m.group(1), m.group(1)), body)


def bats_literals():
    """The messages e2e.bats looks for in kwctl's output: single-quoted
    strings of its [[ ]] tests and greps (a grep's ^ and $ dropped)."""
    for line in open("e2e.bats"):
        if "[[" not in line and "grep" not in line:
            continue
        for text in re.findall(r"'([^']*)'", line):
            yield text.lstrip("^").rstrip("$")


def test_literals(marked=True):
    """The tests' literals that may be messages; with `marked`, those
    that carry a mark of the policy's messages (the rest are the tests' own
    descriptions, or messages without a mark)."""
    found = {}
    for path in TEST_FILES:
        for m in LITERAL.finditer(open(path).read()):
            text = m.group(1) if m.group(1) is not None else rust_unescape(m.group(2))
            if len(text) < 25 or "\n" in text or any(re.search(p, text) for p in NOT_MESSAGES):
                continue
            if not marked or any(mark in text for mark in MESSAGE_MARKS):
                found.setdefault(text, path)
    for text in bats_literals():
        if len(text) < 25 or any(re.search(p, text) for p in NOT_MESSAGES + [r"^\.|\| \.|\\"]):
            continue
        if not marked or any(mark in text for mark in MESSAGE_MARKS):
            found.setdefault(text, "e2e.bats")
    return found


def fragment_literals():
    """The tests' literals that are only ever looked for as a part of a
    message (`contains`, `starts_with`, `ends_with`; every e2e.bats
    grep and [[ ]] test): none of them is a whole message."""
    whole, parts_ = set(), set()
    for path in TEST_FILES:
        with open(path) as f:
            source = f.read()
        for m in LITERAL.finditer(source):
            text = m.group(1) if m.group(1) is not None else rust_unescape(m.group(2))
            before = source[max(0, m.start() - 40):m.start()]
            if re.search(r"\b(starts_with|contains|ends_with)\(\s*&?(format!\(\s*)?$", before):
                parts_.add(text)
            else:
                whole.add(text)
    return (parts_ | set(bats_literals())) - whole


def pattern_regex(pattern):
    out = ""
    for part in re.split(r"(‹[^›]*›|…)", pattern):
        if part in ("‹…›", "…"):
            out += ".*?"
        elif part.startswith("‹"):
            out += ".+?"
        else:
            out += re.escape(part)
    return re.compile(out, re.S)


def doc_patterns():
    patterns = []
    for doc in ("docs/troubleshooting.md", "docs/settings.md"):
        for number, line in enumerate(open(doc), 1):
            m = re.match(r"- message: `(.*)`\s*$", line)
            if m:
                patterns.append(("%s:%d" % (doc, number), m.group(1), pattern_regex(m.group(1))))
    return patterns


def chunks(pattern):
    """A pattern as literal text and wildcards (None)."""
    out = []
    for part in re.split(r"(‹[^›]*›|…)", pattern):
        item = None if part == "…" or part.startswith("‹") else part
        # Wildcards side by side are one.
        if part and not (item is None and out and out[-1] is None):
            out.append(item)
    return out


def _literal_match(items, rest, started=False):
    """The most characters of the pattern's literal text `rest` can be
    read as, from the head of `items` on, where all of `rest` is read
    (the pattern may go on after it); None where it cannot be."""
    if not rest:
        return 0
    if not items:
        return None
    head, tail = items[0], items[1:]
    if head is not None:
        if rest.startswith(head):
            more = _literal_match(tail, rest[len(head):], True)
            return None if more is None else len(head) + more
        return len(rest) if head.startswith(rest) else None
    # A wildcard: at least one character, then the next literal (its head
    # at least: the text must reach it, or a wildcard would take any text);
    # after a literal, the text may end inside it with one word (a name).
    if not tail or started and not re.search(r"\s", rest):
        best = 0
        if not tail:
            return best
    else:
        best = None
    nxt = tail[0]
    for i in range(1, len(rest)):
        if rest[i:].startswith(nxt) or nxt.startswith(rest[i:]):
            more = _literal_match(tail, rest[i:])
            if more is not None and (best is None or more > best):
                best = more
    return best


def prefix_match(pattern, text):
    """Whether `text` is the beginning of a message `pattern` matches (what
    a test looks for is often the head of a message)."""
    return _literal_match(chunks(pattern), text) is not None


def fragment_match(pattern, text):
    """Whether `text` is a part of a message `pattern` matches (what a test
    asserts a message contains): its head, or a part that starts inside the
    pattern, of which at least half is the pattern's own literal text (so a
    wildcard does not stand for most of it)."""
    items = chunks(pattern)
    if _literal_match(items, text) is not None:
        return True
    for i, item in enumerate(items):
        starts = [None] if item is None else [item[k:] for k in range(1, len(item))]
        for start in starts:
            if start is None:
                if i == 0:
                    continue
                got = _literal_match(items[i:], text)
            else:
                got = _literal_match([start] + items[i + 1:], text)
            if got is not None and 2 * got >= len(text):
                return True
    return False


def parts(message):
    """A message and, where several problems are joined by "; ", each."""
    yield message
    pieces = re.split(r"; (?=(?:invalid policy settings: )?(?:settings\.)?(?:sidecarSets|excludedNamespaces|maxAddedRequests|mode|jobPods)\b|sidecar set )", message)
    if len(pieces) > 1:
        yield from pieces


def contained_pattern(pattern, other):
    """Whether every message `pattern` matches is a head or a part of one
    `other` matches: `pattern`'s chunks are `other`'s, but for a cut head
    of its first literal, a cut tail of its last, and a trailing `…`."""
    mine = chunks(re.sub(r"(‹…›|…)$", "", pattern))
    theirs = chunks(other)
    if pattern == other or not mine:
        return False
    for i in range(len(theirs)):
        for j, item in enumerate(mine):
            k = i + j
            if k >= len(theirs):
                break
            them = theirs[k]
            if (item is None) != (them is None):
                break
            if item is None:
                continue
            first, last = j == 0, j == len(mine) - 1
            if (first and last and item in them) or (first and not last and them.endswith(item)) \
                    or (last and not first and them.startswith(item)) or item == them:
                continue
            break
        else:
            if i + len(mine) <= len(theirs):
                return True
    return False


def check_messages():
    patterns = doc_patterns()
    if len(patterns) < 100:
        problems.append("only %d message patterns in docs/troubleshooting.md and docs/settings.md" % len(patterns))
    literals = test_literals()
    used = set()
    whole = {}
    covered = set()
    fragments = fragment_literals()
    for text, path in test_literals(marked=False).items():
        for piece in parts(text):
            hits = [where for where, pattern, rx in patterns if rx.fullmatch(piece)]
            if hits:
                used.update(hits)
                if text not in fragments:
                    for where in hits:
                        whole.setdefault(where, set()).add(piece)
                if piece == text or all(any(rx.fullmatch(p) for _, _, rx in patterns) for p in list(parts(text))[1:]):
                    covered.add(text)
    # A fragment a test looks for (assert contains, starts_with, e2e.bats's
    # greps) is covered by the full message it is part of, or by a pattern
    # it is the head or a part of.
    for text, path in literals.items():
        if text in covered:
            continue
        hits = [where for where, pattern, _ in patterns if fragment_match(pattern, text)]
        used.update(hits)
        if hits or any(text in full for full in covered):
            covered.add(text)
    for text, path in sorted(literals.items()):
        # A fragment (", expected …", "; sidecarSets[0]…") of a message a
        # test builds from parts.
        if text[0] in ",;:":
            continue
        if text not in covered:
            problems.append("%s asserts a message no pattern of the docs matches: %s" % (path, text))
    for where, pattern, _ in patterns:
        if where not in used:
            problems.append("%s: the pattern matches no message the tests assert: %s" % (where, pattern))
    # A pattern cut short, or a part of another, that no message a test
    # asserts whole matches: a duplicate (the checker reads the heads and
    # parts of messages the tests look for against the whole patterns).
    for where, pattern, _ in patterns:
        longer = [(w, rx) for w, other, rx in patterns if w != where and contained_pattern(pattern, other)]
        # Each message a test asserts whole that it matches, a longer one
        # matches too.
        if longer and all(any(rx.fullmatch(m) for _, rx in longer) for m in whole.get(where, ())):
            longer = [w for w, _ in longer]
            problems.append("%s: the pattern is a truncated duplicate of %s (every message the tests assert whole that it matches, that one matches too): %s"
                            % (where, longer[0], pattern))
    return len(patterns), len(literals)


# --- examples ------------------------------------------------------------

KWCTL = os.environ.get("KWCTL", "kwctl")
# The kubectl plugin (docs/kubectl-plugin.md): its directory goes first on
# the PATH of every command the docs run.
PLUGIN = os.environ.get("PLUGIN", "target/debug/kubectl-sidecarset")
POLICY = os.environ.get("POLICY", "annotated-policy.wasm")
sys.path.insert(0, os.path.join(ROOT, "scripts"))
explain = __import__("explain-with-kwctl")

SCHEMAS = {}


def schema_check(document, schema_file, where):
    import jsonschema
    import referencing
    if not SCHEMAS:
        settings = json.load(open("settings.schema.json"))
        policy = json.load(open("policy.schema.json"))
        registry = referencing.Registry().with_resources([
            (settings["$id"], referencing.Resource.from_contents(settings)),
            ("settings.schema.json", referencing.Resource.from_contents(settings)),
        ])
        SCHEMAS["settings.schema.json"] = jsonschema.Draft202012Validator(settings, registry=registry)
        SCHEMAS["policy.schema.json"] = jsonschema.Draft202012Validator(policy, registry=registry)
    errors = sorted(SCHEMAS[schema_file].iter_errors(document), key=str)
    if errors:
        problems.append("%s: %s refuses it: %s" % (where, schema_file, errors[0].message))


def kwctl_run(settings, request, replay=None):
    """The AdmissionResponse kwctl (or the host/ runner) gives."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(settings, f)
        settings_path = f.name
    command = [KWCTL, "run", "--request-path", request, "--settings-path", settings_path]
    if replay:
        command += ["--allow-context-aware", "--replay-host-capabilities-interactions", replay]
    command.append(POLICY)
    run = subprocess.run(command, capture_output=True, text=True)
    os.unlink(settings_path)
    if run.returncode != 0:
        said = (run.stderr + run.stdout).splitlines()
        said = [l for l in said if not re.search(r"\b(WARN|INFO|DEBUG)\b", l)]
        reason = ([l for l in said if l.startswith("Error")]
                  or [l for l in said if re.search(r"(?i)error|invalid", l)] or said[-1:] or ["failed"])
        return None, [reason[0].strip()[:300]]
    return json.loads(run.stdout[run.stdout.index("{"):]), None


def settings_of(path):
    with open(path) as f:
        document = yaml.safe_load(f)
    return document["spec"]["settings"] if document.get("kind") else document


def request_object(path):
    with open(path) as f:
        document = json.load(f)
    return document.get("request", document)["object"]


def patched_object(response, request):
    obj = request_object(request)
    if response.get("patch"):
        import base64
        explain.apply_patch(obj, json.loads(base64.b64decode(response["patch"])))
    return obj


def wildcard(text):
    return re.compile(".*?".join(re.escape(part) for part in text.split("…")), re.S)


def subset(shown, actual):
    """Whether what a doc shows is in what the policy gives (`…`: anything
    elided, in a string, a list or a map)."""
    if isinstance(shown, str):
        if "…" in shown:
            return wildcard(shown).fullmatch(str(actual)) is not None
        return shown == actual or shown == str(actual)
    if isinstance(shown, dict):
        return isinstance(actual, dict) and all(
            k == "…" or (k in actual and subset(v, actual[k])) for k, v in shown.items())
    if isinstance(shown, list):
        if not isinstance(actual, list):
            return False
        i = 0
        for item in shown:
            if item == "…":
                continue
            while i < len(actual) and not subset(item, actual[i]):
                i += 1
            if i == len(actual):
                return False
            i += 1
        return True
    return shown == actual


def at_path(value, path):
    """The value at a dotted path (a number indexes a list; a name in a
    list, the entry of that name)."""
    for key in filter(None, path.split(".")):
        if isinstance(value, list):
            value = value[int(key)] if key.isdigit() else next((v for v in value if v.get("name") == key), None)
        elif isinstance(value, dict):
            value = value.get(key)
    return value


def args_of(spec):
    return dict(part.split("=", 1) for part in spec.split() if "=" in part)


# --- commands ---------------------------------------------------------

SHELL_LANGS = ("sh", "console", "bash", "shell", "shell-session")
SHIM = None


def shell_commands(body):
    """The commands of a shell block, as a reader runs them: lines joined
    where one ends with a backslash, a `$ ` prompt dropped, comments and
    blank lines left out."""
    commands = []
    for line in re.sub(r"[ \t]*\\\n\s*", " ", body).split("\n"):
        line = re.sub(r"^\s*\$ ", "", line).strip()
        if line and not line.startswith("#"):
            commands.append(line)
    return commands


def try_it_commands(path):
    """The commands of an example's comments: `# Try it: COMMAND`, on as
    many comment lines as its backslashes continue it. Other comment lines
    that read as a command (kwctl, kubectl, make, …) are returned with None
    (unmarked: neither run nor said why not)."""
    found = []
    lines = open(path).read().split("\n")
    i = 0
    while i < len(lines):
        m = re.match(r"#\s*Try it:\s*(.*)$", lines[i])
        if m:
            start = i + 1
            command = m.group(1)
            while command.rstrip().endswith("\\") and i + 1 < len(lines) and lines[i + 1].startswith("#"):
                i += 1
                command = command.rstrip()[:-1].rstrip() + " " + lines[i].lstrip("#").strip()
            found.append((start, command))
        elif re.match(r"#\s*Not run \([^)]+\):", lines[i]):
            while lines[i].rstrip().endswith("\\") and i + 1 < len(lines) and lines[i + 1].startswith("#"):
                i += 1
        elif re.match(r"#\s*(\$ )?(kwctl|kubectl|make|helm|curl|docker|python3?|bats|sed) \S+ .*(\s-|\.(ya?ml|json|wasm)\b)", lines[i]) \
                or re.match(r"#\s*(\$ )?(make|kubectl|kwctl) [a-z][\w.-]*\s*$", lines[i]):
            found.append((i + 1, None))
        i += 1
    return found


def run_command(command, where):
    """Runs a command of the docs as written, from the repository's root,
    with kwctl first on the PATH (KWCTL, the host/ runner where kwctl is
    not installed): fails when it exits non-zero or kwctl logs an ERROR."""
    global SHIM
    env = dict(os.environ)
    if os.path.basename(KWCTL) != "kwctl" or not os.path.isabs(KWCTL):
        if SHIM is None:
            SHIM = tempfile.mkdtemp()
            os.symlink(os.path.abspath(KWCTL) if os.path.exists(KWCTL) else KWCTL, os.path.join(SHIM, "kwctl"))
        env["PATH"] = SHIM + os.pathsep + env["PATH"]
    else:
        env["PATH"] = os.path.dirname(KWCTL) + os.pathsep + env["PATH"]
    env["PATH"] = os.path.dirname(os.path.abspath(PLUGIN)) + os.pathsep + env["PATH"]
    if POLICY != "annotated-policy.wasm":
        # The host/ runner runs policy.wasm (kwctl annotates it).
        command = re.sub(r"\bannotated-policy\.wasm\b", POLICY, command)
    run = subprocess.run(["bash", "-o", "pipefail", "-c", command], capture_output=True, text=True, env=env)
    said = re.sub(r"\x1b\[[0-9;]*m", "", run.stderr + run.stdout)
    errors = [l for l in said.splitlines() if re.search(r"\bERROR\b", l)]
    if run.returncode != 0:
        tail = [l for l in said.splitlines() if l.strip()][-3:]
        problems.append("%s: `%s` exits %d: %s" % (where, command, run.returncode, " | ".join(tail)[-300:]))
    elif errors:
        problems.append("%s: `%s` logs an ERROR: %s" % (where, command, errors[0][:300]))


def run_output(where, body, args):
    """A command and what it prints, as a terminal shows them: `$ command`
    (continued by trailing backslashes), then its standard output (with
    2>&1 in the command, both), compared whole; `exit=N` where the command
    must fail with N. Run from the repository's root, the plugin first on
    the PATH."""
    lines = body.split("\n")
    if not lines or not lines[0].startswith("$ "):
        return problems.append("%s: an output example starts with `$ command`" % where)
    command, i = lines[0][2:], 1
    while command.endswith("\\") and i < len(lines):
        command = command[:-1].rstrip() + " " + lines[i].strip()
        i += 1
    expected = "\n".join(lines[i:]).rstrip("\n")
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(os.path.abspath(PLUGIN)) + os.pathsep + env["PATH"]
    # No cluster: the commands shown work on files.
    env["KUBECONFIG"] = "/nonexistent/kubeconfig"
    run = subprocess.run(["bash", "-o", "pipefail", "-c", command], capture_output=True, text=True, env=env)
    want = int(args.get("exit", "0"))
    if run.returncode != want:
        tail = [l for l in (run.stderr + run.stdout).splitlines() if l.strip()][-2:]
        return problems.append("%s: `%s` exits %d, not %d: %s" % (where, command, run.returncode, want, " | ".join(tail)[-300:]))
    said = run.stdout.rstrip("\n").split("\n")
    shown = expected.split("\n")
    if said != shown:
        at = next((k for k in range(max(len(said), len(shown)))
                   if k >= len(said) or k >= len(shown) or said[k] != shown[k]), 0)
        problems.append("%s: `%s` prints something else at output line %d: shown %r, printed %r"
                        % (where, command, at + 1, shown[at] if at < len(shown) else None,
                           said[at] if at < len(said) else None))


def check_example_comments(paths=None):
    """Every command in the comments of examples/*.yaml is run as written
    (`# Try it:`), or says why it cannot be (`# Not run (why): …`)."""
    count = 0
    for path in paths or sorted(glob.glob("examples/*.yaml")):
        for line, command in try_it_commands(path):
            where = "%s:%d (Try it)" % (path, line)
            if command is None:
                problems.append("%s:%d: a command in a comment without `# Try it:` (run) or `# Not run (why):`" % (path, line))
            else:
                run_command(command, where)
                count += 1
    return count


def run_example(doc, line, kind, spec, lang, body):
    where = "%s:%d (%s)" % (doc, line, kind)
    args = args_of(spec)
    if kind in ("settings", "set", "policy"):
        document = yaml.safe_load(body)
        if kind == "policy":
            schema_check(document, "policy.schema.json", where)
            settings = document["spec"]["settings"]
        elif kind == "set":
            settings = dict(yaml.safe_load(open(args["base"]))) if "base" in args else {}
            sets = document if isinstance(document, list) else [document]
            settings["sidecarSets"] = list(settings.get("sidecarSets", [])) + sets
        else:
            settings = document
        schema_check(settings, "settings.schema.json", where)
        response, error = kwctl_run(settings, args.get("request", "examples/requests/pod-checkout-create.json"),
                                    args.get("replay", "examples/replay/namespace-shop.yml"))
        if error:
            problems.append("%s: the policy refuses these settings: %s" % (where, error[0]))
    elif kind == "pod":
        shown = yaml.safe_load(body)
        if "settings" in args:
            response, error = kwctl_run(settings_of(args["settings"]), args["request"], args.get("replay"))
            if error:
                return problems.append("%s: %s" % (where, error[0]))
            actual = patched_object(response, args["request"])
        else:
            actual = request_object(args["request"])
        actual = at_path(actual, args.get("at", ""))
        if not subset(shown, actual):
            problems.append("%s: the Pod shown is not what the policy gives (%s)" % (where, args))
    elif kind == "answer":
        # Lines of the answer: the decision's message and its warnings.
        response, error = kwctl_run(settings_of(args["settings"]), args["request"], args.get("replay"))
        if error:
            return problems.append("%s: %s" % (where, error[0]))
        said = [response.get("status", {}).get("message", "")] + (response.get("warnings") or [])
        for text in body.strip().splitlines():
            text = re.sub(r"^\s*(warning:\s*|Warning: )", "", text).strip()
            if text and not any(wildcard(text).fullmatch(s) for s in said):
                problems.append("%s: the policy does not say: %s" % (where, text))
    elif kind == "explain":
        # As make run prints it where kwctl is installed (--changes).
        command = [sys.executable, "scripts/explain-with-kwctl.py", "--changes", "--kwctl", KWCTL, "--policy", POLICY,
                   "--settings-path", args["settings"]]
        if "replay" in args:
            command += ["--allow-context-aware", "--replay-host-capabilities-interactions", args["replay"]]
        run = subprocess.run(command + [args["request"]], capture_output=True, text=True)
        output = [l.strip() for l in run.stdout.splitlines()]
        at = 0
        for text in body.strip().splitlines():
            text = text.strip()
            if text in ("", "…"):
                continue
            rx = wildcard(text)
            while at < len(output) and not rx.fullmatch(output[at]):
                at += 1
            if at == len(output):
                problems.append("%s: make run does not print: %s" % (where, text))
                break
            at += 1
    elif kind == "message":
        patterns = doc_patterns()
        for text in body.strip().splitlines():
            text = re.sub(r"^(warning: |Error from server \([A-Za-z]+\): .*?denied the request: )", "", text.strip())
            if text and not any(rx.fullmatch(piece) for piece in parts(text) for _, _, rx in patterns):
                problems.append("%s: a message no pattern of the docs matches: %s" % (where, text))
    elif kind == "sh":
        for command in shell_commands(body):
            run_command(command, where)
    elif kind == "output":
        run_output(where, body, args)
    elif kind == "record":
        # A fragment of the status record the policy writes.
        response, error = kwctl_run(settings_of(args["settings"]), args["request"], args.get("replay"))
        if error:
            return problems.append("%s: %s" % (where, error[0]))
        record = json.loads(patched_object(response, args["request"])["metadata"]["annotations"]["sidecarset.kubewarden.io/status"])
        if not subset(yaml.safe_load(body), record):
            problems.append("%s: the record is not what the policy writes" % where)
    elif kind == "yaml-in":
        # A fragment of a file of the repository.
        if not subset(yaml.safe_load(body), at_path(yaml.safe_load(open(args["file"])), args.get("at", ""))):
            problems.append("%s: not in %s" % (where, args["file"]))
    elif kind == "json-in":
        if not re.search(re.escape(body.strip()).replace(re.escape("…"), ".*?"), json.dumps(json.loads(
                open(args["file"]).read())) if args["file"].endswith(".json") else open(args["file"]).read()):
            problems.append("%s: not in %s" % (where, args["file"]))
    elif kind == "kruise":
        # An OpenKruise SidecarSet: its spec, named, as a set of the settings.
        sidecarset = yaml.safe_load(body)
        settings = {"sidecarSets": [dict(name=sidecarset["metadata"]["name"], **sidecarset["spec"])]}
        response, error = kwctl_run(settings, "examples/requests/pod-checkout-create.json",
                                    "examples/replay/namespace-shop.yml")
        if spec.startswith("refused"):
            if not error or "not supported: it needs OpenKruise's controller" not in error[0]:
                problems.append("%s: the policy does not refuse it as OpenKruise's: %s" % (where, error))
        elif error:
            problems.append("%s: the policy refuses the SidecarSet's spec: %s" % (where, error[0]))
        else:
            schema_check(settings, "settings.schema.json", where)
    elif kind == "verification-config":
        config = yaml.safe_load(body)
        if config.get("apiVersion") != "v1" or not all(
                {"kind", "owner"} <= set(s) for s in config.get("allOf", [])):
            problems.append("%s: not a kwctl verification config" % where)
    else:
        problems.append("%s: no such kind of example" % where)


def check_examples(doc):
    lines = open(doc).read().split("\n")
    count = 0
    i = 0
    while i < len(lines):
        m = re.match(r"^```(\w*)", lines[i])
        if not m:
            i += 1
            continue
        start = i
        end = next((j for j in range(i + 1, len(lines)) if lines[j].startswith("```")), len(lines))
        body = "\n".join(lines[i + 1:end])
        before = next((lines[j] for j in range(i - 1, -1, -1) if lines[j].strip()), "")
        marker = re.match(r"<!-- (example|not an example): ?(\S*)\s*(.*?)\s*-->", before)
        if not marker:
            problems.append("%s:%d: a block without <!-- example: KIND --> or <!-- not an example: why -->" % (doc, start + 1))
        elif marker.group(1) == "not an example" and not (marker.group(2) + marker.group(3)).strip():
            problems.append("%s:%d: <!-- not an example: --> without why" % (doc, start + 1))
        elif m.group(1) in SHELL_LANGS and marker.group(1) == "example" and marker.group(2) != "sh":
            problems.append("%s:%d: a shell block is run (<!-- example: sh -->) or says why it cannot be "
                            "(<!-- not an example: why -->), not <!-- example: %s -->" % (doc, start + 1, marker.group(2)))
        elif marker.group(1) == "example":
            run_example(doc, start + 1, marker.group(2), marker.group(3), m.group(1), body)
            count += 1
        i = end + 1
    return count



# --- make run: the rollout demo and the changes it prints ----------------

def run_invocations(makefile=None):
    """make run's scripts/explain-with-kwctl.py commands (its path where
    kwctl is installed), as make expands them (`make -n`, nothing built):
    (the command up to its settings, settings, replay, requests) each.
    `makefile`: the text of another Makefile (a test's)."""
    with tempfile.NamedTemporaryFile("w", suffix=".mk") as f:
        if makefile is not None:
            f.write(makefile)
            f.flush()
        run = subprocess.run(["make", "-n", "--no-print-directory", "-f", f.name if makefile is not None else "Makefile",
                              "run", "RUN_DEPS=", "KWCTL_BIN=kwctl"], capture_output=True, text=True)
    if run.returncode != 0:
        problems.append("Makefile: make -n run fails: %s" % run.stderr.strip()[-300:])
        return []
    found = []
    for command in re.sub(r"\\\n", " ", run.stdout).splitlines():
        words = command.split()
        if "scripts/explain-with-kwctl.py" not in words or "--settings-path" not in words:
            continue
        option = lambda name: words[words.index(name) + 1] if name in words else None
        found.append((words[:words.index("--settings-path")], option("--settings-path"),
                      option("--replay-host-capabilities-interactions"), [w for w in words if w.endswith(".json")]))
    return found


def namespace_labels(replay):
    """The labels of the Namespace a kwctl replay file answers."""
    with open(replay) as f:
        exchanges = yaml.safe_load(f) or []
    for exchange in exchanges:
        if "kind: Namespace" in exchange["request"]:
            return json.loads(exchange["response"]["payload"])["metadata"].get("labels") or {}
    return {}


def injected(response, request):
    """What a Pod got: each set's revision label and each container's image."""
    pod = patched_object(response, request)
    labels = {k: v for k, v in (pod["metadata"].get("labels") or {}).items()
              if k.startswith("sidecarset.kubewarden.io/rev.")}
    spec = pod.get("spec") or {}
    images = {c["name"]: c.get("image") for c in (spec.get("initContainers") or []) + (spec.get("containers") or [])}
    return labels, images


ROLLOUT = "examples/rollout-policy.yaml"


def check_rollout_demo(makefile=None):
    """make run's rollout demo shows what a Namespace's revision label
    changes: a Pod under examples/rollout-policy.yaml evaluated in a
    Namespace with the label and in one without, which answer differently
    (a Pod the canary takes anyway shows nothing the label caused)."""
    runs = {}
    for _, settings, replay, requests in run_invocations(makefile):
        if settings == ROLLOUT:
            for request in requests:
                runs.setdefault(request, []).append(replay)
    shown = []
    for request, replays in sorted(runs.items()):
        for i, one in enumerate(replays):
            for other in replays[i + 1:]:
                pins = lambda r: {k: v for k, v in namespace_labels(r).items()
                                  if k.startswith("sidecarset.kubewarden.io/revision.")}
                if pins(one) == pins(other):
                    continue
                answers = []
                for replay in (one, other):
                    response, error = kwctl_run(settings_of(ROLLOUT), request, replay)
                    if error:
                        return problems.append("Makefile (make run): %s in %s: %s" % (request, replay, error[0]))
                    answers.append(injected(response, request))
                if answers[0] == answers[1]:
                    shown.append("%s gets the same in %s and %s (%s): the label changes nothing"
                                 % (request, one, other, answers[0][0]))
                else:
                    return
    problems.append("Makefile (make run): the rollout demo shows nothing a Namespace's revision label causes: "
                    + ("; ".join(shown) or "no Pod under %s is evaluated both in a Namespace with the label "
                       "and in one without" % ROLLOUT))


def check_changes(where, lines, before, after):
    """What make run prints of a patch (--changes: `lines`) tells what it
    changes in the Pod (`before` → `after`) by name: no container addressed
    by position; nothing said removed (a container, a field of one, an entry
    of its env, mounts, ports) that the patched Pod still has; every
    container added or removed, every field of a kept container that
    changed, every other field of the spec and every annotation and label
    that changed, told; every container of the Pod before still named."""
    def said(text):
        problems.append("%s: %s" % (where, text))

    parts = ("initContainers", "containers")
    spec_b, spec_a = before.get("spec") or {}, after.get("spec") or {}
    old = {p: {c["name"]: c for c in spec_b.get(p) or []} for p in parts}
    new = {p: {c["name"]: c for c in spec_a.get(p) or []} for p in parts}
    told = {}
    for line in lines:
        if re.search(r"ontainers(/|\[)\d+", line):
            said("a container addressed by position (its index is not the same before and after the patch): %s"
                 % line.strip()[:120])
            continue
        m = re.match(r"\s*spec\.(initContainers|containers)\[([^\]]+)\](?: (?!(?:added|removed|changed)\b)(\w+))?"
                     r"(?: (added|removed|changed))?(?::\s*(.*))?$", line)
        if not m:
            continue
        part, name, field, what, value = m.groups()
        told.setdefault((part, name), set()).add(field)
        if field is None:
            if what == "removed" and name in new[part]:
                said("says spec.%s[%s] removed; the patched Pod has it" % (part, name))
            if what == "added" and (name in old[part] or name not in new[part]):
                said("says spec.%s[%s] added; it was there before or is not after" % (part, name))
        elif what == "removed" and name in new[part]:
            has = new[part][name].get(field)
            gone = [n.strip() for n in value.split(",")] if value else None
            if gone is None and has is not None:
                said("says spec.%s[%s] %s removed; the patched Pod has it" % (part, name, field))
            for n in gone or []:
                if isinstance(has, list) and any(isinstance(e, dict) and e.get("name") == n for e in has):
                    said("says spec.%s[%s] %s %s removed; the patched Pod has it" % (part, name, field, n))
    text = "\n".join(lines)
    for part in parts:
        for name, container in new[part].items():
            if name not in old[part]:
                if None not in told.get((part, name), ()):
                    said("does not say spec.%s[%s] added" % (part, name))
                continue
            for field in sorted(set(old[part][name]) | set(container)):
                if old[part][name].get(field) != container.get(field) and field not in told.get((part, name), ()):
                    said("does not say that spec.%s[%s] %s changed" % (part, name, field))
        for name in old[part]:
            if name not in new[part] and None not in told.get((part, name), ()):
                said("does not say spec.%s[%s] removed" % (part, name))
            # By name: in a line of its own, or in the start order.
            if not re.search(r"\[%s\]|^\s*\d+\. %s " % (re.escape(name), re.escape(name)), text, re.M):
                said("does not name %s, a container of the Pod before" % name)
    for key in sorted(set(spec_b) | set(spec_a)):
        if key not in parts and spec_b.get(key) != spec_a.get(key) and not re.search(
                r"^\s*spec\.%s\b" % re.escape(key), text, re.M):
            said("does not say that spec.%s changed" % key)
    for part in ("annotations", "labels"):
        b = (before.get("metadata") or {}).get(part) or {}
        a = (after.get("metadata") or {}).get(part) or {}
        for key in sorted(set(b) | set(a)):
            if b.get(key) != a.get(key) and "metadata.%s[%s]" % (part, key) not in text:
                said("does not say that metadata.%s[%s] changed" % (part, key))


def changes_printed(output):
    """The `changes` lines of each request in explain-with-kwctl.py's output."""
    printed, request, inside = {}, None, False
    for line in output.splitlines():
        if line.startswith("── "):
            request, inside = line[3:].strip(), False
            printed[request] = []
        elif line.strip().startswith(("changes ", "patch:")):
            inside = True
        elif line.strip().startswith("start order"):
            inside = False
        if request and (inside or line.strip().startswith(tuple("0123456789"))):
            printed[request].append(line)
    return printed


def check_change_display(printed=None, makefile=None):
    """make run's first invocations (examples/cluster-admission-policy.yaml):
    the changes printed for each request that is patched (check_changes).
    `printed`: what explain-with-kwctl.py printed, per request (a test's
    planted output); by default it is run, as make run runs it (`makefile`:
    another Makefile's make run, a test's)."""
    for explain_command, settings, replay, requests in run_invocations(makefile):
        if settings == ROLLOUT:
            continue
        if printed is None:
            # make run's command, with this checker's kwctl and module.
            command = [sys.executable] + explain_command[1:] + ["--kwctl", KWCTL, "--settings-path", settings]
            command[command.index("--policy") + 1] = POLICY
            if replay:
                command += ["--allow-context-aware", "--replay-host-capabilities-interactions", replay]
            run = subprocess.run(command + requests, capture_output=True, text=True)
            if run.returncode != 0:
                problems.append("Makefile (make run): explain-with-kwctl.py fails: %s" % run.stderr.strip()[-300:])
                continue
            shown = changes_printed(run.stdout)
        else:
            shown = printed
        for request in requests:
            if request not in shown:
                continue
            response, error = kwctl_run(settings_of(settings), request, replay)
            if error:
                problems.append("Makefile (make run): %s: %s" % (request, error[0]))
            elif response.get("patch"):
                check_changes("make run, %s" % request, shown[request], request_object(request),
                              patched_object(response, request))


# --- the settings reference names every field -----------------------------

def schema_fields():
    """The field paths of settings.schema.json (`sidecarSets[].name`), the
    policy's own: not the corev1 fields of a container or volume, not the
    OpenKruise fields it refuses."""
    schema = json.load(open("settings.schema.json"))
    defs = schema["$defs"]
    out = []

    def walk(node, path):
        node = dict(node)
        if "$ref" in node and node["$ref"].rsplit("/", 1)[-1] in ("SidecarSet", "SidecarContainer", "SetSelector"):
            node = defs[node["$ref"].rsplit("/", 1)[-1]]
        for part in node.get("allOf", []) + node.get("anyOf", []):
            if "properties" in part or part.get("$ref", "").endswith(("SidecarContainer", "SetSelector")):
                walk(part, path)
        if node.get("type") == "null":
            return
        for key, sub in node.get("properties", {}).items():
            if sub.get("type") == "null":
                continue
            child = path + ("." if path else "") + key
            out.append(child)
            items = sub.get("items")
            if isinstance(items, dict):
                walk(items, child + "[]")
            walk(sub, child)
    walk(schema, "")
    return sorted(set(out))


def example_fields(value, path=""):
    out = set()
    if isinstance(value, dict):
        for key, sub in value.items():
            child = path + ("." if path else "") + key
            out.add(child)
            out |= example_fields(sub, child)
    elif isinstance(value, list):
        for item in value:
            out |= example_fields(item, path + "[]")
    return out


class UnknownShape(Exception):
    """A schema node the checker cannot put in words."""


def schema_node(path):
    """The node of settings.schema.json at a field path
    (`sidecarSets[].containers[].image`), its $refs not yet followed."""
    schema = json.load(open("settings.schema.json"))
    defs = schema["$defs"]

    def properties_of(node, key):
        node = follow(node, defs)
        if key in node.get("properties", {}):
            return node["properties"][key]
        for part in node.get("allOf", []) + [p for p in node.get("anyOf", []) if p.get("type") != "null"]:
            found = properties_of(part, key)
            if found is not None:
                return found
        if "items" in node:
            return properties_of(node["items"], key)
        return None

    node = schema
    for key in path.replace("[]", "").split("."):
        found = properties_of(node, key)
        if found is None:
            raise UnknownShape("%s: no field %s in settings.schema.json" % (path, key))
        node = found
    return node, defs


def follow(node, defs):
    """A node with its $ref followed (the definition, with the node's own
    keywords over it, and its name as `_name`)."""
    if "$ref" not in node:
        return node
    name = node["$ref"].rsplit("/", 1)[-1]
    merged = {**follow(defs[name], defs), **{k: v for k, v in node.items() if k != "$ref"}}
    merged["_name"] = name
    return merged


# Definitions named in words; every other shape is read from its keywords.
NAMED = {"SidecarContainer": "container", "Container": "container", "Volume": "volume",
         "SetSelector": "label selector", "Quantity": "quantity", "SidecarSet": "set",
         "IntOrPercent": "integer or percentage"}


def plural(word):
    if " " in word or ":" in word:
        raise UnknownShape("a list or map of %r" % word)
    return word[:-1] + "ies" if word.endswith("y") else word + "s"


def type_words(node, defs):
    """The type of a schema node, in words (`boolean`, `string: `a`, `b``,
    `list of containers`, `seconds (0, or 1–86400)`, …). A shape it has no
    words for raises UnknownShape: the checker reports it, it does not
    guess."""
    node = follow(node, defs)
    name = node.get("_name")
    if name in NAMED:
        return NAMED[name]
    if name == "Seconds":
        return "seconds (%d–%d)" % (node["minimum"], node["maximum"])
    if all(set(p) <= {"required"} for p in node.get("anyOf", [{"type": 0}])):
        # An anyOf of required fields constrains an object; it is no type.
        node = {k: v for k, v in node.items() if k != "anyOf"}
    if "allOf" in node:
        refs = [p for p in node["allOf"] if not set(p) <= {"required"}]
        if len(refs) == 1:
            # A definition with fields it requires is that definition.
            return type_words({**{k: v for k, v in node.items() if k != "allOf"}, **refs[0]}, defs)
    alternatives = [p for p in node.get("anyOf", []) if p.get("type") != "null"]
    if "anyOf" in node:
        if len(alternatives) == 1:
            return type_words(alternatives[0], defs)
        # A constant beside seconds: `seconds (0, or 1–86400)`.
        consts = [p["const"] for p in alternatives if set(p) == {"const"}]
        rest = [follow(p, defs) for p in alternatives if set(p) != {"const"}]
        if consts and len(rest) == 1 and rest[0].get("_name") == "Seconds":
            return "seconds (%s, or %d–%d)" % (", ".join(map(str, consts)), rest[0]["minimum"], rest[0]["maximum"])
        raise UnknownShape("anyOf %s" % json.dumps(node["anyOf"])[:200])
    if "allOf" in node:
        raise UnknownShape("allOf %s" % json.dumps(node["allOf"])[:200])
    if "enum" in node:
        values = [v for v in node["enum"] if v not in ("", None)] or [v for v in node["enum"] if v is not None]
        if all(isinstance(v, str) for v in values) and values:
            return "string: " + ", ".join("`%s`" % (v or '""') for v in values)
        raise UnknownShape("enum %s" % node["enum"])
    if "const" in node:
        return "`%s`" % json.dumps(node["const"])
    types = node.get("type")
    types = [types] if isinstance(types, str) else [t for t in (types or []) if t != "null"]
    if len(types) != 1:
        raise UnknownShape("type %s" % node.get("type"))
    kind = types[0]
    if kind == "array":
        return "list of " + plural(type_words(node.get("items", {}), defs))
    if kind == "object":
        extra = node.get("additionalProperties")
        if isinstance(extra, dict) and "properties" not in node:
            return "map of " + plural(type_words(extra, defs))
        return "object"
    if kind == "integer":
        if "maximum" in node:
            return "integer (%s–%s)" % (node.get("minimum", 0), node["maximum"])
        return "integer"
    if kind in ("string", "boolean", "number"):
        return kind
    raise UnknownShape("type %s" % kind)


def schema_type(path):
    """The type of a field of settings.schema.json, in words."""
    node, defs = schema_node(path)
    return type_words(node, defs)


def schema_default(path):
    """The field's default in settings.schema.json (on the node, or on its
    one alternative that is not null), and whether it is required; a
    missing default is `NO_DEFAULT`."""
    node, defs = schema_node(path)
    alternatives = [p for p in node.get("anyOf", []) if p.get("type") != "null"]
    for n in [node] + (alternatives if len(alternatives) == 1 else []):
        if "default" in n:
            return n["default"]
    return NO_DEFAULT


NO_DEFAULT = object()


def schema_required(path):
    """Whether the schema requires the field (in its parent's `required`)."""
    parent, _, key = path.rpartition(".")
    schema = json.load(open("settings.schema.json"))
    node = schema
    if parent:
        node, defs = schema_node(parent)
    else:
        defs = schema["$defs"]
    node = follow(node, defs)
    nodes = [node, follow(node.get("items", {}), defs)]
    for n in list(nodes):
        nodes += [follow(p, defs) for p in n.get("allOf", []) + n.get("anyOf", []) if p.get("type") != "null"]
    return any(key in n.get("required", []) for n in nodes)


# OpenKruise proposal's spellings, read as the fields they alias.
ALIASES = {"resourceExpr", "targetContainerMode"}


def default_problem(name, cell):
    """What is wrong with a row's default, against the schema: `required`
    for a field the schema requires; the schema's default (as YAML, in
    backticks) first where the schema has one."""
    if schema_required(name):
        return None if cell == "required" else "the schema requires it: the default is `required`, not %s" % cell
    default = schema_default(name)
    if default is NO_DEFAULT:
        return None
    m = re.match(r"`([^`]*)`", cell)
    try:
        shown = yaml.safe_load(m.group(1)) if m else NO_DEFAULT
    except yaml.YAMLError:
        shown = NO_DEFAULT
    if shown != default:
        return "its default is `%s` in the schema, not %s" % (
            yaml.safe_dump(default, default_flow_style=True, width=1000).strip().removesuffix("\n..."), cell)
    return None


def check_reference(text=None):
    """docs/settings.md's table: a row per field (one name, its full path),
    its type in words from the schema and its default the schema's; every
    field of the schema has a row (its own, or an object's row that covers
    its fields); the example shows every field."""
    text = text if text is not None else open("docs/settings.md").read()
    example = yaml.safe_load(re.search(r"<!-- example: settings -->\n```yaml\n(.*?)```", text, re.S).group(1))
    shown = example_fields(example)
    table = set()
    for cells in re.findall(r"^\| (`[^|]*)\| ([^|]*) \| ([^|]*) \|", text, re.M):
        names = re.findall(r"`([^`]+)`", cells[0])
        if names[0].startswith("sidecarset.kubewarden.io"):
            continue
        name = names[0]
        if len(names) != 1 or cells[0].strip() != "`%s`" % name:
            problems.append("docs/settings.md: a row per field: the row of %s names %s" % (name, cells[0].strip()))
        table.add(name)
        try:
            schema_node(name)
        except UnknownShape:
            problems.append("docs/settings.md: the row %s names no field of settings.schema.json" % name)
            continue
        try:
            words = schema_type(name)
        except UnknownShape as e:
            problems.append("docs/settings.md: the type of %s has a shape the checker has no words for: %s" % (name, e))
            continue
        if cells[1].strip() != words:
            problems.append("docs/settings.md: the type of %s is %s in the schema, not %s" % (name, words, cells[1].strip()))
        wrong = default_problem(name, cells[2].strip())
        if wrong:
            problems.append("docs/settings.md: %s: %s" % (name, wrong))
    covering = set()
    for name in table:
        try:
            if schema_type(name) in ("object", "list of objects", "label selector"):
                covering.add(name)
        except UnknownShape:
            pass
    # The table's containers[] rows are initContainers[]'s too: one definition.
    containers, _ = schema_node("sidecarSets[].containers")
    init, _ = schema_node("sidecarSets[].initContainers")
    if containers.get("items") != init.get("items"):
        problems.append("docs/settings.md: containers and initContainers are no longer one definition: give initContainers rows")
    for field in schema_fields():
        if ALIASES & set(field.split(".")):
            continue
        plain = field.replace("initContainers[]", "containers[]").replace("namespaceSelector", "selector")
        if plain not in shown:
            if not any(f == plain or f.startswith(plain + ".") or f.startswith(plain + "[]") for f in shown):
                problems.append("docs/settings.md: the example does not show %s" % field)
        # A field has its own row, or is a field of an object whose row
        # tells its fields (not of a list of sets or containers: their
        # fields have rows of their own).
        if not any(plain == t or (plain.startswith(t + ".") or plain.startswith(t + "[].")) and t in covering
                   for t in table):
            problems.append("docs/settings.md: the table has no row for %s" % field)


if __name__ == "__main__":
    for doc in DOCS:
        check_links(doc)
    counts = check_messages()
    check_reference()
    check_rollout_demo()
    check_change_display()
    examples = sum(check_examples(doc) for doc in DOCS) + check_example_comments()
    if problems:
        print("\n".join(problems))
        sys.exit(1)
    print("docs: links resolve; %d message patterns cover the %d messages the tests assert; %d examples run"
          % (counts + (examples,)))
