//! Tests of `settings`: compiled only in tests, by `#[cfg(test)] mod tests;` in `mod.rs`.

use super::*;
use kubewarden_policy_sdk::settings::Validatable;
use rstest::rstest;
use serde_json::json;

fn problems(settings: Value) -> String {
    match Settings::from_slice(settings.to_string().as_bytes()) {
        Err(e) => e,
        Ok(s) => s.validate().err().unwrap_or_default(),
    }
}

fn one_set(set: Value) -> Value {
    json!({"sidecarSets": [set]})
}

fn base_set() -> Value {
    json!({"name": "log-shipper", "selector": {}, "containers": [{"name": "fluent-bit", "image": "fluent-bit:3"}]})
}

fn with(mut value: Value, pointer: &str, new: Value) -> Value {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    let target = value.pointer_mut(parent).unwrap();
    match target {
        Value::Object(map) => {
            map.insert(key.to_string(), new);
        }
        Value::Array(list) => list[key.parse::<usize>().unwrap()] = new,
        _ => panic!("bad pointer"),
    }
    value
}

#[test]
fn defaults() {
    let settings = Settings::from_slice(b"{}").unwrap();
    assert!(settings.native_sidecars);
    assert!(settings.sidecar_sets.is_empty());
    assert_eq!(problems(json!({})), "");
    assert_eq!(problems(one_set(base_set())), "");
    for not_a_mapping in [json!([]), json!("x"), json!(3)] {
        assert_eq!(
            problems(not_a_mapping.clone()),
            "the settings must be a mapping (a JSON object) with sidecarSets, nativeSidecars, mode, jobPods, explain, excludedNamespaces, skipHostNetworkPods, namespaceLookupFailure, podLevelResources, maxAddedRequests, protectInjected and checkPodSecurity"
        );
        assert!(
            Settings::parse(not_a_mapping.to_string().as_bytes(), "settings")
                .unwrap_err()
                .starts_with("settings: the settings must be")
        );
    }
}

#[rstest]
#[case::bad_lookup_failure(json!({"namespaceLookupFailure": "ignore"}),
        "namespaceLookupFailure: unknown variant `ignore`, expected `reject` or `skip`")]
#[case::bad_excluded_namespace(json!({"excludedNamespaces": ["kube-system", "Team_A"]}),
        "excludedNamespaces[1]: \"Team_A\" is not a DNS-1123 label: use lower case letters, digits and '-', starting and ending with a letter or digit")]
#[case::skip_host_network_not_bool(json!({"skipHostNetworkPods": "yes"}),
        "skipHostNetworkPods: invalid type: string \"yes\", expected a boolean")]
#[case::selector_as_a_list(one_set(with(base_set(), "/selector", json!([]))),
        "sidecarSets[0].selector: invalid type: sequence, expected a mapping")]
#[case::match_expression_as_a_list(one_set(with(base_set(), "/selector", json!({"matchExpressions": [["k", "Exists"]]}))),
        "sidecarSets[0].selector.matchExpressions[0]: invalid type: sequence, expected a mapping")]
#[case::injection_strategy_as_a_list(one_set(with(base_set(), "/injectionStrategy", json!([true]))),
        "sidecarSets[0].injectionStrategy: invalid type: sequence, expected a mapping")]
#[case::pod_security_unknown_empty(one_set(with(base_set(), "/podSecurity", json!({"onViolaton": ""}))),
        "sidecarSets[0].podSecurity.onViolaton: unknown field; podSecurity has level, onViolation and defaults")]
#[case::app_containers_unknown_null(one_set(with(base_set(), "/appContainers", json!({"envs": null}))),
        "sidecarSets[0].appContainers.envs: unknown field; appContainers has names, nameRegex, env, envFrom and volumeMounts")]
#[case::shutdown_bound_negative(one_set(with(base_set(), "/shutdown", json!({"maxGracePeriodSeconds": -1}))),
        "sidecarSets[0].shutdown.maxGracePeriodSeconds: -1 is not a whole number of seconds from 1 to 86400")]
#[case::shutdown_unknown_null(one_set(with(base_set(), "/shutdown", json!({"extendGracePeriods": null}))),
        "sidecarSets[0].shutdown.extendGracePeriods: unknown field; shutdown has extendGracePeriod and maxGracePeriodSeconds")]
#[case::unknown_top_level(json!({"sidecarSet": []}),
        "sidecarSet: unknown field `sidecarSet`, expected one of `nativeSidecars`, `sidecarSets`, `mode`, `jobPods`, `explain`, `excludedNamespaces`, `skipHostNetworkPods`, `namespaceLookupFailure`, `podLevelResources`, `maxAddedRequests`, `protectInjected`, `checkPodSecurity`")]
#[case::unknown_set_field(one_set(with(base_set(), "/podInjectionPolicy", json!("x"))),
        "sidecarSets[0].podInjectionPolicy: unknown field `podInjectionPolicy`, expected one of `name`, `mandatory`, `selector`, `namespace`, `namespaceSelector`, `hostNetworkPods`, `nativeSidecars`, `initContainers`, `containers`, `volumes`, `imagePullSecrets`, `injectionStrategy`, `patchPodMetadata`, `revisions`, `allowRevisionPin`, `allowNamespacePin`, `tags`, `podSecurity`, `appContainers`, `shutdown`, `updateStrategy`, `revisionHistoryLimit`")]
#[case::missing_name(one_set(json!({"selector": {}})),
        "sidecarSets[0]: missing field `name`")]
#[case::bad_inject_policy(one_set(with(base_set(), "/containers/0/podInjectPolicy", json!("Before"))),
        "sidecarSets[0].containers[0].podInjectPolicy: \"Before\" is not one of BeforeAppContainer, AfterAppContainer")]
#[case::bad_operator(one_set(with(base_set(), "/selector", json!({"matchExpressions": [{"key": "a", "operator": "Equals"}]}))),
        "sidecarSets[0].selector.matchExpressions[0].operator: unknown variant `Equals`, expected one of `In`, `NotIn`, `Exists`, `DoesNotExist`")]
#[case::selector_typo(one_set(with(base_set(), "/selector", json!({"matchLabel": {"a": "b"}}))),
        "sidecarSets[0].selector.matchLabel: unknown field `matchLabel`, expected `matchLabels` or `matchExpressions`")]
#[case::bad_patch_policy(one_set(with(base_set(), "/patchPodMetadata", json!([{"annotations": {"a": "b"}, "patchPolicy": "Merge"}]))),
        "sidecarSets[0].patchPodMetadata[0].patchPolicy: unknown variant `Merge`, expected one of `Retain`, `Overwrite`, `MergePatchJson`")]
#[case::container_not_object(one_set(with(base_set(), "/containers/0", json!("fluent-bit"))),
        "sidecarSets[0].containers[0]: invalid type: string \"fluent-bit\", expected a map")]
#[case::container_without_name(one_set(with(base_set(), "/containers/0", json!({"image": "x"}))),
        "sidecarSets[0].containers[0].name: required; give the container a name (a DNS-1123 label)")]
#[case::container_name_number(one_set(with(base_set(), "/containers/0/name", json!(7))),
        "sidecarSets[0].containers[0].name: 7 is not a string; give the container a name (a DNS-1123 label)")]
#[case::paused_not_bool(one_set(with(base_set(), "/injectionStrategy", json!({"paused": "yes"}))),
        "sidecarSets[0].injectionStrategy.paused: invalid type: string \"yes\", expected a boolean")]
#[case::app_env_without_name(one_set(with(base_set(), "/appContainers", json!({"env": [{"value": "1"}]}))),
        "sidecarSets[0].appContainers.env[0].name: required, a string")]
#[case::app_unknown_field(one_set(with(base_set(), "/appContainers", json!({"containers": ["app"]}))),
        "sidecarSets[0].appContainers.containers: unknown field; appContainers has names, nameRegex, env, envFrom and volumeMounts")]
#[case::app_bad_regex(one_set(with(base_set(), "/appContainers", json!({"nameRegex": "app("}))),
        "sidecarSets[0].appContainers.nameRegex: unclosed ( at character 5; give a full-match pattern such as web|api-.*")]
#[case::app_not_a_list(one_set(with(base_set(), "/appContainers", json!({"env": {"A": "1"}}))),
        "sidecarSets[0].appContainers.env: {\"A\":\"1\"} is not a list")]
#[case::drain_negative(one_set(with(base_set(), "/containers/0/drainSeconds", json!(-5))),
        "sidecarSets[0].containers[0].drainSeconds: -5 is not a whole number of seconds from 1 to 86400")]
#[case::shutdown_not_bool(one_set(with(base_set(), "/shutdown", json!({"extendGracePeriod": "yes"}))),
        "sidecarSets[0].shutdown.extendGracePeriod: \"yes\" is not a boolean; use true or false")]
#[case::shutdown_unknown(one_set(with(base_set(), "/shutdown", json!({"drainSeconds": 5}))),
        "sidecarSets[0].shutdown.drainSeconds: unknown field; shutdown has extendGracePeriod and maxGracePeriodSeconds")]
fn parse_errors_name_the_field(#[case] settings: Value, #[case] expected: &str) {
    assert_eq!(problems(settings), expected);
}

