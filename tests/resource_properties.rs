//! Property tests of the sidecar resources rules, on the native library.
//! PROPTEST_CASES raises the number of cases.
//!
//! 1. a Pod's override changes only the fields it names, to the values it
//!    gives, and nothing else of the Pod;
//! 2. the effective request matches an independent computation: a
//!    step-by-step simulation of what runs while the Pod starts and runs;
//! 3. a targetContainersNameRegex matches as regex-lite (RE2 syntax, the
//!    same as OpenKruise's Go regexp) does, on the syntax this policy takes;
//! 4. quantities: canonical form reads back as the same amount (rounded
//!    up), and arithmetic is exact.

mod common;

use common::config;
use proptest::prelude::*;
use serde_json::{Map, Value, json};
use sidecarset_policy::inject::{self, Outcome};
use sidecarset_policy::namespace::Namespace;
use sidecarset_policy::resources::effective_requests;
use sidecarset_policy::resources::pattern::Pattern;
use sidecarset_policy::resources::quantity::Amount;
use sidecarset_policy::settings::Settings;

const KEY: &str = "sidecarset.kubewarden.io/resources.envoy";

fn settings() -> Settings {
    let settings = json!({"sidecarSets": [{"name": "mesh", "selector": {}, "containers": [{
        "name": "envoy", "image": "envoy:1", "ports": [{"containerPort": 15001}],
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "2", "memory": "1Gi"}},
        "resourceBounds": {"min": {"cpu": "10m", "memory": "16Mi"}, "max": {"cpu": "2", "memory": "1Gi"}}
    }]}]});
    Settings::from_slice(settings.to_string().as_bytes()).unwrap()
}

fn pod(annotation: Option<String>) -> Value {
    let mut pod = json!({"metadata": {"name": "web", "namespace": "shop", "labels": {"app": "web"}},
        "spec": {"containers": [{"name": "web", "image": "web:1", "resources": {"requests": {"cpu": "1"}}}]}});
    if let Some(value) = annotation {
        pod["metadata"]["annotations"] = json!({ KEY: value });
    }
    pod
}

fn injected(pod: Value) -> Value {
    let pod_before = pod.clone();
    match inject::inject(
        pod,
        &settings(),
        &mut Namespace::new("shop"),
        &mut Vec::new(),
    ) {
        Outcome::Mutated(answer) => {
            if let Some(refused) = common::api_server_refuses(&pod_before, &answer) {
                panic!("{refused}");
            }
            answer
        }
        other => panic!("not injected: {other:?}"),
    }
}

/// A quantity within the bounds, written as a user might.
fn quantity(resource: &'static str) -> impl Strategy<Value = String> {
    if resource == "cpu" {
        (10u32..=2000).prop_map(|m| format!("{m}m")).boxed()
    } else {
        prop_oneof![
            (16u32..=1024).prop_map(|m| format!("{m}Mi")),
            (16_777_216u64..=1_073_741_824).prop_map(|b| b.to_string()),
        ]
        .boxed()
    }
}

fn overrides() -> impl Strategy<Value = Vec<(&'static str, &'static str, String)>> {
    let fields = [
        ("requests", "cpu"),
        ("requests", "memory"),
        ("limits", "cpu"),
        ("limits", "memory"),
    ];
    let each = fields.map(|(field, resource)| {
        prop::option::of(quantity(resource)).prop_map(move |q| q.map(|q| (field, resource, q)))
    });
    each.prop_map(|list| list.into_iter().flatten().collect())
}

/// Whether requests stay at or under limits (else the override is refused).
fn consistent(resources: &Value) -> bool {
    ["cpu", "memory"].iter().all(|r| {
        let read = |field: &str| {
            resources[field][r]
                .as_str()
                .map(|q| Amount::parse(q).unwrap())
        };
        match (read("requests"), read("limits")) {
            (Some(req), Some(lim)) => req.compare(lim).is_le(),
            _ => true,
        }
    })
}

/// What the kubelet runs at each step: each init container with the native
/// sidecars started before it, then every native sidecar and container.
fn simulated_peak(init: &[(bool, u64)], containers: &[u64], overhead: u64) -> u64 {
    let mut running_sidecars = Vec::new();
    let mut peak = 0;
    for &(native, request) in init {
        if native {
            running_sidecars.push(request);
            peak = peak.max(running_sidecars.iter().sum());
        } else {
            peak = peak.max(request + running_sidecars.iter().sum::<u64>());
        }
    }
    let steady: u64 = running_sidecars.iter().chain(containers).sum();
    peak.max(steady) + overhead
}

fn entry(name: String, request: u64, native: bool) -> Value {
    let mut entry =
        json!({"name": name, "resources": {"requests": {"cpu": format!("{request}m")}}});
    if native {
        entry["restartPolicy"] = json!("Always");
    }
    entry
}

