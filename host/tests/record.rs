//! The built module, through host/: the record is the policy's own (issue
//! 30). Each test is one finding of the issue, as a hostile Pod author or a
//! busy controller meets it: a forged record at CREATE, a copied record
//! vouching for a swapped volume, buckets from an UPDATE's own
//! ownerReferences, verify mode and a failed lookup, a relabelled
//! transferEnv source, mixed revisions, unbounded answers, namespace pins.

mod common;

use common::{as_stored, kubernetes_validate, patched, policy, request};
use host::{AdmissionResponse, ClusterContext, read_settings};
use serde_json::{Value, json};

const STATUS: &str = "sidecarset.kubewarden.io/status";
const TRIGGER: &str = "sidecarset.kubewarden.io/upgrade";
const REPLICASET: &str = "test_data/requests/pod-replicaset-create.json";

fn evaluate(request: &Value, settings: &Value) -> AdmissionResponse {
    policy().evaluate(request, settings).unwrap()
}

/// A mandatory mesh: a native sidecar that mounts the set's emptyDir, a
/// pull secret, an annotation; two revisions and a canary by owner.
fn mesh(mode: &str, percent: u32) -> Value {
    json!({"mode": mode, "sidecarSets": [{"name": "mesh", "selector": {}, "mandatory": true,
        "initContainers": [{"name": "envoy", "image": "envoy:v1.33.0", "restartPolicy": "Always",
            "volumeMounts": [{"name": "mesh-certs", "mountPath": "/etc/certs"}]}],
        "volumes": [{"name": "mesh-certs", "emptyDir": {}}],
        "imagePullSecrets": [{"name": "mesh-registry"}],
        "patchPodMetadata": [{"annotations": {"mesh.example.com/proxy": "envoy"}, "patchPolicy": "Overwrite"}],
        "revisions": [{"name": "v2", "images": {"envoy": "envoy:v1.34.0"}}],
        "injectionStrategy": {"canary": {"revision": "v2", "percent": percent, "by": "owner"}}}]})
}

fn status(pod: &Value) -> Value {
    serde_json::from_str(pod["metadata"]["annotations"][STATUS].as_str().unwrap()).unwrap()
}

fn with_status(mut pod: Value, record: &Value) -> Value {
    pod["metadata"]["annotations"][STATUS] = json!(record.to_string());
    pod
}

/// A CREATE of `pod` (the ReplicaSet fixture's request around it).
fn create(pod: &Value) -> Value {
    let mut request = request(REPLICASET);
    request["object"] = pod.clone();
    request
}

fn update(old: &Value, new: &Value) -> Value {
    let mut request = create(new);
    request["operation"] = json!("UPDATE");
    request["oldObject"] = old.clone();
    request
}

/// The fixture Pod injected under `settings`, as the API server stores it.
fn injected(settings: &Value) -> Value {
    let create = request(REPLICASET);
    let response = evaluate(&create, settings);
    assert!(response.allowed, "{:?}", response.message());
    let mut pod = patched(&create, &response);
    as_stored(&mut pod);
    pod
}

/// The answer to a CREATE of `pod`, and the Pod it makes.
fn created(pod: &Value, settings: &Value) -> (AdmissionResponse, Value) {
    let request = create(pod);
    let response = evaluate(&request, settings);
    assert!(response.allowed, "{:?}", response.message());
    let pod = patched(&request, &response);
    (response, pod)
}

fn warnings(response: &AdmissionResponse) -> Vec<String> {
    response.warnings.clone().unwrap_or_default()
}

fn validated(pods: &[(&str, &Value)]) {
    let pods: Vec<(String, Value)> = pods
        .iter()
        .map(|(n, p)| (format!("record-{n}"), (*p).clone()))
        .collect();
    kubernetes_validate(&pods, "1.36.0").unwrap_or_else(|e| panic!("{e}"));
}

/// What a test forges: its name, the edit of the record, the fields named.
type Forgery = (&'static str, fn(&mut Value), &'static str);

