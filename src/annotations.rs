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

/// The most a Pod's annotations may total, keys and values
/// (`ValidateAnnotationsSize`).
pub const ANNOTATIONS_LIMIT: usize = 256 * 1024;

/// The bytes of `object`'s annotations, keys and values, as the API server
/// counts them.
pub fn total_size(object: &serde_json::Value) -> usize {
    object
        .get("metadata")
        .and_then(|m| m.get("annotations"))
        .and_then(serde_json::Value::as_object)
        .map_or(0, |annotations| {
            annotations
                .iter()
                .map(|(k, v)| k.len() + v.as_str().map_or(0, str::len))
                .sum()
        })
}

/// The Pod the policy answers with, unless what it wrote (its record, the
/// sets' patchPodMetadata) takes the annotations past the API server's
/// limit: then a rejection naming the cause, not the API server's refusal
/// of fields the author never wrote. `before`: the bytes the Pod brought,
/// where they may be past the limit already (None: a request smaller than
/// the limit, whose annotations cannot be).
pub fn within_limit(
    before: Option<usize>,
    pod: Option<serde_json::Value>,
) -> Result<Option<serde_json::Value>, String> {
    let Some(pod) = pod else { return Ok(None) };
    let after = total_size(&pod);
    if after > ANNOTATIONS_LIMIT && before.is_none_or(|b| b <= ANNOTATIONS_LIMIT) {
        return Err(format!(
            "metadata.annotations: with what the policy writes (its record {STATUS}, the sets' patchPodMetadata) the Pod's annotations total {after} bytes, above the {ANNOTATIONS_LIMIT} the API server allows (keys and values); shorten the Pod's annotations"
        ));
    }
    Ok(Some(pod))
}

/// At most this many characters of a value a Pod wrote are echoed in a
/// message or warning.
pub const ECHOED: usize = 64;

/// At most this many characters of a host's error are echoed.
pub const HOST_ECHOED: usize = 256;

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

/// Cuts `text` to at most `most` bytes (UTF-8), the cut marked with `…`.
pub fn cut_bytes(text: &mut String, most: usize) {
    if text.len() <= most {
        return;
    }
    let mut end = most.saturating_sub('…'.len_utf8());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    text.push('…');
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

    #[test]
    fn cuts_are_bounded_in_bytes_and_marked() {
        let mut short = "abc".to_string();
        cut_bytes(&mut short, 3);
        assert_eq!(short, "abc");
        let mut long = "é".repeat(600);
        cut_bytes(&mut long, 1024);
        assert!(long.len() <= 1024 && long.ends_with('…'), "{}", long.len());
        assert_eq!(long.len(), 1021 + 3 - 1);
    }

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
