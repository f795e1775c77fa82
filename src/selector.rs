//! Which sets apply to a Pod, and how: label selectors, namespace, pause,
//! opt-out (and mandatory sets), and Pods that run to completion.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::annotations::{INJECT, OptOut, SKIP};
use crate::namespace::Namespace;
use crate::order::Placement;
use crate::pod::PodView;
use crate::settings::{
    JobPods, LabelSelector, LookupFailure, SelectorOperator, SetIndex, Settings, SidecarSet,
};

/// metav1.LabelSelector semantics: every matchLabels pair and every
/// requirement must hold; an empty selector matches every Pod.
pub fn matches(selector: &LabelSelector, labels: &BTreeMap<&str, &str>) -> bool {
    matches_with(selector, |key| labels.get(key).copied())
}

/// The same, over labels read by `label`.
pub fn matches_with<'l>(selector: &LabelSelector, label: impl Fn(&str) -> Option<&'l str>) -> bool {
    let labels_match = selector
        .match_labels
        .iter()
        .all(|(key, value)| label(key) == Some(value.as_str()));
    labels_match
        && selector.match_expressions.iter().all(|requirement| {
            let value = label(&requirement.key);
            let listed = |v: &str| {
                requirement
                    .values
                    .as_deref()
                    .unwrap_or(&[])
                    .iter()
                    .any(|x| x == v)
            };
            match requirement.operator {
                SelectorOperator::In => value.is_some_and(&listed),
                SelectorOperator::NotIn => !value.is_some_and(&listed),
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

/// The same, on the selection fields alone (see `Settings::parse_selected`),
/// with the settings' namespace and hostNetwork rules. The namespaceSelector
/// is left for [`applying_sets`]: it needs the Namespace.
/// `even_paused`: a paused set may apply too (a Pod UPDATE: pausing halts
/// injection and upgrades, not the protection of what was injected).
pub fn may_apply(
    settings: &Settings<SetIndex>,
    selection: &SetIndex,
    labels: &BTreeMap<&str, &str>,
    namespace: &str,
    host_network: bool,
    even_paused: bool,
) -> bool {
    settings.scopes(namespace, host_network, selection.host_network_pods)
        && selects(
            selection.selector.as_ref(),
            selection.namespace.as_deref(),
            selection.injection_strategy.paused && !even_paused,
            labels,
            namespace,
        )
}

/// Whether a set may have applied to a Pod in `namespace` at all, whatever
/// its labels: the platform's scope and the set's namespace.
pub fn in_scope(
    settings: &Settings<SetIndex>,
    selection: &SetIndex,
    namespace: &str,
    host_network: bool,
) -> bool {
    settings.scopes(namespace, host_network, selection.host_network_pods)
        && selection
            .namespace
            .as_deref()
            .is_none_or(|ns| ns == namespace)
}

/// Whether `set` applies to a Pod with these labels, in this namespace.
pub fn applies(
    set: &SidecarSet,
    labels: &BTreeMap<&str, &str>,
    namespace: &str,
    opt_out: &OptOut,
    even_paused: bool,
) -> Applies {
    let selected = selects(
        set.selector.as_ref(),
        set.namespace.as_deref(),
        set.injection_strategy.paused && !even_paused,
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

/// Whether a set's namespaceSelector (if any) selects the Pod's Namespace.
/// A Namespace that cannot be read rejects the Pod or skips the set, as
/// `namespaceLookupFailure` says.
fn namespace_selected(
    set: &SidecarSet,
    namespace: &mut Namespace,
    on_failure: LookupFailure,
    warnings: &mut Vec<String>,
) -> Result<bool, String> {
    let Some(selector) = &set.namespace_selector else {
        return Ok(true);
    };
    let name = namespace.name;
    match namespace.labels() {
        // A label value that is not a string cannot equal one; Kubernetes
        // has none.
        Ok(labels) => Ok(matches_with(selector, |key| {
            labels.get(key).and_then(Value::as_str)
        })),
        Err(reason) => match on_failure {
            LookupFailure::Reject => Err(format!(
                "sidecar set {}: cannot read Namespace {name:?} to match the set's namespaceSelector: {reason}; grant the policy access to v1/Namespace (contextAwareResources) or set namespaceLookupFailure: skip",
                set.name
            )),
            LookupFailure::Skip => {
                warnings.push(format!(
                    "sidecar set {} not injected: Namespace {name:?} could not be read to match the set's namespaceSelector ({reason}; namespaceLookupFailure: skip)",
                    set.name
                ));
                Ok(false)
            }
        },
    }
}

/// The sets that apply to `pod`, created in `namespace`, in settings order.
/// Why a set applies differently than a user might expect goes into
/// `warnings`; a Namespace that must be read and cannot is an error.
pub fn applying_sets<'s>(
    settings: &'s Settings,
    pod: &PodView,
    namespace: &mut Namespace,
    warnings: &mut Vec<String>,
) -> Result<Vec<Applying<'s>>, String> {
    applying_sets_even_paused(settings, pod, namespace, warnings, false)
}

/// [`applying_sets`]; with `even_paused`, paused sets count too (a Pod
/// UPDATE: pausing halts injection and upgrades, not the protection of what
/// was injected).
pub fn applying_sets_even_paused<'s>(
    settings: &'s Settings,
    pod: &PodView,
    namespace: &mut Namespace,
    warnings: &mut Vec<String>,
    even_paused: bool,
) -> Result<Vec<Applying<'s>>, String> {
    let on_failure = settings.namespace_lookup_failure;
    applying_with(settings, pod, namespace, warnings, even_paused, on_failure)
}

/// [`applying_sets_even_paused`], a Namespace that cannot be read leaving
/// out only the sets whose namespaceSelector needs it (an UPDATE: what
/// applies regardless still does), with the reason in `warnings`.
pub fn applying_sets_despite_lookup<'s>(
    settings: &'s Settings,
    pod: &PodView,
    namespace: &mut Namespace,
    warnings: &mut Vec<String>,
) -> Vec<Applying<'s>> {
    applying_with(
        settings,
        pod,
        namespace,
        warnings,
        true,
        LookupFailure::Skip,
    )
    .unwrap_or_default()
}

