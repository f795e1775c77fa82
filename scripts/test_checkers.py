#!/usr/bin/env python3
"""The checkers of make test can fail: scripts/check-docs.py and
scripts/check-release.py on faults put into a copy of the repository
(`make checker-tests`; the tools venv's python)."""
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


docs = load("check_docs", os.path.join(ROOT, "scripts", "check-docs.py"))


class CheckDocs(unittest.TestCase):
    def setUp(self):
        docs.problems.clear()

    def test_subset_follows_what_is_shown(self):
        self.assertTrue(docs.subset({"a": [1, "…", 3]}, {"a": [1, 2, 3], "b": 4}))
        self.assertTrue(docs.subset({"s": '{"x":"…"}'}, {"s": '{"x":"anything"}'}))
        self.assertFalse(docs.subset({"a": [3, 1]}, {"a": [1, 2, 3]}))
        self.assertFalse(docs.subset({"a": 1}, {"a": 2}))
        self.assertFalse(docs.subset({"c": 1}, {"a": 1}))

    def test_patterns_match_whole_messages_and_heads(self):
        pattern = "sidecar set ‹set› is mandatory: the Pod's ‹annotation› annotation does not apply to it"
        rx = docs.pattern_regex(pattern)
        self.assertTrue(rx.fullmatch("sidecar set mesh is mandatory: the Pod's sidecarset.kubewarden.io/inject annotation does not apply to it"))
        self.assertFalse(rx.fullmatch("sidecar set mesh is optional: the Pod's x annotation does not apply to it"))
        self.assertTrue(docs.prefix_match(pattern, "sidecar set mesh is mandatory: the Pod"))
        self.assertFalse(docs.prefix_match(pattern, "sidecar set mesh is optional"))
        # A head may end inside a wildcard after a literal: in one word.
        self.assertTrue(docs.prefix_match(pattern, "sidecar set mesh"))

    def test_heads_and_parts_of_messages_match_the_whole_pattern(self):
        pattern = 'sidecar set "‹set›": volume "‹name›" cannot be injected: ‹field› has the same name and a different definition'
        self.assertTrue(docs.fragment_match(pattern, 'sidecar set "log-shipper": volume "varlog" cannot be injected: spec.volumes[2] has the same name'))
        self.assertTrue(docs.fragment_match(pattern, 'volume "envoy-config" cannot be injected'))
        self.assertTrue(docs.fragment_match(pattern, 'sidecar set "mesh": volume "x" cannot be injected: spec.volumes[0]'))
        self.assertFalse(docs.fragment_match(pattern, 'volume "envoy-config" cannot be mounted'))
        # A part that is mostly what a wildcard stands for is not the pattern's.
        self.assertFalse(docs.fragment_match(pattern, 'anything at all, then " cannot be injected'))

    def with_planted_patterns(self, *planted):
        real = docs.doc_patterns
        docs.doc_patterns = lambda: real() + [("planted.md:%d" % i, p, docs.pattern_regex(p))
                                              for i, p in enumerate(planted, 1)]
        try:
            docs.check_messages()
        finally:
            docs.doc_patterns = real
        return "\n".join(docs.problems)

    def test_the_repository_patterns_have_no_truncated_duplicates(self):
        docs.check_messages()
        self.assertEqual([p for p in docs.problems if "duplicate" in p], [])

    def test_a_planted_truncated_duplicate_pattern_is_found(self):
        said = self.with_planted_patterns(
            "sidecar set ‹set› injects regular sidecars",            # a head, cut at a literal
            "sidecar set ‹set› would make the Pod violate‹…›",         # a head, then anything
            'volume "‹name›" cannot be injected',                     # a part from inside
            "annotation sidecarset.kubewarden.io/upgrade (‹sets›) removed")
        for i in range(1, 5):
            self.assertIn("planted.md:%d: the pattern is a truncated duplicate of" % i, said)
        # A shorter message the tests assert whole is its own, not a duplicate
        # (the rollout warning without "upgraded in place").
        self.assertEqual([p for p in docs.problems if p.startswith("docs/") and "duplicate" in p], [])

    def test_a_broken_link_and_an_unmarked_block_are_found(self):
        with tempfile.TemporaryDirectory() as tmp:
            page = os.path.join(tmp, "page.md")
            with open(page, "w") as f:
                f.write("# Title\n\n[a](missing.md) [b](#title) [c](#nowhere) [d](%snothing.md)\n\n```yaml\na: 1\n```\n"
                        % docs.REPOSITORY)
            docs.check_links(page)
            docs.check_examples(page)
        said = "\n".join(docs.problems)
        self.assertIn("missing.md names no file", said)
        self.assertIn("nothing.md names no file", said)
        self.assertIn("#nowhere names no heading", said)
        self.assertNotIn("#title", said)
        self.assertIn("a block without", said)

    def check_page(self, text):
        with tempfile.TemporaryDirectory() as tmp:
            page = os.path.join(tmp, "page.md")
            with open(page, "w") as f:
                f.write(text)
            docs.check_examples(page)
        return "\n".join(docs.problems)

    def test_a_shell_command_that_fails_is_found(self):
        said = self.check_page("<!-- example: sh -->\n```console\ntrue\nls no-such-file \\\n  --all\n```\n")
        self.assertIn("`ls no-such-file --all` exits 2", said)
        self.assertEqual(len(docs.problems), 1)

    def test_an_output_that_differs_is_found(self):
        said = self.check_page("<!-- example: output -->\n```text\n$ printf 'a\\nb\\n'\na\nc\n```\n\n"
                               "<!-- example: output -->\n```text\n$ printf 'a\\nb\\n'\na\nb\n```\n\n"
                               "<!-- example: output exit=1 -->\n```text\n$ false\n```\n\n"
                               "<!-- example: output -->\n```text\n$ false\n```\n")
        self.assertIn("prints something else at output line 2: shown 'c', printed 'b'", said)
        self.assertIn("`false` exits 1, not 0", said)
        self.assertEqual(len(docs.problems), 2)

    def test_a_shell_command_that_logs_an_error_is_found(self):
        said = self.check_page("<!-- example: sh -->\n```sh\n"
                               "echo '\x1b[31mERROR\x1b[0m policy tried to access a resource' >&2\n```\n")
        self.assertIn("logs an ERROR", said)

    @unittest.skipUnless(os.path.exists(os.path.join(ROOT, "annotated-policy.wasm")) and shutil.which("kwctl"),
                         "needs kwctl and annotated-policy.wasm (make annotated-policy.wasm)")
    def test_kwctl_without_the_namespace_it_looks_up_is_found(self):
        # docs/operations.md's first command as it was: exit 0, but kwctl
        # logs an ERROR for the Pod Security lookup it refused.
        said = self.check_page("<!-- example: sh -->\n```console\n"
                               "kwctl run --request-path examples/requests/pod-checkout-create.json \\\n"
                               "  --settings-path test_data/settings.yaml annotated-policy.wasm\n```\n")
        self.assertIn("logs an ERROR", said)

    def test_a_shell_block_is_run_or_says_why_not(self):
        said = self.check_page("<!-- example: kwctl -->\n```console\ntrue\n```\n\n"
                               "<!-- not an example: -->\n```sh\nkubectl apply -f x.yaml\n```\n\n"
                               "<!-- not an example: needs a cluster -->\n```sh\nkubectl apply -f x.yaml\n```\n")
        self.assertIn("page.md:2: a shell block is run (<!-- example: sh -->)", said)
        self.assertIn("page.md:7: <!-- not an example: --> without why", said)
        self.assertEqual(len(docs.problems), 2)

    def test_example_comments_are_run_or_say_why_not(self):
        with tempfile.TemporaryDirectory() as tmp:
            example = os.path.join(tmp, "policy.yaml")
            with open(example, "w") as f:
                f.write("# A policy. `kwctl run` runs the module it names.\n"
                        "# Try it: echo one \\\n#   two && \\\n#   ls no-such-file\n"
                        "# Not run (needs a cluster): kubectl apply \\\n#   -f policy.yaml\n"
                        "#   kwctl pull registry://ghcr.io/example/policy:v1 --verification-config-path v.yml\n"
                        "kind: ClusterAdmissionPolicy\n")
            self.assertEqual(docs.try_it_commands(example)[0], (2, "echo one two && ls no-such-file"))
            docs.check_example_comments([example])
        said = "\n".join(docs.problems)
        self.assertIn("policy.yaml:2 (Try it): `echo one two && ls no-such-file` exits 2", said)
        self.assertIn("policy.yaml:7: a command in a comment without `# Try it:`", said)
        self.assertEqual(len(docs.problems), 2)

    def test_a_message_example_no_pattern_matches_is_found(self):
        docs.run_example("page.md", 1, "message", "", "text", "sidecar set mesh did something undocumented")
        self.assertTrue(any("no pattern of the docs matches" in p for p in docs.problems))

    def test_types_are_read_from_the_schema_or_reported(self):
        self.assertEqual(docs.schema_type("sidecarSets[].containers[].restartPolicy"), "string")
        self.assertEqual(docs.schema_type("sidecarSets[].containers[].drainSeconds"), "seconds (0, or 1–86400)")
        self.assertEqual(docs.schema_type("sidecarSets[].tags"), "map of strings")
        self.assertEqual(docs.schema_type("sidecarSets[].injectionStrategy.canary"), "object")
        # A shape it has no words for is an error, not a made-up type.
        for shape in ({"anyOf": [{"type": "null"}, {"type": "string"}, {"type": "integer"}]},
                      {"anyOf": [{"const": 0}, {"type": "string"}]},
                      {"type": ["string", "integer"]}, {"description": "no type at all"}):
            with self.assertRaises(docs.UnknownShape):
                docs.type_words(shape, {})

    def check_table(self, old, new):
        with open(os.path.join(ROOT, "docs", "settings.md")) as f:
            text = f.read()
        self.assertIn(old, text)
        docs.check_reference(text.replace(old, new))
        return "\n".join(docs.problems)

    def test_the_settings_table_passes(self):
        docs.check_reference()
        self.assertEqual(docs.problems, [])

    def test_a_planted_wrong_type_is_found(self):
        said = self.check_table("| `sidecarSets[].containers[].restartPolicy` | string |",
                                "| `sidecarSets[].containers[].restartPolicy` | seconds (0, or 1–86400) |")
        self.assertIn("the type of sidecarSets[].containers[].restartPolicy is string in the schema", said)

    def test_a_planted_row_of_several_fields_is_found(self):
        said = self.check_table("| `sidecarSets[].tags` | map of strings |",
                                "| `sidecarSets[].tags`, `allowRevisionPin` | map of strings |")
        self.assertIn("a row per field: the row of sidecarSets[].tags names", said)

    def test_a_planted_wrong_default_is_found(self):
        said = self.check_table("| `sidecarSets[].allowNamespacePin` | boolean | `true` |",
                                "| `sidecarSets[].allowNamespacePin` | boolean | none |")
        self.assertIn("sidecarSets[].allowNamespacePin: its default is `true` in the schema, not none", said)
        said = self.check_table("| `sidecarSets[].name` | string | required |", "| `sidecarSets[].name` | string | none |")
        self.assertIn("the schema requires it", said)

    def test_a_planted_missing_row_is_found(self):
        said = self.check_table("| `sidecarSets[].tags` | map of strings |", "| `sidecarSets[].tagz` | map of strings |")
        self.assertIn("the table has no row for sidecarSets[].tags", said)

    def test_settings_examples_go_through_the_schema(self):
        docs.schema_check({"mode": "audit"}, "settings.schema.json", "page.md:1")
        self.assertTrue(any("refuses it" in p for p in docs.problems))

    def test_a_change_display_that_misleads_is_found(self):
        # Without kwctl: a sidecar added before the app container, which gets an env variable.
        app = {"name": "app", "image": "app:1", "readinessProbe": {"httpGet": {"port": 8080}}, "env": [{"name": "A"}]}
        before = {"metadata": {}, "spec": {"containers": [app]}}
        after = {"metadata": {"annotations": {"x": "1"}}, "spec": {"containers": [
            {"name": "sidecar", "image": "sidecar:1"}, dict(app, env=[{"name": "A"}, {"name": "B"}])]}}
        told = docs.explain.describe_changes(before, after)
        docs.check_changes("real", told, before, after)
        self.assertEqual(docs.problems, [])
        docs.check_changes("positional", ['{"op":"remove","path":"/spec/containers/0/readinessProbe"}'], before, after)
        docs.check_changes("dropped", [l for l in told if "env" not in l], before, after)
        docs.check_changes("removed", told + ["spec.containers[app] readinessProbe removed",
                                              "spec.containers[app] env removed: A"], before, after)
        said = "\n".join(docs.problems)
        self.assertIn("positional: a container addressed by position", said)
        self.assertIn("positional: does not name app, a container of the Pod before", said)
        self.assertIn("dropped: does not say that spec.containers[app] env changed", said)
        self.assertIn("removed: says spec.containers[app] readinessProbe removed; the patched Pod has it", said)
        self.assertIn("removed: says spec.containers[app] env A removed; the patched Pod has it", said)


