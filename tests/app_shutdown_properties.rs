//! Property tests of what a set gives the app containers (appContainers)
//! and of the shutdown (drainSeconds, shutdown.extendGracePeriod), on the
//! native library: random app containers with their own env, envFrom and
//! mounts (overlapping the sets' names), random grace periods and preStop
//! sleeps, random sets of regular and native sidecars with random drains and
//! acyclic dependsOn graphs.
//!
//! 1. nothing the app container's author wrote is changed or removed, and a
//!    grace period is never lowered;
//! 2. a second evaluation changes nothing;
//! 3. the stop order is the reverse of the start order (native sidecars);
//! 4. with extendGracePeriod, every drain chain fits the grace period: a
//!    sidecar sleeps at least its drain longer than each regular sidecar
//!    that depends on it, and the grace period covers the app's own stop
//!    plus the longest sleep.

mod common;

use common::config;
use proptest::prelude::*;
use serde_json::{Value, json};
use sidecarset_policy::inject::{self, Outcome};
use sidecarset_policy::namespace::Namespace;
use sidecarset_policy::settings::Settings;

const NAMES: [&str; 4] = [
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "DB_HOST",
    "LOG_LEVEL",
    "REGION",
];
const PATHS: [&str; 3] = ["/var/run/otel", "/data", "/etc/app"];

/// An app container: its env (a name index, a value index), the path index
/// of its own mount, whether it has an envFrom source.
type App = (Vec<(usize, u8)>, Option<usize>, bool);

#[derive(Debug, Clone)]
struct Case {
    apps: Vec<App>,
    grace: Option<u32>,
    app_pre_stop: Option<u32>,
    /// Per sidecar: (native?, drain, depends on an earlier one?)
    sidecars: Vec<(bool, Option<u32>, Option<usize>)>,
    /// What the set gives: env names, a mount path, envFrom.
    give_env: Vec<usize>,
    give_mount: Option<usize>,
    give_env_from: bool,
    extend: bool,
    regex: Option<&'static str>,
}

prop_compose! {
    fn case()(
        apps in prop::collection::vec(
            (prop::collection::vec((0..NAMES.len(), 0u8..3), 0..3), prop::option::of(0..PATHS.len()), any::<bool>()),
            1..=3,
        ),
        grace in prop::option::of(1u32..90),
        app_pre_stop in prop::option::weighted(0.3, 1u32..40),
        sidecars in prop::collection::vec(
            (prop::bool::weighted(0.3), prop::option::of(1u32..40), prop::option::of(0usize..4)),
            1..=4,
        ),
        give_env in prop::collection::vec(0..NAMES.len(), 0..3),
        give_mount in prop::option::of(0..PATHS.len()),
        give_env_from in any::<bool>(),
        extend in any::<bool>(),
        regex in prop::sample::select(vec![None, Some("app-0"), Some("app-.*"), Some("x")]),
    ) -> Case {
        Case { apps, grace, app_pre_stop, sidecars, give_env, give_mount, give_env_from, extend, regex }
    }
}

fn pod(case: &Case) -> Value {
    let containers: Vec<Value> = case
        .apps
        .iter()
        .enumerate()
        .map(|(i, (env, mount, env_from))| {
            let mut c = json!({"name": format!("app-{i}"), "image": "shop/app:1",
                "imagePullPolicy": "IfNotPresent", "terminationMessagePath": "/dev/termination-log",
                "terminationMessagePolicy": "File"});
            let mut seen = Vec::new();
            let env: Vec<Value> = env
                .iter()
                .filter(|(n, _)| {
                    let fresh = !seen.contains(n);
                    seen.push(*n);
                    fresh
                })
                .map(|(n, v)| json!({"name": NAMES[*n], "value": format!("own-{v}")}))
                .collect();
            if !env.is_empty() {
                c["env"] = json!(env);
            }
            if let Some(m) = mount {
                c["volumeMounts"] = json!([{"name": "own", "mountPath": PATHS[*m]}]);
            }
            if *env_from {
                c["envFrom"] = json!([{"secretRef": {"name": "own"}}]);
            }
            if i == 0
                && let Some(s) = case.app_pre_stop
            {
                c["lifecycle"] = json!({"preStop": {"sleep": {"seconds": s}}});
            }
            c
        })
        .collect();
    let mut spec = json!({"restartPolicy": "Always", "containers": containers,
        "volumes": [{"name": "own", "emptyDir": {}}]});
    if let Some(g) = case.grace {
        spec["terminationGracePeriodSeconds"] = json!(g);
    }
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "shop"}, "spec": spec})
}