fn applying_with<'s>(
    settings: &'s Settings,
    pod: &PodView,
    namespace: &mut Namespace,
    warnings: &mut Vec<String>,
    even_paused: bool,
    on_failure: LookupFailure,
) -> Result<Vec<Applying<'s>>, String> {
    let mut applying = Vec::new();
    let opt_out = OptOut::read(
        pod.annotations.get(INJECT).copied(),
        pod.annotations.get(SKIP).copied(),
    );
    let completes = pod.runs_to_completion();
    let restart = pod.restart_policy.unwrap_or_default();
    for set in &settings.sidecar_sets {
        if !settings.scopes(namespace.name, pod.host_network, set.host_network_pods) {
            continue;
        }
        let applies = applies(set, &pod.labels, namespace.name, &opt_out, even_paused);
        if applies == Applies::No || !namespace_selected(set, namespace, on_failure, warnings)? {
            continue;
        }
        if applies == Applies::DespiteOptOut {
            warnings.push(format!(
                "sidecar set {} is mandatory: the Pod's {} annotation does not apply to it",
                set.name,
                if opt_out.all { INJECT } else { SKIP }
            ));
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
    Ok(applying)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::namespace::Lookup;
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
        assert_eq!(applies(&set(s), &labels(), ns, &opt_out, false), expected);
    }

    /// The names of the sets that apply to `pod` in `namespace`, with the
    /// warnings, and how often the Namespace was read.
    fn applying_names(
        settings: Value,
        pod: Value,
        namespace: &str,
        lookup: Option<Result<&str, &str>>,
    ) -> (Result<Vec<String>, String>, Vec<String>, usize) {
        let settings = Settings::from_slice(settings.to_string().as_bytes()).unwrap();
        let pod = PodView::read(&pod).unwrap();
        let mut calls = 0;
        let mut read = |_: &str| {
            calls += 1;
            match lookup {
                Some(Ok(labels)) => Ok(serde_json::from_str(labels).unwrap()),
                Some(Err(e)) => Err(e.to_string()),
                None => unreachable!(),
            }
        };
        let mut namespace = Namespace::with_lookup(namespace, lookup.map(|_| &mut read as Lookup));
        let mut warnings = Vec::new();
        let names = applying_sets(&settings, &pod, &mut namespace, &mut warnings)
            .map(|a| a.iter().map(|a| a.set.name.clone()).collect());
        drop(namespace);
        (names, warnings, calls)
    }

    fn scoped_sets() -> Value {
        json!({"sidecarSets": [
            {"name": "plain", "selector": {}, "containers": [{"name": "a", "image": "a:1"}]},
            {"name": "meshed", "selector": {}, "namespaceSelector": {"matchLabels": {"mesh": "on"}}, "containers": [{"name": "b", "image": "b:1"}]},
            {"name": "also-meshed", "selector": {}, "namespaceSelector": {"matchExpressions": [{"key": "mesh", "operator": "Exists"}]}, "containers": [{"name": "c", "image": "c:1"}]},
            {"name": "node", "selector": {"matchLabels": {"tier": "infra"}}, "hostNetworkPods": "inject", "containers": [{"name": "d", "image": "d:1"}]}
        ]})
    }

    fn a_pod(labels: Value, host_network: bool) -> Value {
        json!({"metadata": {"labels": labels}, "spec": {"hostNetwork": host_network, "containers": [{"name": "app"}]}})
    }

    #[rstest]
    #[case::labelled(Some(Ok(r#"{"mesh": "on"}"#)), Ok(vec!["plain", "meshed", "also-meshed"]), 1)]
    #[case::other_value(Some(Ok(r#"{"mesh": "off"}"#)), Ok(vec!["plain", "also-meshed"]), 1)]
    #[case::unlabelled(Some(Ok("{}")), Ok(vec!["plain"]), 1)]
    #[case::unreadable(
        Some(Err("denied")),
        Err(
            "sidecar set meshed: cannot read Namespace \"shop\" to match the set's namespaceSelector: denied; grant the policy access to v1/Namespace (contextAwareResources) or set namespaceLookupFailure: skip"
        ),
        1
    )]
    fn namespace_selector(
        #[case] lookup: Option<Result<&str, &str>>,
        #[case] expected: Result<Vec<&str>, &str>,
        #[case] calls: usize,
    ) {
        let (names, _, made) =
            applying_names(scoped_sets(), a_pod(json!({}), false), "shop", lookup);
        assert_eq!(
            names,
            expected
                .map(|v| v.into_iter().map(String::from).collect())
                .map_err(String::from)
        );
        assert_eq!(made, calls, "the Namespace is read once per request");
    }

    #[test]
    fn an_unreadable_namespace_can_skip_its_sets() {
        let mut settings = scoped_sets();
        settings["namespaceLookupFailure"] = json!("skip");
        let (names, warnings, calls) = applying_names(
            settings,
            a_pod(json!({}), false),
            "shop",
            Some(Err("denied")),
        );
        assert_eq!(names, Ok(vec!["plain".to_string()]));
        assert_eq!(calls, 1);
        assert_eq!(
            warnings,
            [
                "sidecar set meshed not injected: Namespace \"shop\" could not be read to match the set's namespaceSelector (denied; namespaceLookupFailure: skip)",
                "sidecar set also-meshed not injected: Namespace \"shop\" could not be read to match the set's namespaceSelector (denied; namespaceLookupFailure: skip)",
            ]
        );
    }

    #[test]
    fn the_namespace_is_not_read_when_no_set_with_a_namespace_selector_applies() {
        let mut settings = scoped_sets();
        settings["sidecarSets"][1]["selector"] = json!({"matchLabels": {"x": "y"}});
        settings["sidecarSets"][2]["injectionStrategy"] = json!({"paused": true});
        // No lookup given: a read would be an error.
        let (names, _, _) = applying_names(settings, a_pod(json!({}), false), "shop", None);
        assert_eq!(names, Ok(vec!["plain".to_string()]));
        // Opted out: not read either.
        let pod = json!({"metadata": {"annotations": {"sidecarset.kubewarden.io/skip": "meshed,also-meshed"}}, "spec": {"containers": [{"name": "app"}]}});
        let (names, _, _) = applying_names(scoped_sets(), pod, "shop", None);
        assert_eq!(names, Ok(vec!["plain".to_string()]));
    }

    #[rstest]
    #[case::skipped_by_default(json!({}), vec!["node"])]
    #[case::all_when_not_skipping(json!({"skipHostNetworkPods": false}), vec!["plain", "node"])]
    fn host_network_pods(#[case] top: Value, #[case] expected: Vec<&str>) {
        let mut settings = scoped_sets();
        settings["sidecarSets"].as_array_mut().unwrap().drain(1..3);
        for (key, value) in top.as_object().unwrap() {
            settings[key] = value.clone();
        }
        let (names, _, _) = applying_names(
            settings.clone(),
            a_pod(json!({"tier": "infra"}), true),
            "shop",
            None,
        );
        assert_eq!(names, Ok(expected.into_iter().map(String::from).collect()));
        // An empty answer (a form's) follows the top-level setting.
        let mut empty = settings.clone();
        empty["sidecarSets"][1]["hostNetworkPods"] = json!("");
        let (names, _, _) =
            applying_names(empty, a_pod(json!({"tier": "infra"}), true), "shop", None);
        let follows_default = settings.get("skipHostNetworkPods") == Some(&json!(false));
        assert_eq!(
            names.unwrap().contains(&"node".to_string()),
            follows_default
        );
        // A set may also opt out when the default injects.
        settings["sidecarSets"][1]["hostNetworkPods"] = json!("skip");
        settings["skipHostNetworkPods"] = json!(false);
        let (names, _, _) = applying_names(
            settings,
            a_pod(json!({"tier": "infra"}), true),
            "shop",
            None,
        );
        assert_eq!(names, Ok(vec!["plain".to_string()]));
    }

    #[rstest]
    #[case::default_kube_system("kube-system", json!(null), 0)]
    #[case::default_kube_public("kube-public", json!(null), 0)]
    #[case::default_lease("kube-node-lease", json!(null), 0)]
    #[case::default_other("shop", json!(null), 1)]
    #[case::own_list("shop", json!(["shop"]), 0)]
    #[case::empty_list("kube-system", json!([]), 1)]
    fn excluded_namespaces(#[case] namespace: &str, #[case] excluded: Value, #[case] count: usize) {
        let mut settings = json!({"sidecarSets": [{"name": "plain", "selector": {}, "containers": [{"name": "a", "image": "a:1"}]}]});
        if !excluded.is_null() {
            settings["excludedNamespaces"] = excluded;
        }
        let (names, _, _) = applying_names(settings, a_pod(json!({}), false), namespace, None);
        assert_eq!(names.unwrap().len(), count);
    }
}