KWCTL_AND_MODULE = unittest.skipUnless(
    os.path.exists(os.path.join(ROOT, "annotated-policy.wasm")) and shutil.which("kwctl"),
    "needs kwctl and annotated-policy.wasm (make annotated-policy.wasm)")
ORDERS = "examples/requests/pod-orders-otel-create.json"


@KWCTL_AND_MODULE
class CheckMakeRun(unittest.TestCase):
    """make run's rollout demo and the changes it prints (check-docs.py)."""

    def setUp(self):
        docs.problems.clear()

    def planted_makefile(self, old, new):
        with open(os.path.join(ROOT, "Makefile")) as f:
            text = f.read()
        self.assertIn(old, text)
        docs.check_rollout_demo(text.replace(old, new))
        return "\n".join(docs.problems)

    def test_the_rollout_demo_passes(self):
        docs.check_rollout_demo()
        self.assertEqual(docs.problems, [])

    def test_the_old_rollout_demo_is_found(self):
        # As it was: one Pod in shop following the canary tag, which the
        # canary takes anyway (its owner's bucket, 25, is in the 30%).
        run = ("\t$(EXPLAIN) --settings-path examples/rollout-policy.yaml \\\n\t  --allow-context-aware "
               "--replay-host-capabilities-interactions examples/replay/%s examples/requests/%s\n")
        said = self.planted_makefile(
            run % ("namespace-shop.yml", "pod-export-job-create.json")
            + run % ("namespace-shop-canary.yml", "pod-export-job-create.json"),
            run % ("namespace-shop-canary.yml", "pod-checkout-create.json"))
        self.assertIn("the rollout demo shows nothing a Namespace's revision label causes", said)
        self.assertIn("no Pod under examples/rollout-policy.yaml is evaluated both", said)

    def test_a_rollout_demo_whose_runs_answer_the_same_is_found(self):
        # Without and with the label, a Pod whose owner's bucket (25) is in the 30%.
        said = self.planted_makefile("examples/requests/pod-export-job-create.json",
                                     "examples/requests/pod-checkout-create.json")
        self.assertIn("pod-checkout-create.json gets the same in examples/replay/namespace-shop.yml and "
                      "examples/replay/namespace-shop-canary.yml", said)
        self.assertIn("the label changes nothing", said)

    def printed(self, describe):
        """make run's lines for the orders Pod, the changes told by `describe`."""
        response, error = docs.kwctl_run(docs.settings_of("examples/cluster-admission-policy.yaml"), ORDERS,
                                         "examples/replay/namespace-shop.yml")
        self.assertIsNone(error)
        after = docs.patched_object(response, ORDERS)
        lines = ["   changes (the patch applied, by name):"]
        lines += ["     " + line for line in describe(docs.request_object(ORDERS), after)]
        docs.check_change_display({ORDERS: lines})
        return "\n".join(docs.problems)

    def test_the_changes_make_run_prints_pass(self):
        docs.check_change_display()
        self.assertEqual(docs.problems, [])
        self.assertEqual(self.printed(docs.explain.describe_changes), "")

    def test_the_positional_patch_is_found(self):
        # kwctl's patch as make run printed it: orders' readinessProbe and env
        # read as removed from /spec/containers/0.
        run = subprocess.run([sys.executable, "scripts/explain-with-kwctl.py", "--policy", docs.POLICY,
                              "--settings-path", "examples/cluster-admission-policy.yaml", "--allow-context-aware",
                              "--replay-host-capabilities-interactions", "examples/replay/namespace-shop.yml", ORDERS],
                             capture_output=True, text=True, cwd=ROOT)
        self.assertIn('"op":"remove","path":"/spec/containers/0/readinessProbe"', run.stdout)
        docs.check_change_display(docs.changes_printed(run.stdout))
        said = "\n".join(docs.problems)
        self.assertIn("make run, %s: a container addressed by position" % ORDERS, said)
        self.assertIn("does not say spec.containers[otel-collector] added", said)

    def test_make_run_without_changes_is_found(self):
        with open(os.path.join(ROOT, "Makefile")) as f:
            text = f.read()
        old = "EXPLAIN := python3 scripts/explain-with-kwctl.py --changes --policy"
        self.assertIn(old, text)
        docs.check_change_display(makefile=text.replace(old, "EXPLAIN := python3 scripts/explain-with-kwctl.py --policy"))
        self.assertIn("make run, %s: a container addressed by position" % ORDERS, "\n".join(docs.problems))

    def planted_field_changes(self, change):
        real = docs.explain.field_changes
        docs.explain.field_changes = lambda before, after: change(real(before, after), before)
        try:
            return self.printed(docs.explain.describe_changes)
        finally:
            docs.explain.field_changes = real

    def test_a_dropped_field_is_found(self):
        said = self.planted_field_changes(lambda lines, before: [l for l in lines if not l.startswith("env ")])
        self.assertIn("does not say that spec.containers[orders] env changed", said)

    def test_a_field_said_removed_that_the_pod_keeps_is_found(self):
        said = self.planted_field_changes(
            lambda lines, before: lines + ["readinessProbe removed"] if "readinessProbe" in before else lines)
        self.assertIn("says spec.containers[orders] readinessProbe removed; the patched Pod has it", said)

    def test_a_container_not_named_is_found(self):
        said = self.printed(lambda before, after: [l for l in docs.explain.describe_changes(before, after)
                                                   if "[orders]" not in l])
        self.assertIn("does not name orders, a container of the Pod before", said)


