//! Which sets apply to a Pod, and how: label selectors, namespace, pause,
//! opt-out (and mandatory sets), and Pods that run to completion.

use std::collections::BTreeMap;

use crate::annotations::{INJECT, OptOut, SKIP};
use crate::pod::PodView;
use crate::settings::{
    JobPods, LabelSelector, Placement, SelectorOperator, SetSelection, Settings, SidecarSet,
};

/// metav1.LabelSelector semantics: every matchLabels pair and every
/// requirement must hold; an empty selector matches every Pod.
pub fn matches(selector: &LabelSelector, labels: &BTreeMap<&str, &str>) -> bool {
    let labels_match = selector
        .match_labels
        .iter()
        .all(|(key, value)| labels.get(key.as_str()) == Some(&value.as_str()));
    labels_match
        && selector.match_expressions.iter().all(|requirement| {
            let value = labels.get(requirement.key.as_str());
            let listed = |v: &str| {
                requirement
                    .values
                    .as_deref()
                    .unwrap_or(&[])
                    .iter()
                    .any(|x| x == v)
            };
            match requirement.operator {
                SelectorOperator::In => value.is_some_and(|v| listed(v)),
                SelectorOperator::NotIn => !value.is_some_and(|v| listed(v)),
                SelectorOperator::Exists => value.is_some(),
                SelectorOperator::DoesNotExist => value.is_none(),
            }
        })
}

/// Whether a set with these selection fields selects a Pod with these labels
/// in this namespace (before opt-out).
pub fn selects(
    selector: Option<&LabelSelector>,
    set_namespace: Option<&str>,
    paused: bool,
    labels: &BTreeMap<&str, &str>,
    namespace: &str,
) -> bool {
    !paused
        && set_namespace.is_none_or(|ns| ns == namespace)
        // A set without a selector is refused by validate_settings; never match it.
        && selector.is_some_and(|s| matches(s, labels))
}

/// The same, on the selection fields alone (see `Settings::parse_selected`).
pub fn may_apply(selection: &SetSelection, labels: &BTreeMap<&str, &str>, namespace: &str) -> bool {
    selects(
        selection.selector.as_ref(),
        selection.namespace.as_deref(),
        selection.injection_strategy.paused,
        labels,
        namespace,
    )
}

