//! Verify mode: checks, without mutating, that a Pod holds what its sets
//! would inject, placed and ordered as inject mode places them, from the
//! sets' current definitions. For audits of Pods that escaped injection and
//! for manifests with sidecars baked in.

use std::collections::HashSet;

use serde_json::Value;

use crate::annotations::{STATUS, clip};
use crate::held::Maker;
use crate::namespace::Namespace;
use crate::order::{Placement, starts_too_early};
use crate::pod::{ContainerView, PodView};
use crate::pod_security;
use crate::provenance::Status;
use crate::selector::{self, Applying};
use crate::settings::{OnViolation, Settings};
use crate::shutdown::Drains;

/// Ok when the Pod holds every applying set; otherwise one message that
/// lists every difference.
pub fn verify(
    object: &Value,
    settings: &Settings,
    namespace: &mut Namespace,
    warnings: &mut Vec<String>,
) -> Result<(), String> {
    let pod = PodView::read(object)?;
    let mut applying = selector::applying_sets(settings, &pod, namespace, warnings)?;
    // What the injecting policy leaves out of this Pod because of its
    // Namespace's Pod Security level (podSecurity.onViolation: skip) is
    // not required. Where that cannot be told, the set stays required.
    let skippable: Vec<_> = applying
        .iter()
        .filter(|a| a.set.pod_security.on_violation == OnViolation::Skip && !a.set.mandatory)
        .copied()
        .collect();
    if !skippable.is_empty()
        && let Ok(skipped) =
            pod_security::admit(&skippable, &pod, settings, namespace, &mut Vec::new())
    {
        applying.retain(|a| !skipped.contains(&a.set.name));
    }
    let differences = differences(&pod, &applying, true);
    if differences.is_empty() {
        Ok(())
    } else {
        Err(rejection(&differences))
    }
}

/// An update is judged by what it changes: one that adds no difference (a
/// finalizer removed, a label added, adoption by a ReplicaSet) is accepted,
/// with a warning that lists what the Pod lacks, so that a Pod created
/// before a set existed can still be updated and deleted. The sets judged
/// are those that apply now, those that applied before, and those whose
/// containers the Pod held: a label dropped or an opt-out added never
/// unprotects what runs.
pub fn verify_update(
    object: &Value,
    old_object: &Value,
    settings: &Settings,
    namespace: &mut Namespace,
    warnings: &mut Vec<String>,
) -> Result<(), String> {
    let pod = PodView::read(object)?;
    // A lookup that fails never blocks an update that changes no image
    // and not the record (finalizers, labels, adoption): inject mode
    // accepts those before it reads anything.
    let mut applying = match selector::applying_sets(settings, &pod, namespace, warnings) {
        Ok(applying) => applying,
        Err(problem) if !crate::update::changes_images_or_record(object, old_object) => {
            warnings.push(format!(
                "{problem} (the update is accepted unjudged: it changes no image and not the record)"
            ));
            return Ok(());
        }
        Err(problem) => return Err(problem),
    };
    let before = PodView::read(old_object).ok();
    if let Some(before) = &before {
        let earlier = selector::applying_sets(settings, before, namespace, &mut Vec::new())
            .unwrap_or_default();
        for a in earlier {
            if !applying.iter().any(|b| b.set.name == a.set.name) {
                applying.push(a);
            }
        }
        for set in &settings.sidecar_sets {
            let native = set.native(settings.native_sidecars);
            if !applying.iter().any(|b| b.set.name == set.name) && holds_any(before, set, native) {
                applying.push(Applying { set, native });
            }
        }
    }
    let differences = differences(&pod, &applying, false);
    if differences.is_empty() {
        return Ok(());
    }
    // Without a readable old object, every difference counts as added.
    let before = before
        .map(|before| self::differences(&before, &applying, false))
        .unwrap_or_default();
    let added: Vec<String> = differences
        .iter()
        .filter(|d| !before.contains(d))
        .cloned()
        .collect();
    if added.is_empty() {
        warnings.push(format!(
            "the Pod does not hold what its sidecar sets inject: {}; the update is accepted because it adds no difference; recreate the Pod so that the injecting policy adds the sidecars",
            differences.join("; ")
        ));
        Ok(())
    } else {
        Err(format!(
            "this update adds differences from what the Pod's sidecar sets inject: {}; leave the injected sidecars as the sets define them",
            added.join("; ")
        ))
    }
}