#[rstest]
#[case::bad_set_name(with(base_set(), "/name", json!("Log_Shipper")),
        "sidecarSets[0].name: \"Log_Shipper\" is not a DNS-1123 label: use lower case letters, digits and '-', starting and ending with a letter or digit")]
#[case::no_selector(json!({"name": "a", "containers": []}),
        "sidecarSets[0].selector: required; use {} to select every Pod, or matchLabels / matchExpressions")]
#[case::empty_image(with(base_set(), "/containers/0/image", json!("")),
        "sidecarSets[0].containers[0].image: fluent-bit: required; give the sidecar's image reference")]
#[case::missing_image(with(base_set(), "/containers/0", json!({"name": "x"})),
        "sidecarSets[0].containers[0].image: x: required; give the sidecar's image reference")]
#[case::bad_container_name(with(base_set(), "/containers/0/name", json!("Fluent.Bit")),
        "sidecarSets[0].containers[0].name: \"Fluent.Bit\" is not a DNS-1123 label: use lower case letters, digits and '-', starting and ending with a letter or digit")]
#[case::restart_never(with(base_set(), "/containers/0/restartPolicy", json!("Never")),
        "sidecarSets[0].containers[0].restartPolicy: fluent-bit: \"Never\" is not allowed; the only container restartPolicy is Always (a native sidecar), or leave it out")]
#[case::restart_number_reported_once(with(base_set(), "/containers/0/restartPolicy", json!(5)),
        "sidecarSets[0].containers[0].restartPolicy: fluent-bit: expected a string, found the number 5")]
#[case::restart_on_after_app(with(with(base_set(), "/containers/0/restartPolicy", json!("Always")), "/containers/0/podInjectPolicy", json!("AfterAppContainer")),
        "sidecarSets[0].containers[0].restartPolicy: fluent-bit: only native sidecars take restartPolicy; this container is injected as a regular container (nativeSidecars: false or podInjectPolicy: AfterAppContainer), so remove the field")]
#[case::restart_on_regular(with(with(base_set(), "/containers/0/restartPolicy", json!("Always")), "/nativeSidecars", json!(false)),
        "sidecarSets[0].containers[0].restartPolicy: fluent-bit: only native sidecars take restartPolicy; this container is injected as a regular container (nativeSidecars: false or podInjectPolicy: AfterAppContainer), so remove the field")]
#[case::wrong_type_in_container(with(base_set(), "/containers/0/ports", json!([{"containerPort": "http"}])),
        "sidecarSets[0].containers[0].ports[0].containerPort: fluent-bit: expected an integer, found the string \"http\"")]
#[case::in_without_values(with(base_set(), "/selector", json!({"matchExpressions": [{"key": "a", "operator": "In"}]})),
        "sidecarSets[0].selector.matchExpressions[0].values: operator In needs at least one value")]
#[case::exists_with_values(with(base_set(), "/selector", json!({"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]})),
        "sidecarSets[0].selector.matchExpressions[0].values: operator Exists takes no values; remove them")]
#[case::update_strategy_type(with(base_set(), "/updateStrategy", json!({"type": "Rolling"})),
        "sidecarSets[0].updateStrategy.type: \"Rolling\" is not RollingUpdate or NotUpdate; give one of them")]
#[case::update_strategy_no_unavailable(with(base_set(), "/updateStrategy", json!({"maxUnavailable": 0})),
        "sidecarSets[0].updateStrategy.maxUnavailable: must be at least 1 (or 1%): 0 would never upgrade a Pod; use paused: true to stop a rollout")]
#[case::update_strategy_partition(with(base_set(), "/updateStrategy", json!({"partition": "150%"})),
        "sidecarSets[0].updateStrategy.partition: \"150%\" is not a whole number from 0 to 2147483647 or a percentage (\"25%\", 0% to 100%); give one")]
#[case::update_strategy_count_string(with(base_set(), "/updateStrategy", json!({"maxUnavailable": "2"})),
        "sidecarSets[0].updateStrategy.maxUnavailable: \"2\" is not a whole number from 0 to 2147483647 or a percentage (\"25%\", 0% to 100%); give one")]
#[case::update_strategy_paused(with(base_set(), "/updateStrategy", json!({"paused": "yes"})),
        "sidecarSets[0].updateStrategy.paused: must be true or false")]
#[case::update_strategy_scatter(with(base_set(), "/updateStrategy", json!({"scatterStrategy": [{"key": "a", "value": "b"}]})),
        "sidecarSets[0].updateStrategy.scatterStrategy: not supported: kubectl sidecarset upgrade orders Pods by owner and name; remove the field")]
#[case::update_strategy_unknown(with(base_set(), "/updateStrategy", json!({"maxSurge": 1})),
        "sidecarSets[0].updateStrategy.maxSurge: unknown field; updateStrategy has type, maxUnavailable, partition, paused and selector")]
#[case::update_strategy_not_a_mapping(with(base_set(), "/updateStrategy", json!("RollingUpdate")),
        "sidecarSets[0].updateStrategy: must be a mapping with type, maxUnavailable, partition, paused or selector (OpenKruise's fields); fix or remove it")]
#[case::update_strategy_selector(with(base_set(), "/updateStrategy", json!({"selector": {"matchExpressions": [{"key": "a", "operator": "In"}]}})),
        "sidecarSets[0].updateStrategy.selector.matchExpressions[0].values: operator In needs at least one value")]
#[case::update_strategy_bad_selector(with(base_set(), "/updateStrategy", json!({"selector": {"matchLabel": {"a": "b"}}})),
        "sidecarSets[0].updateStrategy.selector: not a label selector (unknown field `matchLabel`, expected `matchLabels` or `matchExpressions`); give matchLabels and/or matchExpressions")]
#[case::upgrade_strategy(with(base_set(), "/upgradeStrategy", json!({"type": "RollingUpdate"})),
        "sidecarSets[0].upgradeStrategy: not supported: it needs OpenKruise's controller; this policy rolls sidecars out with revisions, injectionStrategy.canary and in-place upgrades on Pod UPDATE instead (docs/rollout.md); remove the field. Supported fields: name, mandatory, selector, namespace, namespaceSelector, hostNetworkPods, nativeSidecars, initContainers, containers, volumes, imagePullSecrets, injectionStrategy.paused, injectionStrategy.canary, patchPodMetadata, revisions, allowRevisionPin, allowNamespacePin, tags, podSecurity, appContainers, shutdown, updateStrategy")]
#[case::hot_upgrade(with(base_set(), "/containers/0/upgradeStrategy", json!({"upgradeType": "HotUpgrade", "hotUpgradeEmptyImage": "empty:1"})),
        "sidecarSets[0].containers[0].upgradeStrategy.upgradeType: \"HotUpgrade\" is not supported: only ColdUpgrade, what this policy's in-place upgrade does (the sidecar restarts with its new image); HotUpgrade needs OpenKruise's controller and an empty hot-upgrade image. Use ColdUpgrade or remove the field")]
#[case::hot_upgrade_image(with(base_set(), "/containers/0/upgradeStrategy", json!({"upgradeType": "ColdUpgrade", "hotUpgradeEmptyImage": "empty:1"})),
        "sidecarSets[0].containers[0].upgradeStrategy.hotUpgradeEmptyImage: goes with HotUpgrade, which this policy does not do; remove it")]
#[case::revision_history_limit_negative(with(base_set(), "/revisionHistoryLimit", json!(-1)),
        "sidecarSets[0].revisionHistoryLimit: -1 is not a whole number from 0; OpenKruise's field is accepted and ignored (this policy keeps its revisions in revisions), so give a number or remove it")]
#[case::revision(with(base_set(), "/injectionStrategy", json!({"revision": {"customVersion": "v1"}})),
        "sidecarSets[0].injectionStrategy.revision: not supported: it needs OpenKruise's controller; this policy rolls sidecars out with revisions, injectionStrategy.canary and in-place upgrades on Pod UPDATE instead (docs/rollout.md); remove the field. Supported fields: name, mandatory, selector, namespace, namespaceSelector, hostNetworkPods, nativeSidecars, initContainers, containers, volumes, imagePullSecrets, injectionStrategy.paused, injectionStrategy.canary, patchPodMetadata, revisions, allowRevisionPin, allowNamespacePin, tags, podSecurity, appContainers, shutdown, updateStrategy")]
#[case::resources_policy_no_mode(with(base_set(), "/containers/0/resourcesPolicy", json!({"resourcesExpr": {"requests": {"cpu": "cpu"}}})),
        "sidecarSets[0].containers[0].resourcesPolicy: missing field `targetContainersMode`; resourcesPolicy takes targetContainersMode (sum or max), targetContainersNameRegex and resourcesExpr (requests and limits: cpu and memory expressions)")]
#[case::resources_policy_bad_mode(with(base_set(), "/containers/0/resourcesPolicy", json!({"targetContainersMode": "avg", "resourcesExpr": {"requests": {"cpu": "cpu"}}})),
        "sidecarSets[0].containers[0].resourcesPolicy.targetContainersMode: unknown variant `avg`, expected `sum` or `max`; resourcesPolicy takes targetContainersMode (sum or max), targetContainersNameRegex and resourcesExpr (requests and limits: cpu and memory expressions)")]
