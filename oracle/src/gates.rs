//! The feature gates the ported rules depend on, with their default for
//! each Kubernetes minor version 1.29 ..= 1.36.
//!
//! Source: `defaultVersionedKubernetesFeatureGates` in
//! kubernetes/kubernetes `pkg/features/kube_features.go` (the 1.36
//! development snapshot, whose VersionedSpecs list every release from the
//! gate's introduction), and, for the fields that did not exist yet in a
//! version, the v1 API of that release (the decoder drops unknown fields).
//! A gate that did not exist in a version is listed as `false` there.

/// One gate: its name, its default in 1.29..=1.36 (index 0 is 1.29) and the
/// VersionedSpecs it was read from.
#[derive(Clone, Copy, Debug)]
pub struct Gate {
    pub name: &'static str,
    pub defaults: [bool; 8],
    pub specs: &'static str,
}

const F: bool = false;
const T: bool = true;

/// The gate table. Columns: 1.29 1.30 1.31 1.32 1.33 1.34 1.35 1.36.
pub const GATES: &[Gate] = &[
    Gate {
        name: "PodLifecycleSleepAction",
        defaults: [F, T, T, T, T, T, T, T],
        specs: "alpha 1.29 (off), beta 1.30 (on), GA 1.34",
    },
    Gate {
        name: "PodLifecycleSleepActionAllowZero",
        defaults: [F, F, F, F, T, T, T, T],
        specs: "alpha 1.32 (off), beta 1.33 (on), GA 1.34",
    },
    Gate {
        name: "RecursiveReadOnlyMounts",
        defaults: [F, F, T, T, T, T, T, T],
        specs: "alpha 1.30 (off), beta 1.31 (on), GA 1.33; field absent in 1.29",
    },
    Gate {
        name: "RelaxedEnvironmentVariableValidation",
        defaults: [F, F, F, T, T, T, T, T],
        specs: "alpha 1.30 (off), beta 1.32 (on), GA 1.34",
    },
    Gate {
        name: "ImageVolume",
        defaults: [F, F, F, F, F, F, T, T],
        specs: "alpha 1.31 (off), beta 1.33 (off), beta 1.35 (on); field absent before 1.31",
    },
    Gate {
        name: "PodLevelResources",
        defaults: [F, F, F, F, F, T, T, T],
        specs: "alpha 1.32 (off), beta 1.34 (on); spec.resources absent before 1.32",
    },
    Gate {
        name: "ContainerRestartRules",
        defaults: [F, F, F, F, F, F, T, T],
        specs: "alpha 1.34 (off), beta 1.35 (on)",
    },
    Gate {
        name: "EnvFiles",
        defaults: [F, F, F, F, F, F, T, T],
        specs: "alpha 1.34 (off), beta 1.35 (on); fileKeyRef absent before 1.34",
    },
    Gate {
        name: "HostnameOverride",
        defaults: [F, F, F, F, F, F, T, T],
        specs: "alpha 1.34 (off), beta 1.35 (on); field absent before 1.34",
    },
    Gate {
        name: "SidecarContainers",
        defaults: [T, T, T, T, T, T, T, T],
        specs: "alpha 1.28, beta 1.29 (on), GA 1.33",
    },
    Gate {
        name: "UserNamespacesSupport",
        defaults: [F, F, F, F, T, T, T, T],
        specs: "beta 1.30 (off), beta 1.33 (on)",
    },
    Gate {
        name: "SupplementalGroupsPolicy",
        defaults: [F, F, F, F, T, T, T, T],
        specs: "alpha 1.31 (off), beta 1.33 (on), GA 1.35",
    },
    Gate {
        name: "SELinuxChangePolicy",
        defaults: [F, F, F, F, T, T, T, T],
        specs: "alpha 1.32 (off), beta 1.33 (on)",
    },
    Gate {
        name: "SELinuxMount",
        defaults: [F, F, F, F, F, F, F, F],
        specs: "alpha 1.30, beta 1.33 (off)",
    },
    Gate {
        name: "ProcMountType",
        defaults: [F, F, F, F, T, T, T, T],
        specs: "beta 1.31 (off), beta 1.33 (on)",
    },
    Gate {
        name: "InPlacePodVerticalScaling",
        defaults: [F, F, F, F, T, T, T, T],
        specs: "alpha 1.27 (off), beta 1.33 (on), GA 1.35",
    },
    Gate {
        name: "AppArmorFields",
        defaults: [F, T, T, T, T, T, T, T],
        specs: "beta 1.30 (on), GA 1.31; appArmorProfile absent in 1.29",
    },
    Gate {
        name: "ContainerStopSignals",
        defaults: [F, F, F, F, F, F, F, F],
        specs: "alpha 1.33 (off)",
    },
    Gate {
        name: "RelaxedDNSSearchValidation",
        defaults: [F, F, F, F, T, T, T, T],
        specs: "alpha 1.32 (off), beta 1.33 (on), GA 1.34",
    },
    Gate {
        name: "PodDeletionCost",
        defaults: [T, T, T, T, T, T, T, T],
        specs: "beta 1.22 (on)",
    },
];

/// The default of `name` in 1.`minor` (panics on a gate not in [`GATES`]).
pub fn enabled(name: &str, minor: u32) -> bool {
    let g = GATES
        .iter()
        .find(|g| g.name == name)
        .unwrap_or_else(|| panic!("gate {name} is not in the table"));
    let i = minor.clamp(29, 36) - 29;
    g.defaults[i as usize]
}
