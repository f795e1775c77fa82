//! Whether a Pod holds what a set injects: the entry injection writes for
//! one of the set's containers (placed, with the revision's image, completed
//! from the app containers, sized), compared with the Pod's entry as the API
//! server stores it. A look-alike (the same name, image and placement, but
//! another command, env or securityContext) is not held.

use serde_json::Value;

use crate::defaults::{first_difference, normalized_container, pull_policy};
use crate::order::Placement;
use crate::pod::{Entry, PodView};
use crate::resources::Sizing;
use crate::settings::{ContainerSpec, SidecarSet};
use crate::share::Sources;
use crate::shutdown::Drains;

/// What a set's entries are made from: the Pod's app containers
/// (transferEnv, shared volumes), its resources annotations and own
/// containers (resources), and whether it uses the host's network.
pub struct Maker<'p> {
    pub sources: Sources<'p>,
    pub sizing: Sizing<'p>,
    host_network: bool,
    /// The Pod runs as root (`runAsUser: 0` at its level).
    pod_root: bool,
    /// The regular sidecars' preStop sleeps.
    pub drains: Drains,
}

impl<'p> Maker<'p> {
    /// `sidecar` says which of the Pod's containers are sidecars (never
    /// sources or targets).
    pub fn new(pod: &'p PodView<'p>, sidecar: impl Fn(&str) -> bool + Copy) -> Self {
        Maker {
            sources: Sources::new(pod, sidecar),
            sizing: Sizing::new(pod, sidecar),
            host_network: pod.host_network,
            pod_root: crate::pod_security::runs_as_root(pod.spec),
            drains: Drains::default(),
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
        let mut entry = set.pod_container(container, placement, self.pod_root);
        let image = set.image_in(container, revision);
        if image != container.image()
            && let Some(map) = entry.as_object_mut()
        {
            map.insert("image".into(), Value::String(image.to_string()));
        }
        crate::share::complete(&mut entry, container, &self.sources, &set.name, warnings);
        self.drains.add_sleep(&mut entry, container.name());
        self.sizing.size(&mut entry, container, &set.name)?;
        Ok(entry)
    }

    /// The first field (a path in the container) where the Pod's `held`
    /// differs from what `set` injects for `container` in `revision`, both
    /// as the API server stores them; the image is compared by the caller.
    /// `resources` aside (`with_resources: false`) on an UPDATE, where a
    /// resize may have changed them within the set's bounds.
    pub fn difference(
        &self,
        set: &SidecarSet,
        container: &ContainerSpec,
        placement: Placement,
        revision: &str,
        held: &Entry,
        with_resources: bool,
    ) -> Option<String> {
        let Ok(Value::Object(wanted)) =
            self.entry(set, container, placement, revision, &mut Vec::new())
        else {
            return Some("resources".into());
        };
        let mut wanted = normalized_container(&wanted, self.host_network);
        let mut has = normalized_container(held.spec, self.host_network);
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

/// Whether the Pod holds every item of `set` exactly (name, placement, the
/// revision's image, the definition).
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
    })
}
