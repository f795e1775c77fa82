//! Which sets apply to a Pod: label selectors, namespace, pause and opt-out.

use std::collections::BTreeMap;

use crate::annotations::OptOut;
use crate::settings::{LabelSelector, SelectorOperator, SidecarSet};

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

/// Whether `set` applies to a Pod with these labels, in this namespace.
pub fn applies(
    set: &SidecarSet,
    labels: &BTreeMap<&str, &str>,
    namespace: &str,
    opt_out: &OptOut,
) -> bool {
    !set.injection_strategy.paused
        && set.namespace.as_deref().is_none_or(|ns| ns == namespace)
        && !opt_out.skips(&set.name)
        // A set without a selector is refused by validate_settings; never match it.
        && set.selector.as_ref().is_some_and(|s| matches(s, labels))
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
    #[case::applies(json!({"name": "a", "selector": {}}), "shop", OptOut::default(), true)]
    #[case::namespace_matches(json!({"name": "a", "selector": {}, "namespace": "shop"}), "shop", OptOut::default(), true)]
    #[case::other_namespace(json!({"name": "a", "selector": {}, "namespace": "billing"}), "shop", OptOut::default(), false)]
    #[case::paused(json!({"name": "a", "selector": {}, "injectionStrategy": {"paused": true}}), "shop", OptOut::default(), false)]
    #[case::opted_out_all(json!({"name": "a", "selector": {}}), "shop", OptOut { all: true, sets: vec![] }, false)]
    #[case::opted_out_set(json!({"name": "a", "selector": {}}), "shop", OptOut { all: false, sets: vec!["a"] }, false)]
    #[case::other_set_opted_out(json!({"name": "a", "selector": {}}), "shop", OptOut { all: false, sets: vec!["b"] }, true)]
    #[case::no_selector(json!({"name": "a"}), "shop", OptOut::default(), false)]
    #[case::selector_misses(json!({"name": "a", "selector": {"matchLabels": {"tier": "db"}}}), "shop", OptOut::default(), false)]
    fn set_applies(
        #[case] s: serde_json::Value,
        #[case] ns: &str,
        #[case] opt_out: OptOut,
        #[case] expected: bool,
    ) {
        assert_eq!(applies(&set(s), &labels(), ns, &opt_out), expected);
    }
}