fn settings(case: &Case) -> Settings {
    let sidecars: Vec<Value> = case
        .sidecars
        .iter()
        .enumerate()
        .map(|(i, (native, drain, dep))| {
            let mut c = json!({"name": format!("side-{i}"), "image": "side:1"});
            if *native {
                c["restartPolicy"] = json!("Always");
            }
            if let Some(d) = drain
                && !*native
            {
                c["drainSeconds"] = json!(d);
            }
            // A native sidecar starts before every regular one: it may wait
            // only for another native one.
            if let Some(d) = dep.filter(|d| *d < i && (!*native || case.sidecars[*d].0)) {
                c["dependsOn"] = json!([format!("side-{d}")]);
            }
            c
        })
        .collect();
    // Native ones from initContainers, regular ones from containers.
    let (native, regular): (Vec<Value>, Vec<Value>) = sidecars
        .into_iter()
        .partition(|c| c.get("restartPolicy").is_some());
    let mut env = Vec::new();
    for n in &case.give_env {
        let entry = json!({"name": NAMES[*n], "value": "set"});
        if !env.contains(&entry) {
            env.push(entry);
        }
    }
    let mut app = json!({"env": env});
    if let Some(m) = case.give_mount {
        app["volumeMounts"] = json!([{"name": "set-vol", "mountPath": PATHS[m]}]);
    }
    if case.give_env_from {
        app["envFrom"] = json!([{"configMapRef": {"name": "set"}}]);
    }
    if let Some(r) = case.regex {
        app["nameRegex"] = json!(r);
    }
    let set = json!({"name": "s", "selector": {}, "nativeSidecars": false,
        "initContainers": native, "containers": regular,
        "volumes": [{"name": "set-vol", "emptyDir": {}}],
        "appContainers": app,
        "shutdown": {"extendGracePeriod": case.extend}});
    let value = json!({"explain": true, "sidecarSets": [set]});
    let settings = Settings::from_slice(value.to_string().as_bytes()).unwrap();
    use kubewarden_policy_sdk::settings::Validatable;
    settings.validate().unwrap();
    settings
}

fn run(pod: Value, settings: &Settings) -> (Outcome, Vec<String>) {
    let mut warnings = Vec::new();
    let outcome = inject::inject(pod, settings, &mut Namespace::new("shop"), &mut warnings);
    (outcome, warnings)
}

fn containers(pod: &Value) -> Vec<Value> {
    pod["spec"]["containers"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn named<'p>(list: &'p [Value], name: &str) -> Option<&'p Value> {
    list.iter().find(|c| c["name"] == name)
}

fn sleep(c: &Value) -> u64 {
    c["lifecycle"]["preStop"]["sleep"]["seconds"]
        .as_u64()
        .unwrap_or(0)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn the_authors_words_stay_and_a_second_evaluation_changes_nothing(case in case()) {
        let settings = settings(&case);
        let before = pod(&case);
        let (outcome, warnings) = run(before.clone(), &settings);
        let after = match outcome {
            Outcome::Mutated(pod) => pod,
            // A mountPath the app container uses for its own volume.
            Outcome::Rejected(message) => {
                prop_assert!(message.contains("already mounts volume \"own\" there"), "{message}");
                return Ok(());
            }
            Outcome::Unchanged => return Err(TestCaseError::fail("a set applies to every Pod")),
        };
        if let Some(refused) = common::api_server_refuses(&before, &after) {
            return Err(TestCaseError::fail(refused));
        }
        let (old, new) = (containers(&before), containers(&after));
        for app in &old {
            let name = app["name"].as_str().unwrap();
            let now = named(&new, name).unwrap();
            for list in ["env", "envFrom", "volumeMounts"] {
                let had = app[list].as_array().cloned().unwrap_or_default();
                let has = now[list].as_array().cloned().unwrap_or_default();
                // The author's entries first, unchanged and in order.
                prop_assert_eq!(&has[..had.len().min(has.len())], &had[..], "{} {}", name, list);
            }
            for (key, value) in app.as_object().unwrap() {
                if !["env", "envFrom", "volumeMounts"].contains(&key.as_str()) {
                    prop_assert_eq!(&now[key], value, "{} {}", name, key);
                }
            }
        }
        let grace = |p: &Value| p["spec"]["terminationGracePeriodSeconds"].as_u64().unwrap_or(30);
        prop_assert!(grace(&after) >= grace(&before));
        // 3. The native sidecars stop in reverse start order.
        let natives: Vec<String> = after["spec"]["initContainers"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .filter(|c| c["restartPolicy"] == "Always")
            .map(|c| c["name"].as_str().unwrap().to_string())
            .rev()
            .collect();
        let stop = warnings.iter().find(|w| w.starts_with("stop order: ")).unwrap();
        if !natives.is_empty() {
            let listed = format!("in reverse start order: {};", natives.join(" → "));
            prop_assert!(stop.contains(&listed), "{} / {}", stop, listed);
        }
        // 4. With extendGracePeriod, every chain fits.
        if case.extend {
            let new_grace = grace(&after);
            let app_stop = u64::from(case.app_pre_stop.unwrap_or(0));
            for (i, (native, drain, dep)) in case.sidecars.iter().enumerate() {
                if *native {
                    continue;
                }
                let me = named(&new, &format!("side-{i}")).unwrap();
                prop_assert!(sleep(me) >= u64::from(drain.unwrap_or(0)));
                // Only drains ask for a grace period (the app's own preStop
                // sleep alone is the Pod's business).
                if sleep(me) > 0 {
                    prop_assert!(app_stop + sleep(me) <= new_grace, "{} + {} > {}", app_stop, sleep(me), new_grace);
                }
                if let Some(d) = dep.filter(|d| *d < i)
                    && let Some(them) = named(&new, &format!("side-{d}"))
                    && !case.sidecars[d].0
                {
                    let their_drain = u64::from(case.sidecars[d].1.unwrap_or(0));
                    prop_assert!(sleep(them) >= sleep(me) + their_drain, "side-{} sleeps {} < {} + {}", d, sleep(them), sleep(me), their_drain);
                }
            }
        }
        // 2. Idempotent.
        prop_assert_eq!(run(after, &settings).0, Outcome::Unchanged);
    }
}
