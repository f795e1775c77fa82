//! A stand-in for the Kubernetes API server, on loopback, for the cluster
//! commands: it serves Pods (list with labelSelector, get, merge-patch),
//! Namespaces and ClusterAdmissionPolicies over plain HTTP/1.1, runs the
//! policy on every Pod PATCH as the mutating webhook would (its
//! `admission::decide_with` on the UPDATE, rejecting with the webhook's
//! message, storing the mutated Pod), and plays the kubelet: a container
//! whose image changed restarts, and is ready again after a number of
//! reads (or never), a Pod may be deleted right after its patch.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value, json};
use sidecarset_policy::admission::{Decision, decide_with};

/// What the kubelet does with a Pod after its images change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kubelet {
    /// Ready again after this many reads of the Pod.
    ReadyAfter(u32),
    /// The restarted container never becomes ready (ImagePullBackOff).
    Never,
    /// The Pod is deleted right after the patch (a scale-down, an eviction).
    DeleteAfterPatch,
    /// Its controller replaces it right after the patch by a Pod of the
    /// same name as it was before (a template with the sidecars baked in).
    RecreateAsBefore,
}

#[derive(Clone, Debug)]
struct Restart {
    lag: u32,
    ready_after: Option<u32>,
    images: BTreeMap<String, String>,
    changed: Vec<String>,
}

#[derive(Default)]
pub struct State {
    pub pods: BTreeMap<(String, String), Value>,
    pub namespaces: BTreeMap<String, Value>,
    pub policies: BTreeMap<String, Value>,
    /// The settings the webhook runs with.
    pub settings: Value,
    pub kubelet: BTreeMap<String, Kubelet>,
    /// Pods whose images changed, by name: reads left before the kubelet
    /// reports the restart (until then the status is the old one, ready),
    /// and after it, reads left before the new containers are ready.
    restarting: BTreeMap<String, Restart>,
    /// Every request, as "METHOD path".
    pub requests: Vec<String>,
    /// Pod names in the order they were patched.
    pub patched: Vec<String>,
    /// At each Pod patch: the other Pods of its namespace that were not
    /// Ready then (maxUnavailable is checked against these).
    pub unready_at_patch: Vec<(String, Vec<String>)>,
    /// A busy controller: when the first Pod is patched, the merge patch is
    /// applied to the second (a relabel, an adoption).
    pub on_patch: BTreeMap<String, (String, Value)>,
    /// Pods whose patch is applied, then answered with a 500 (etcd timed
    /// out after the write).
    pub fail_after_patch: std::collections::BTreeSet<String>,
    /// Pod lists answered with a 500 before one is served.
    pub failing_lists: u32,
    /// When the Pod is patched, the Namespace is no longer served (its
    /// reads fail from then on: RBAC changed, a flaky server).
    pub forget_namespace_on_patch: Option<(String, String)>,
}

pub struct StandIn {
    pub port: u16,
    pub state: Arc<Mutex<State>>,
    dir: PathBuf,
}

fn read_json(path: &str) -> Value {
    let root = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    let text = std::fs::read_to_string(root.join(path)).unwrap();
    serde_yaml::from_str(&text).unwrap()
}