#[case::resources_and_policy(with(with(base_set(), "/containers/0/resourcesPolicy", json!({"targetContainersMode": "sum", "resourcesExpr": {"requests": {"cpu": "cpu"}}})), "/containers/0/resources", json!({"requests": {"cpu": "1"}})),
        "sidecarSets[0].containers[0].resourcesPolicy: fluent-bit: the container also sets resources; use resources (fixed values) or resourcesPolicy (computed from the Pod), not both")]
#[case::resources_policy_on_init(with(base_set(), "/initContainers", json!([{"name": "init", "image": "busybox", "resourcesPolicy": {"targetContainersMode": "max", "resourcesExpr": {"requests": {"cpu": "cpu"}}}}])),
        "sidecarSets[0].initContainers[0].resourcesPolicy: init: an init container that runs to completion is not sized from the Pod; use resourcesPolicy on a container or a native sidecar (restartPolicy: Always)")]
#[case::resources_policy_empty(with(base_set(), "/containers/0/resourcesPolicy", json!({"targetContainersMode": "sum", "resourcesExpr": {}})),
        "sidecarSets[0].containers[0].resourcesPolicy.resourcesExpr: fluent-bit: give requests or limits, each with cpu and/or memory expressions, such as {requests: {cpu: \"max(cpu*50%, 50m)\"}}")]
#[case::resources_policy_bad_expr(with(base_set(), "/containers/0/resourcesPolicy", json!({"targetContainersMode": "sum", "resourcesExpr": {"limits": {"cpu": "max(cpu*50%, 50m"}}})),
        "sidecarSets[0].containers[0].resourcesPolicy.resourcesExpr.limits.cpu: fluent-bit: \"max(cpu*50%, 50m\" at character 17: \")\" expected, found the end")]
#[case::resources_policy_other_resource(with(base_set(), "/containers/0/resourcesPolicy", json!({"targetContainersMode": "sum", "resourcesExpr": {"requests": {"nvidia.com/gpu": "1"}}})),
        "sidecarSets[0].containers[0].resourcesPolicy.resourcesExpr.requests.nvidia.com/gpu: fluent-bit: only cpu and memory are computed; remove nvidia.com/gpu")]
#[case::resources_policy_bad_regex(with(base_set(), "/containers/0/resourcesPolicy", json!({"targetContainersMode": "sum", "targetContainersNameRegex": "app(", "resourcesExpr": {"requests": {"cpu": "cpu"}}})),
        "sidecarSets[0].containers[0].resourcesPolicy.targetContainersNameRegex: fluent-bit: \"app(\" is not a supported regular expression: unclosed ( at character 5")]
#[case::resource_bounds_min_above_max(with(base_set(), "/containers/0/resourceBounds", json!({"min": {"cpu": "2"}, "max": {"cpu": "1"}})),
        "sidecarSets[0].containers[0].resourceBounds.min.cpu: fluent-bit: \"2\" is above max.cpu \"1\"; make min at most max")]
#[case::resource_bounds_not_quantity(with(base_set(), "/containers/0/resourceBounds", json!({"max": {"memory": "1 GB"}})),
        "sidecarSets[0].containers[0].resourceBounds.max.memory: fluent-bit: \"1 GB\" is not a quantity: unknown suffix \" GB\" (use m, k, M, G, Ki, Mi, Gi, …)")]
#[case::resource_bounds_negative(with(base_set(), "/containers/0/resourceBounds", json!({"min": {"cpu": "-1"}})),
        "sidecarSets[0].containers[0].resourceBounds.min.cpu: fluent-bit: \"-1\" is below zero; give a quantity of 0 or more")]
#[case::resource_bounds_unknown_side(with(base_set(), "/containers/0/resourceBounds", json!({"maximum": {"cpu": "1"}})),
        "sidecarSets[0].containers[0].resourceBounds.maximum: unknown field `maximum`, expected `min` or `max`; resourceBounds takes min and max, each with quantities by resource, such as {cpu: 10m, memory: 32Mi}")]
#[case::revision_named_current(with(base_set(), "/revisions", json!([{"name": "current", "images": {"fluent-bit": "fluent-bit:4"}}])),
        "sidecarSets[0].revisions[0].name: \"current\" is the set's own definition; give the revision another name")]
#[case::revision_unknown_container(with(base_set(), "/revisions", json!([{"name": "v4", "images": {"fluentbit": "fluent-bit:4"}}])),
        "sidecarSets[0].revisions[0].images.fluentbit: the set has no container or init container \"fluentbit\" (it has fluent-bit); a revision changes only the images of the set's own containers")]
#[case::revision_twice(with(base_set(), "/revisions", json!([{"name": "v4", "images": {"fluent-bit": "a"}}, {"name": "v4", "images": {"fluent-bit": "b"}}])),
        "sidecarSets[0].revisions[1].name: \"v4\" is already a revision of this set; revision names must be unique in the set")]
#[case::revision_without_images(with(base_set(), "/revisions", json!([{"name": "v4"}])),
        "sidecarSets[0].revisions[0].images: give the image of at least one of the set's containers, such as {fluent-bit: <image>}")]
#[case::revision_unknown_field(with(base_set(), "/revisions", json!([{"name": "v4", "image": "x"}])),
        "sidecarSets[0].revisions[0].image: unknown field `image`, expected `name` or `images`")]
#[case::canary_not_listed(with(base_set(), "/injectionStrategy", json!({"canary": {"revision": "v4", "percent": 10}})),
        "sidecarSets[0].injectionStrategy.canary.revision: \"v4\" is not one of the set's revisions (it has none); list it under revisions")]
#[case::canary_percent(with(with(base_set(), "/revisions", json!([{"name": "v4", "images": {"fluent-bit": "b"}}])), "/injectionStrategy", json!({"canary": {"revision": "v4", "percent": 150}})),
        "sidecarSets[0].injectionStrategy.canary.percent: 150 is not a percentage; give a whole number from 0 to 100")]
#[case::canary_by(with(with(base_set(), "/revisions", json!([{"name": "v4", "images": {"fluent-bit": "b"}}])), "/injectionStrategy", json!({"canary": {"revision": "v4", "percent": 10, "by": "node"}})),
        "sidecarSets[0].injectionStrategy.canary.by: unknown variant `node`, expected `owner` or `pod`")]
#[case::long_name_with_revisions(with(with(base_set(), "/revisions", json!([{"name": "v4", "images": {"fluent-bit": "b"}}])), "/name", json!("a".repeat(60))),
        "sidecarSets[0].name: a set with revisions labels its Pods sidecarset.kubewarden.io/rev.<name>, and a label name has 63 characters at most; use a set name of 59 characters at most")]
#[case::critical_not_bool(with(base_set(), "/containers/0/critical", json!("no")),
        "sidecarSets[0].containers[0].critical: \"no\" is not a boolean; use true or false")]
#[case::transfer_env_without_source(with(base_set(), "/containers/0/transferEnv", json!([{"envName": "A"}])),
        "sidecarSets[0].containers[0].transferEnv[0]: fluent-bit: name the app container to copy from, with sourceContainerName or sourceContainerNameFrom.fieldRef.fieldPath")]
#[case::transfer_env_two_sources(with(base_set(), "/containers/0/transferEnv", json!([{"sourceContainerName": "app", "sourceContainerNameFrom": {"fieldRef": {"fieldPath": "metadata.labels['c']"}}, "envName": "A"}])),
        "sidecarSets[0].containers[0].transferEnv[0]: fluent-bit: sourceContainerName and sourceContainerNameFrom are exclusive; keep one")]
#[case::transfer_env_bad_field_path(with(base_set(), "/containers/0/transferEnv", json!([{"sourceContainerNameFrom": {"fieldRef": {"fieldPath": "metadata.name"}}, "envName": "A"}])),
        "sidecarSets[0].containers[0].transferEnv[0].sourceContainerNameFrom.fieldRef.fieldPath: fluent-bit: \"metadata.name\" is not supported; use metadata.labels['key'] or metadata.annotations['key'], whose value names the app container")]
#[case::transfer_env_no_field_ref(with(base_set(), "/containers/0/transferEnv", json!([{"sourceContainerNameFrom": {}, "envName": "A"}])),
        "sidecarSets[0].containers[0].transferEnv[0].sourceContainerNameFrom.fieldRef: fluent-bit: required; give fieldPath: metadata.labels['key'] or metadata.annotations['key']")]
#[case::transfer_env_no_names(with(base_set(), "/containers/0/transferEnv", json!([{"sourceContainerName": "app"}])),
        "sidecarSets[0].containers[0].transferEnv[0]: fluent-bit: name the variables to copy with envName or envNames")]
#[case::transfer_env_bad_source(with(base_set(), "/containers/0/transferEnv", json!([{"sourceContainerName": "App", "envNames": ["A", "B=C"]}])),
        "sidecarSets[0].containers[0].transferEnv[0].sourceContainerName: fluent-bit: \"App\" is not a DNS-1123 label: use lower case letters, digits and '-', starting and ending with a letter or digit; sidecarSets[0].containers[0].transferEnv[0]: fluent-bit: \"B=C\" is not an environment variable name; use a non-empty name without '='")]
#[case::transfer_env_unknown_key(with(base_set(), "/containers/0/transferEnv", json!([{"sourceContainer": "app", "envName": "A"}])),
        "sidecarSets[0].containers[0].transferEnv[0].sourceContainer: unknown field `sourceContainer`, expected one of `sourceContainerName`, `sourceContainerNameFrom`, `envName`, `envNames`; each entry takes sourceContainerName (or sourceContainerNameFrom.fieldRef.fieldPath) and envName or envNames")]