/// Whether the Pod holds one of the set's containers: by name, where the
/// set places it, with an image of one of its revisions.
fn holds_any(pod: &PodView, set: &crate::settings::SidecarSet, native: bool) -> bool {
    let own = pod.app_containers(|name| set.items(native).any(|(c, _)| c.name() == name));
    set.items(native).any(|(container, placement)| {
        pod.container(container.name()).is_some_and(|entry| {
            entry.is_placed(placement, &own)
                && set.revision_running(container, entry.image()).is_some()
        })
    })
}

fn rejection(differences: &[String]) -> String {
    format!(
        "the Pod does not hold what its sidecar sets inject: {}; recreate the Pod so that the injecting policy adds the sidecars, or fix its manifest",
        differences.join("; ")
    )
}

/// Sets the Pod's status record names with another definition than the
/// current one.
fn stale_records(pod: &PodView, applying: &[Applying]) -> Vec<String> {
    let status = match Status::read(pod.annotations.get(STATUS).copied()) {
        Ok(status) => status,
        Err(message) => return vec![message],
    };
    applying
        .iter()
        .filter_map(|a| {
            let hash = a.set.definition_hash(a.native);
            // Any revision the set still has is current.
            let revision = |r: &crate::provenance::InjectedSet| {
                r.revision
                    .as_deref()
                    .filter(|rev| a.set.has_revision(rev))
                    .map_or_else(|| hash.clone(), |rev| a.set.revision_hash(a.native, rev))
            };
            let recorded = status
                .get(&a.set.name)
                .filter(|r| r.hash != revision(r))?;
            Some(format!(
                "sidecar set {} is stale: the Pod records definition {}, the set's current one is {hash}",
                a.set.name, recorded.hash
            ))
        })
        .collect()
}