/// Finding 1: a copy of an injected Pod whose record claims another image,
/// another list, other buckets or a set the settings do not have is
/// created with the record the policy derives, and a warning naming what
/// was replaced; the next UPDATE cannot swap the mandatory sidecar.
#[test]
fn a_forged_record_never_survives_create() {
    let settings = mesh("inject", 0);
    let genuine = injected(&settings);
    let ours = status(&genuine);
    let forgeries: [Forgery; 5] = [
        (
            "images",
            |r| r["sets"][0]["images"]["envoy"] = json!("not-what-runs"),
            "mesh.images",
        ),
        (
            "lists",
            |r| {
                r["sets"][0]["containers"] = json!(["envoy"]);
                r["sets"][0]["initContainers"] = json!([]);
            },
            "mesh.containers, mesh.initContainers",
        ),
        (
            "buckets",
            |r| r["sets"][0]["buckets"] = json!("owner:0,pod:0"),
            "mesh.buckets",
        ),
        (
            "revision",
            |r| {
                r["sets"][0]["revision"] = json!("v2");
                r["sets"][0]["from"] = json!("pod");
            },
            "mesh.from, mesh.revision",
        ),
        (
            "unknown set",
            |r| {
                r["sets"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"name": "ghost", "hash": "0", "containers": ["app"]}))
            },
            "ghost (not held)",
        ),
    ];
    for (what, forge, named) in forgeries {
        let mut record = ours.clone();
        forge(&mut record);
        let mut copy = with_status(genuine.clone(), &record);
        copy["metadata"]["name"] = Value::Null;
        let (response, made) = created(&copy, &settings);
        assert_eq!(status(&made), ours, "{what}: the record is the policy's");
        assert_eq!(
            made["spec"], genuine["spec"],
            "{what}: nothing else changes"
        );
        assert_eq!(
            warnings(&response),
            [format!(
                "metadata.annotations[\"sidecarset.kubewarden.io/status\"]: the record the Pod brought is replaced by what the policy verified the Pod holds (replaced: {named}); the record is the policy's own output"
            )],
            "{what}"
        );
        validated(&[(what, &made)]);
        // The stored copy protects envoy as the genuine Pod does.
        let mut stored = made.clone();
        stored["metadata"]["name"] = json!("copy-1");
        let mut swapped = stored.clone();
        swapped["spec"]["initContainers"][0]["image"] = json!("evil.example.com/miner:1");
        let response = evaluate(&update(&stored, &swapped), &settings);
        assert!(!response.allowed, "{what}: the swap is refused");
        assert!(
            response
                .message()
                .unwrap()
                .starts_with("spec.initContainers[0] (envoy): image evil.example.com/miner:1 is not the image of revision current of sidecar set mesh"),
            "{what}: {:?}",
            response.message()
        );
    }
    // The policy's own answer, evaluated again, changes nothing.
    let response = evaluate(&create(&genuine), &settings);
    assert!(response.patch.is_none() && response.warnings.is_none());
}

/// Finding 1, the canary: a record's buckets are computed, not taken; a
/// Pod that holds nothing of a set brings no record of it through.
#[test]
fn buckets_and_records_of_nothing_held_are_derived() {
    let settings = mesh("inject", 50);
    let mut pod = request(REPLICASET)["object"].clone();
    pod = with_status(
        pod,
        &json!({"sets": [{"name": "mesh", "hash": "0", "buckets": "owner:0,pod:0", "revision": "v2"}]}),
    );
    let (_, made) = created(&pod, &settings);
    let recorded = &status(&made)["sets"][0];
    let clean = injected(&settings);
    assert_eq!(recorded["buckets"], status(&clean)["sets"][0]["buckets"]);
    assert_eq!(recorded["revision"], status(&clean)["sets"][0]["revision"]);
}