#[case::share_volume_policy(with(base_set(), "/containers/0/shareVolumePolicy", json!({"type": "Enabled"})),
        "sidecarSets[0].containers[0].shareVolumePolicy: {\"type\":\"Enabled\"} is not {type: enabled} or {type: disabled}")]
#[case::namespace_selector(with(base_set(), "/namespaceSelector", json!({"matchExpressions": [{"key": "mesh", "operator": "In"}]})),
        "sidecarSets[0].namespaceSelector.matchExpressions[0].values: operator In needs at least one value")]
#[case::host_network_pods(with(base_set(), "/hostNetworkPods", json!("always")),
        "sidecarSets[0].hostNetworkPods: unknown variant `always`, expected one of ``, `skip`, `inject`")]
#[case::excluded_namespace(with(base_set(), "/namespace", json!("kube-system")),
        "sidecarSets[0].namespace: \"kube-system\" is in excludedNamespaces, so this set would never apply; remove it from excludedNamespaces or target another namespace")]
#[case::merge_patch_not_object(with(base_set(), "/patchPodMetadata", json!([{"annotations": {"a": "[1]"}, "patchPolicy": "MergePatchJson"}])),
        "sidecarSets[0].patchPodMetadata[0].annotations[\"a\"]: with patchPolicy MergePatchJson the value must be a JSON object, such as '{\"key\":\"value\"}'")]
#[case::own_annotation(with(base_set(), "/patchPodMetadata", json!([{"annotations": {"sidecarset.kubewarden.io/inject": "false"}}])),
        "sidecarSets[0].patchPodMetadata[0].annotations[\"sidecarset.kubewarden.io/inject\"]: the sidecarset.kubewarden.io/ annotations belong to this policy; use another key")]
#[case::deletion_cost_not_int32(with(base_set(), "/patchPodMetadata", json!([{"annotations": {"controller.kubernetes.io/pod-deletion-cost": "3000000000"}}])),
        "sidecarSets[0].patchPodMetadata[0].annotations[\"controller.kubernetes.io/pod-deletion-cost\"]: the API server takes only a 32-bit integer, such as \"100\" or \"-5\"; write one")]
#[case::deletion_cost_plus(with(base_set(), "/patchPodMetadata", json!([{"annotations": {"controller.kubernetes.io/pod-deletion-cost": "+5"}}])),
        "sidecarSets[0].patchPodMetadata[0].annotations[\"controller.kubernetes.io/pod-deletion-cost\"]: the API server takes only a 32-bit integer, such as \"100\" or \"-5\"; write one")]
#[case::seccomp_pod_annotation(with(base_set(), "/patchPodMetadata", json!([{"annotations": {"seccomp.security.alpha.kubernetes.io/pod": "runtime/default"}}])),
        "sidecarSets[0].patchPodMetadata[0].annotations[\"seccomp.security.alpha.kubernetes.io/pod\"]: a deprecated security profile annotation, which the API server checks against the containers' securityContext (and refuses on a mismatch); set securityContext.seccompProfile or appArmorProfile in the set's containers instead")]
#[case::apparmor_annotation(with(base_set(), "/patchPodMetadata", json!([{"annotations": {"container.apparmor.security.beta.kubernetes.io/fluent-bit": "runtime/default"}}])),
        "sidecarSets[0].patchPodMetadata[0].annotations[\"container.apparmor.security.beta.kubernetes.io/fluent-bit\"]: a deprecated security profile annotation, which the API server checks against the containers' securityContext (and refuses on a mismatch); set securityContext.seccompProfile or appArmorProfile in the set's containers instead")]
#[case::annotation_key_not_qualified(with(base_set(), "/patchPodMetadata", json!([{"annotations": {"example.com/team owner": "x"}}])),
        "sidecarSets[0].patchPodMetadata[0].annotations[\"example.com/team owner\"]: not a key the API server takes: an optional DNS subdomain prefix and '/', then a name of at most 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit; fix the key")]
#[case::mirror_annotation(with(base_set(), "/patchPodMetadata", json!([{"annotations": {"kubernetes.io/config.mirror": "x"}}])),
        "sidecarSets[0].patchPodMetadata[0].annotations[\"kubernetes.io/config.mirror\"]: marks a static Pod's mirror, which only the kubelet writes; remove it")]
#[case::resource_bounds_extended(with(base_set(), "/containers/0/resourceBounds", json!({"max": {"cpu": "1", "example.com/gpu": "1"}})),
        "sidecarSets[0].containers[0].resourceBounds.max.example.com/gpu: fluent-bit: only cpu, memory and ephemeral-storage can be bounded (a Pod's override sets requests and limits apart, which the API server refuses for example.com/gpu); remove example.com/gpu, or give it in the container's resources")]
#[case::resource_bounds_hugepages(with(base_set(), "/containers/0/resourceBounds", json!({"min": {"hugepages-2Mi": "2Mi"}})),
        "sidecarSets[0].containers[0].resourceBounds.min.hugepages-2Mi: fluent-bit: only cpu, memory and ephemeral-storage can be bounded (a Pod's override sets requests and limits apart, which the API server refuses for hugepages-2Mi); remove hugepages-2Mi, or give it in the container's resources")]
#[case::bad_volume(with(base_set(), "/volumes", json!([{"name": "v", "emptyDir": {"medium": 5}}])),
        "sidecarSets[0].volumes[0].emptyDir.medium: expected a string, found the number 5")]
#[case::pod_inject_policy_on_init(with(base_set(), "/initContainers", json!([{"name": "init", "image": "busybox", "podInjectPolicy": "AfterAppContainer"}])),
        "sidecarSets[0].initContainers[0].podInjectPolicy: init: applies to containers only; init containers always run before the Pod's own init containers")]
#[case::app_names_and_regex(with(base_set(), "/appContainers", json!({"names": ["app"], "nameRegex": "app", "env": [{"name": "A", "value": "1"}]})),
        "sidecarSets[0].appContainers: give names or nameRegex, not both; without either, every app container")]
#[case::app_mount_of_no_volume(with(base_set(), "/appContainers", json!({"volumeMounts": [{"name": "socket", "mountPath": "/run/x"}]})),
        "sidecarSets[0].appContainers.volumeMounts[0].name: \"socket\" is not a volume of this set; add it to the set's volumes, or mount one of them (it has none)")]
#[case::app_env_twice(with(base_set(), "/appContainers", json!({"env": [{"name": "A", "value": "1"}, {"name": "A", "value": "2"}]})),
        "sidecarSets[0].appContainers.env[1]: \"A\" is given twice; give it once")]
#[case::app_env_typo(with(base_set(), "/appContainers", json!({"env": [{"name": "A", "valueFrom": {"fieldRef": {"fieldPth": "metadata.name"}}}]})),
        "sidecarSets[0].appContainers.env[0].valueFrom.fieldRef.fieldPath: required; sidecarSets[0].appContainers.env[0].valueFrom.fieldRef.fieldPth: unknown field; did you mean `fieldPath`? (an unknown field would pass into the Pod unread)")]
#[case::drain_on_init(with(base_set(), "/initContainers", json!([{"name": "init", "image": "busybox", "drainSeconds": 5}])),
        "sidecarSets[0].initContainers[0].drainSeconds: init: only a sidecar of containers drains (a regular one, with nativeSidecars: false); an init container has run to completion, and a native sidecar already stops after the app containers; remove it")]
fn set_problems(#[case] set: Value, #[case] expected: &str) {
    assert_eq!(problems(one_set(set)), expected);
}

/// What the API server refuses in every Pod (`ValidatePodCreate`), refused
/// when the settings load: one case per rule of `settings::apiserver`.
#[rstest]
#[case::quantity_with_a_space(with(base_set(), "/containers/0/resources", json!({"requests": {"cpu": "20 m"}})),
        "sidecarSets[0].containers[0].resources.requests.cpu: fluent-bit: \"20 m\" is not a quantity: unknown suffix \" m\" (use m, k, M, G, Ki, Mi, Gi, …); write a quantity such as 100m, 0.5 or 64Mi")]
#[case::request_above_limit(with(base_set(), "/containers/0/resources", json!({"requests": {"memory": "1Gi"}, "limits": {"memory": "512Mi"}})),
        "sidecarSets[0].containers[0].resources.requests.memory: fluent-bit: above its limit; make it at most resources.limits.memory")]
#[case::bidirectional_unprivileged(with(base_set(), "/containers/0/volumeMounts", json!([{"name": "v", "mountPath": "/v", "mountPropagation": "Bidirectional"}])),
        "sidecarSets[0].containers[0].volumeMounts[0].mountPropagation: fluent-bit: Bidirectional is allowed only in a privileged container (securityContext.privileged: true); use HostToContainer, or make the container privileged")]
#[case::recursive_read_only_writable(with(base_set(), "/containers/0/volumeMounts", json!([{"name": "v", "mountPath": "/v", "recursiveReadOnly": "Enabled"}])),
        "sidecarSets[0].containers[0].volumeMounts[0].recursiveReadOnly: fluent-bit: Enabled needs readOnly: true; add it, or remove recursiveReadOnly")]
