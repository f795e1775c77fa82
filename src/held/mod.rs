//! Whether a Pod holds what a set injects: the entry injection writes for
//! one of the set's containers (placed, with the revision's image, completed
//! from the app containers, sized), compared with the Pod's entry as the API
//! server stores it. A look-alike (the same name, image and placement, but
//! another command, env or securityContext) is not held.

use serde_json::Value;

use crate::annotations::clip;
use crate::defaults::{first_difference, normalized_container, normalized_volume, pull_policy};
use crate::order::Placement;
use crate::pod::{Entry, PodView};
use crate::resources::Sizing;
use crate::selector::Applying;
use crate::settings::{ContainerSpec, PatchPolicy, SidecarSet, SourceContainer};
use crate::share::Sources;
use crate::shutdown::Drains;

/// What a set's entries are made from: the Pod's app containers
/// (transferEnv, shared volumes), its resources annotations and own
/// containers (resources), and whether it uses the host's network.
pub struct Maker<'p> {
    pub sources: Sources<'p>,
    pub sizing: Sizing<'p>,
    /// The Pod's root user and OS.
    pod: crate::pod_security::PodContext,
    /// `spec.os.name`, when the Pod names its OS.
    os: Option<&'p str>,
    /// The regular sidecars' preStop sleeps.
    pub drains: Drains,
    /// The Pod, for the API server's rules that depend on it.
    view: &'p PodView<'p>,
    side: crate::pod_rules::PodSide,
}

impl<'p> Maker<'p> {
    /// `sidecar` says which of the Pod's containers are sidecars (never
    /// sources or targets); what the `applying` sets give the app
    /// containers is no source either.
    pub fn new(
        pod: &'p PodView<'p>,
        sidecar: impl Fn(&str) -> bool + Copy,
        applying: &[Applying],
    ) -> Self {
        let mut sources = Sources::new(pod, sidecar);
        sources.leave_out(
            applying
                .iter()
                .filter_map(|a| a.set.app_containers.as_ref()),
        );
        Maker {
            sources,
            sizing: Sizing::new(pod, sidecar),
            pod: crate::pod_security::PodContext::of(pod.spec),
            os: pod
                .spec
                .get("os")
                .and_then(|os| os.get("name"))
                .and_then(Value::as_str),
            drains: Drains::default(),
            view: pod,
            side: crate::pod_rules::PodSide::of(pod),
        }
    }

    /// The entry `container` of `set` goes into the Pod as, placed so, in
    /// `revision`.
    pub fn entry(
        &self,
        set: &SidecarSet,
        container: &ContainerSpec,
        placement: Placement,
        revision: &str,
        warnings: &mut Vec<String>,
    ) -> Result<Value, String> {
        let entry =
            self.entry_from(&self.sources, set, container, placement, revision, warnings)?;
        let refused = entry.as_object().and_then(|map| {
            crate::pod_rules::refused(map, placement, self.side, self.view, container.name())
        });
        match refused {
            Some(problem) => Err(crate::pod_rules::blame(
                &set.name,
                container.name(),
                &problem,
            )),
            None => Ok(entry),
        }
    }

    /// [`Maker::entry`], completed from `sources`.
    fn entry_from(
        &self,
        sources: &Sources,
        set: &SidecarSet,
        container: &ContainerSpec,
        placement: Placement,
        revision: &str,
        warnings: &mut Vec<String>,
    ) -> Result<Value, String> {
        let mut entry = set.pod_container(container, placement, self.pod);
        let blame =
            |problem: String| crate::pod_rules::blame(&set.name, container.name(), &problem);
        let os = self.os;
        if let Some(problem) = entry
            .as_object()
            .and_then(|map| crate::pod_rules::os_fields(map, os))
        {
            return Err(blame(problem));
        }
        let image = set.image_in(container, revision);
        if image != container.image()
            && let Some(map) = entry.as_object_mut()
        {
            map.insert("image".into(), Value::String(image.to_string()));
        }
        crate::share::complete(&mut entry, container, sources, &set.name, warnings);
        self.drains.add_sleep(&mut entry, container.name());
        let grace = self.drains.grace;
        if let Some(problem) = entry
            .as_object()
            .and_then(|map| crate::pod_rules::hook_sleeps(map, grace))
        {
            return Err(blame(problem));
        }
        self.sizing.size(&mut entry, container, &set.name)?;
        Ok(entry)
    }

    /// The first field (a path in the container) where the Pod's `held`
    /// differs from what `set` injects for `container` in `revision`, both
    /// as the API server stores them; the image is compared by the caller.
    /// On an UPDATE (`at_create: false`): `resources` aside, which a resize
    /// may have changed within the set's bounds; and a transferEnv source
    /// named by a label or annotation judged as any app container (or
    /// none) the Pod's labels could have named at CREATE: they may have
    /// changed since, and the container's env cannot.
    pub fn difference(
        &self,
        set: &SidecarSet,
        container: &ContainerSpec,
        placement: Placement,
        revision: &str,
        held: &Entry,
        at_create: bool,
    ) -> Option<String> {
        let first = self.difference_from(
            &self.sources,
            set,
            container,
            placement,
            revision,
            held,
            at_create,
        );
        let resolved = |t: &crate::settings::TransferEnv| {
            matches!(
                t.source(),
                Some(SourceContainer::Label(_) | SourceContainer::Annotation(_))
            )
        };
        if first.is_none() || at_create || !container.transfer_env.iter().any(resolved) {
            return first;
        }
        let mut candidates = self.sources.apps.iter().map(|a| Some(a.name)).chain([None]);
        let genuine = candidates.any(|candidate| {
            let mut sources = self.sources.clone();
            sources.resolved_as = Some(candidate);
            self.difference_from(&sources, set, container, placement, revision, held, false)
                .is_none()
        });
        if genuine { None } else { first }
    }