/// Every difference between the Pod and what its applying sets inject
/// (`with_resources`: resources too, which a resize may change after
/// creation).
fn differences(pod: &PodView, applying: &[Applying], with_resources: bool) -> Vec<String> {
    if applying.is_empty() {
        return Vec::new();
    }
    let mut differences = stale_records(pod, applying);
    let find = |name: &str| pod.container(name);
    let injected: HashSet<&str> = applying
        .iter()
        .flat_map(|a| a.items().map(|(c, _)| c.name()))
        .collect();
    // The Pod's own containers bound where leading and trailing ones go.
    let own = pod.app_containers(|name| injected.contains(name));
    let holds = |entry: &ContainerView, placement: Placement| entry.is_placed(placement, &own);
    let mut maker = Maker::new(pod, |name| injected.contains(name), applying);
    maker.drains = Drains::of(applying, pod);
    // Where inject mode would raise the grace period, a Pod that lacks
    // the raise differs; elsewhere the sleeps are capped at it.
    let need = maker.drains.need();
    if need > maker.drains.grace
        && let Some(a) = applying.iter().find(|a| a.set.shutdown.extend_grace_period)
    {
        differences.push(format!(
            "terminationGracePeriodSeconds {} does not cover the drains ({need} s), which sidecar set {} extends it to",
            maker.drains.grace, a.set.name
        ));
    }
    const PLACEMENTS: [Placement; 4] = [
        Placement::Init,
        Placement::NativeSidecar,
        Placement::Leading,
        Placement::Trailing,
    ];

    for a in applying {
        // The revisions whose images each held container runs.
        let mut runs: Vec<(&str, Vec<&str>)> = Vec::new();
        for (container, wanted, after) in a.set.items_with_dependencies(a.native) {
            let name = container.name();
            let Some(entry) = find(name) else {
                let what = if wanted == Placement::Init {
                    "init container"
                } else {
                    "sidecar"
                };
                differences.push(format!("missing {what} {}/{name}", a.set.name));
                continue;
            };
            let placed = holds(entry, wanted);
            if !placed {
                let found = PLACEMENTS.into_iter().find(|&p| holds(entry, p));
                differences.push(format!(
                    "{}/{name} is {}, the set wants {}",
                    a.set.name,
                    found.map_or("a container among the app containers", Placement::describe),
                    wanted.describe()
                ));
            }
            let has = entry.image();
            let running = a.set.revision_running(container, has);
            if running.is_some() && !a.set.revisions.is_empty() {
                let revisions = a
                    .set
                    .revision_names()
                    .filter(|r| a.set.image_in(container, r) == has)
                    .collect();
                runs.push((name, revisions));
            }
            // The revisions' images are gathered only for the message.
            if running.is_none() {
                let allowed = a.set.allowed_images(container);
                let wants = if a.set.revisions.is_empty() {
                    container.image().to_string()
                } else {
                    // Any revision holds the set: name them all.
                    let each: Vec<String> = allowed
                        .iter()
                        .map(|(image, revisions)| format!("{image} ({})", revisions.join(", ")))
                        .collect();
                    format!("one of its revisions' images: {}", each.join(", "))
                };
                differences.push(format!(
                    "{}/{name} runs {}, the set wants {wants}",
                    a.set.name,
                    clip(has)
                ));
            }
            // No look-alike: the definition as the set injects it, in the
            // revision whose image the Pod runs (a misplaced entry differs
            // already).
            let revision = running.unwrap_or(crate::rollout::CURRENT);
            if let Some(field) = placed
                .then(|| {
                    maker.difference(a.set, container, wanted, revision, entry, with_resources)
                })
                .flatten()
            {
                differences.push(crate::held::look_alike(&a.set.name, name, &field));
            }
            // As inject mode orders: after an applying set's item, or after
            // one of the Pod's init containers; anything else it drops.
            for dep in after.iter() {
                let dependency = if injected.contains(dep.as_str()) {
                    find(dep)
                } else {
                    pod.init_containers.iter().find(|c| c.name == dep)
                };
                if let Some(dependency) = dependency {
                    differences.extend(starts_too_early(entry, dependency));
                }
            }
        }
        differences.extend(mixed_revisions(&a.set.name, &runs));
        differences.extend(crate::held::missing_parts(a.set, pod, true));
        for app in &maker.sources.apps {
            if let Some(block) = a
                .set
                .app_containers
                .as_ref()
                .filter(|b| b.selects(app.name))
                && let Some(what) = crate::app::missing(block, app)
            {
                differences.push(format!(
                    "container {} lacks {what}, which sidecar set {} gives its app containers",
                    app.name, a.set.name
                ));
            }
        }
    }
    differences
}