#[case::mount_at_a_device_path(with(with(base_set(), "/containers/0/volumeDevices", json!([{"name": "disk", "devicePath": "/dev/xvda"}])), "/containers/0/volumeMounts", json!([{"name": "v", "mountPath": "/dev/xvda/"}])),
        "sidecarSets[0].containers[0].volumeMounts[0].mountPath: fluent-bit: \"/dev/xvda/\" is also a volumeDevices path; the API server refuses a mount there")]
#[case::mount_path_twice_spelled_otherwise(with(base_set(), "/containers/0/volumeMounts", json!([{"name": "v", "mountPath": "/v"}, {"name": "w", "mountPath": "/x/../v/"}])),
        "sidecarSets[0].containers[0].volumeMounts[1].mountPath: fluent-bit: \"/x/../v/\" names a directory mounted already (paths are compared as the kernel resolves them); mount each directory once")]
#[case::sub_path_escapes(with(base_set(), "/containers/0/volumeMounts", json!([{"name": "v", "mountPath": "/v", "subPath": "../etc"}])),
        "sidecarSets[0].containers[0].volumeMounts[0].subPath: fluent-bit: \"../etc\" must be a relative path without '..'")]
#[case::probe_two_handlers(with(base_set(), "/containers/0/readinessProbe", json!({"exec": {"command": ["true"]}, "tcpSocket": {"port": 80}})),
        "sidecarSets[0].containers[0].readinessProbe: fluent-bit: exec, tcpSocket set; the API server takes exactly one of exec, httpGet, tcpSocket, grpc")]
#[case::liveness_success_threshold(with(base_set(), "/containers/0/livenessProbe", json!({"exec": {"command": ["true"]}, "successThreshold": 2})),
        "sidecarSets[0].containers[0].livenessProbe.successThreshold: fluent-bit: must be 1 for a livenessProbe")]
#[case::probe_on_init(with(base_set(), "/initContainers", json!([{"name": "init", "image": "busybox", "startupProbe": {"exec": {"command": ["true"]}}}])),
        "sidecarSets[0].initContainers[0].startupProbe: init: an init container that runs to completion takes no startupProbe; remove it, or make the container a native sidecar (restartPolicy: Always)")]
#[case::zero_sleep(with(base_set(), "/containers/0/lifecycle", json!({"preStop": {"sleep": {"seconds": 0}}})),
        "sidecarSets[0].containers[0].lifecycle.preStop.sleep.seconds: fluent-bit: must be 1 or more (API servers before v1.33 refuse 0)")]
#[case::escalation_beside_privileged(with(base_set(), "/containers/0/securityContext", json!({"privileged": true, "allowPrivilegeEscalation": false})),
        "sidecarSets[0].containers[0].securityContext.allowPrivilegeEscalation: fluent-bit: false cannot go with privileged: true or CAP_SYS_ADMIN; remove one")]
#[case::port_out_of_range(with(base_set(), "/containers/0/ports", json!([{"containerPort": 70000}])),
        "sidecarSets[0].containers[0].ports[0].containerPort: fluent-bit: give a port between 1 and 65535")]
#[case::port_name_twice(with(base_set(), "/containers/0/ports", json!([{"containerPort": 80, "name": "http"}, {"containerPort": 81, "name": "http"}])),
        "sidecarSets[0].containers[0].ports[1].name: \"http\" is used twice; name each port once")]
#[case::env_name(with(base_set(), "/containers/0/env", json!([{"name": "1A", "value": "x"}])),
        "sidecarSets[0].containers[0].env[0].name: \"1A\" is not a variable name; use letters, digits, '_', '-' and '.', not starting with a digit (the rule of API servers before v1.32)")]
#[case::env_two_sources(with(base_set(), "/containers/0/env", json!([{"name": "A", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}, "secretKeyRef": {"name": "s", "key": "k"}}}])),
        "sidecarSets[0].containers[0].env[0].valueFrom: fluent-bit: fieldRef, secretKeyRef set; the API server takes exactly one of fieldRef, resourceFieldRef, configMapKeyRef, secretKeyRef")]
#[case::volume_two_sources(with(base_set(), "/volumes", json!([{"name": "v", "emptyDir": {}, "configMap": {"name": "c"}}])),
        "sidecarSets[0].volumes[0]: emptyDir, configMap set; the API server takes exactly one of emptyDir, hostPath, secret, configMap, persistentVolumeClaim, projected, downwardAPI, ephemeral, csi, image, nfs, iscsi, glusterfs, rbd, flexVolume, cinder, cephfs, flocker, fc, azureFile, vsphereVolume, quobyte, azureDisk, photonPersistentDisk, portworxVolume, scaleIO, storageos, gcePersistentDisk, awsElasticBlockStore")]
#[case::empty_dir_size(with(base_set(), "/volumes", json!([{"name": "v", "emptyDir": {"sizeLimit": "1 Gi"}}])),
        "sidecarSets[0].volumes[0].emptyDir.sizeLimit: \"1 Gi\" is not a quantity: unknown suffix \" Gi\" (use m, k, M, G, Ki, Mi, Gi, …); write a quantity such as 100m, 0.5 or 64Mi")]
#[case::app_recursive_read_only(with(with(base_set(), "/volumes", json!([{"name": "v", "emptyDir": {}}])), "/appContainers", json!({"volumeMounts": [{"name": "v", "mountPath": "/v", "recursiveReadOnly": "IfPossible", "readOnly": true, "mountPropagation": "HostToContainer"}]})),
        "sidecarSets[0].appContainers.volumeMounts[0].recursiveReadOnly: IfPossible needs mountPropagation None or unset")]
#[case::app_mount_twice(with(with(base_set(), "/volumes", json!([{"name": "v", "emptyDir": {}}])), "/appContainers", json!({"volumeMounts": [{"name": "v", "mountPath": "/v"}, {"name": "v", "mountPath": "//v"}]})),
        "sidecarSets[0].appContainers.volumeMounts[1].mountPath: \"//v\" names a directory mounted already (paths are compared as the kernel resolves them); mount each directory once")]
#[case::volume_without_source(with(base_set(), "/volumes", json!([{"name": "v"}])),
        "sidecarSets[0].volumes[0]: none set; the API server takes exactly one of emptyDir, hostPath, secret, configMap, persistentVolumeClaim, projected, downwardAPI, ephemeral, csi, image, nfs, iscsi, glusterfs, rbd, flexVolume, cinder, cephfs, flocker, fc, azureFile, vsphereVolume, quobyte, azureDisk, photonPersistentDisk, portworxVolume, scaleIO, storageos, gcePersistentDisk, awsElasticBlockStore")]
#[case::value_beside_value_from(with(base_set(), "/containers/0/env", json!([{"name": "A", "value": "x", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}])),
        "sidecarSets[0].containers[0].env[0]: fluent-bit: value and valueFrom are both set; give one")]
#[case::env_from_two_sources(with(base_set(), "/containers/0/envFrom", json!([{"configMapRef": {"name": "c"}, "secretRef": {"name": "s"}}])),
        "sidecarSets[0].containers[0].envFrom[0]: fluent-bit: configMapRef, secretRef set; the API server takes exactly one of configMapRef, secretRef")]
#[case::env_from_prefix(with(base_set(), "/containers/0/envFrom", json!([{"prefix": "9_", "configMapRef": {"name": "c"}}])),
        "sidecarSets[0].containers[0].envFrom[0].prefix: fluent-bit: \"9_\" cannot begin a variable name; use letters, digits, '_', '-' and '.', not starting with a digit (the rule of API servers before v1.32)")]
#[case::device_path_twice(with(base_set(), "/containers/0/volumeDevices", json!([{"name": "a", "devicePath": "/dev/a"}, {"name": "b", "devicePath": "/dev//a"}])),
        "sidecarSets[0].containers[0].volumeDevices[1].devicePath: fluent-bit: used twice; give each device its own path")]
#[case::mount_path_empty(with(base_set(), "/containers/0/volumeMounts", json!([{"name": "v", "mountPath": ""}])),
        "sidecarSets[0].containers[0].volumeMounts[0].mountPath: fluent-bit: required; give the directory to mount at")]
#[case::sub_path_and_expr(with(base_set(), "/containers/0/volumeMounts", json!([{"name": "v", "mountPath": "/v", "subPath": "a", "subPathExpr": "$(A)"}])),
        "sidecarSets[0].containers[0].volumeMounts[0]: fluent-bit: subPath and subPathExpr are both set; give one")]
#[case::propagation_unknown(with(base_set(), "/containers/0/volumeMounts", json!([{"name": "v", "mountPath": "/v", "mountPropagation": "Shared"}])),
        "sidecarSets[0].containers[0].volumeMounts[0].mountPropagation: fluent-bit: \"Shared\" is not None, HostToContainer or Bidirectional")]
#[case::recursive_read_only_unknown(with(base_set(), "/containers/0/volumeMounts", json!([{"name": "v", "mountPath": "/v", "readOnly": true, "recursiveReadOnly": "Always"}])),
        "sidecarSets[0].containers[0].volumeMounts[0].recursiveReadOnly: fluent-bit: \"Always\" is not Disabled, Enabled or IfPossible")]
#[case::quantity_below_zero(with(base_set(), "/containers/0/resources", json!({"limits": {"cpu": "-1"}})),
        "sidecarSets[0].containers[0].resources.limits.cpu: fluent-bit: \"-1\" is below zero; give 0 or more")]