/// Whether `set` applies to a Pod with these labels, in this namespace.
pub fn applies(
    set: &SidecarSet,
    labels: &BTreeMap<&str, &str>,
    namespace: &str,
    opt_out: &OptOut,
) -> Applies {
    let selected = selects(
        set.selector.as_ref(),
        set.namespace.as_deref(),
        set.injection_strategy.paused,
        labels,
        namespace,
    );
    match (selected, opt_out.skips(&set.name), set.mandatory) {
        (false, ..) => Applies::No,
        (true, false, _) => Applies::Yes,
        (true, true, true) => Applies::DespiteOptOut,
        (true, true, false) => Applies::No,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applies {
    No,
    Yes,
    /// A mandatory set the Pod opted out of.
    DespiteOptOut,
}

/// A set that applies to a Pod, and whether its BeforeAppContainer
/// containers go in as native sidecars for this Pod.
#[derive(Debug, Clone, Copy)]
pub struct Applying<'s> {
    pub set: &'s SidecarSet,
    pub native: bool,
}

impl<'s> Applying<'s> {
    pub fn items(
        &self,
    ) -> impl Iterator<Item = (&'s crate::settings::ContainerSpec, Placement)> + use<'s> {
        self.set.items(self.native)
    }
}

/// The sets that apply to `pod`, in settings order. Why a set applies
/// differently than a user might expect goes into `warnings`.
pub fn applying_sets<'s>(
    settings: &'s Settings,
    pod: &PodView,
    namespace: &str,
    warnings: &mut Vec<String>,
) -> Vec<Applying<'s>> {
    let opt_out = OptOut::read(
        pod.annotations.get(INJECT).copied(),
        pod.annotations.get(SKIP).copied(),
    );
    let completes = pod.runs_to_completion();
    let restart = pod.restart_policy.unwrap_or_default();
    let mut applying = Vec::new();
    for set in &settings.sidecar_sets {
        match applies(set, &pod.labels, namespace, &opt_out) {
            Applies::No => continue,
            Applies::Yes => {}
            Applies::DespiteOptOut => warnings.push(format!(
                "sidecar set {} is mandatory: the Pod's {} annotation does not apply to it",
                set.name,
                if opt_out.all { INJECT } else { SKIP }
            )),
        }
        let mut native = set.native(settings.native_sidecars);
        if completes && set.has_regular_sidecars(native) {
            match settings.job_pods {
                JobPods::Native => native = true,
                JobPods::Skip => {
                    warnings.push(format!(
                        "sidecar set {} not injected: its regular sidecars would keep this Pod (restartPolicy: {restart}) from completing (jobPods: skip)",
                        set.name
                    ));
                    continue;
                }
                JobPods::AsConfigured => warnings.push(format!(
                    "sidecar set {} injects regular sidecars, which can keep this Pod (restartPolicy: {restart}) from completing (jobPods: asConfigured)",
                    set.name
                )),
            }
        }
        if completes {
            for (container, placement) in set.items(native) {
                if placement == Placement::Trailing {
                    warnings.push(format!(
                        "{} (sidecar set {}) runs after the app containers as a regular container: it can keep this Pod (restartPolicy: {restart}) from completing",
                        container.name(),
                        set.name
                    ));
                }
            }
        }
        applying.push(Applying { set, native });
    }
    applying
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;
    use serde_json::json;

    fn selector(value: serde_json::Value) -> LabelSelector {
        serde_json::from_value(value).unwrap()
    }

    fn labels() -> BTreeMap<&'static str, &'static str> {
        BTreeMap::from([("tier", "web"), ("app", "checkout")])
    }

    #[rstest]
    #[case::empty(json!({}), true)]
    #[case::label(json!({"matchLabels": {"tier": "web"}}), true)]
    #[case::label_other_value(json!({"matchLabels": {"tier": "db"}}), false)]
    #[case::label_missing(json!({"matchLabels": {"team": "a"}}), false)]
    #[case::all_labels(json!({"matchLabels": {"tier": "web", "app": "checkout"}}), true)]
    #[case::in_(json!({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["db", "web"]}]}), true)]
    #[case::in_missing_key(json!({"matchExpressions": [{"key": "team", "operator": "In", "values": ["a"]}]}), false)]
    #[case::not_in(json!({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["web"]}]}), false)]
    #[case::not_in_missing_key(json!({"matchExpressions": [{"key": "team", "operator": "NotIn", "values": ["a"]}]}), true)]
    #[case::exists(json!({"matchExpressions": [{"key": "app", "operator": "Exists"}]}), true)]
    #[case::exists_missing(json!({"matchExpressions": [{"key": "x", "operator": "Exists"}]}), false)]
    #[case::does_not_exist(json!({"matchExpressions": [{"key": "x", "operator": "DoesNotExist"}]}), true)]
    #[case::does_not_exist_present(json!({"matchExpressions": [{"key": "app", "operator": "DoesNotExist"}]}), false)]
    #[case::labels_and_expressions(json!({"matchLabels": {"tier": "web"}, "matchExpressions": [{"key": "app", "operator": "DoesNotExist"}]}), false)]
    fn label_selector(#[case] sel: serde_json::Value, #[case] expected: bool) {
        assert_eq!(matches(&selector(sel), &labels()), expected);
    }

    fn set(value: serde_json::Value) -> SidecarSet {
        serde_json::from_value(value).unwrap()
    }

    #[rstest]
    #[case::applies(json!({"name": "a", "selector": {}}), "shop", OptOut::default(), Applies::Yes)]
    #[case::namespace_matches(json!({"name": "a", "selector": {}, "namespace": "shop"}), "shop", OptOut::default(), Applies::Yes)]
    #[case::other_namespace(json!({"name": "a", "selector": {}, "namespace": "billing"}), "shop", OptOut::default(), Applies::No)]
    #[case::paused(json!({"name": "a", "selector": {}, "injectionStrategy": {"paused": true}}), "shop", OptOut::default(), Applies::No)]
    #[case::opted_out_all(json!({"name": "a", "selector": {}}), "shop", OptOut { all: true, sets: vec![] }, Applies::No)]
    #[case::opted_out_set(json!({"name": "a", "selector": {}}), "shop", OptOut { all: false, sets: vec!["a"] }, Applies::No)]
    #[case::other_set_opted_out(json!({"name": "a", "selector": {}}), "shop", OptOut { all: false, sets: vec!["b"] }, Applies::Yes)]
    #[case::no_selector(json!({"name": "a"}), "shop", OptOut::default(), Applies::No)]
    #[case::selector_misses(json!({"name": "a", "selector": {"matchLabels": {"tier": "db"}}}), "shop", OptOut::default(), Applies::No)]
    #[case::mandatory_opted_out_all(json!({"name": "a", "selector": {}, "mandatory": true}), "shop", OptOut { all: true, sets: vec![] }, Applies::DespiteOptOut)]
    #[case::mandatory_opted_out_set(json!({"name": "a", "selector": {}, "mandatory": true}), "shop", OptOut { all: false, sets: vec!["a"] }, Applies::DespiteOptOut)]
    #[case::mandatory_not_opted_out(json!({"name": "a", "selector": {}, "mandatory": true}), "shop", OptOut::default(), Applies::Yes)]
    #[case::mandatory_but_paused(json!({"name": "a", "selector": {}, "mandatory": true, "injectionStrategy": {"paused": true}}), "shop", OptOut { all: true, sets: vec![] }, Applies::No)]
    #[case::mandatory_selector_misses(json!({"name": "a", "selector": {"matchLabels": {"tier": "db"}}, "mandatory": true}), "shop", OptOut::default(), Applies::No)]
    fn set_applies(
        #[case] s: serde_json::Value,
        #[case] ns: &str,
        #[case] opt_out: OptOut,
        #[case] expected: Applies,
    ) {
        assert_eq!(applies(&set(s), &labels(), ns, &opt_out), expected);
    }
}