impl StandIn {
    /// Serves the objects of `objects` (a List of Namespaces and Pods) and
    /// the ClusterAdmissionPolicy of `policy`, whose settings the webhook
    /// runs with.
    pub fn start(objects: &str, policy: &str) -> StandIn {
        let mut state = State::default();
        let list = read_json(objects);
        for item in list["items"].as_array().unwrap() {
            let name = item["metadata"]["name"].as_str().unwrap().to_string();
            match item["kind"].as_str().unwrap() {
                "Namespace" => {
                    state.namespaces.insert(name, item.clone());
                }
                "Pod" => {
                    let ns = item["metadata"]["namespace"].as_str().unwrap().to_string();
                    state.pods.insert((ns, name), item.clone());
                }
                _ => {}
            }
        }
        let policy = read_json(policy);
        state.settings = policy["spec"]["settings"].clone();
        state
            .policies
            .insert(policy["metadata"]["name"].as_str().unwrap().into(), policy);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(state));
        let shared = state.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let shared = shared.clone();
                std::thread::spawn(move || serve(stream, shared));
            }
        });
        let dir = std::env::temp_dir().join(format!("stand-in-{port}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("kubeconfig"),
            format!(
                "apiVersion: v1\nkind: Config\nclusters:\n- name: stand-in\n  cluster:\n    server: http://127.0.0.1:{port}\nusers:\n- name: tester\n  user: {{}}\ncontexts:\n- name: stand-in\n  context:\n    cluster: stand-in\n    user: tester\n    namespace: shop\ncurrent-context: stand-in\n"
            ),
        )
        .unwrap();
        StandIn { port, state, dir }
    }

    pub fn kubeconfig(&self) -> String {
        self.dir.join("kubeconfig").to_string_lossy().into_owned()
    }

    /// Runs the plugin against this stand-in.
    pub fn run(&self, args: &[&str]) -> Output {
        // The tests' binary (examples/stand-in runs whatever it is given).
        Command::new(
            option_env!("CARGO_BIN_EXE_kubectl-sidecarset").unwrap_or("kubectl-sidecarset"),
        )
        .arg("--kubeconfig")
        .arg(self.kubeconfig())
        .args(args)
        .env_remove("KUBECONFIG")
        .output()
        .unwrap()
    }

    pub fn pod(&self, name: &str) -> Option<Value> {
        let state = self.state.lock().unwrap();
        state
            .pods
            .iter()
            .find(|((_, n), _)| n == name)
            .map(|(_, p)| p.clone())
    }

    pub fn set_kubelet(&self, pod: &str, behaviour: Kubelet) {
        self.state
            .lock()
            .unwrap()
            .kubelet
            .insert(pod.into(), behaviour);
    }

    /// The kubelet gets the Pod's containers running and ready.
    pub fn make_ready(&self, pod: &str) {
        let mut state = self.state.lock().unwrap();
        state.restarting.remove(pod);
        if let Some((_, p)) = state.pods.iter_mut().find(|((_, n), _)| n == pod) {
            set_ready(p);
        }
    }

    pub fn patched(&self) -> Vec<String> {
        self.state.lock().unwrap().patched.clone()
    }
}

fn status(code: u16, reason: &str, message: &str) -> (u16, Value) {
    (
        code,
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
               "message": message, "reason": reason, "code": code}),
    )
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                out.push(u8::from_str_radix(hex, 16).unwrap_or(b'?'));
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn serve(stream: TcpStream, state: Arc<Mutex<State>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let (method, target) = (
            parts.next().unwrap_or("").to_string(),
            parts.next().unwrap_or("").to_string(),
        );
        let mut length = 0usize;
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((k, v)) = header.split_once(':')
                && k.eq_ignore_ascii_case("content-length")
            {
                length = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0u8; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let (code, answer) = handle(&state, &method, &target, &body);
        let bytes = serde_json::to_vec(&answer).unwrap();
        let head = format!(
            "HTTP/1.1 {code} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            bytes.len()
        );
        if writer
            .write_all(head.as_bytes())
            .and_then(|_| writer.write_all(&bytes))
            .is_err()
        {
            return;
        }
    }
}