/// Finding 2: a copied record does not vouch for a volume the Pod swapped:
/// inject mode does not accept the copy unchanged (the set's volume of
/// that name cannot be added: a rejection naming it), verify mode names the
/// volume and the field; and a pull secret or annotation the set writes.
#[test]
fn held_means_the_volumes_pull_secrets_and_annotations_too() {
    let genuine = injected(&mesh("inject", 0));
    let mut copy = genuine.clone();
    copy["spec"]["volumes"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .filter(|v| v["name"] == "mesh-certs")
        .for_each(|v| *v = json!({"name": "mesh-certs", "hostPath": {"path": "/", "type": ""}}));
    let response = evaluate(&create(&copy), &mesh("inject", 0));
    assert!(!response.allowed, "not accepted unchanged");
    assert!(
        response.message().unwrap().contains("mesh-certs"),
        "{:?}",
        response.message()
    );
    let response = evaluate(&create(&copy), &mesh("verify", 0));
    assert_eq!(
        response.message(),
        Some(
            "the Pod does not hold what its sidecar sets inject: volume mesh-certs differs from what sidecar set mesh defines, in hostPath; recreate the Pod so that the injecting policy adds the sidecars, or fix its manifest"
        )
    );
    let mut bare = genuine.clone();
    bare["spec"]["imagePullSecrets"] = json!([]);
    bare["metadata"]["annotations"]["mesh.example.com/proxy"] = json!("none");
    let response = evaluate(&create(&bare), &mesh("verify", 0));
    assert_eq!(
        response.message(),
        Some(
            "the Pod does not hold what its sidecar sets inject: imagePullSecrets lacks mesh-registry of sidecar set mesh; metadata.annotations[\"mesh.example.com/proxy\"] does not hold what sidecar set mesh writes there (patchPodMetadata, Overwrite); recreate the Pod so that the injecting policy adds the sidecars, or fix its manifest"
        )
    );
    // The genuine Pod passes verify mode.
    assert!(evaluate(&create(&genuine), &mesh("verify", 0)).allowed);
}

/// Finding 3: a Pod created before its set had revisions gets its canary
/// bucket from the Pod before the upgrade UPDATE (controller reference,
/// name), whatever the UPDATE writes there; and it is recorded then.
#[test]
fn buckets_of_an_unrecorded_pod_come_from_the_old_object() {
    let mut before = mesh("inject", 0);
    before["sidecarSets"][0]
        .as_object_mut()
        .unwrap()
        .retain(|k, _| k != "revisions" && k != "injectionStrategy");
    let mut stored = injected(&before);
    stored["metadata"]["name"] = json!("checkout-1");
    assert!(status(&stored)["sets"][0].get("buckets").is_none());
    // Each canary percent: the UPDATE's rewritten owner never moves the Pod.
    for percent in [10, 30, 50, 70, 90] {
        let settings = mesh("inject", percent);
        let answer = |owner: &str| {
            let mut new = stored.clone();
            new["metadata"]["annotations"][TRIGGER] = json!("mesh");
            if !owner.is_empty() {
                new["metadata"]["ownerReferences"][0]["uid"] = json!(owner);
            }
            let request = update(&stored, &new);
            let response = evaluate(&request, &settings);
            assert!(response.allowed, "{:?}", response.message());
            patched(&request, &response)
        };
        let honest = answer("");
        for owner in ["0", "1", "2", "3", "attacker", "x-9"] {
            let forged = answer(owner);
            assert_eq!(
                forged["spec"]["initContainers"][0]["image"],
                honest["spec"]["initContainers"][0]["image"],
                "{percent}% owner {owner}"
            );
            assert_eq!(
                status(&forged)["sets"][0]["buckets"],
                status(&honest)["sets"][0]["buckets"]
            );
        }
        assert!(
            status(&honest)["sets"][0]["buckets"]
                .as_str()
                .is_some_and(|b| b.starts_with("owner:"))
        );
    }
}

/// Finding 4: verify mode, a set with a namespaceSelector, and a Namespace
/// that cannot be read: an UPDATE that changes no image and not the record
/// is accepted with a warning; one that swaps an image is not.
#[test]
fn verify_mode_never_blocks_a_benign_update_on_a_failed_lookup() {
    let settings = json!({"mode": "verify", "sidecarSets": [{"name": "mesh", "selector": {},
        "namespaceSelector": {"matchLabels": {"mesh": "on"}},
        "containers": [{"name": "envoy", "image": "envoy:v1"}]}]});
    let not_granted = policy().clone().with_context(ClusterContext::default());
    let mut pod = request(REPLICASET)["object"].clone();
    pod["metadata"]["name"] = json!("checkout-1");
    pod["metadata"]["finalizers"] = json!(["example.com/cleanup"]);
    for edit in [
        |p: &mut Value| p["metadata"]["finalizers"] = json!([]),
        |p: &mut Value| p["metadata"]["labels"]["debug"] = json!("on"),
        |p: &mut Value| p["metadata"]["ownerReferences"] = json!([]),
    ] {
        let mut new = pod.clone();
        edit(&mut new);
        let response = not_granted
            .evaluate(&update(&pod, &new), &settings)
            .unwrap();
        assert!(response.allowed, "{:?}", response.message());
        let said = warnings(&response);
        assert_eq!(said.len(), 1);
        assert!(said[0].starts_with("sidecar set mesh: cannot read Namespace \"shop\" to match the set's namespaceSelector: "), "{said:?}");
        assert!(
            said[0].ends_with(
                " (the update is accepted unjudged: it changes no image and not the record)"
            ),
            "{said:?}"
        );
    }
    let mut new = pod.clone();
    new["spec"]["containers"][0]["image"] = json!("other:1");
    let response = not_granted
        .evaluate(&update(&pod, &new), &settings)
        .unwrap();
    assert!(!response.allowed);
}

/// Finding 5: the example policy's log shipper takes POD_NAME from the app
/// container its label names. Relabelling the Pod (to debug it, or out of
/// its Service) never makes the genuine sidecar a look-alike: verify mode
/// accepts the relabel, and inject mode still upgrades or refuses an image
/// change by the image, not as a look-alike.
#[test]
fn a_relabelled_transfer_env_source_keeps_the_sidecar_genuine() {
    let example =
        host::read_policy_resources(&common::repo().join("examples/cluster-admission-policy.yaml"))
            .unwrap()
            .remove(0)
            .settings;
    let checkout = request("examples/requests/pod-checkout-create.json");
    let response = common::in_namespace("namespace-shop.yml")
        .evaluate(&checkout, &example)
        .unwrap();
    let mut stored = patched(&checkout, &response);
    as_stored(&mut stored);
    stored["metadata"]["name"] = json!("checkout-1");
    let label = "app.kubernetes.io/name";
    let mut verify = example.clone();
    verify["mode"] = json!("verify");
    for relabel in [json!("checkout-debug"), Value::Null] {
        let mut new = stored.clone();
        match &relabel {
            Value::Null => {
                new["metadata"]["labels"]
                    .as_object_mut()
                    .unwrap()
                    .remove(label);
            }
            value => new["metadata"]["labels"][label] = value.clone(),
        }
        let response = common::in_namespace("namespace-shop.yml")
            .evaluate(&update(&stored, &new), &verify)
            .unwrap();
        assert!(response.allowed, "{relabel}: {:?}", response.message());
        // Then, relabelled, an image swap of the sidecar is refused for its
        // image, never as a look-alike.
        let mut swapped = new.clone();
        let index = swapped["spec"]["initContainers"]
            .as_array()
            .unwrap()
            .iter()
            .position(|c| c["name"] == "fluent-bit")
            .unwrap();
        swapped["spec"]["initContainers"][index]["image"] = json!("fluent-bit:evil");
        let response = common::in_namespace("namespace-shop.yml")
            .evaluate(&update(&new, &swapped), &example)
            .unwrap();
        let message = response.message().unwrap_or_default();
        assert!(!response.allowed);
        assert!(
            message.contains("is not the image of revision"),
            "{message}"
        );
        assert!(
            !message.contains("differs from what the set injects"),
            "{message}"
        );
        // The upgrade trigger is judged on the images, not refused as a
        // look-alike either.
        let mut triggered = new.clone();
        triggered["metadata"]["annotations"][TRIGGER] = json!("log-shipper");
        let response = common::in_namespace("namespace-shop.yml")
            .evaluate(&update(&new, &triggered), &example)
            .unwrap();
        assert!(response.allowed, "{relabel}: {:?}", response.message());
    }
}

/// Finding 6: verify mode requires one revision's images per set.
#[test]
fn verify_mode_requires_one_revisions_images() {
    let settings = json!({"mode": "verify", "sidecarSets": [{"name": "mesh", "selector": {}, "nativeSidecars": false,
        "containers": [{"name": "envoy", "image": "envoy:1", "podInjectPolicy": "AfterAppContainer"},
            {"name": "agent", "image": "agent:1", "podInjectPolicy": "AfterAppContainer"}],
        "revisions": [{"name": "v2", "images": {"envoy": "envoy:2", "agent": "agent:2"}}]}]});
    let mut pod = request(REPLICASET)["object"].clone();
    pod["spec"]["containers"].as_array_mut().unwrap().extend([
        json!({"name": "envoy", "image": "envoy:2"}),
        json!({"name": "agent", "image": "agent:1"}),
    ]);
    let expected = "the Pod does not hold what its sidecar sets inject: sidecar set mesh runs the images of different revisions: envoy (v2), agent (current); every container of a set runs the images of one revision; recreate the Pod so that the injecting policy adds the sidecars, or fix its manifest";
    assert_eq!(evaluate(&create(&pod), &settings).message(), Some(expected));
    // On UPDATE: moving one container to another revision's image.
    let mut same = pod.clone();
    same["spec"]["containers"][1]["image"] = json!("envoy:1");
    same["metadata"]["name"] = json!("p");
    assert!(evaluate(&create(&same), &settings).allowed);
    let response = evaluate(
        &update(&same, &{
            let mut p = same.clone();
            p["spec"]["containers"][1]["image"] = json!("envoy:2");
            p
        }),
        &settings,
    );
    assert!(!response.allowed);
    assert!(
        response
            .message()
            .unwrap()
            .contains("runs the images of different revisions: envoy (v2), agent (current)")
    );
}

/// Finding 7: every answer is bounded: 32 warnings at most (the last says
/// how many more), each at most 1 KB; a message at most 4 KB.
#[test]
fn answers_are_bounded() {
    let settings = json!({"sidecarSets": [{"name": "mesh", "selector": {},
        "containers": [{"name": "envoy", "image": "envoy:1", "resourceBounds": {"max": {"cpu": "1"}}}]}]});
    let mut pod = request(REPLICASET)["object"].clone();
    for i in 0..4000 {
        pod["metadata"]["annotations"][format!("sidecarset.kubewarden.io/resources.c{i}")] =
            json!("{}");
    }
    let response = evaluate(&create(&pod), &settings);
    let said = warnings(&response);
    assert_eq!(said.len(), 32, "{:?}", said.first());
    assert!(said.iter().all(|w| w.len() <= 1024));
    assert!(
        said[31].starts_with("… and ") && said[31].ends_with(" more warnings left out"),
        "{}",
        said[31]
    );
    // A 200 KB value is cut, the cut marked.
    let mut pod = request(REPLICASET)["object"].clone();
    pod["metadata"]["annotations"]["sidecarset.kubewarden.io/resources.envoy"] =
        json!("x".repeat(200 * 1024));
    let response = evaluate(&create(&pod), &settings);
    let text = response
        .message()
        .map(str::to_string)
        .into_iter()
        .chain(warnings(&response))
        .collect::<Vec<_>>();
    assert!(!text.is_empty());
    assert!(
        text.iter().all(|t| t.len() <= 4096),
        "{:?}",
        text.iter().map(String::len).collect::<Vec<_>>()
    );
    assert!(text.iter().any(|t| t.contains('…')));
    // A message listing thousands of differences is cut at 4 KB.
    let mut verify = settings.clone();
    verify["mode"] = json!("verify");
    verify["sidecarSets"] = json!(
        (0..300)
            .map(|i| json!({"name": format!("set-{i}"), "selector": {},
        "containers": [{"name": format!("sidecar-with-a-long-name-{i}"), "image": "i"}]}))
            .collect::<Vec<_>>()
    );
    let response = evaluate(&create(&request(REPLICASET)["object"]), &verify);
    let message = response.message().unwrap();
    assert!(
        message.len() <= 4096 && message.ends_with('…'),
        "{}",
        message.len()
    );
}

/// Finding 8: settings with revisions, namespace pins allowed (the
/// default), and a policy never granted v1/Namespace: Pods are injected as
/// before, with one warning saying how to grant the lookup, on CREATE and
/// on an upgrade UPDATE.
#[test]
fn namespace_pins_never_reject() {
    let tags = read_settings(&common::repo().join("test_data/settings-tags.yaml")).unwrap();
    let not_granted = policy().clone().with_context(ClusterContext::default());
    let create = request(REPLICASET);
    let response = not_granted.evaluate(&create, &tags).unwrap();
    assert!(response.allowed, "{:?}", response.message());
    assert!(response.patch.is_some());
    let pins: Vec<String> = warnings(&response)
        .into_iter()
        .filter(|w| w.starts_with("namespace pins not read"))
        .collect();
    assert_eq!(pins.len(), 1, "{pins:?}");
    assert!(pins[0].starts_with("namespace pins not read: Namespace \"shop\" could not be read ("));
    assert!(pins[0].ends_with("); the Pod's sets choose their revisions without them (canary, then current). To use the label sidecarset.kubewarden.io/revision.log-shipper, grant the policy v1/Namespace (contextAwareResources); or set allowNamespacePin: false on the set"));
    let mut stored = patched(&create, &response);
    as_stored(&mut stored);
    stored["metadata"]["name"] = json!("checkout-1");
    let mut triggered = stored.clone();
    triggered["metadata"]["annotations"][TRIGGER] = json!("log-shipper");
    let response = not_granted
        .evaluate(&update(&stored, &triggered), &tags)
        .unwrap();
    assert!(response.allowed, "{:?}", response.message());
    // The rollout settings, without the opt-out they needed before.
    let mut rollout =
        read_settings(&common::repo().join("test_data/settings-rollout.yaml")).unwrap();
    for set in rollout["sidecarSets"].as_array_mut().unwrap() {
        set.as_object_mut().unwrap().remove("allowNamespacePin");
    }
    let response = not_granted.evaluate(&create, &rollout).unwrap();
    assert!(
        response.allowed && response.patch.is_some(),
        "{:?}",
        response.message()
    );
}

// Found by the red-team pass (each reproduced through kwctl first).

/// A stale copy whose set renamed its volume: the app container mounts the
/// set's old volume, which therefore stays (the Pod's own now); the answer
/// is a Pod the API server accepts.
#[test]
fn a_stale_copy_keeps_a_volume_the_app_still_mounts() {
    let old = json!({"sidecarSets": [{"name": "log-shipper", "selector": {},
        "containers": [{"name": "fluent-bit", "image": "fluent-bit:3.2.4", "volumeMounts": [{"name": "varlog", "mountPath": "/var/log/app"}]}],
        "volumes": [{"name": "varlog", "emptyDir": {}}]}]});
    let mut new = old.clone();
    new["sidecarSets"][0]["containers"][0]["volumeMounts"][0]["name"] = json!("logs");
    new["sidecarSets"][0]["volumes"][0]["name"] = json!("logs");
    let mut pod = request(REPLICASET)["object"].clone();
    pod["spec"]["containers"][0]["volumeMounts"] =
        json!([{"name": "varlog", "mountPath": "/logs"}]);
    let (_, injected) = created(&pod, &old);
    let (_, copy) = created(&injected, &new);
    let volumes: Vec<&str> = copy["spec"]["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert!(
        volumes.contains(&"varlog") && volumes.contains(&"logs"),
        "{volumes:?}"
    );
    validated(&[("stale-copy", &copy)]);
}

/// With protectInjected: false an UPDATE may move a sidecar's image to
/// another revision's; a copy of that Pod holds the set in that revision
/// and gets the derived record, whatever its record's images say.
#[test]
fn a_copy_holding_another_revision_gets_the_derived_record() {
    let mut settings = mesh("inject", 0);
    settings["protectInjected"] = json!(false);
    let mut stored = injected(&settings);
    stored["metadata"]["name"] = json!("checkout-1");
    let mut moved = stored.clone();
    let envoy = moved["spec"]["initContainers"]
        .as_array()
        .unwrap()
        .iter()
        .position(|c| c["name"] == "envoy")
        .unwrap();
    moved["spec"]["initContainers"][envoy]["image"] = json!("envoy:v1.34.0");
    assert!(evaluate(&update(&stored, &moved), &settings).allowed);
    let mut copy = moved.clone();
    copy["metadata"]["name"] = Value::Null;
    let (response, made) = created(&copy, &settings);
    let recorded = &status(&made)["sets"][0];
    assert_eq!(recorded["revision"], "v2");
    assert_eq!(recorded["from"], "held");
    assert_eq!(recorded["images"]["envoy"], "envoy:v1.34.0");
    assert_eq!(
        made["metadata"]["labels"]["sidecarset.kubewarden.io/rev.mesh"],
        "v2"
    );
    assert!(
        warnings(&response)
            .iter()
            .any(|w| w.contains("mesh.from") && w.contains("mesh.images"))
    );
}

/// A record a Pod brings for a set it does not hold is replaced by the
/// injection, with a warning naming the fields.
#[test]
fn a_forged_record_of_a_set_the_pod_lacks_is_named_when_replaced() {
    let settings = mesh("inject", 0);
    let pod = with_status(
        request(REPLICASET)["object"].clone(),
        &json!({"sets": [{"name": "mesh", "hash": "0", "revision": "v2", "from": "pod", "tag": "x", "buckets": "owner:0,pod:0", "images": {"envoy": "envoy:2"}}]}),
    );
    let (response, _) = created(&pod, &settings);
    let said = warnings(&response);
    let replaced: Vec<&String> = said
        .iter()
        .filter(|w| w.contains("the record the Pod brought is replaced"))
        .collect();
    assert_eq!(replaced.len(), 1, "{said:?}");
    for field in [
        "mesh.buckets",
        "mesh.from",
        "mesh.hash",
        "mesh.images",
        "mesh.revision",
        "mesh.tag",
    ] {
        assert!(replaced[0].contains(field), "{field}: {}", replaced[0]);
    }
}

/// A Pod no set selects at CREATE keeps nothing of a record it brings (or
/// of a revision label): relabelled later so that a set selects it, an
/// upgrade trigger computes its canary bucket, not the forged one's.
#[test]
fn a_record_on_a_pod_no_set_selects_does_not_survive_create() {
    let rollout = read_settings(&common::repo().join("test_data/settings-rollout.yaml")).unwrap();
    let mut pod = request(REPLICASET)["object"].clone();
    pod["metadata"]["labels"]["tier"] = json!("batch");
    pod["metadata"]["labels"]["sidecarset.kubewarden.io/rev.log-shipper"] = json!("v3-3");
    let pod = with_status(
        pod,
        &json!({"sets": [{"name": "log-shipper", "hash": "0", "buckets": "owner:0,pod:0", "initContainers": ["fluent-bit"]}]}),
    );
    // Only the mesh selects it (not the log shipper, whose record it brought).
    let (response, made) = created(&pod, &rollout);
    let sets: Vec<Value> = status(&made)["sets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].clone())
        .collect();
    assert_eq!(sets, [json!("mesh")]);
    assert!(
        made["metadata"]["labels"]
            .get("sidecarset.kubewarden.io/rev.log-shipper")
            .is_none()
    );
    assert!(warnings(&response).contains(
        &"metadata.annotations[\"sidecarset.kubewarden.io/status\"]: the record the Pod brought is replaced by what the policy verified the Pod holds (replaced: log-shipper (not held)); the record is the policy's own output".to_string()
    ));
    // And where no set selects it at all, nothing of it stays.
    let mut alone = rollout.clone();
    alone["sidecarSets"].as_array_mut().unwrap().truncate(1);
    let (_, made) = created(&pod, &alone);
    assert!(made["metadata"]["annotations"].get(STATUS).is_none());
    assert!(
        made["metadata"]["labels"]
            .get("sidecarset.kubewarden.io/rev.log-shipper")
            .is_none()
    );
    // Relabelled to be selected, then asked to upgrade: the bucket is the
    // policy's (computed), not the forged 0.
    let mut stored = made.clone();
    stored["metadata"]["name"] = json!("checkout-1");
    let mut relabelled = stored.clone();
    relabelled["metadata"]["labels"]["tier"] = json!("web");
    assert!(evaluate(&update(&stored, &relabelled), &alone).allowed);
    let mut triggered = relabelled.clone();
    triggered["metadata"]["annotations"][TRIGGER] = json!("log-shipper");
    let response = evaluate(&update(&relabelled, &triggered), &alone);
    assert!(
        !response.allowed,
        "no record of the set's injection: nothing to upgrade"
    );
}

/// A copy holding a set's containers out of the start order injection puts
/// them in (reordered, or the author's own init container first) is not
/// held: injected afresh in order, or refused where its record does not
/// describe what it holds.
#[test]
fn a_copy_out_of_start_order_is_not_held() {
    let example =
        host::read_policy_resources(&common::repo().join("examples/cluster-admission-policy.yaml"))
            .unwrap()
            .remove(0)
            .settings;
    let shop = || common::in_namespace("namespace-shop.yml");
    let checkout = request("examples/requests/pod-checkout-create.json");
    let response = shop().evaluate(&checkout, &example).unwrap();
    let injected = patched(&checkout, &response);
    let order = |pod: &Value| -> Vec<String> {
        pod["spec"]["initContainers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_string())
            .collect()
    };
    let wanted = order(&injected);
    // The copy with its init containers reversed.
    let mut reversed = injected.clone();
    reversed["spec"]["initContainers"]
        .as_array_mut()
        .unwrap()
        .reverse();
    let mut request = checkout.clone();
    request["object"] = reversed;
    let response = shop().evaluate(&request, &example).unwrap();
    assert!(response.allowed, "{:?}", response.message());
    assert_eq!(order(&patched(&request, &response)), wanted);
    // The author's own init container first.
    let mut first = injected.clone();
    first["spec"]["initContainers"]
        .as_array_mut()
        .unwrap()
        .insert(0, json!({"name": "setup", "image": "busybox:1"}));
    let mut request = checkout.clone();
    request["object"] = first;
    let response = shop().evaluate(&request, &example).unwrap();
    assert!(response.allowed, "{:?}", response.message());
    let order_now = order(&patched(&request, &response));
    assert_eq!(
        order_now.last().map(String::as_str),
        Some("setup"),
        "{order_now:?}"
    );
}

/// An upgrade of a set without a namespaceSelector is not refused because
/// another set's namespaceSelector cannot read the Namespace; an upgrade
/// of that other set is, with the reason.
#[test]
fn an_upgrade_is_not_blocked_by_another_sets_lookup() {
    let settings = json!({"sidecarSets": [
        {"name": "a", "selector": {}, "containers": [{"name": "a", "image": "a:1"}],
         "revisions": [{"name": "v2", "images": {"a": "a:2"}}], "injectionStrategy": {"canary": {"revision": "v2", "percent": 100}}},
        {"name": "c", "selector": {}, "namespaceSelector": {"matchLabels": {"team": "x"}}, "containers": [{"name": "c", "image": "c:1"}]}]});
    let mut before = settings.clone();
    before["sidecarSets"][0]["injectionStrategy"]["canary"]["percent"] = json!(0);
    let create = request(REPLICASET);
    let response = common::in_namespace("namespace-shop.yml")
        .evaluate(&create, &before)
        .unwrap();
    let mut stored = patched(&create, &response);
    as_stored(&mut stored);
    stored["metadata"]["name"] = json!("checkout-1");
    let not_granted = policy().clone().with_context(ClusterContext::default());
    let mut triggered = stored.clone();
    triggered["metadata"]["annotations"][TRIGGER] = json!("a");
    let request = update(&stored, &triggered);
    let response = not_granted.evaluate(&request, &settings).unwrap();
    assert!(response.allowed, "{:?}", response.message());
    let upgraded = patched(&request, &response);
    assert!(
        upgraded["spec"]["initContainers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["image"] == "a:2")
    );
    triggered["metadata"]["annotations"][TRIGGER] = json!("c");
    let response = not_granted
        .evaluate(&update(&stored, &triggered), &settings)
        .unwrap();
    assert!(!response.allowed);
    assert!(
        response
            .message()
            .unwrap()
            .starts_with("sidecar set c: cannot read Namespace \"shop\"")
    );
}

// Found by the second red-team pass.

/// A forged record that reads as stale claims the author's own app
/// container, annotations and env as the set's: none of it goes (a stale
/// record takes out only what the applying sets write now).
#[test]
fn a_stale_record_never_removes_what_no_set_writes() {
    let settings = read_settings(&common::repo().join("test_data/settings.yaml")).unwrap();
    let pod = with_status(
        request(REPLICASET)["object"].clone(),
        &json!({"sets": [{"name": "log-shipper", "hash": "0000000000000000",
            "containers": ["checkout"], "images": {"checkout": "registry.example.com/shop/checkout:2.14.1"},
            "annotations": {"prometheus.io/scrape": "true", "prometheus.io/port": "8080"}}]}),
    );
    let (_, made) = created(&pod, &settings);
    assert!(
        made["spec"]["containers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == "checkout")
    );
    assert_eq!(
        made["metadata"]["annotations"]["prometheus.io/port"],
        "8080"
    );
    assert_eq!(
        made["metadata"]["annotations"]["prometheus.io/scrape"],
        "true"
    );
    validated(&[("stale-forged", &made)]);
    // An app entry the set does not give.
    let otel = json!({"sidecarSets": [{"name": "otel", "selector": {}, "containers": [{"name": "otel", "image": "otel:2"}],
        "appContainers": {"env": [{"name": "OTEL_EXPORTER_OTLP_ENDPOINT", "value": "http://localhost:4317"}]}}]});
    let injected = injected(&otel);
    let digest =
        status(&injected)["sets"][0]["app"]["checkout/env/OTEL_EXPORTER_OTLP_ENDPOINT"].clone();
    assert!(digest.is_string());
    // The digest the policy records for DB_HOST's entry, claimed as given.
    let mut claimed = otel.clone();
    claimed["sidecarSets"][0]["appContainers"]["env"] =
        json!([{"name": "DB_HOST", "value": "postgres.shop.svc"}]);
    let db_host =
        status(&injected_with_app(&claimed))["sets"][0]["app"]["checkout/env/DB_HOST"].clone();
    let pod = with_status(
        request(REPLICASET)["object"].clone(),
        &json!({"sets": [{"name": "otel", "hash": "0000000000000000", "app": {"checkout/env/DB_HOST": db_host}}]}),
    );
    let (_, made) = created(&pod, &otel);
    let env: Vec<&str> = made["spec"]["containers"][0]["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert!(env.contains(&"DB_HOST"), "{env:?}");
}

/// The Pod injected under `settings`, from a fixture without DB_HOST of
/// its own (so that a set giving it records it).
fn injected_with_app(settings: &Value) -> Value {
    let mut create = request(REPLICASET);
    create["object"]["spec"]["containers"][0]["env"] = json!([]);
    let response = evaluate(&create, settings);
    assert!(response.allowed, "{:?}", response.message());
    patched(&create, &response)
}

/// An UPDATE may not add a record naming a set of the settings to a Pod
/// that had none, as it may not change one.
#[test]
fn an_update_cannot_add_a_record() {
    let rollout = read_settings(&common::repo().join("test_data/settings-rollout.yaml")).unwrap();
    let mut stored = request(REPLICASET)["object"].clone();
    stored["metadata"]["labels"] = json!({"app": "other"});
    stored["metadata"]["name"] = json!("checkout-1");
    let forged = with_status(
        stored.clone(),
        &json!({"sets": [{"name": "log-shipper", "hash": "0", "revision": "v3-3", "buckets": "owner:0,pod:0", "containers": ["checkout"]}]}),
    );
    let response = evaluate(&update(&stored, &forged), &rollout);
    assert_eq!(
        response.message(),
        Some(
            "metadata.annotations[\"sidecarset.kubewarden.io/status\"]: this policy's record of what it injected into the Pod cannot be changed or removed by an UPDATE; leave it as it is (recreate the Pod to have it injected afresh)"
        )
    );
}

/// A mandatory set renamed in the settings keeps protecting the sidecar
/// its old name injected.
#[test]
fn a_renamed_set_still_protects_what_its_old_name_injected() {
    let settings = mesh("inject", 0);
    let mut stored = injected(&settings);
    stored["metadata"]["name"] = json!("checkout-1");
    let mut renamed = settings.clone();
    renamed["sidecarSets"][0]["name"] = json!("mesh2");
    let mut swapped = stored.clone();
    let envoy = swapped["spec"]["initContainers"]
        .as_array()
        .unwrap()
        .iter()
        .position(|c| c["name"] == "envoy")
        .unwrap();
    swapped["spec"]["initContainers"][envoy]["image"] = json!("evil.example.com/envoy:pwned");
    let response = evaluate(&update(&stored, &swapped), &renamed);
    assert!(!response.allowed);
    assert_eq!(
        response.message().unwrap_or_default(),
        format!(
            "spec.initContainers[{envoy}] (envoy): image evil.example.com/envoy:pwned is not the image of revision current of sidecar set mesh2 that this Pod runs (envoy:v1.33.0); set it back, or annotate the Pod with {TRIGGER}: mesh2 to move it to the revision it should run (protectInjected: true)"
        )
    );
}
