//! The read-only commands on files, as a user runs them from the
//! repository's root: status over `kubectl get -o json` output, render
//! over the example manifests and the workloads and Pods of the example
//! and test requests, explain of a Pod, a workload and a request.

use std::path::Path;
use std::process::{Command, Output};

use pod_validation_oracle::{Version, validate_pod_create};
use serde::Deserialize;
use serde_json::{Value, json};
use sidecarset_policy::admission::{Decision, decide};
use sidecarset_policy::workload::template_kind;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

fn plugin(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kubectl-sidecarset"))
        .current_dir(ROOT)
        .args(args)
        .env("KUBECONFIG", "/nonexistent/kubeconfig")
        .output()
        .unwrap()
}

fn ok(args: &[&str]) -> String {
    let out = plugin(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn settings(policy: &str) -> Value {
    let text = std::fs::read_to_string(Path::new(ROOT).join(policy)).unwrap();
    let policy: Value = serde_yaml::from_str(&text).unwrap();
    policy["spec"]["settings"].clone()
}

const ROLLOUT: &str = "examples/rollout-policy.yaml";
const EXAMPLE: &str = "examples/cluster-admission-policy.yaml";
const PODS: &str = "examples/cluster/pods.json";

#[test]
fn status_counts_each_set() {
    assert_eq!(
        ok(&["--policy", ROLLOUT, "status", "-f", PODS, "-A"]),
        "NAME          PODS   REVISIONS          CURRENT   UPGRADEABLE   RECREATE   BLOCKED   MISSING   READY\n\
         log-shipper   7      current:4,v3-3:2   2         3             1          0         1         5\n\
         mesh          7      current:6          6         0             0          0         1         6\n"
    );
    // One set; -l narrows the Pods; -n another namespace has none.
    assert_eq!(
        ok(&[
            "--policy",
            ROLLOUT,
            "status",
            "log-shipper",
            "-f",
            PODS,
            "-l",
            "app.kubernetes.io/name in (web)"
        ]),
        "NAME          PODS   REVISIONS   CURRENT   UPGRADEABLE   RECREATE   BLOCKED   MISSING   READY\n\
         log-shipper   3      current:3   0         3             0          0         0         2\n"
    );
    let unknown = plugin(&["--policy", ROLLOUT, "status", "otel", "-f", PODS]);
    assert_eq!(
        String::from_utf8_lossy(&unknown.stderr),
        "error: sidecar set otel is not in the settings of policy sidecarset-rollout (its sets: log-shipper, mesh)\n"
    );
}

#[test]
fn status_as_json_for_scripts() {
    let out: Value = serde_json::from_str(&ok(&[
        "--policy", ROLLOUT, "status", "-f", PODS, "-A", "-o", "json",
    ]))
    .unwrap();
    assert_eq!(out["policy"], "sidecarset-rollout");
    assert_eq!(
        out["sets"][0],
        json!({"name": "log-shipper", "pods": 7, "revisions": {"current": 4, "v3-3": 2}, "current": 2,
               "upgradeable": 3, "recreate": 1, "blocked": 0, "missing": 1, "ready": 5})
    );
    let web = out["pods"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "web-6d4b9c-4xk2p")
        .unwrap();
    assert_eq!(
        web["sets"][0],
        json!({"set": "log-shipper", "revision": "current", "state": "upgradeable", "to": "v3-3",
               "images": {"fluent-bit": "cr.fluentbit.io/fluent/fluent-bit:3.3.0"}, "ready": true})
    );
    let yaml: Value = serde_yaml::from_str(&ok(&[
        "--policy", ROLLOUT, "status", "-f", PODS, "-A", "-o", "yaml",
    ]))
    .unwrap();
    assert_eq!(yaml, out);
}

/// A Namespace the files do not have is a failed lookup, named: the
/// policy then does what the settings say (here: the pin is left out).
#[test]
fn status_without_the_namespace_says_so() {
    let pods: Value =
        serde_json::from_str(&std::fs::read_to_string(Path::new(ROOT).join(PODS)).unwrap())
            .unwrap();
    let only_pods: Vec<Value> = pods["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["kind"] == "Pod")
        .cloned()
        .collect();
    let file = std::env::temp_dir().join(format!("pods-only-{}.json", std::process::id()));
    std::fs::write(
        &file,
        json!({"kind": "List", "apiVersion": "v1", "items": only_pods}).to_string(),
    )
    .unwrap();
    let out = ok(&[
        "--policy",
        ROLLOUT,
        "status",
        "-f",
        file.to_str().unwrap(),
        "-A",
    ]);
    // Without the Namespace's pin (its lookup fails), web's Pods stay on
    // current and api's would move back to it (bucket 35 > 30%), as the
    // policy's upgrade would; the warning says why.
    assert!(
        out.contains("\nlog-shipper   7      current:4,v3-3:2   3         2             1"),
        "{out}"
    );
    let stderr = String::from_utf8(
        plugin(&[
            "--policy",
            ROLLOUT,
            "status",
            "-f",
            file.to_str().unwrap(),
            "-A",
        ])
        .stderr,
    )
    .unwrap();
    assert_eq!(
        stderr,
        "warning: Namespace shop: not in the files given (-f): add it (kubectl get namespaces,pods -A -o json), or give --namespace-labels; the policy was answered as when its lookup fails (no Namespace pin, namespaceSelector and Pod Security as namespaceLookupFailure and checkPodSecurity say)\n"
    );
}

/// The documents of a multi-document YAML text.
fn documents(text: &str) -> Vec<Value> {
    serde_yaml::Deserializer::from_str(text)
        .map(|d| Value::deserialize(d).unwrap())
        .filter(|v| !v.is_null())
        .collect()
}

fn group(object: &Value) -> &str {
    object["apiVersion"]
        .as_str()
        .unwrap_or("")
        .rsplit_once('/')
        .map(|(g, _)| g)
        .unwrap_or("")
}

/// The Pod a rendered workload (or Pod) makes, as its controller creates it.
fn pod_of(object: &Value) -> Option<Value> {
    let kind = object["kind"].as_str().unwrap_or("");
    let mut pod = if kind == "Pod" {
        object.clone()
    } else {
        template_kind(group(object), kind)?.into_pod(object.clone())?
    };
    let namespace = object["metadata"]["namespace"].as_str().unwrap_or("shop");
    pod["metadata"]["namespace"] = json!(namespace);
    if pod["metadata"]["name"].is_null() {
        pod["metadata"]["generateName"] = json!(format!(
            "{}-",
            object["metadata"]["name"].as_str().unwrap_or("x")
        ));
    }
    pod["apiVersion"] = json!("v1");
    pod["kind"] = json!("Pod");
    Some(pod)
}

fn create(pod: &Value, settings: &Value) -> Decision {
    let request = json!({"uid": "u", "kind": {"group": "", "version": "v1", "kind": "Pod"},
        "namespace": pod["metadata"]["namespace"], "operation": "CREATE", "object": pod});
    decide(
        json!({"request": request, "settings": settings})
            .to_string()
            .as_bytes(),
    )
    .decision
}

/// Every manifest rendered: each document comes back, other kinds
/// unchanged; each Pod its templates make passes the API server's
/// validation (the oracle, 1.33 and 1.36), is a no-op for the policy
/// evaluated again, and is accepted by the verify-mode examples.
fn check_rendered(manifest: &Path, policy: &str, versions: &[u32]) -> usize {
    let original = documents(&std::fs::read_to_string(manifest).unwrap());
    let path = manifest.to_str().unwrap();
    let rendered = documents(&ok(&[
        "--policy",
        policy,
        "render",
        "-f",
        path,
        "--namespace-labels",
        "",
    ]));
    assert_eq!(
        rendered.len(),
        original.len(),
        "{path}: every document comes back"
    );
    let mut injected = 0;
    for (before, after) in original.iter().zip(&rendered) {
        let (Some(pod_before), Some(pod)) = (pod_of(before), pod_of(after)) else {
            assert_eq!(
                before, after,
                "{path}: a kind without a Pod template passes unchanged"
            );
            continue;
        };
        if pod_before != pod {
            injected += 1;
        }
        // Everything but the template is the manifest's.
        let (mut b, mut a) = (before.clone(), after.clone());
        for v in [&mut b, &mut a] {
            if let Some(t) = template_kind(group(before), before["kind"].as_str().unwrap_or("")) {
                *v.pointer_mut(t.pointer).unwrap() = Value::Null;
            } else {
                v["spec"] = Value::Null;
                v["metadata"] = Value::Null;
            }
        }
        assert_eq!(a, b, "{path}: only the Pod template changes");
        for version in versions {
            let errors = validate_pod_create(&pod, Version(*version));
            assert!(
                errors.is_empty(),
                "{path}: refused by the API server 1.{version}: {errors:?}"
            );
        }
        match create(&pod, &settings(policy)) {
            Decision::Accept => {}
            Decision::Mutate(again) => {
                assert_eq!(again, pod, "{path}: a second evaluation changes nothing")
            }
            Decision::Reject(message) => panic!("{path}: rejected when evaluated again: {message}"),
        }
        for verify in [
            "examples/verify-baked-sidecars-policy.yaml",
            "examples/verify-audit-policy.yaml",
        ] {
            let decision = create(&pod, &settings(verify));
            assert!(
                !matches!(decision, Decision::Reject(_)) || pod_before == pod,
                "{path}: {verify} refuses the rendered Pod: {decision:?}"
            );
        }
    }
    injected
}

#[test]
fn render_the_example_manifests() {
    assert_eq!(
        check_rendered(
            &Path::new(ROOT).join("examples/manifests/shop.yaml"),
            EXAMPLE,
            &[33, 36]
        ),
        2
    );
}

/// The workloads and Pods of the example and test requests (CREATE), each
/// written as a manifest into a directory of its own.
fn fixture_manifests() -> Vec<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!(
        "render-fixtures-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let mut out = Vec::new();
    for folder in ["examples/requests", "test_data/requests"] {
        let mut paths: Vec<_> = std::fs::read_dir(Path::new(ROOT).join(folder))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        paths.sort();
        for path in paths {
            let request: Value =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            let request = request.get("request").cloned().unwrap_or(request);
            let mut object = request["object"].clone();
            if request["operation"] != "CREATE"
                || !object.is_object()
                || request["subResource"].is_string()
            {
                continue;
            }
            let kind = request["kind"]["kind"].as_str().unwrap_or("");
            if kind != "Pod"
                && template_kind(request["kind"]["group"].as_str().unwrap_or(""), kind).is_none()
            {
                continue;
            }
            object["metadata"]["namespace"] = request["namespace"].clone();
            let manifest = dir.join(path.file_name().unwrap()).with_extension("yaml");
            std::fs::write(&manifest, serde_yaml::to_string(&object).unwrap()).unwrap();
            out.push(manifest);
        }
    }
    out
}

#[test]
fn render_the_request_fixtures() {
    let mut injected = 0;
    let mut files = 0;
    for manifest in fixture_manifests() {
        let out = plugin(&[
            "--policy",
            EXAMPLE,
            "render",
            "-f",
            manifest.to_str().unwrap(),
            "--namespace-labels",
            "",
        ]);
        files += 1;
        if !out.status.success() {
            // A rejection: the policy's message, the document named,
            // nothing written.
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(out.stdout.is_empty(), "{manifest:?}");
            assert!(
                stderr.contains("error: ") && stderr.contains(": document 1 ("),
                "{manifest:?}: {stderr}"
            );
            continue;
        }
        // Some fixtures carry fields newer than 1.33: 1.36 for all.
        injected += check_rendered(&manifest, EXAMPLE, &[36]);
    }
    assert!(
        files >= 15 && injected >= 8,
        "{files} manifests, {injected} injected"
    );
}

/// Every rendered object, whole (a Deployment, a CronJob, a Pod), through
/// Kubernetes' own schemas, strictly: `kubernetes-validate --strict`
/// (make plugin-tests; `--features kubernetes-validate`).
#[cfg(feature = "kubernetes-validate")]
#[test]
fn rendered_manifests_pass_kubernetes_validate_strict() {
    let mut manifests = fixture_manifests();
    manifests.push(Path::new(ROOT).join("examples/manifests/shop.yaml"));
    let dir = std::env::temp_dir().join(format!("rendered-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut files = Vec::new();
    for manifest in &manifests {
        let out = plugin(&[
            "--policy",
            EXAMPLE,
            "render",
            "-f",
            manifest.to_str().unwrap(),
            "--namespace-labels",
            "",
        ]);
        if !out.status.success() {
            continue;
        }
        for (i, mut object) in documents(&String::from_utf8(out.stdout).unwrap())
            .into_iter()
            .enumerate()
        {
            if object["metadata"]["name"].is_null() {
                let generated = format!(
                    "{}test",
                    object["metadata"]["generateName"]
                        .as_str()
                        .unwrap_or("pod-")
                );
                object["metadata"]["name"] = json!(generated);
            }
            let file = dir.join(format!(
                "{}-{i}.json",
                manifest.file_stem().unwrap().to_string_lossy()
            ));
            std::fs::write(&file, serde_json::to_vec_pretty(&object).unwrap()).unwrap();
            files.push(file);
        }
    }
    let output = Command::new("kubernetes-validate")
        .args(["--strict", "--quiet", "-k", "1.36.0"])
        .args(files.iter())
        .output()
        .expect("kubernetes-validate is installed (make tools)");
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(files.len() >= 20, "{} objects", files.len());
    // The check can fail: an unknown field in a rendered template.
    let mut broken = documents(&ok(&[
        "--policy",
        EXAMPLE,
        "render",
        "-f",
        "examples/manifests/shop.yaml",
        "--namespace-labels",
        "",
    ]))[1]
        .clone();
    broken["spec"]["template"]["spec"]["initContainers"][0]["dependsOn"] = json!(["x"]);
    let file = dir.join("broken.json");
    std::fs::write(&file, broken.to_string()).unwrap();
    let refused = Command::new("kubernetes-validate")
        .args(["--strict", "--quiet", "-k", "1.36.0"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        !refused.status.success(),
        "kubernetes-validate --strict accepts an unknown field"
    );
}

#[test]
fn render_keeps_key_order_and_names_a_rejection() {
    let text = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: search\n  namespace: shop\nspec:\n  template:\n    metadata:\n      labels: {app.kubernetes.io/part-of: shop}\n    spec:\n      containers:\n      - name: search\n        image: search:1\n        ports: [{containerPort: 15001}]\n---\nkind: ConfigMap\napiVersion: v1\nmetadata: {name: c}\n";
    let file = std::env::temp_dir().join(format!("reject-{}.yaml", std::process::id()));
    std::fs::write(&file, text).unwrap();
    let out = plugin(&[
        "--policy",
        EXAMPLE,
        "render",
        "-f",
        file.to_str().unwrap(),
        "--namespace-labels",
        "",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        out.stdout.is_empty(),
        "nothing is written when a document is rejected"
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "error: {}: document 1 (Deployment shop/search): spec.template: the Pods of this Deployment would be rejected: sidecar set \"mesh\": container \"envoy\" cannot be injected: port 15001/TCP is already used by spec.template.spec.containers[0] (\"search\"), and the containers of a Pod share one network namespace; change the port in the set or in the Pod\n",
            file.display()
        )
    );
    // The same without the port: kind before apiVersion stays so.
    std::fs::write(
        &file,
        text.replace("\n        ports: [{containerPort: 15001}]", ""),
    )
    .unwrap();
    let rendered = ok(&[
        "--policy",
        EXAMPLE,
        "render",
        "-f",
        file.to_str().unwrap(),
        "--namespace-labels",
        "",
    ]);
    assert!(rendered.starts_with("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: search\n  namespace: shop\nspec:\n  template:\n    metadata:\n      labels:\n        app.kubernetes.io/part-of: shop\n      annotations:\n"), "{rendered}");
    assert!(
        rendered.ends_with("---\nkind: ConfigMap\napiVersion: v1\nmetadata:\n  name: c\n"),
        "{rendered}"
    );
    assert!(rendered.contains("    spec:\n      containers:\n      - name: search\n        image: search:1\n      imagePullSecrets:\n"), "{rendered}");
}

#[test]
fn explain_a_new_pod_a_workload_and_a_running_pod() {
    let out = ok(&[
        "--policy",
        EXAMPLE,
        "explain",
        "-f",
        "examples/requests/pod-checkout-create.json",
        "--namespace-labels",
        "",
    ]);
    assert!(out.starts_with("Pod shop/checkout-5b8c7d9f4- under policy sidecarset (CREATE):\n  decision: injects log-shipper, mesh\n  the policy says:\n"), "{out}");
    assert!(out.contains("    - start order: mesh-init → envoy (sidecar) → fluent-bit (sidecar) → [checkout]; fluent-bit after envoy is ready; envoy after mesh-init has completed\n"), "{out}");
    assert!(out.contains("  containers, in start order:\n    1. mesh-init (init container, registry.example.com/mesh/proxy-init:1.4.0)\n    2. envoy (native sidecar, envoyproxy/envoy:v1.33.0)\n"), "{out}");
    let workload = ok(&[
        "--policy",
        EXAMPLE,
        "explain",
        "-f",
        "examples/manifests/shop.yaml",
        "--namespace-labels",
        "",
    ]);
    assert!(
        workload.starts_with("Pod shop/web-config under policy sidecarset (CREATE):\n")
            || workload.starts_with("a Pod of"),
        "{workload}"
    );
    let running = ok(&[
        "--policy",
        ROLLOUT,
        "explain",
        "web-6d4b9c-m2hdz",
        "-f",
        PODS,
    ]);
    assert!(running.starts_with("Pod shop/web-6d4b9c-m2hdz under policy sidecarset-rollout (running; as if created now):\n  decision: injects log-shipper (revision v3-3), mesh\n"), "{running}");
    assert!(running.ends_with("  running, by set:\n    log-shipper: revision current, ready; upgradeable in place to v3-3 (kubectl sidecarset upgrade log-shipper)\n    mesh: revision current, up to date, ready\n"), "{running}");
}

#[test]
fn invalid_settings_are_the_policys_message() {
    let file = std::env::temp_dir().join(format!("bad-policy-{}.yaml", std::process::id()));
    std::fs::write(&file, "apiVersion: policies.kubewarden.io/v1\nkind: ClusterAdmissionPolicy\nmetadata: {name: p}\nspec:\n  settings:\n    sidecarSets: [{name: a, selector: {}, containers: [{name: c, image: i}], updateStrategy: {maxUnavailable: 0}}]\n").unwrap();
    let out = plugin(&["--policy", file.to_str().unwrap(), "status", "-f", PODS]);
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "error: {}: the policy's settings are not valid: sidecarSets[0].updateStrategy.maxUnavailable: must be at least 1 (or 1%): 0 would never upgrade a Pod; use paused: true to stop a rollout\n",
            file.display()
        )
    );
    let not_a_policy = plugin(&["--policy", PODS, "status", "-f", PODS]);
    assert_eq!(
        String::from_utf8_lossy(&not_a_policy.stderr),
        "error: examples/cluster/pods.json: a List is not a ClusterAdmissionPolicy or AdmissionPolicy; give the policy that runs sidecarset-policy (e.g. examples/cluster-admission-policy.yaml)\n"
    );
}

fn temp(name: &str, text: &str) -> String {
    let path = std::env::temp_dir().join(format!("{}-{name}", std::process::id()));
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

/// The example policy and Pods, edited.
fn edited(
    policy_edit: impl Fn(&mut Value),
    pods_edit: impl Fn(&mut Value),
    name: &str,
) -> (String, String) {
    let mut policy: Value =
        serde_yaml::from_str(&std::fs::read_to_string(Path::new(ROOT).join(ROLLOUT)).unwrap())
            .unwrap();
    policy_edit(&mut policy);
    let mut pods: Value =
        serde_json::from_str(&std::fs::read_to_string(Path::new(ROOT).join(PODS)).unwrap())
            .unwrap();
    pods_edit(&mut pods);
    (
        temp(&format!("{name}-policy.json"), &policy.to_string()),
        temp(&format!("{name}-pods.json"), &pods.to_string()),
    )
}

fn wide(policy: &str, pods: &str) -> String {
    ok(&[
        "--policy",
        policy,
        "status",
        "log-shipper",
        "-f",
        pods,
        "-A",
        "-o",
        "wide",
    ])
}

/// A revision with the images of the one a Pod runs moves the record and
/// the revision label only: still a stale Pod, upgraded in place (red
/// team D8: shown current).
#[test]
fn a_revision_with_the_same_images_is_still_an_upgrade() {
    let (policy, pods) = edited(
        |p| {
            let set = &mut p["spec"]["settings"]["sidecarSets"][0];
            set["revisions"].as_array_mut().unwrap().push(json!({"name": "v3-2", "images": {"fluent-bit": "cr.fluentbit.io/fluent/fluent-bit:3.2.4"}}));
            set["tags"]["stable"] = json!("v3-2");
        },
        |pods| {
            pods["items"][0]["metadata"]["labels"]["sidecarset.kubewarden.io/revision.log-shipper"] =
                json!("stable")
        },
        "same-images",
    );
    let out = wide(&policy, &pods);
    assert!(out.contains("log-shipper   shop        web-6d4b9c-4xk2p      ReplicaSet/web-6d4b9c      current    upgradeable   true    in place to v3-2\n"), "{out}");
    let plan = ok(&[
        "--policy",
        &policy,
        "upgrade",
        "log-shipper",
        "--dry-run",
        "-f",
        &pods,
        "-A",
    ]);
    assert!(plan.contains("  shop/web-6d4b9c-4xk2p: current -> v3-2 (fluent-bit=cr.fluentbit.io/fluent/fluent-bit:3.2.4)\n"), "{plan}");
}

/// A paused set refuses every upgrade: the Pods that run what they should
/// are still current; only the stale ones are blocked (red team D9), and
/// the Pod created without the set is not missing it (paused: no Pod gets
/// it now).
#[test]
fn a_paused_set_blocks_only_the_stale_pods() {
    let (policy, pods) = edited(
        |p| p["spec"]["settings"]["sidecarSets"][0]["injectionStrategy"]["paused"] = json!(true),
        |_| {},
        "paused",
    );
    let out = ok(&[
        "--policy",
        &policy,
        "status",
        "log-shipper",
        "-f",
        &pods,
        "-A",
    ]);
    assert!(out.contains("\nlog-shipper   6      current:4,v3-3:2   2         0             0          4         0         5\n"), "{out}");
    let out = wide(&policy, &pods);
    let line = out
        .lines()
        .find(|l| l.contains("web-6d4b9c-4xk2p"))
        .unwrap();
    assert!(line.contains(" current    blocked ") && line.ends_with("upgrade of sidecar set log-shipper: the set is paused (injectionStrategy.paused), which halts injection and upgrades; unpause it, or remove log-shipper from the sidecarset.kubewarden.io/upgrade annotation"), "{out}");
    let api = out
        .lines()
        .find(|l| l.contains("api-58f7c4-c8w2n"))
        .unwrap();
    assert!(api.contains(" v3-3       current "), "{out}");
}

/// A record naming containers the Pod does not hold (forged, or copied):
/// the Pod is missing the set, not on a revision of it (red team D9).
#[test]
fn a_record_of_containers_the_pod_lacks_is_a_missing_set() {
    let (policy, pods) = edited(
        |_| {},
        |pods| {
            let items = pods["items"].as_array_mut().unwrap();
            let legacy = items
                .iter_mut()
                .find(|i| i["metadata"]["name"] == "legacy")
                .unwrap();
            legacy["metadata"]["annotations"] = json!({"sidecarset.kubewarden.io/status":
                "{\"sets\":[{\"name\":\"log-shipper\",\"hash\":\"x\",\"initContainers\":[\"fluent-bit\"],\"images\":{\"fluent-bit\":\"cr.fluentbit.io/fluent/fluent-bit:3.3.0\"},\"revision\":\"v3-3\"}]}"});
        },
        "forged",
    );
    let out = wide(&policy, &pods);
    assert!(out.contains("log-shipper   shop        legacy                Pod/legacy                 -          missing       false   created without the set: recreate the Pod\n"), "{out}");
    assert!(out.starts_with("NAME          PODS   REVISIONS          CURRENT   UPGRADEABLE   RECREATE   BLOCKED   MISSING   READY\nlog-shipper   7      current:4,v3-3:2   2         3             1          0         1         5\n"), "{out}");
}

/// YAML as kubectl reads it (YAML 1.1): `0644` is octal, merge keys merge;
/// and written so that kubectl reads back what was meant: `"yes"` stays a
/// string (red team D4, D5: `0644` became the string '0644', `"yes"` a
/// bare yes, a merge key a label named `<<`).
#[test]
fn render_reads_and_writes_yaml_as_kubectl_does() {
    let manifest = temp(
        "yaml11.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec:\n  selector: {matchLabels: {tier: web}}\n  template:\n    metadata:\n      labels:\n        <<: {tier: web}\n        app.kubernetes.io/name: web\n      annotations: {a-on: \"on\", a-sexa: \"1:20\", a-octal: \"0644\"}\n    spec:\n      containers:\n      - name: web\n        image: nginx\n        env: [{name: X, value: \"yes\"}]\n        volumeMounts: [{name: cfg, mountPath: /cfg}]\n      volumes:\n      - name: cfg\n        configMap: {name: cfg, defaultMode: 0644}\n",
    );
    let out = ok(&[
        "--policy",
        ROLLOUT,
        "render",
        "-f",
        &manifest,
        "--namespace-labels",
        "",
    ]);
    for expected in [
        "          defaultMode: 420\n",
        "          value: \"yes\"\n",
        "        a-on: \"on\"\n",
        "        a-sexa: \"1:20\"\n",
        "        a-octal: \"0644\"\n",
        "        tier: web\n",
    ] {
        assert!(out.contains(expected), "{expected:?} in {out}");
    }
    assert!(!out.contains("<<"), "{out}");
    // The fluent-bit sidecar went in: the merged labels selected the Pod.
    assert!(out.contains("name: fluent-bit"), "{out}");
}

/// A Pod the policy does not act on (an excluded namespace) is not
/// current when its set moved on: its upgrade is accepted unchanged, so
/// it is blocked, with why (red team 2, 6).
#[test]
fn a_pod_the_policy_does_not_act_on_is_not_current() {
    let (policy, pods) = edited(
        |_| {},
        |pods| {
            let items = pods["items"].as_array_mut().unwrap();
            let mut copy = items
                .iter()
                .find(|i| i["metadata"]["name"] == "web-6d4b9c-4xk2p")
                .unwrap()
                .clone();
            copy["metadata"]["namespace"] = json!("kube-system");
            copy["metadata"]["name"] = json!("system-agent");
            items.push(copy);
            items.push(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kube-system", "labels": {"kubernetes.io/metadata.name": "kube-system"}}}));
        },
        "excluded",
    );
    let out = wide(&policy, &pods);
    let line = out.lines().find(|l| l.contains("system-agent")).unwrap();
    assert!(line.contains(" blocked ") && line.ends_with("the policy does not act on this Pod's UPDATEs (an excluded namespace, or a hostNetwork Pod the settings skip): its sidecars stay as they are"), "{out}");
}

/// render and explain leave alone what the policy's webhook does not see
/// (its namespaceSelector, objectSelector), as status does (red team 2, 7).
#[test]
fn render_and_explain_follow_the_webhooks_selectors() {
    let (policy, _) = edited(
        |p| p["spec"]["objectSelector"] = json!({"matchLabels": {"sidecars": "on"}}),
        |_| {},
        "selectors",
    );
    let manifest = Path::new(ROOT).join("examples/manifests/shop.yaml");
    let out = plugin(&[
        "--policy",
        &policy,
        "render",
        "-f",
        manifest.to_str().unwrap(),
        "--namespace-labels",
        "",
    ]);
    assert!(out.status.success());
    assert_eq!(
        documents(&String::from_utf8(out.stdout).unwrap()),
        documents(&std::fs::read_to_string(&manifest).unwrap())
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("document 2 (Deployment shop/web): the policy does not see these Pods (its namespaceSelector, objectSelector or namespace): left as they are"));
    let explained = ok(&[
        "--policy",
        &policy,
        "explain",
        "web-6d4b9c-4xk2p",
        "-f",
        PODS,
    ]);
    assert_eq!(
        explained,
        "Pod shop/web-6d4b9c-4xk2p under policy sidecarset-rollout:\n  decision: not evaluated: the policy does not see this Pod (its namespaceSelector, objectSelector or namespace)\n"
    );
}

/// What kubectl create --dry-run -o yaml writes (creationTimestamp: null
/// in the template) and a Pod's uid and status come back (red team 2, 10).
#[test]
fn render_keeps_every_field_of_the_template_and_the_pod() {
    let manifest = temp(
        "fields.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop, creationTimestamp: null}\nspec:\n  selector: {matchLabels: {tier: web}}\n  template:\n    metadata:\n      creationTimestamp: null\n      labels: {tier: web}\n    spec:\n      containers: [{name: web, image: nginx}]\nstatus: {}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop, uid: 1234, labels: {tier: web}}\nspec:\n  containers: [{name: web, image: nginx}]\nstatus: {phase: Pending}\n",
    );
    let out = ok(&[
        "--policy",
        ROLLOUT,
        "render",
        "-f",
        &manifest,
        "--namespace-labels",
        "",
    ]);
    let docs = documents(&out);
    assert!(
        docs[0]["spec"]["template"]["metadata"]
            .as_object()
            .unwrap()
            .contains_key("creationTimestamp"),
        "{out}"
    );
    assert_eq!(docs[0]["status"], json!({}));
    assert_eq!(docs[1]["metadata"]["uid"], json!(1234));
    assert_eq!(docs[1]["status"], json!({"phase": "Pending"}));
    assert!(docs[1]["spec"]["initContainers"].is_array(), "{out}");
}

/// A Pod that completed or is being deleted runs nothing to upgrade:
/// status and upgrade say so alike (red team 3, D8, D11).
#[test]
fn completed_and_terminating_pods_are_not_upgradeable() {
    let (policy, pods) = edited(
        |_| {},
        |pods| {
            for item in pods["items"].as_array_mut().unwrap() {
                match item["metadata"]["name"].as_str() {
                    Some("web-6d4b9c-m2hdz") => item["status"]["phase"] = json!("Succeeded"),
                    Some("web-6d4b9c-4xk2p") => {
                        item["metadata"]["deletionTimestamp"] = json!("2026-12-07T10:00:00Z")
                    }
                    _ => {}
                }
            }
        },
        "finished",
    );
    let out = wide(&policy, &pods);
    let line = |name: &str| out.lines().find(|l| l.contains(name)).unwrap().to_string();
    assert!(line("web-6d4b9c-m2hdz").ends_with(" blocked       true    the Pod has completed (phase Succeeded): nothing runs to upgrade"), "{out}");
    assert!(
        line("web-6d4b9c-4xk2p")
            .ends_with("the Pod is being deleted: its replacement gets the set when it is created"),
        "{out}"
    );
    let plan = ok(&[
        "--policy",
        &policy,
        "upgrade",
        "log-shipper",
        "--dry-run",
        "-f",
        &pods,
        "-A",
    ]);
    assert!(
        plan.starts_with("sidecar set log-shipper: 1 Pod to upgrade in place in 1 batch"),
        "{plan}"
    );
}

/// explain of an upgrade UPDATE says what it upgrades, not every set the
/// Pod holds.
#[test]
fn explain_an_upgrade_request() {
    let pods: Value =
        serde_json::from_str(&std::fs::read_to_string(Path::new(ROOT).join(PODS)).unwrap())
            .unwrap();
    let pod = pods["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["metadata"]["name"] == "web-6d4b9c-4xk2p")
        .unwrap()
        .clone();
    let mut new = pod.clone();
    new["metadata"]["annotations"]["sidecarset.kubewarden.io/upgrade"] = json!("log-shipper");
    let request = json!({"uid": "u", "kind": {"group": "", "version": "v1", "kind": "Pod"}, "namespace": "shop",
        "operation": "UPDATE", "object": new, "oldObject": pod});
    let file = temp(
        "upgrade-request.json",
        &json!({"request": request}).to_string(),
    );
    let namespaces = temp("shop-ns.json", &pods["items"][0].to_string());
    let _ = namespaces;
    let out = ok(&[
        "--policy",
        ROLLOUT,
        "explain",
        "-f",
        &file,
        "--namespace-labels",
        "sidecarset.kubewarden.io/revision.log-shipper=canary",
    ]);
    assert!(out.starts_with("Pod shop/web-6d4b9c-4xk2p under policy sidecarset-rollout (UPDATE):\n  decision: upgrades log-shipper (revision v3-3)\n"), "{out}");
}