class CheckRelease(unittest.TestCase):
    """check-release.py in a copy of the repository's tracked files."""

    def run_in_copy(self, edit):
        with tempfile.TemporaryDirectory() as tmp:
            archive = subprocess.run(["git", "-C", ROOT, "archive", "HEAD"], capture_output=True, check=True).stdout
            subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
            edit(tmp)
            return subprocess.run([sys.executable, "scripts/check-release.py"], cwd=tmp,
                                  capture_output=True, text=True)

    def test_the_repository_passes(self):
        self.assertEqual(self.run_in_copy(lambda tmp: None).returncode, 0)

    def rewrite(self, path, old, new):
        def edit(tmp):
            full = os.path.join(tmp, path)
            with open(full) as f:
                text = f.read()
            self.assertIn(old, text)
            with open(full, "w") as f:
                f.write(text.replace(old, new))
        return edit

    def test_a_release_without_id_token_fails(self):
        run = self.run_in_copy(self.rewrite(".github/workflows/release.yml", "id-token: write", "id-token: read"))
        self.assertNotEqual(run.returncode, 0)
        self.assertIn("id-token: write", run.stderr)

    def test_an_action_pinned_by_a_moving_tag_fails(self):
        run = self.run_in_copy(self.rewrite(".github/workflows/ci.yml",
                                            "@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2", "@v4"))
        self.assertNotEqual(run.returncode, 0)
        self.assertIn("not pinned", run.stderr)

    def test_versions_that_differ_fail(self):
        run = self.run_in_copy(self.rewrite("metadata.yml", "io.kubewarden.policy.version: 0.1.0",
                                            "io.kubewarden.policy.version: 0.2.0"))
        self.assertNotEqual(run.returncode, 0)
        self.assertIn("versions differ", run.stderr)

    def test_a_plugin_platform_krew_does_not_list_fails(self):
        run = self.run_in_copy(self.rewrite("krew/sidecarset.yaml", "matchLabels: {os: linux, arch: arm64}",
                                            "matchLabels: {os: linux, arch: arm}"))
        self.assertNotEqual(run.returncode, 0)
        self.assertIn("the plugin's platforms differ", run.stderr)

    def test_a_plugin_version_that_differs_fails(self):
        run = self.run_in_copy(self.rewrite("kubectl-sidecarset/Cargo.toml", 'version = "0.1.0"', 'version = "0.2.0"'))
        self.assertNotEqual(run.returncode, 0)
        self.assertIn("versions differ", run.stderr)

    def test_a_missing_release_drafter_config_fails(self):
        run = self.run_in_copy(lambda tmp: os.remove(os.path.join(tmp, ".github", "release-drafter.yml")))
        self.assertNotEqual(run.returncode, 0)
        self.assertIn("release-drafter", run.stderr)


if __name__ == "__main__":
    os.chdir(ROOT)
    unittest.main(verbosity=2)