    #[allow(clippy::too_many_arguments)]
    fn difference_from(
        &self,
        sources: &Sources,
        set: &SidecarSet,
        container: &ContainerSpec,
        placement: Placement,
        revision: &str,
        held: &Entry,
        with_resources: bool,
    ) -> Option<String> {
        let Ok(Value::Object(wanted)) = self.entry_from(
            sources,
            set,
            container,
            placement,
            revision,
            &mut Vec::new(),
        ) else {
            return Some("resources".into());
        };
        let mut wanted = normalized_container(&wanted, self.view.host_network);
        let mut has = normalized_container(held.spec, self.view.host_network);
        // The pull policy the API server gave follows the image of the
        // Pod's creation, not an upgrade's: compared only where the set
        // writes one.
        let pull = container.spec.contains_key("imagePullPolicy");
        if pull && let Some(map) = has.as_object_mut() {
            map.entry("imagePullPolicy")
                .or_insert_with(|| pull_policy(held.image()).into());
        }
        for side in [&mut wanted, &mut has] {
            if let Some(map) = side.as_object_mut() {
                if !with_resources {
                    map.remove("resources");
                }
                if !pull {
                    map.remove("imagePullPolicy");
                }
            }
        }
        first_difference(&has, &wanted)
    }
}

/// A look-alike, named with the first field that differs.
pub fn look_alike(set: &str, container: &str, field: &str) -> String {
    let field = crate::annotations::clip(field);
    format!("{set}/{container} differs from what the set injects, in {field}")
}

/// What the Pod lacks of the rest of what `set` injects, as the set
/// defines it (compared as the API server stores it): its volumes (a
/// difference names the volume and the field), its imagePullSecrets, the
/// annotations of its patchPodMetadata (Retain: present with any value;
/// Overwrite: the set's value; MergePatchJson: merging the set's value
/// changes nothing). `all: false` stops at the first.
pub fn missing_parts(set: &SidecarSet, pod: &PodView, all: bool) -> Vec<String> {
    let mut missing = Vec::new();
    for volume in &set.volumes {
        let name = volume
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        match pod.volumes.iter().find(|v| v.name == name) {
            None => missing.push(format!("missing volume {}/{name}", set.name)),
            Some(held) => {
                let field =
                    first_difference(&normalized_volume(held.spec), &normalized_volume(volume));
                if let Some(field) = field {
                    missing.push(format!(
                        "volume {name} differs from what sidecar set {} defines, in {}",
                        set.name,
                        clip(&field)
                    ));
                }
            }
        }
        if !all && !missing.is_empty() {
            return missing;
        }
    }
    for secret in &set.image_pull_secrets {
        if !pod.image_pull_secrets.contains(&secret.name.as_str()) {
            missing.push(format!(
                "imagePullSecrets lacks {} of sidecar set {}",
                secret.name, set.name
            ));
        }
    }
    for patch in &set.patch_pod_metadata {
        for (key, value) in &patch.annotations {
            let held = pod.annotations.get(key.as_str()).copied();
            let holds = match (patch.patch_policy, held) {
                (_, None) => false,
                (PatchPolicy::Retain, Some(_)) => true,
                (PatchPolicy::Overwrite, Some(held)) => held == value,
                (PatchPolicy::MergePatchJson, Some(held)) => merged_in(held, value),
            };
            if !holds {
                missing.push(format!(
                    "metadata.annotations[{key:?}] does not hold what sidecar set {} writes there (patchPodMetadata, {:?})",
                    set.name, patch.patch_policy
                ));
            }
        }
    }
    if !all {
        missing.truncate(1);
    }
    missing
}

/// Whether merging the JSON `patch` into the Pod's JSON object `held`
/// changes nothing.
fn merged_in(held: &str, patch: &str) -> bool {
    let (Ok(held @ Value::Object(_)), Ok(patch)) = (
        serde_json::from_str::<Value>(held),
        serde_json::from_str::<Value>(patch),
    ) else {
        return false;
    };
    let mut merged = held.clone();
    json_patch::merge(&mut merged, &patch);
    merged == held
}

/// Whether the Pod holds every item of `set` exactly (name, placement, the
/// revision's image, the definition), and the rest of what it injects
/// (volumes, pull secrets, annotations: [`missing_parts`]).
pub fn holds_exactly(
    maker: &Maker,
    set: &SidecarSet,
    native: bool,
    pod: &PodView,
    own: &[usize],
    revision: &str,
) -> bool {
    set.items(native).all(|(container, placement)| {
        pod.container(container.name()).is_some_and(|entry| {
            entry.image() == set.image_in(container, revision)
                && entry.is_placed(placement, own)
                && maker
                    .difference(set, container, placement, revision, entry, true)
                    .is_none()
        })
    }) && missing_parts(set, pod, false).is_empty()
}

#[cfg(test)]
mod tests;
