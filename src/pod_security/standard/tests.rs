//! Every control, with Pods that pass and Pods that fail, as the Pod
//! Security Standards page and pod-security-admission's own fixtures
//! describe them; the messages in the API server's shape.

use rstest::rstest;
use serde_json::{Value, json};

use super::*;

/// The whole Pod `pod` (metadata and spec), judged at `level`/`version`.
fn judge(pod: &Value, level: Level, version: Version) -> Vec<(String, String)> {
    let subject = Subject::whole_pod(pod).unwrap();
    evaluate(&subject, level, version)
        .into_iter()
        .map(|v| (v.check.to_string(), v.to_string()))
        .collect()
}

/// A Pod that passes restricted, with `spec` merged over its spec and
/// `sc` over its container's securityContext.
fn pod(spec: Value, sc: Value) -> Value {
    let mut context = json!({"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]},
        "runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}});
    merge(&mut context, sc);
    let mut pod = json!({"metadata": {}, "spec": {"containers": [{"name": "app", "image": "app", "securityContext": context}]}});
    merge(&mut pod["spec"], spec);
    pod
}

fn merge(into: &mut Value, from: Value) {
    match (into, from) {
        (Value::Object(into), Value::Object(from)) => {
            for (k, v) in from {
                if v.is_null() {
                    into.remove(&k);
                } else {
                    merge(into.entry(k).or_insert(Value::Null), v);
                }
            }
        }
        (into, from) => *into = from,
    }
}

fn only(check: &str, text: &str) -> Vec<(String, String)> {
    vec![(check.to_string(), text.to_string())]
}

#[test]
fn a_restricted_pod_passes_every_level_and_version() {
    for version in [OLDEST_MODELLED, 30, 34, 35, LATEST] {
        for level in [Level::Privileged, Level::Baseline, Level::Restricted] {
            assert_eq!(judge(&pod(json!({}), json!({})), level, version), vec![]);
        }
    }
}

#[rstest]
// Host namespaces.
#[case::host_network(json!({"hostNetwork": true, "hostPID": true}), json!({}), "hostNamespaces", "host namespaces (hostNetwork=true, hostPID=true)")]
#[case::host_ipc(json!({"hostIPC": true}), json!({}), "hostNamespaces", "host namespaces (hostIPC=true)")]
// Privileged.
#[case::privileged(json!({}), json!({"privileged": true}), "privileged", "privileged (container \"app\" must not set securityContext.privileged=true)")]
// Capabilities beyond the default set.
#[case::net_admin(json!({}), json!({"capabilities": {"add": ["NET_RAW", "NET_ADMIN", "CHOWN"]}}), "capabilities_baseline", "non-default capabilities (container \"app\" must not include \"NET_ADMIN\", \"NET_RAW\" in securityContext.capabilities.add)")]
// hostPath volumes.
#[case::host_path(json!({"volumes": [{"name": "logs", "hostPath": {"path": "/var/log"}}]}), json!({}), "hostPathVolumes", "hostPath volumes (volume \"logs\")")]
// Host ports.
#[case::host_port(json!({"containers": [{"name": "app", "ports": [{"containerPort": 80, "hostPort": 8080}, {"containerPort": 81, "hostPort": 0}]}]}), json!({}), "hostPorts", "hostPort (container \"app\" uses hostPort 8080)")]
// AppArmor: fields and annotations.
#[case::apparmor_field(json!({}), json!({"appArmorProfile": {"type": "Unconfined"}}), "appArmorProfile", "forbidden AppArmor profile (container \"app\" must not set securityContext.appArmorProfile.type to \"Unconfined\")")]
#[case::apparmor_pod(json!({"securityContext": {"appArmorProfile": {"type": "Unconfined"}}}), json!({}), "appArmorProfile", "forbidden AppArmor profile (pod must not set securityContext.appArmorProfile.type to \"Unconfined\")")]
// SELinux.
#[case::selinux_type(json!({}), json!({"seLinuxOptions": {"type": "spc_t"}}), "seLinuxOptions", "seLinuxOptions (container \"app\" set forbidden securityContext.seLinuxOptions: type \"spc_t\")")]
#[case::selinux_user_role(json!({"securityContext": {"seLinuxOptions": {"user": "root", "role": "r"}}}), json!({}), "seLinuxOptions", "seLinuxOptions (pod set forbidden securityContext.seLinuxOptions: user may not be set; role may not be set)")]
// /proc mount type.
#[case::proc_mount(json!({}), json!({"procMount": "Unmasked"}), "procMount", "procMount (container \"app\" must not set securityContext.procMount to \"Unmasked\")")]
// Seccomp.
#[case::seccomp_unconfined(json!({}), json!({"seccompProfile": {"type": "Unconfined"}}), "seccompProfile_baseline", "seccompProfile (container \"app\" must not set securityContext.seccompProfile.type to \"Unconfined\")")]
// Sysctls.
#[case::sysctls(json!({"securityContext": {"sysctls": [{"name": "net.ipv4.tcp_syncookies", "value": "1"}, {"name": "kernel.msgmax", "value": "1"}]}}), json!({}), "sysctls", "forbidden sysctls (kernel.msgmax)")]
// Windows HostProcess.
#[case::host_process(json!({"securityContext": {"windowsOptions": {"hostProcess": true}}}), json!({"windowsOptions": {"hostProcess": true}}), "windowsHostProcess", "hostProcess (pod and container \"app\" must not set securityContext.windowsOptions.hostProcess=true)")]
// Probe and lifecycle hosts.
#[case::probe_host(json!({}), json!({}), "hostProbesAndHostLifecycle", "")]
fn baseline_controls(
    #[case] spec: Value,
    #[case] sc: Value,
    #[case] check: &str,
    #[case] message: &str,
) {
    let mut pod = pod(spec, sc);
    if check == "hostProbesAndHostLifecycle" {
        pod["spec"]["containers"][0]["livenessProbe"] =
            json!({"httpGet": {"host": "10.0.0.1", "port": 80}});
        pod["spec"]["containers"][0]["lifecycle"] =
            json!({"preStop": {"tcpSocket": {"host": "example.com", "port": 80}}});
        let message = "probe or lifecycle host (container \"app\" uses probe or lifecycle hosts \"10.0.0.1\", \"example.com\")";
        assert_eq!(judge(&pod, Level::Baseline, LATEST), only(check, message));
        // Before v1.34 a host was allowed.
        assert_eq!(judge(&pod, Level::Baseline, 33), vec![]);
        return;
    }
    // Baseline refuses it; privileged does not judge.
    let found = judge(&pod, Level::Baseline, LATEST);
    assert_eq!(found, only(check, message));
    assert_eq!(judge(&pod, Level::Privileged, LATEST), vec![]);
    // Restricted refuses it too, under its own check where one replaces
    // baseline's.
    let restricted = judge(&pod, Level::Restricted, LATEST);
    assert!(!restricted.is_empty(), "{restricted:?}");
}

#[rstest]
#[case::no_escalation_flag(json!({"allowPrivilegeEscalation": null}), "allowPrivilegeEscalation", "allowPrivilegeEscalation != false (container \"app\" must set securityContext.allowPrivilegeEscalation=false)")]
#[case::escalation_true(json!({"allowPrivilegeEscalation": true}), "allowPrivilegeEscalation", "allowPrivilegeEscalation != false (container \"app\" must set securityContext.allowPrivilegeEscalation=false)")]
#[case::no_run_as_non_root(json!({"runAsNonRoot": null}), "runAsNonRoot", "runAsNonRoot != true (pod or container \"app\" must set securityContext.runAsNonRoot=true)")]
#[case::run_as_root_false(json!({"runAsNonRoot": false}), "runAsNonRoot", "runAsNonRoot != true (container \"app\" must not set securityContext.runAsNonRoot=false)")]
#[case::run_as_user_0(json!({"runAsUser": 0}), "runAsUser", "runAsUser=0 (container \"app\" must not set runAsUser=0)")]
#[case::no_seccomp(json!({"seccompProfile": null}), "seccompProfile_restricted", "seccompProfile (pod or container \"app\" must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\")")]
#[case::seccomp_unconfined(json!({"seccompProfile": {"type": "Unconfined"}}), "seccompProfile_restricted", "seccompProfile (container \"app\" must not set securityContext.seccompProfile.type to \"Unconfined\")")]
#[case::no_drop_all(json!({"capabilities": {"drop": ["NET_RAW"]}}), "capabilities_restricted", "unrestricted capabilities (container \"app\" must set securityContext.capabilities.drop=[\"ALL\"])")]
#[case::adds_chown(json!({"capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE", "CHOWN"]}}), "capabilities_restricted", "unrestricted capabilities (container \"app\" must not include \"CHOWN\" in securityContext.capabilities.add)")]
#[case::proc_mount(json!({"procMount": "Unmasked"}), "procMount_restricted", "procMount (container \"app\" must not set securityContext.procMount to \"Unmasked\")")]
fn restricted_controls(#[case] sc: Value, #[case] check: &str, #[case] message: &str) {
    let pod = pod(json!({}), sc);
    assert_eq!(judge(&pod, Level::Restricted, LATEST), only(check, message));
    if check != "procMount_restricted" && !message.contains("Unconfined") {
        assert_eq!(
            judge(&pod, Level::Baseline, LATEST),
            vec![],
            "baseline allows it"
        );
    }
}

#[rstest]
#[case::nfs(json!({"name": "data", "nfs": {"server": "s", "path": "/"}}), "restricted volume types (volume \"data\" uses restricted volume type \"nfs\")")]
#[case::host_path(json!({"name": "logs", "hostPath": {"path": "/var/log"}}), "restricted volume types (volume \"logs\" uses restricted volume type \"hostPath\")")]
fn restricted_volume_types(#[case] volume: Value, #[case] message: &str) {
    let pod = pod(json!({"volumes": [volume]}), json!({}));
    assert_eq!(
        judge(&pod, Level::Restricted, LATEST),
        only("restrictedVolumes", message)
    );
}

#[test]
fn the_allowed_volume_types_pass_restricted() {
    let volumes = json!([
        {"name": "a", "configMap": {"name": "c"}}, {"name": "b", "secret": {"secretName": "s"}},
        {"name": "c", "emptyDir": {}}, {"name": "d", "projected": {"sources": []}},
        {"name": "e", "downwardAPI": {}}, {"name": "f", "persistentVolumeClaim": {"claimName": "p"}},
        {"name": "g", "csi": {"driver": "d"}}, {"name": "h", "ephemeral": {}},
        {"name": "i", "image": {"reference": "r"}}, {"name": "j"}
    ]);
    let pod = pod(json!({"volumes": volumes}), json!({}));
    assert_eq!(judge(&pod, Level::Restricted, LATEST), vec![]);
}

#[test]
fn containers_inherit_run_as_non_root_and_seccomp_from_the_pod() {
    let inherited = json!({"securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "Localhost", "localhostProfile": "p"}}});
    let covered = pod(
        inherited,
        json!({"runAsNonRoot": null, "seccompProfile": null}),
    );
    assert_eq!(judge(&covered, Level::Restricted, LATEST), vec![]);
    // A container overrides what it inherits.
    let mut overridden = covered.clone();
    overridden["spec"]["containers"][0]["securityContext"]["runAsNonRoot"] = json!(false);
    assert_eq!(
        judge(&overridden, Level::Restricted, LATEST),
        only(
            "runAsNonRoot",
            "runAsNonRoot != true (container \"app\" must not set securityContext.runAsNonRoot=false)"
        )
    );
    // The Pod's own false is its own finding; as runAsNonRoot_1_0 says it,
    // the containers that inherit it are not named beside it.
    let pod_false = pod(
        json!({"securityContext": {"runAsNonRoot": false}}),
        json!({"runAsNonRoot": null}),
    );
    assert_eq!(
        judge(&pod_false, Level::Restricted, LATEST),
        only(
            "runAsNonRoot",
            "runAsNonRoot != true (pod must not set securityContext.runAsNonRoot=false)"
        )
    );
    // runAsUser: 0 at the Pod's level names the Pod only.
    let root = pod(json!({"securityContext": {"runAsUser": 0}}), json!({}));
    assert_eq!(
        judge(&root, Level::Restricted, LATEST),
        only("runAsUser", "runAsUser=0 (pod must not set runAsUser=0)")
    );
}

#[test]
fn versions_judge_as_the_api_server_does() {
    // Sysctls made safe in later versions.
    let sysctl = |name: &str| {
        pod(
            json!({"securityContext": {"sysctls": [{"name": name, "value": "1"}]}}),
            json!({}),
        )
    };
    for (name, since) in [
        ("net.ipv4.ip_local_reserved_ports", 27),
        ("net.ipv4.tcp_keepalive_time", 29),
        ("net.ipv4.tcp_rmem", 32),
        ("net.ipv4.tcp_notsent_lowat", 37),
    ] {
        assert_eq!(judge(&sysctl(name), Level::Baseline, since), vec![]);
        assert_eq!(
            judge(&sysctl(name), Level::Baseline, since - 1),
            only("sysctls", &format!("forbidden sysctls ({name})"))
        );
    }
    // SELinux's container_engine_t from v1.31.
    let engine = pod(
        json!({}),
        json!({"seLinuxOptions": {"type": "container_engine_t"}}),
    );
    assert_eq!(judge(&engine, Level::Baseline, 31), vec![]);
    assert_eq!(judge(&engine, Level::Baseline, 30).len(), 1);
    // A user namespace relaxes the run-as-root controls and baseline's
    // procMount from v1.35, never restricted's procMount.
    let userns = pod(
        json!({"hostUsers": false}),
        json!({"runAsNonRoot": null, "runAsUser": 0, "procMount": "Unmasked"}),
    );
    assert_eq!(judge(&userns, Level::Baseline, 35), vec![]);
    let checks: Vec<String> = judge(&userns, Level::Restricted, 35)
        .into_iter()
        .map(|(c, _)| c)
        .collect();
    assert_eq!(checks, ["procMount_restricted"]);
    let checks: Vec<String> = judge(&userns, Level::Restricted, 34)
        .into_iter()
        .map(|(c, _)| c)
        .collect();
    assert_eq!(
        checks,
        ["runAsNonRoot", "runAsUser", "procMount_restricted"]
    );
    // Windows Pods are exempt from the Linux-only restricted controls.
    let windows = pod(
        json!({"os": {"name": "windows"}}),
        json!({"allowPrivilegeEscalation": null, "capabilities": null, "seccompProfile": null}),
    );
    assert_eq!(judge(&windows, Level::Restricted, LATEST), vec![]);
}

#[test]
fn several_containers_are_named_together() {
    let mut pod = pod(json!({}), json!({"allowPrivilegeEscalation": null}));
    let second = pod["spec"]["containers"][0].clone();
    pod["spec"]["containers"][0]["name"] = json!("a");
    pod["spec"]["initContainers"] = json!([second]);
    pod["spec"]["initContainers"][0]["name"] = json!("b");
    assert_eq!(
        judge(&pod, Level::Restricted, LATEST),
        only(
            "allowPrivilegeEscalation",
            "allowPrivilegeEscalation != false (containers \"b\", \"a\" must set securityContext.allowPrivilegeEscalation=false)"
        )
    );
}

#[test]
fn annotations_set_apparmor_profiles() {
    let mut pod = pod(json!({}), json!({}));
    pod["metadata"]["annotations"] = json!({
        "container.apparmor.security.beta.kubernetes.io/app": "unconfined",
        "container.apparmor.security.beta.kubernetes.io/ok": "localhost/profile",
    });
    assert_eq!(
        judge(&pod, Level::Baseline, LATEST),
        only(
            "appArmorProfile",
            "forbidden AppArmor profile (annotation container.apparmor.security.beta.kubernetes.io/app must not be \"unconfined\")"
        )
    );
}

#[test]
fn best_level_names_what_keeps_a_subject_from_the_next() {
    let restricted = pod(json!({}), json!({}));
    let spec = restricted["spec"].as_object().unwrap();
    let containers = spec["containers"].as_array().unwrap();
    fn subject(c: &Value) -> Subject<'_> {
        Subject {
            pod: None,
            containers: vec![c.as_object().unwrap()],
            ..Subject::default()
        }
    }
    assert_eq!(best_level(&subject(&containers[0])).0, Level::Restricted);
    let mut plain = containers[0].clone();
    plain["securityContext"] = json!({});
    let (level, missing) = best_level(&subject(&plain));
    assert_eq!(level, Level::Baseline);
    assert_eq!(missing.len(), 4);
    plain["securityContext"] = json!({"privileged": true});
    assert_eq!(best_level(&subject(&plain)).0, Level::Privileged);
}
