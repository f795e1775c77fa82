//! The Pod annotations this policy reads and writes.

/// Every annotation key of this policy starts with this prefix.
pub const POLICY_ANNOTATION_PREFIX: &str = "sidecarset.kubewarden.io/";
/// `"false"`: the Pod opts out of every set.
pub const INJECT: &str = "sidecarset.kubewarden.io/inject";
/// Comma-separated set names the Pod opts out of.
pub const SKIP: &str = "sidecarset.kubewarden.io/skip";
/// `<prefix><container>`: a Pod's override of an injected container's
/// resources, within the set's resourceBounds.
pub const RESOURCES_PREFIX: &str = "sidecarset.kubewarden.io/resources.";
/// `<prefix><set>: <revision>`: the revision a Pod pins, where its set
/// allows pins.
pub const REVISION_PREFIX: &str = "sidecarset.kubewarden.io/revision.";
/// On a Pod UPDATE, `<set>[,<set>…]` or `*`: move those sets in place to
/// the revision the Pod should run now (only images change).
pub const UPGRADE: &str = "sidecarset.kubewarden.io/upgrade";
/// Provenance: what this policy injected (see `provenance`).
pub const STATUS: &str = "sidecarset.kubewarden.io/status";
/// Where `kubectl logs` and `exec` land without `-c` (kubectl's own key).
pub const DEFAULT_CONTAINER: &str = "kubectl.kubernetes.io/default-container";

/// At most this many characters of a value a Pod wrote are echoed in a
/// message or warning.
pub const ECHOED: usize = 64;

/// `value` as echoed in a message: cut at [`ECHOED`] characters, with an
/// ellipsis.
pub fn clip(value: &str) -> std::borrow::Cow<'_, str> {
    clip_at(value, ECHOED)
}

/// `value` cut at `most` characters, with an ellipsis.
pub fn clip_at(value: &str, most: usize) -> std::borrow::Cow<'_, str> {
    match value.char_indices().nth(most) {
        Some((end, _)) => format!("{}…", &value[..end]).into(),
        None => value.into(),
    }
}

/// The Pod's opt-out, read from its annotations.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct OptOut<'a> {
    pub all: bool,
    pub sets: Vec<&'a str>,
}

impl<'a> OptOut<'a> {
    pub fn read(inject: Option<&'a str>, skip: Option<&'a str>) -> Self {
        OptOut {
            all: inject.is_some_and(|v| v.trim().eq_ignore_ascii_case("false")),
            sets: skip
                .map(|s| {
                    s.split(',')
                        .map(str::trim)
                        .filter(|n| !n.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
        }
    }

    pub fn skips(&self, set: &str) -> bool {
        self.all || self.sets.contains(&set)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case(None, None, "mesh", false)]
    #[case(Some("false"), None, "mesh", true)]
    #[case(Some("False"), None, "mesh", true)]
    #[case(Some("true"), None, "mesh", false)]
    #[case(None, Some("log-shipper, mesh"), "mesh", true)]
    #[case(None, Some("log-shipper,mesh"), "log-shipper", true)]
    #[case(None, Some("log-shipper"), "mesh", false)]
    #[case(None, Some(" , "), "mesh", false)]
    #[case(None, Some("meshy"), "mesh", false)]
    fn opt_out(
        #[case] inject: Option<&str>,
        #[case] skip: Option<&str>,
        #[case] set: &str,
        #[case] skipped: bool,
    ) {
        assert_eq!(OptOut::read(inject, skip).skips(set), skipped);
    }
}