fn merge(target: &mut Value, patch: &Value) {
    match (target.as_object_mut(), patch.as_object()) {
        (Some(t), Some(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        _ => *target = patch.clone(),
    }
}

fn images(pod: &Value) -> BTreeMap<String, String> {
    ["initContainers", "containers"]
        .iter()
        .filter_map(|l| pod["spec"][l].as_array())
        .flatten()
        .map(|c| {
            (
                c["name"].as_str().unwrap_or("").into(),
                c["image"].as_str().unwrap_or("").into(),
            )
        })
        .collect()
}

fn pod_is_ready(pod: &Value) -> bool {
    pod["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Ready" && c["status"] == "True")
}

fn set_ready(pod: &mut Value) {
    for list in ["initContainerStatuses", "containerStatuses"] {
        for s in pod["status"][list].as_array_mut().into_iter().flatten() {
            if s["started"] == json!(true) || list == "containerStatuses" {
                s["ready"] = json!(true);
                s["state"] = json!({"running": {"startedAt": "2026-12-07T12:00:00Z"}});
            }
        }
    }
    for c in pod["status"]["conditions"]
        .as_array_mut()
        .into_iter()
        .flatten()
    {
        c["status"] = json!("True");
    }
}

/// The kubelet, a read later: it first reports the restart of what changed
/// (a new container ID, the restart count up, the new image, not ready),
/// then, reads later (or never), the containers ready.
fn kubelet_tick(state: &mut State, name: &str) {
    let Some(restart) = state.restarting.get_mut(name) else {
        return;
    };
    let Some((_, pod)) = state.pods.iter_mut().find(|((_, n), _)| n == name) else {
        return;
    };
    if restart.lag > 0 {
        restart.lag -= 1;
        if restart.lag == 0 {
            for list in ["initContainerStatuses", "containerStatuses"] {
                for s in pod["status"][list].as_array_mut().into_iter().flatten() {
                    let container = s["name"].as_str().unwrap_or("").to_string();
                    if restart.changed.contains(&container) {
                        let count = s["restartCount"].as_u64().unwrap_or(0) + 1;
                        s["restartCount"] = json!(count);
                        s["containerID"] = json!(format!("containerd://{container}-{count}"));
                        s["ready"] = json!(false);
                        s["image"] = json!(restart.images.get(&container));
                        let reason = if restart.ready_after.is_none() {
                            "ImagePullBackOff"
                        } else {
                            "ContainerCreating"
                        };
                        s["state"] = json!({"waiting": {"reason": reason}});
                    }
                }
            }
            for c in pod["status"]["conditions"]
                .as_array_mut()
                .into_iter()
                .flatten()
            {
                c["status"] = json!("False");
            }
        }
        return;
    }
    match &mut restart.ready_after {
        None => {}
        Some(0) => {
            state.restarting.remove(name);
            set_ready(pod);
        }
        Some(n) => *n -= 1,
    }
}

fn handle(state: &Mutex<State>, method: &str, target: &str, body: &[u8]) -> (u16, Value) {
    let mut state = state.lock().unwrap();
    state.requests.push(format!("{method} {target}"));
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let params: BTreeMap<String, String> = query
        .split('&')
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k.to_string(), percent_decode(v)))
        .collect();
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (method, segments.as_slice()) {
        ("GET", ["api", "v1", "pods"]) | ("GET", ["api", "v1", "namespaces", _, "pods"])
            if state.failing_lists > 0 =>
        {
            state.failing_lists -= 1;
            status(500, "InternalError", "etcdserver: leader changed")
        }
        ("GET", ["api", "v1", "pods"]) | ("GET", ["api", "v1", "namespaces", _, "pods"]) => {
            let ns = segments.get(3).copied();
            let selector = kubectl_sidecarset::labels::Selector::parse(
                params
                    .get("labelSelector")
                    .map(String::as_str)
                    .unwrap_or(""),
            )
            .unwrap();
            let items: Vec<Value> = state
                .pods
                .iter()
                .filter(|((n, _), _)| ns.is_none_or(|ns| ns == n))
                .filter(|(_, p)| {
                    selector.matches(p["metadata"]["labels"].as_object().unwrap_or(&Map::new()))
                })
                .map(|(_, p)| p.clone())
                .collect();
            (
                200,
                json!({"kind": "PodList", "apiVersion": "v1", "metadata": {"resourceVersion": "9"}, "items": items}),
            )
        }
        ("GET", ["api", "v1", "namespaces", ns, "pods", name]) => {
            kubelet_tick(&mut state, name);
            match state.pods.get(&(ns.to_string(), name.to_string())) {
                Some(pod) => (200, pod.clone()),
                None => status(404, "NotFound", &format!("pods \"{name}\" not found")),
            }
        }
        ("PATCH", ["api", "v1", "namespaces", ns, "pods", name]) => {
            let key = (ns.to_string(), name.to_string());
            let Some(old) = state.pods.get(&key).cloned() else {
                return status(404, "NotFound", &format!("pods \"{name}\" not found"));
            };
            let patch: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
            // metadata.uid in a patch is a precondition.
            if let Some(uid) = patch["metadata"]["uid"].as_str()
                && old["metadata"]["uid"].as_str() != Some(uid)
            {
                return status(
                    409,
                    "Conflict",
                    &format!(
                        "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                        old["metadata"]["uid"].as_str().unwrap_or("")
                    ),
                );
            }
            let mut new = old.clone();
            merge(&mut new, &patch);
            // The mutating webhook: the policy on the UPDATE.
            let request = json!({"uid": "u", "kind": {"group": "", "version": "v1", "kind": "Pod"},
                "resource": {"group": "", "version": "v1", "resource": "pods"},
                "namespace": ns, "operation": "UPDATE", "userInfo": {"username": "tester"},
                "object": new, "oldObject": old});
            let payload =
                serde_json::to_vec(&json!({"request": request, "settings": state.settings}))
                    .unwrap();
            let namespaces = state.namespaces.clone();
            let mut lookup = |n: &str| {
                namespaces
                    .get(n)
                    .and_then(|o| o["metadata"]["labels"].as_object().cloned())
                    .ok_or_else(|| format!("namespaces \"{n}\" not found"))
            };
            let stored = match decide_with(&payload, Some(&mut lookup)).decision {
                Decision::Accept => new,
                Decision::Mutate(object) => object,
                Decision::Reject(message) => {
                    return status(
                        400,
                        "BadRequest",
                        &format!(
                            "admission webhook \"clusterwide-sidecarset-rollout.kubewarden.admission\" denied the request: {message}"
                        ),
                    );
                }
            };
            state.patched.push(name.to_string());
            let unready: Vec<String> = state
                .pods
                .iter()
                .filter(|((n, p), pod)| n == ns && p != name && !pod_is_ready(pod))
                .map(|((_, p), _)| p.clone())
                .collect();
            state.unready_at_patch.push((name.to_string(), unready));
            if let Some((pod, forgotten)) = state.forget_namespace_on_patch.clone()
                && pod == *name
            {
                state.namespaces.remove(&forgotten);
            }
            if let Some((other, change)) = state.on_patch.remove(*name)
                && let Some((_, pod)) = state.pods.iter_mut().find(|((_, n), _)| *n == other)
            {
                merge(pod, &change);
            }
            let before = images(&old);
            let after = images(&stored);
            let behaviour = state
                .kubelet
                .get(*name)
                .copied()
                .unwrap_or(Kubelet::ReadyAfter(1));
            if before != after {
                // The kubelet reports the restart a read later, as a real
                // one does some time after the spec changed.
                let changed = after
                    .iter()
                    .filter(|(c, i)| before.get(*c) != Some(i))
                    .map(|(c, _)| c.clone())
                    .collect();
                let ready_after = match behaviour {
                    Kubelet::ReadyAfter(n) => Some(n),
                    _ => None,
                };
                state.restarting.insert(
                    name.to_string(),
                    Restart {
                        lag: 1,
                        ready_after,
                        images: after,
                        changed,
                    },
                );
            }
            match behaviour {
                Kubelet::DeleteAfterPatch => {
                    state.pods.remove(&key);
                }
                Kubelet::RecreateAsBefore => {
                    let mut again = old.clone();
                    let count = state.patched.len();
                    again["metadata"]["uid"] = json!(format!("recreated-{count}"));
                    state.restarting.remove(*name);
                    state.pods.insert(key, again);
                }
                _ => {
                    state.pods.insert(key, stored.clone());
                }
            }
            if state.fail_after_patch.remove(*name) {
                return status(500, "InternalError", "etcdserver: request timed out");
            }
            (200, stored)
        }
        ("GET", ["api", "v1", "namespaces", name]) => match state.namespaces.get(*name) {
            Some(ns) => (200, ns.clone()),
            None => status(404, "NotFound", &format!("namespaces \"{name}\" not found")),
        },
        (
            "GET",
            [
                "apis",
                "policies.kubewarden.io",
                "v1",
                "clusteradmissionpolicies",
                name,
            ],
        ) => match state.policies.get(*name) {
            Some(policy) => (200, policy.clone()),
            None => status(
                404,
                "NotFound",
                &format!("clusteradmissionpolicies.policies.kubewarden.io \"{name}\" not found"),
            ),
        },
        _ => status(
            404,
            "NotFound",
            "the server could not find the requested resource",
        ),
    }
}