/// A pattern of the syntax Pattern supports, from pieces that name-like
/// strings can match.
fn pattern() -> impl Strategy<Value = String> {
    let atom = prop_oneof![
        prop::sample::select(vec![
            "a", "b", "-", "1", ".", "[a-b]", "[^a]", "\\d", "\\w", "\\-", "[0-9-]"
        ])
        .prop_map(String::from),
    ];
    let repeated = (
        atom,
        prop::sample::select(vec!["", "", "*", "+", "?", "{2}", "{1,2}", "{0,}"]),
    )
        .prop_map(|(a, r)| format!("{a}{r}"));
    let concat = prop::collection::vec(repeated, 0..4).prop_map(|v| v.concat());
    let leaf = concat.clone();
    leaf.prop_recursive(3, 16, 3, move |inner| {
        (
            prop::collection::vec(inner, 1..3),
            prop::sample::select(vec!["", "*", "?", "+"]),
            concat.clone(),
        )
            .prop_map(|(alts, r, tail)| format!("({}){r}{tail}", alts.join("|")))
    })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn an_override_changes_only_what_it_names(named in overrides()) {
        let base = injected(pod(None));
        let mut given = Map::new();
        for (field, resource, q) in &named {
            given.entry(field.to_string()).or_insert_with(|| json!({}))[resource] = json!(q);
        }
        let annotation = Value::Object(given).to_string();
        let request = pod(Some(annotation.clone()));
        let outcome = inject::inject(request, &settings(), &mut Namespace::new("shop"), &mut Vec::new());
        let mut expected = base["spec"]["initContainers"][0]["resources"].clone();
        for (field, resource, q) in &named {
            expected[field][resource] = json!(q);
        }
        if !consistent(&expected) {
            // A request above the resulting limit is refused, naming both.
            let Outcome::Rejected(message) = outcome else { panic!("accepted: {expected}") };
            prop_assert!(message.contains("is above limits."), "{}", message);
            return Ok(());
        }
        let Outcome::Mutated(pod) = outcome else { panic!("{outcome:?}") };
        let envoy = &pod["spec"]["initContainers"][0];
        prop_assert_eq!(&envoy["resources"], &expected);
        // Nothing else differs from the Pod injected without an override,
        // but the annotation itself and the recorded effective request.
        let mut rest = pod.clone();
        let mut base_rest = base.clone();
        for p in [&mut rest, &mut base_rest] {
            p["spec"]["initContainers"][0]["resources"] = Value::Null;
            if let Some(annotations) = p["metadata"]["annotations"].as_object_mut() {
                annotations.remove(KEY);
                annotations.remove("sidecarset.kubewarden.io/status");
            }
        }
        prop_assert_eq!(rest, base_rest);
    }

    #[test]
    fn the_effective_request_is_the_simulated_peak(
        init in prop::collection::vec((any::<bool>(), 0u64..4000), 0..6),
        containers in prop::collection::vec(0u64..4000, 1..4),
        overhead in prop::option::of(0u64..500),
    ) {
        let mut spec = json!({
            "initContainers": init.iter().enumerate().map(|(i, (native, r))| entry(format!("i{i}"), *r, *native)).collect::<Vec<_>>(),
            "containers": containers.iter().enumerate().map(|(i, r)| entry(format!("c{i}"), *r, false)).collect::<Vec<_>>(),
        });
        if let Some(o) = overhead {
            spec["overhead"] = json!({"cpu": format!("{o}m")});
        }
        let computed = effective_requests(spec.as_object().unwrap()).unwrap();
        let expected = simulated_peak(&init, &containers, overhead.unwrap_or(0));
        prop_assert_eq!(
            computed["cpu"],
            Amount::parse(&format!("{expected}m")).unwrap()
        );
    }

    #[test]
    fn patterns_match_as_re2_does(pattern in pattern(), name in "[a-b1-]{0,8}") {
        let ours = Pattern::new(&pattern).unwrap_or_else(|e| panic!("{pattern:?}: {e}"));
        let oracle = regex_lite::Regex::new(&format!("^(?:{pattern})$")).unwrap();
        prop_assert_eq!(ours.matches(&name), oracle.is_match(&name), "pattern {:?} name {:?}", pattern, name);
    }

    #[test]
    fn canonical_quantities_read_back(millis in 0i64..10_000_000_000, bytes in 0i64..(1 << 50)) {
        let cpu = Amount::new(millis.into(), 1000).unwrap();
        let shown = cpu.canonical("cpu").unwrap();
        prop_assert_eq!(Amount::parse(&shown).unwrap(), cpu);
        let memory = Amount::new(bytes.into(), 1).unwrap();
        let shown = memory.canonical("memory").unwrap();
        prop_assert_eq!(Amount::parse(&shown).unwrap(), memory);
        // Exact: a third, three times, is the whole.
        let third = cpu.checked_div(Amount::new(3, 1).unwrap()).unwrap();
        prop_assert_eq!(third.checked_mul(Amount::new(3, 1).unwrap()).unwrap(), cpu);
    }
}