#[case::host_port_out_of_range(with(base_set(), "/containers/0/ports", json!([{"containerPort": 80, "hostPort": 70000}])),
        "sidecarSets[0].containers[0].ports[0].hostPort: fluent-bit: give a port between 0 and 65535")]
#[case::port_protocol(with(base_set(), "/containers/0/ports", json!([{"containerPort": 80, "protocol": "HTTP"}])),
        "sidecarSets[0].containers[0].ports[0].protocol: fluent-bit: give TCP, UDP or SCTP")]
#[case::port_name(with(base_set(), "/containers/0/ports", json!([{"containerPort": 80, "name": "Web--1"}])),
        "sidecarSets[0].containers[0].ports[0].name: \"Web--1\" is not a port name: at most 15 lower case letters, digits and '-', with a letter, no '--', not starting or ending with '-'")]
#[case::startup_success_threshold(with(base_set(), "/initContainers", json!([{"name": "proxy", "image": "p", "restartPolicy": "Always", "startupProbe": {"exec": {"command": ["true"]}, "successThreshold": 3}}])),
        "sidecarSets[0].initContainers[0].startupProbe.successThreshold: proxy: must be 1 for a startupProbe")]
#[case::misspelled_handler_is_one_problem(with(base_set(), "/containers/0/readinessProbe", json!({"httpget": {"port": 80}})),
        "sidecarSets[0].containers[0].readinessProbe.httpget: fluent-bit: unknown field; did you mean `httpGet`? (an unknown field would pass into the Pod unread)")]
#[case::misspelled_volume_source_is_one_problem(with(base_set(), "/volumes", json!([{"name": "v", "emptyDri": {}}])),
        "sidecarSets[0].volumes[0].emptyDri: unknown field; did you mean `emptyDir`? (an unknown field would pass into the Pod unread)")]
fn api_server_rules(#[case] set: Value, #[case] expected: &str) {
    assert_eq!(problems(one_set(set)), expected);
}

#[rstest]
#[case::max_added_not_quantity(json!({"maxAddedRequests": {"cpu": "lots"}}),
        "maxAddedRequests.cpu: \"lots\" is not a quantity: a number was expected")]
#[case::max_added_not_string(json!({"maxAddedRequests": {"cpu": [1]}}),
        "maxAddedRequests.cpu: invalid type: sequence, expected a quantity, such as 500m or 1Gi")]
#[case::pod_level_unknown(json!({"podLevelResources": "grow"}),
        "podLevelResources: unknown variant `grow`, expected `add` or `reject`")]
fn resource_setting_problems(#[case] settings: Value, #[case] expected: &str) {
    assert_eq!(problems(settings), expected);
}

#[test]
fn resource_settings_accepted() {
    let set = with(
        with(
            with(
                base_set(),
                "/containers/0/resourcesPolicy",
                // OpenKruise's proposal spells two fields so: both are read.
                json!({"targetContainerMode": "max", "resourceExpr": {"limits": {"memory": "memory*20% + 64Mi"}}}),
            ),
            "/containers/0/resourceBounds",
            json!({"min": {"cpu": "10m"}, "max": {"cpu": 1, "memory": "1Gi"}}),
        ),
        "/containers/0/critical",
        json!(false),
    );
    let mut settings = one_set(set);
    settings["maxAddedRequests"] = json!({"cpu": "500m", "memory": "512Mi"});
    settings["podLevelResources"] = json!("reject");
    assert_eq!(problems(settings.clone()), "");
    let parsed = Settings::from_slice(settings.to_string().as_bytes()).unwrap();
    let container = &parsed.sidecar_sets[0].containers[0];
    assert!(!container.critical);
    let policy = container.resources_policy.as_ref().unwrap();
    assert_eq!(policy.target_containers_name_regex, ".*");
    assert_eq!(
        container.resource_bounds.as_ref().unwrap().max["cpu"].0,
        "1"
    );
    assert!(!container.spec.contains_key("resourceBounds"));
    assert_eq!(parsed.pod_level_resources, PodLevelResources::Reject);
}

fn proxy() -> Value {
    json!({"name": "envoy", "image": "envoy:v1.33.0", "waitForReady": true, "readinessProbe": {"httpGet": {"path": "/ready", "port": 9901}}})
}

fn two_sets(mesh_containers: Value, client: Value) -> Value {
    json!({"sidecarSets": [
        {"name": "mesh", "selector": {}, "containers": mesh_containers},
        with(json!({"name": "db-client", "selector": {}}), "/initContainers", client),
    ]})
}

#[rstest]
#[case::classic(two_sets(json!([proxy()]), json!([{"name": "schema-check", "image": "s:1", "dependsOn": ["envoy"]}])), "")]
#[case::own_init_container(two_sets(json!([proxy()]), json!([{"name": "schema-check", "image": "s:1", "dependsOn": ["db-migrate"]}])), "")]
#[case::cycle(two_sets(json!([with(proxy(), "/dependsOn", json!(["schema-check"]))]), json!([{"name": "schema-check", "image": "s:1", "dependsOn": ["envoy"]}])),
        "sidecarSets[0].containers[0].dependsOn: dependsOn cycle: envoy → schema-check → envoy; remove one of these dependencies")]
#[case::itself(two_sets(json!([with(proxy(), "/dependsOn", json!(["envoy"]))]), json!([])),
        "sidecarSets[0].containers[0].dependsOn[0]: envoy: it cannot depend on itself; remove it")]
#[case::not_a_name(two_sets(json!([with(proxy(), "/dependsOn", json!(["Db_Migrate"]))]), json!([])),
        "sidecarSets[0].containers[0].dependsOn[0]: envoy: \"Db_Migrate\" is not a DNS-1123 label: use lower case letters, digits and '-', starting and ending with a letter or digit; it names no container of the settings, so it must be the name of one of the Pod's own init containers")]
#[case::not_a_list(two_sets(json!([with(proxy(), "/dependsOn", json!("envoy"))]), json!([])),
        "sidecarSets[0].containers[0].dependsOn: \"envoy\" is not a list of container names, such as [envoy]")]
#[case::init_after_app_container(two_sets(json!([with(with(proxy(), "/podInjectPolicy", json!("AfterAppContainer")), "/waitForReady", json!(false))]), json!([{"name": "schema-check", "image": "s:1", "dependsOn": ["envoy"]}])),
        "sidecarSets[1].initContainers[0].dependsOn[0]: schema-check is an init container and cannot wait for envoy, a container after the app containers (podInjectPolicy: AfterAppContainer), which starts after it; make envoy start earlier or remove the dependency")]
#[case::native_after_regular(json!({"sidecarSets": [
            {"name": "mesh", "selector": {}, "nativeSidecars": false, "containers": [{"name": "envoy", "image": "e", "lifecycle": {"postStart": {"exec": {"command": ["wait"]}}}}]},
            {"name": "logs", "selector": {}, "containers": [{"name": "fluent-bit", "image": "f", "dependsOn": ["envoy"]}]}]}),
        "sidecarSets[1].containers[0].dependsOn[0]: fluent-bit is a native sidecar (an init container with restartPolicy: Always) and cannot wait for envoy, a regular sidecar in spec.containers (nativeSidecars: false), which starts after it; make envoy start earlier or remove the dependency")]
#[case::dependency_not_waited_for(two_sets(json!([{"name": "envoy", "image": "e"}]), json!([{"name": "schema-check", "image": "s:1", "dependsOn": ["envoy"]}])),
        "")]
#[case::regular_dependency_not_waited_for(json!({"sidecarSets": [{"name": "mesh", "selector": {}, "nativeSidecars": false, "containers": [
            {"name": "envoy", "image": "e"}, {"name": "app-proxy", "image": "p", "dependsOn": ["envoy"]}]}]}),
        "")]
#[case::own_startup_probe_is_enough(two_sets(json!([{"name": "envoy", "image": "e", "startupProbe": {"tcpSocket": {"port": 15001}}}]), json!([{"name": "schema-check", "image": "s:1", "dependsOn": ["envoy"]}])), "")]
#[case::wait_without_probe(two_sets(json!([{"name": "envoy", "image": "e", "waitForReady": true}]), json!([])),
        "sidecarSets[0].containers[0].waitForReady: envoy: waitForReady needs a readinessProbe or startupProbe: the kubelet waits for a native sidecar through its startupProbe, which the policy derives from the readinessProbe; add one, or remove waitForReady")]
#[case::wait_regular_without_post_start(json!({"sidecarSets": [{"name": "mesh", "selector": {}, "nativeSidecars": false, "containers": [proxy()]}]}),
        "sidecarSets[0].containers[0].waitForReady: envoy: a regular sidecar (nativeSidecars: false) can only hold the next container through a lifecycle.postStart hook that blocks until it is ready; either make the set native (nativeSidecars: true), where the kubelet waits for the startupProbe, or add such a postStart command (as Istio's holdApplicationUntilProxyStarts does)")]
#[case::wait_regular_with_post_start(json!({"sidecarSets": [{"name": "mesh", "selector": {}, "nativeSidecars": false, "containers": [
            with(proxy(), "/lifecycle", json!({"postStart": {"exec": {"command": ["pilot-agent", "wait"]}}}))]}]}), "")]
#[case::wait_on_init(two_sets(json!([]), json!([{"name": "schema-check", "image": "s:1", "waitForReady": true}])),
        "sidecarSets[1].initContainers[0].waitForReady: schema-check: an init container that runs to completion always finishes before the next one starts; remove waitForReady")]
