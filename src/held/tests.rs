//! The rest of what a set injects, held as the set defines it.
use super::*;
use crate::testing::settings;
use serde_json::json;

/// Each part of a set besides its containers, missing or otherwise held.
#[test]
fn the_rest_of_a_set_is_held_as_the_set_defines_it() {
    let s = settings(json!({"sidecarSets": [{"name": "mesh", "selector": {},
        "containers": [{"name": "envoy", "image": "e"}],
        "volumes": [{"name": "certs", "emptyDir": {}}],
        "imagePullSecrets": [{"name": "regcred"}],
        "patchPodMetadata": [
            {"annotations": {"a/retain": "r"}},
            {"annotations": {"a/overwrite": "o"}, "patchPolicy": "Overwrite"},
            {"annotations": {"a/merge": "{\"k\":1}"}, "patchPolicy": "MergePatchJson"}]}]}));
    let set = &s.sidecar_sets[0];
    let missing = |pod: Value| {
        let view = PodView::read(&pod).unwrap();
        missing_parts(set, &view, true)
    };
    let held = json!({"metadata": {"annotations": {"a/retain": "the Pod's own", "a/overwrite": "o", "a/merge": "{\"k\":1,\"mine\":2}"}},
        "spec": {"containers": [{"name": "app"}], "volumes": [{"name": "certs", "emptyDir": {}}], "imagePullSecrets": [{"name": "regcred"}]}});
    assert!(missing(held.clone()).is_empty());
    let bare = json!({"spec": {"containers": [{"name": "app"}]}});
    assert_eq!(
        missing(bare),
        [
            "missing volume mesh/certs",
            "imagePullSecrets lacks regcred of sidecar set mesh",
            "metadata.annotations[\"a/retain\"] does not hold what sidecar set mesh writes there (patchPodMetadata, Retain)",
            "metadata.annotations[\"a/overwrite\"] does not hold what sidecar set mesh writes there (patchPodMetadata, Overwrite)",
            "metadata.annotations[\"a/merge\"] does not hold what sidecar set mesh writes there (patchPodMetadata, MergePatchJson)",
        ]
    );
    let mut other = held.clone();
    other["spec"]["volumes"][0] = json!({"name": "certs", "emptyDir": {"medium": "Memory"}});
    other["metadata"]["annotations"]["a/overwrite"] = json!("not o");
    other["metadata"]["annotations"]["a/merge"] = json!("{\"k\":2}");
    assert_eq!(
        missing(other),
        [
            "volume certs differs from what sidecar set mesh defines, in emptyDir.medium",
            "metadata.annotations[\"a/overwrite\"] does not hold what sidecar set mesh writes there (patchPodMetadata, Overwrite)",
            "metadata.annotations[\"a/merge\"] does not hold what sidecar set mesh writes there (patchPodMetadata, MergePatchJson)",
        ]
    );
}