/// A set's containers run the images of one revision (`runs`: each held
/// container with the revisions whose image it runs); else the difference,
/// naming each container's revisions.
fn mixed_revisions(set: &str, runs: &[(&str, Vec<&str>)]) -> Option<String> {
    let (_, first) = runs.first()?;
    let shared = first
        .iter()
        .any(|r| runs.iter().all(|(_, revisions)| revisions.contains(r)));
    (!shared).then(|| {
        let each: Vec<String> = runs
            .iter()
            .map(|(name, revisions)| format!("{name} ({})", revisions.join(", ")))
            .collect();
        format!(
            "sidecar set {set} runs the images of different revisions: {}; every container of a set runs the images of one revision",
            each.join(", ")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_set_runs_one_revisions_images() {
        assert_eq!(mixed_revisions("mesh", &[]), None);
        assert_eq!(
            mixed_revisions(
                "mesh",
                &[("envoy", vec!["current", "v1"]), ("agent", vec!["v1"])]
            ),
            None
        );
        assert_eq!(
            mixed_revisions("mesh", &[("envoy", vec!["v2"]), ("agent", vec!["current"])])
                .as_deref(),
            Some(
                "sidecar set mesh runs the images of different revisions: envoy (v2), agent (current); every container of a set runs the images of one revision"
            )
        );
    }

    fn settings(value: Value) -> Settings {
        Settings::from_slice(value.to_string().as_bytes()).unwrap()
    }

    fn check(pod: &Value, s: &Settings) -> Result<(), String> {
        verify(pod, s, &mut Namespace::new("shop"), &mut Vec::new())
    }

    fn mesh_and_client() -> Settings {
        settings(json!({"mode": "verify", "sidecarSets": [
            {"name": "mesh", "selector": {}, "containers": [{"name": "envoy", "image": "envoy:v1.33.0", "waitForReady": true, "readinessProbe": {"httpGet": {"path": "/ready", "port": 9901}}}]},
            {"name": "db-client", "selector": {}, "initContainers": [{"name": "schema-check", "image": "schema-check:1", "dependsOn": ["envoy"]}]}
        ]}))
    }

    fn pod(init: Value, containers: Value) -> Value {
        json!({"metadata": {"name": "p"}, "spec": {"initContainers": init, "containers": containers}})
    }

    #[test]
    fn a_pod_holding_the_sets_in_order_passes() {
        let p = pod(
            json!([{"name": "envoy", "image": "envoy:v1.33.0", "restartPolicy": "Always", "readinessProbe": {"httpGet": {"path": "/ready", "port": 9901}}, "startupProbe": {"httpGet": {"path": "/ready", "port": 9901}, "periodSeconds": 1, "failureThreshold": 120}}, {"name": "schema-check", "image": "schema-check:1"}]),
            json!([{"name": "app", "image": "app"}]),
        );
        assert_eq!(check(&p, &mesh_and_client()), Ok(()));
    }

    #[test]
    fn every_difference_is_listed() {
        let p = pod(
            json!([{"name": "schema-check", "image": "schema-check:1"}, {"name": "envoy", "image": "envoy:v1.32.0", "restartPolicy": "Always", "readinessProbe": {"httpGet": {"path": "/ready", "port": 9901}}, "startupProbe": {"httpGet": {"path": "/ready", "port": 9901}, "periodSeconds": 1, "failureThreshold": 120}}]),
            json!([{"name": "app", "image": "app"}]),
        );
        assert_eq!(
            check(&p, &mesh_and_client()).unwrap_err(),
            "the Pod does not hold what its sidecar sets inject: mesh/envoy runs envoy:v1.32.0, the set wants envoy:v1.33.0; schema-check starts before its dependency envoy (a \"ready\" edge: schema-check must start once envoy is ready); recreate the Pod so that the injecting policy adds the sidecars, or fix its manifest"
        );
        let p = pod(
            json!([]),
            json!([{"name": "app", "image": "app"}, {"name": "envoy", "image": "envoy:v1.33.0"}]),
        );
        assert_eq!(
            check(&p, &mesh_and_client()).unwrap_err(),
            "the Pod does not hold what its sidecar sets inject: mesh/envoy is a container after the app containers (podInjectPolicy: AfterAppContainer), the set wants a native sidecar (an init container with restartPolicy: Always); missing init container db-client/schema-check; recreate the Pod so that the injecting policy adds the sidecars, or fix its manifest"
        );
    }

    #[test]
    fn a_stale_record_is_reported() {
        let s = mesh_and_client();
        let mut p = pod(
            json!([{"name": "envoy", "image": "envoy:v1.33.0", "restartPolicy": "Always", "readinessProbe": {"httpGet": {"path": "/ready", "port": 9901}}, "startupProbe": {"httpGet": {"path": "/ready", "port": 9901}, "periodSeconds": 1, "failureThreshold": 120}}, {"name": "schema-check", "image": "schema-check:1"}]),
            json!([{"name": "app", "image": "app"}]),
        );
        p["metadata"]["annotations"] =
            json!({STATUS: "{\"sets\":[{\"name\":\"mesh\",\"hash\":\"0000000000000000\"}]}"});
        let current = s.sidecar_sets[0].definition_hash(true);
        assert_eq!(
            check(&p, &s).unwrap_err(),
            format!(
                "the Pod does not hold what its sidecar sets inject: sidecar set mesh is stale: the Pod records definition 0000000000000000, the set's current one is {current}; recreate the Pod so that the injecting policy adds the sidecars, or fix its manifest"
            )
        );
    }

    #[test]
    fn an_update_that_adds_no_difference_is_accepted_with_a_warning() {
        let s = mesh_and_client();
        let before = pod(json!([]), json!([{"name": "app", "image": "app"}]));
        let mut after = before.clone();
        after["metadata"]["finalizers"] = json!([]);
        after["metadata"]["labels"] = json!({"adopted": "yes"});
        let mut warnings = Vec::new();
        let answer = verify_update(
            &after,
            &before,
            &s,
            &mut Namespace::new("shop"),
            &mut warnings,
        );
        assert_eq!(answer, Ok(()));
        assert_eq!(
            warnings,
            [
                "the Pod does not hold what its sidecar sets inject: missing sidecar mesh/envoy; missing init container db-client/schema-check; the update is accepted because it adds no difference; recreate the Pod so that the injecting policy adds the sidecars"
            ]
        );
    }

    #[test]
    fn an_update_that_adds_a_difference_is_rejected() {
        let s = mesh_and_client();
        let before = pod(
            json!([{"name": "envoy", "image": "envoy:v1.33.0", "restartPolicy": "Always", "readinessProbe": {"httpGet": {"path": "/ready", "port": 9901}}, "startupProbe": {"httpGet": {"path": "/ready", "port": 9901}, "periodSeconds": 1, "failureThreshold": 120}}, {"name": "schema-check", "image": "schema-check:1"}]),
            json!([{"name": "app", "image": "app"}]),
        );
        let mut after = before.clone();
        after["spec"]["initContainers"][0]["image"] = json!("evil:1");
        assert_eq!(
            verify_update(&after, &before, &s, &mut Namespace::new("shop"), &mut Vec::new()),
            Err("this update adds differences from what the Pod's sidecar sets inject: mesh/envoy runs evil:1, the set wants envoy:v1.33.0; leave the injected sidecars as the sets define them".into())
        );
        // Without an old object to compare with, every difference counts.
        assert!(
            verify_update(
                &after,
                &Value::Null,
                &s,
                &mut Namespace::new("shop"),
                &mut Vec::new()
            )
            .is_err()
        );
    }

    #[test]
    fn a_record_that_claims_more_than_the_pod_holds_is_a_difference() {
        let s = mesh_and_client();
        let mut p = pod(
            json!([{"name": "schema-check", "image": "schema-check:1"}]),
            json!([{"name": "app", "image": "app"}]),
        );
        let hash = s.sidecar_sets[0].definition_hash(true);
        p["metadata"]["annotations"] = json!({STATUS: format!("{{\"sets\":[{{\"name\":\"mesh\",\"hash\":\"{hash}\",\"initContainers\":[\"envoy\"]}}]}}")});
        assert_eq!(
            check(&p, &s).unwrap_err(),
            "the Pod does not hold what its sidecar sets inject: missing sidecar mesh/envoy; recreate the Pod so that the injecting policy adds the sidecars, or fix its manifest"
        );
    }

    #[test]
    fn sets_that_do_not_apply_are_not_checked() {
        let mut p = pod(json!([]), json!([{"name": "app", "image": "app"}]));
        p["metadata"]["annotations"] = json!({"sidecarset.kubewarden.io/inject": "false"});
        assert_eq!(check(&p, &mesh_and_client()), Ok(()));
    }

    /// Found by fuzzing: a Pod without containers of its own.
    #[test]
    fn sidecars_of_a_pod_without_own_containers_are_where_they_belong() {
        let s = settings(
            json!({"sidecarSets": [{"name": "m", "selector": {}, "nativeSidecars": false, "containers": [
            {"name": "lead", "image": "l"}, {"name": "trail", "image": "t", "podInjectPolicy": "AfterAppContainer"}]}]}),
        );
        let p = pod(
            json!([]),
            json!([{"name": "lead", "image": "l"}, {"name": "trail", "image": "t"}]),
        );
        assert_eq!(check(&p, &s), Ok(()));
        let swapped = pod(
            json!([]),
            json!([{"name": "trail", "image": "t"}, {"name": "lead", "image": "l"}]),
        );
        assert!(
            check(&swapped, &s).is_ok(),
            "without own containers either order is as inject mode places"
        );
    }
}
