//! The packaging files agree with each other and with Cargo.toml: what
//! Artifact Hub, kwctl and Rancher read must describe the module we build.

use std::path::{Path, PathBuf};

use serde_json::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn yaml(path: &str) -> Value {
    let text = std::fs::read_to_string(repo().join(path)).unwrap();
    serde_yaml::from_str(&text).unwrap()
}

fn text(path: &str) -> String {
    std::fs::read_to_string(repo().join(path)).unwrap()
}

/// The policy crate's version, from the root Cargo.toml's [package].
fn cargo_version() -> String {
    let manifest = text("Cargo.toml");
    let package = manifest.split("[package]").nth(1).unwrap();
    let line = package
        .lines()
        .find(|l| l.starts_with("version = "))
        .unwrap();
    line.trim_start_matches("version = ")
        .trim_matches('"')
        .to_string()
}

#[test]
fn metadata_is_complete_and_versioned() {
    let metadata = yaml("metadata.yml");
    let annotations = &metadata["annotations"];
    assert_eq!(
        annotations["io.kubewarden.policy.version"],
        cargo_version().as_str()
    );
    for key in [
        "io.artifacthub.displayName",
        "io.artifacthub.resources",
        "io.artifacthub.keywords",
        "io.kubewarden.policy.ociUrl",
        "io.kubewarden.policy.title",
        "io.kubewarden.policy.version",
        "io.kubewarden.policy.description",
        "io.kubewarden.policy.author",
        "io.kubewarden.policy.url",
        "io.kubewarden.policy.source",
        "io.kubewarden.policy.license",
        "io.kubewarden.policy.severity",
        "io.kubewarden.policy.category",
    ] {
        assert!(
            annotations[key].as_str().is_some_and(|v| !v.is_empty()),
            "metadata.yml lacks {key}"
        );
    }
    assert_eq!(metadata["mutating"], true);
    assert_eq!(metadata["executionMode"], "kubewarden-wapc");
    assert!(
        metadata["backgroundAudit"].is_boolean(),
        "backgroundAudit is set deliberately"
    );
    // pods/resize: a resize of an injected container stays within its
    // set's resourceBounds.
    assert_eq!(
        metadata["rules"][0]["resources"],
        serde_json::json!(["pods", "pods/resize"])
    );
    assert_eq!(
        metadata["rules"][0]["operations"],
        serde_json::json!(["CREATE", "UPDATE"])
    );
}