#[case::wait_after_app(two_sets(json!([with(proxy(), "/podInjectPolicy", json!("AfterAppContainer"))]), json!([])),
        "sidecarSets[0].containers[0].waitForReady: envoy: an AfterAppContainer container starts after the app containers, so nothing waits for it; remove waitForReady")]
#[case::timeout_without_wait(two_sets(json!([with(with(proxy(), "/waitForReady", json!(false)), "/readyTimeoutSeconds", json!(30))]), json!([])),
        "sidecarSets[0].containers[0].readyTimeoutSeconds: envoy: only used with waitForReady: true; add it or remove readyTimeoutSeconds")]
#[case::timeout_with_own_startup_probe(two_sets(json!([with(with(proxy(), "/startupProbe", json!({"tcpSocket": {"port": 1}})), "/readyTimeoutSeconds", json!(30))]), json!([])),
        "sidecarSets[0].containers[0].readyTimeoutSeconds: envoy: this container has its own startupProbe, which sets the budget; remove readyTimeoutSeconds")]
#[case::timeout_zero(two_sets(json!([with(proxy(), "/readyTimeoutSeconds", json!(0))]), json!([])),
        "sidecarSets[0].containers[0].readyTimeoutSeconds: 0 is not a whole number of seconds from 1 to 86400")]
#[case::wait_not_bool(two_sets(json!([with(proxy(), "/waitForReady", json!("yes"))]), json!([])),
        "sidecarSets[0].containers[0].waitForReady: \"yes\" is not a boolean; use true or false")]
#[case::bad_mode(json!({"mode": "audit"}),
        "mode: unknown variant `audit`, expected `inject` or `verify`")]
#[case::bad_job_pods(json!({"jobPods": "never"}),
        "jobPods: unknown variant `never`, expected one of `native`, `skip`, `asConfigured`")]
fn ordering_and_gating_problems(#[case] settings: Value, #[case] expected: &str) {
    assert_eq!(problems(settings), expected);
}

#[test]
fn derived_startup_probe() {
    let parsed = Settings::from_slice(
        two_sets(
            json!([with(proxy(), "/readinessProbe/timeoutSeconds", json!(2))]),
            json!([]),
        )
        .to_string()
        .as_bytes(),
    )
    .unwrap();
    let envoy = &parsed.sidecar_sets[0].containers[0];
    let native = envoy.to_pod_container(Placement::NativeSidecar);
    assert_eq!(
        native["startupProbe"],
        json!({"httpGet": {"path": "/ready", "port": 9901}, "timeoutSeconds": 2, "periodSeconds": 1, "failureThreshold": 120})
    );
    assert_eq!(
        native["readinessProbe"]["timeoutSeconds"], 2,
        "the readinessProbe stays"
    );
    assert!(native.get("waitForReady").is_none() && native.get("dependsOn").is_none());
    let mut timed = envoy.clone();
    timed.ready_timeout_seconds = Some(30);
    assert_eq!(
        timed.to_pod_container(Placement::NativeSidecar)["startupProbe"]["failureThreshold"],
        30
    );
    assert!(
        envoy
            .to_pod_container(Placement::Leading)
            .get("startupProbe")
            .is_none(),
        "a regular container is gated by its postStart hook, not a probe"
    );
    let mut own_probe = envoy.clone();
    own_probe
        .spec
        .insert("startupProbe".into(), json!({"tcpSocket": {"port": 1}}));
    assert_eq!(
        own_probe.to_pod_container(Placement::NativeSidecar)["startupProbe"],
        json!({"tcpSocket": {"port": 1}})
    );
}

#[test]
fn the_hash_is_pinned_and_follows_the_definition() {
    let hash = |set: Value| {
        Settings::from_slice(one_set(set).to_string().as_bytes())
            .unwrap()
            .sidecar_sets[0]
            .definition_hash(true)
    };
    // Pinned: a change of the hashing scheme marks every injected Pod stale.
    assert_eq!(
        hash(base_set()),
        "c4831bf21b3acae9",
        "the hash of an unchanged set"
    );
    let with_dependency = with(base_set(), "/containers/0/dependsOn", json!(["x"]));
    assert_ne!(hash(with_dependency), hash(base_set()));
}