#[test]
fn artifacthub_package_matches_metadata_and_questions() {
    let version = cargo_version();
    let package = yaml("artifacthub-pkg.yml");
    let metadata = yaml("metadata.yml");
    assert_eq!(package["version"], version.as_str());
    let image = package["containersImages"][0]["image"].as_str().unwrap();
    let oci = metadata["annotations"]["io.kubewarden.policy.ociUrl"]
        .as_str()
        .unwrap();
    assert_eq!(image, format!("{oci}:v{version}"));
    assert_eq!(
        package["annotations"]["kubewarden/questions-ui"]
            .as_str()
            .unwrap(),
        text("questions-ui.yml")
    );
    assert_eq!(package["annotations"]["kubewarden/mutation"], "true");
    let rules: Value =
        serde_yaml::from_str(package["annotations"]["kubewarden/rules"].as_str().unwrap()).unwrap();
    assert_eq!(rules, metadata["rules"]);
    let resources: Value = serde_yaml::from_str(
        package["annotations"]["kubewarden/contextAwareResources"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(resources, metadata["contextAwareResources"]);
    assert_eq!(
        package["annotations"]["kubewarden/resources"],
        metadata["annotations"]["io.artifacthub.resources"]
    );
    assert_eq!(
        package["description"],
        metadata["annotations"]["io.kubewarden.policy.description"]
    );
}

#[test]
fn questions_name_real_settings() {
    let questions = yaml("questions-ui.yml");
    let top: Vec<&str> = questions["questions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["variable"].as_str().unwrap())
        .collect();
    assert_eq!(
        top,
        [
            "mode",
            "jobPods",
            "explain",
            "nativeSidecars",
            "excludedNamespaces",
            "skipHostNetworkPods",
            "namespaceLookupFailure",
            "podLevelResources",
            "maxAddedRequests",
            "protectInjected",
            "checkPodSecurity",
            "sidecarSets"
        ]
    );
    // Each top-level question's default is the policy's default.
    let defaults = serde_json::json!({
        "mode": "inject", "jobPods": "native", "explain": false, "nativeSidecars": true,
        "excludedNamespaces": ["kube-system", "kube-public", "kube-node-lease"],
        "skipHostNetworkPods": true, "namespaceLookupFailure": "reject",
        "podLevelResources": "add", "maxAddedRequests": {}, "protectInjected": true,
        "checkPodSecurity": true, "sidecarSets": []
    });
    for question in questions["questions"].as_array().unwrap() {
        let variable = question["variable"].as_str().unwrap();
        assert_eq!(
            question["default"], defaults[variable],
            "questions-ui.yml: default of {variable}"
        );
    }
    let set_fields = [
        "name",
        "mandatory",
        "selector.matchLabels",
        "namespace",
        "namespaceSelector.matchLabels",
        "hostNetworkPods",
        "nativeSidecars",
        "injectionStrategy.paused",
        "podSecurity.onViolation",
        "podSecurity.defaults",
        "shutdown.extendGracePeriod",
        "shutdown.maxGracePeriodSeconds",
        "appContainers.env",
        "containers",
        "initContainers",
        "imagePullSecrets",
    ];
    for question in questions["questions"][11]["sequence_questions"]
        .as_array()
        .unwrap()
    {
        let variable = question["variable"].as_str().unwrap();
        assert!(
            set_fields.contains(&variable),
            "questions-ui.yml: unknown set field {variable}"
        );
    }
}

#[test]
fn example_policy_is_a_mutating_pod_create_policy_of_this_version() {
    let policy = yaml("examples/cluster-admission-policy.yaml");
    assert_eq!(policy["kind"], "ClusterAdmissionPolicy");
    assert_eq!(policy["spec"]["mutating"], true);
    assert!(
        policy["spec"]["module"]
            .as_str()
            .unwrap()
            .ends_with(&format!(":v{}", cargo_version()))
    );
    assert_eq!(
        policy["spec"]["rules"][0]["operations"],
        serde_json::json!(["CREATE", "UPDATE"])
    );
}

#[test]
fn the_verify_examples_check_the_sets_the_example_injects() {
    let inject = yaml("examples/cluster-admission-policy.yaml");
    for path in [
        "examples/verify-audit-policy.yaml",
        "examples/verify-baked-sidecars-policy.yaml",
    ] {
        let policy = yaml(path);
        assert_eq!(policy["kind"], "ClusterAdmissionPolicy", "{path}");
        assert_eq!(policy["spec"]["mutating"], false, "{path}");
        assert_eq!(policy["spec"]["module"], inject["spec"]["module"], "{path}");
        let settings = &policy["spec"]["settings"];
        assert_eq!(settings["mode"], "verify", "{path}");
        for key in ["sidecarSets", "nativeSidecars", "jobPods"] {
            assert_eq!(
                settings[key], inject["spec"]["settings"][key],
                "{path}: {key}"
            );
        }
    }
    assert_eq!(
        yaml("examples/verify-audit-policy.yaml")["spec"]["mode"],
        "monitor"
    );
}

/// What kwctl and the API server read: every example policy parses as kwctl
/// parses it, and the injecting one registers every kind the policy checks.
#[test]
fn example_policies_are_what_kwctl_accepts() {
    for path in [
        "examples/cluster-admission-policy.yaml",
        "examples/verify-audit-policy.yaml",
        "examples/verify-baked-sidecars-policy.yaml",
    ] {
        host::read_policy_resources(&repo().join(path)).unwrap();
    }
    let policy = yaml("examples/cluster-admission-policy.yaml");
    let resources: Vec<&str> = policy["spec"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["resources"].as_array().unwrap())
        .map(|r| r.as_str().unwrap())
        .collect();
    for kind in [
        "pods",
        "deployments",
        "statefulsets",
        "daemonsets",
        "replicasets",
        "replicationcontrollers",
        "jobs",
        "cronjobs",
    ] {
        assert!(resources.contains(&kind), "the example's rules omit {kind}");
    }
}

#[test]
fn a_policy_resource_with_an_unknown_field_is_refused_as_kwctl_refuses_it() {
    let dir = std::env::temp_dir().join(format!("sidecarset-packaging-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("policy.yaml");
    let example = text("examples/cluster-admission-policy.yaml");
    std::fs::write(
        &file,
        example.replace(
            "  failurePolicy: Fail",
            "  reinvocationPolicy: IfNeeded\n  failurePolicy: Fail",
        ),
    )
    .unwrap();
    let error = host::read_policy_resources(&file).unwrap_err().to_string();
    assert_eq!(
        error,
        "cannot parse value into ClusterAdmissionPolicy: unknown field `reinvocationPolicy`, expected one of `backgroundAudit`, `failurePolicy`, `matchConditions`, `matchPolicy`, `mode`, `module`, `mutating`, `objectSelector`, `policyServer`, `rules`, `settings`, `sideEffects`, `timeoutSeconds`, `timeoutEvalSeconds`, `namespaceSelector`, `contextAwareResources`, `message`"
    );
    // An AdmissionPolicy has no namespaceSelector.
    std::fs::write(
        &file,
        example
            .replace("kind: ClusterAdmissionPolicy", "kind: AdmissionPolicy")
            .replace(
                "  contextAwareResources:\n    - apiVersion: v1\n      kind: Namespace\n",
                "",
            ),
    )
    .unwrap();
    let error = host::read_policy_resources(&file).unwrap_err().to_string();
    assert!(
        error.starts_with(
            "cannot parse value into AdmissionPolicy: unknown field `namespaceSelector`"
        ),
        "{error}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