#[test]
fn at_evaluation_only_the_selected_sets_are_read_in_full() {
    let settings = json!({"explain": true, "sidecarSets": [
        {"name": "web", "selector": {"matchLabels": {"tier": "web"}}, "containers": [{"name": "a", "image": "a"}]},
        {"name": "db", "selector": {"matchLabels": {"tier": "db"}}, "containers": "not even a list"},
        {"name": "paused", "selector": {}, "injectionStrategy": {"paused": true}, "containers": [{"name": "b", "image": "b"}]},
    ]});
    let bytes = settings.to_string();
    let keep_web = |_: &Settings<SetIndex>, s: &SetIndex| {
        s.selector
            .as_ref()
            .is_some_and(|sel| sel.match_labels.get("tier").map(String::as_str) == Some("web"))
            && !s.injection_strategy.paused
    };
    let parsed = Settings::parse_selected(bytes.as_bytes(), "settings", &keep_web).unwrap();
    let names: Vec<&str> = parsed
        .sidecar_sets
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(names, ["web"]);
    assert!(parsed.explain);
    // A selected set that does not parse is reported with its index.
    let keep_all = |_: &Settings<SetIndex>, _: &SetIndex| true;
    assert_eq!(
        Settings::parse_selected(bytes.as_bytes(), "settings", &keep_all).unwrap_err(),
        "settings.sidecarSets[1].containers: invalid type: string \"not even a list\", expected a sequence"
    );
    // Top-level errors read as Settings::parse reports them.
    assert_eq!(
        Settings::parse_selected(br#"{"sidecarSet": []}"#, "settings", &keep_all).unwrap_err(),
        "settings.sidecarSet: unknown field `sidecarSet`, expected one of `nativeSidecars`, `sidecarSets`, `mode`, `jobPods`, `explain`, `excludedNamespaces`, `skipHostNetworkPods`, `namespaceLookupFailure`, `podLevelResources`, `maxAddedRequests`, `protectInjected`, `checkPodSecurity`"
    );
}

/// Found by fuzzing: a long key with multi-byte characters and no
/// segment to cut at once panicked the truncation of its path.
#[test]
fn long_paths_are_cut_at_a_character_boundary() {
    // 119 one-byte characters, then a two-byte one across the limit.
    let key = format!("{}\u{48b}{}", "n".repeat(119), "n".repeat(40));
    let message = problems(json!({ key.clone(): 1 }));
    assert!(
        message.starts_with(&format!("{}…: unknown field", "n".repeat(119))),
        "{message}"
    );
    let nested = format!("{}é", "a".repeat(119));
    let message = problems(json!({ "sidecarSets": [{ nested: 1 }] }));
    assert!(
        message.starts_with("sidecarSets[0]…: unknown field"),
        "{message}"
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    let set = json!({"name": "-bad", "selector": {}, "containers": [{"name": "x", "image": ""}]});
    let message = problems(one_set(set));
    assert!(message.contains("sidecarSets[0].name:"), "{message}");
    assert!(
        message.contains("; sidecarSets[0].containers[0].image: x: required"),
        "{message}"
    );
}

#[test]
fn names_are_unique_across_sets() {
    let second = with(base_set(), "/name", json!("other"));
    let message = problems(json!({"sidecarSets": [base_set(), second]}));
    assert_eq!(
        message,
        "sidecarSets[1].containers[0].name: \"fluent-bit\" is already used by sidecarSets[0].containers[0]; container names must be unique across all sets"
    );
    let message = problems(json!({"sidecarSets": [base_set(), base_set()]}));
    assert!(message.starts_with(
            "sidecarSets[1].name: \"log-shipper\" is already the name of sidecarSets[0]; set names must be unique"
        ), "{message}");
}

#[test]
fn shared_volumes_must_be_identical_across_sets() {
    let a = with(
        base_set(),
        "/volumes",
        json!([{"name": "varlog", "emptyDir": {}}]),
    );
    let b = json!({"name": "b", "selector": {}, "volumes": [{"name": "varlog", "hostPath": {"path": "/var/log"}}]});
    assert_eq!(
        problems(json!({"sidecarSets": [a.clone(), b]})),
        "sidecarSets[1].volumes[0]: volume \"varlog\" differs from the one of the same name in sidecarSets[0].volumes[0]; sets that may apply to the same Pod must define a shared volume identically (or name them differently)"
    );
    let same =
        json!({"name": "b", "selector": {}, "volumes": [{"name": "varlog", "emptyDir": {}}]});
    assert_eq!(problems(json!({"sidecarSets": [a, same]})), "");
}

#[test]
fn shared_volumes_are_compared_as_stored() {
    let set = |name: &str, volume: Value| {
        json!({"name": name, "selector": {}, "volumes": [volume],
                   "containers": [{"name": name, "image": "i", "volumeMounts": [{"name": "cfg", "mountPath": "/c"}]}]})
    };
    let written = json!({"name": "cfg", "configMap": {"name": "shared"}});
    let stored = json!({"name": "cfg", "configMap": {"name": "shared", "defaultMode": 420}});
    assert_eq!(
        problems(json!({"sidecarSets": [set("a", written), set("b", stored)]})),
        ""
    );
}

#[test]
fn sidecar_ports_are_unique_across_sets() {
    let a = with(
        base_set(),
        "/containers/0/ports",
        json!([{"containerPort": 2020}]),
    );
    let b = json!({"name": "b", "selector": {}, "containers": [{"name": "y", "image": "y", "ports": [{"containerPort": 2020, "protocol": "TCP"}]}]});
    assert_eq!(
        problems(json!({"sidecarSets": [a, b]})),
        "sidecarSets[1].containers[0].ports[0]: port 2020/TCP is already used by sidecarSets[0].containers[0].ports[0]; containers of a Pod share one network namespace, so give each sidecar its own port"
    );
}

#[test]
fn host_ports_are_unique_across_sets() {
    let exporter = |name: &str, container_port: u16| {
        json!({"name": name, "selector": {}, "containers": [{"name": name, "image": "e",
                "ports": [{"containerPort": container_port, "hostPort": 9400}]}]})
    };
    assert_eq!(
        problems(json!({"sidecarSets": [exporter("a", 9100), exporter("b", 9200)]})),
        "sidecarSets[1].containers[0].ports[0].hostPort: hostPort 9400/TCP is already used by sidecarSets[0].containers[0].ports[0]; a host port is unique per Pod (and node), so give each sidecar its own hostPort"
    );
}

#[test]
fn near_misses_of_known_fields_are_typos() {
    let set = with(
        with(
            base_set(),
            "/containers/0/podInjectionPolicy",
            json!("AfterAppContainer"),
        ),
        "/containers/0/dependson",
        json!(["x"]),
    );
    assert_eq!(
        problems(one_set(set)),
        "sidecarSets[0].containers[0].dependson: fluent-bit: unknown field; did you mean `dependsOn`? (an unknown field would pass into the Pod unread); \
             sidecarSets[0].containers[0].podInjectionPolicy: fluent-bit: unknown field; did you mean `podInjectPolicy`? (an unknown field would pass into the Pod unread)"
    );
}

#[test]
fn unknown_container_fields_pass_through() {
    let set = with(
        base_set(),
        "/containers/0/restartPolicyRules",
        json!([{"action": "Restart"}]),
    );
    assert_eq!(problems(one_set(set.clone())), "");
    let parsed = Settings::from_slice(one_set(set).to_string().as_bytes()).unwrap();
    let container = parsed.sidecar_sets[0].containers[0].to_pod_container(Placement::NativeSidecar);
    assert_eq!(
        container["restartPolicyRules"],
        json!([{"action": "Restart"}])
    );
    assert_eq!(container["restartPolicy"], json!("Always"));
    assert!(container.get("podInjectPolicy").is_none());
}

#[test]
fn hash_follows_the_definition_not_its_serialization_or_the_selection() {
    let parse = |text: &str| {
        Settings::from_slice(format!(r#"{{"sidecarSets": [{text}]}}"#).as_bytes())
            .unwrap()
            .sidecar_sets
            .remove(0)
            .definition_hash(true)
    };
    let a =
        parse(r#"{"name": "a", "selector": {}, "containers": [{"name": "x", "image": "i:1"}]}"#);
    let retargeted = parse(
        r#"{"containers": [ {"image":"i:1",
            "name":"x"} ], "selector": {"matchLabels": {"t": "w"}}, "name": "a", "mandatory": true}"#,
    );
    let changed =
        parse(r#"{"name": "a", "selector": {}, "containers": [{"name": "x", "image": "i:2"}]}"#);
    let longer = parse(
        r#"{"name": "a", "selector": {}, "containers": [{"name": "x", "image": "i:1"}], "volumes": []}"#,
    );
    // As serde_json re-serializes it: escapes decoded, a key given twice once.
    let escaped = parse(
        r#"{"name": "a", "selector": {}, "containers": [{"name": "\u0078", "image": "i:0", "image": "i:1"}]}"#,
    );
    let moved = parse(
        r#"{"name": "a", "selector": {}, "initContainers": [{"name": "x", "image": "i:1"}]}"#,
    );
    assert_eq!(
        a, retargeted,
        "key order, whitespace and selection fields do not count"
    );
    assert_eq!(a, escaped, "escapes and duplicate keys do not count");
    assert_ne!(a, changed);
    assert_eq!(a, longer, "an empty list is an absent one");
    assert_ne!(a, moved, "each field hashes in its place");
    let set = Settings::from_slice(br#"{"sidecarSets": [{"name": "a", "selector": {}}]}"#).unwrap();
    assert_ne!(
        set.sidecar_sets[0].definition_hash(true),
        set.sidecar_sets[0].definition_hash(false)
    );
    assert_eq!(a.len(), 16);
}

#[rstest]
#[case("a", true)]
#[case("log-shipper-2", true)]
#[case("", false)]
#[case("-a", false)]
#[case("a-", false)]
#[case("A", false)]
#[case("a.b", false)]
fn dns_labels(#[case] name: &str, #[case] ok: bool) {
    assert_eq!(dns1123_label(name).is_ok(), ok);
    assert!(dns1123_label(&"a".repeat(64)).is_err());
}

#[test]
fn settings_read_from_a_value_are_the_settings_the_policy_reads() {
    let value = json!({"sidecarSets": [
        {"name": "mesh", "selector": {}, "containers": [{"name": "envoy", "image": "envoy:1", "dependsOn": []}],
         "volumes": [{"name": "v", "emptyDir": {}}]}
    ]});
    let from_value: Settings = serde_json::from_value(value.clone()).unwrap();
    let parsed = Settings::from_slice(value.to_string().as_bytes()).unwrap();
    let (a, b) = (&from_value.sidecar_sets[0], &parsed.sidecar_sets[0]);
    assert_eq!(a.definition_hash(true), b.definition_hash(true));
    assert_eq!(a.containers, b.containers);
    assert_eq!(a.volumes, b.volumes);
    let error =
        serde_json::from_value::<SidecarSet>(json!({"name": "a", "containers": [{"image": "x"}]}))
            .unwrap_err()
            .to_string();
    assert!(error.starts_with("containers[0].name: required"), "{error}");
}

/// A SidecarSet copied from a cluster (`kubectl get sidecarset -o yaml`)
/// carries OpenKruise's defaults: ColdUpgrade (what the in-place upgrade
/// does) and revisionHistoryLimit (ignored) are accepted, and neither goes
/// into the Pod.
#[test]
fn openkruise_defaults_are_accepted_and_not_injected() {
    let mut set = base_set();
    set["revisionHistoryLimit"] = json!(10);
    set["containers"][0]["upgradeStrategy"] =
        json!({"upgradeType": "ColdUpgrade", "hotUpgradeEmptyImage": ""});
    let s = crate::testing::settings(json!({"sidecarSets": [set]}));
    assert_eq!(s.validate(), Ok(()));
    let container = &s.sidecar_sets[0].containers[0];
    assert!(!container.spec.contains_key("upgradeStrategy"));
}

/// OpenKruise's updateStrategy, as `kubectl get sidecarset -o yaml` shows
/// it defaulted, is accepted (kubectl sidecarset upgrade reads it) and
/// changes nothing the policy injects.
#[test]
fn openkruise_update_strategy_is_accepted_and_read() {
    use super::update_strategy::{IntOrPercent, UpdateStrategy};
    let strategy = json!({"type": "RollingUpdate", "maxUnavailable": "20%", "partition": 2,
        "paused": false, "selector": {"matchLabels": {"canary": "true"}}});
    let mut set = base_set();
    set["updateStrategy"] = strategy.clone();
    let s = crate::testing::settings(json!({"sidecarSets": [set]}));
    assert_eq!(s.validate(), Ok(()));
    assert_eq!(
        s.sidecar_sets[0].definition_hash(true),
        crate::testing::settings(one_set(base_set())).sidecar_sets[0].definition_hash(true)
    );
    let read = UpdateStrategy::read(Some(&strategy), "updateStrategy").unwrap();
    assert_eq!(read.max_unavailable, IntOrPercent::Percent(20));
    assert_eq!(read.partition, IntOrPercent::Int(2));
    assert!(!read.not_update && !read.paused);
    assert_eq!(
        read.selector
            .unwrap()
            .match_labels
            .get("canary")
            .map(String::as_str),
        Some("true")
    );
    assert_eq!(
        UpdateStrategy::read(None, "u").unwrap(),
        UpdateStrategy::default()
    );
    assert!(
        UpdateStrategy::read(Some(&json!({"type": "NotUpdate"})), "u")
            .unwrap()
            .not_update
    );
}

#[rstest]
#[case(IntOrPercentCase::Int(3), 10, false, 3)]
#[case(IntOrPercentCase::Percent(25), 10, false, 2)]
#[case(IntOrPercentCase::Percent(25), 10, true, 3)]
#[case(IntOrPercentCase::Percent(100), 7, false, 7)]
#[case(IntOrPercentCase::Percent(0), 7, true, 0)]
fn int_or_percent_scales_as_kubernetes_does(
    #[case] value: IntOrPercentCase,
    #[case] total: usize,
    #[case] round_up: bool,
    #[case] expected: usize,
) {
    assert_eq!(value.scaled(total, round_up), expected);
}

use super::update_strategy::IntOrPercent as IntOrPercentCase;
