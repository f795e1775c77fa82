//! Table tests: for each ported rule, a Pod it refuses (with the path and
//! rule asserted) and a Pod it accepts, in the versions that matter.

use pod_validation_oracle::*;
use serde_json::{Value, json};

fn pod() -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web-0", "namespace": "default", "labels": {"app": "web"}},
        "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}
    })
}

/// A Pod as the API server stores it (1.36 defaults) with a native sidecar.
fn stored_pod() -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {
            "name": "web-7d4b9c-xk2lp", "generateName": "web-7d4b9c-", "namespace": "shop",
            "labels": {"app": "web", "pod-template-hash": "7d4b9c"},
            "annotations": {"sidecarset.kruise.io/injected": "[\"log-agent\"]", "kubectl.kubernetes.io/restartedAt": "2024-01-01T00:00:00Z"}
        },
        "spec": {
            "volumes": [
                {"name": "logs", "emptyDir": {"sizeLimit": "1Gi"}},
                {"name": "cfg", "configMap": {"name": "agent-config", "defaultMode": 420, "items": [{"key": "agent.yaml", "path": "conf/agent.yaml"}]}},
                {"name": "kube-api-access-abcde", "projected": {"defaultMode": 420, "sources": [
                    {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                    {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                    {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}
                ]}}
            ],
            "initContainers": [{
                "name": "log-agent", "image": "fluent/fluent-bit:3.1", "restartPolicy": "Always",
                "imagePullPolicy": "IfNotPresent", "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File",
                "env": [{"name": "POD_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}},
                        {"name": "CPU_LIMIT", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu", "divisor": "1m"}}}],
                "envFrom": [{"prefix": "AGENT_", "configMapRef": {"name": "agent-env"}}],
                "ports": [{"name": "metrics", "containerPort": 2020, "protocol": "TCP"}],
                "resources": {"limits": {"cpu": "200m", "memory": "128Mi"}, "requests": {"cpu": "50m", "memory": "64Mi"}},
                "volumeMounts": [{"name": "logs", "mountPath": "/var/log/app", "readOnly": true},
                                 {"name": "cfg", "mountPath": "/fluent-bit/etc", "readOnly": true},
                                 {"name": "kube-api-access-abcde", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "readOnly": true}],
                "startupProbe": {"httpGet": {"path": "/api/v1/health", "port": "metrics", "scheme": "HTTP"}, "periodSeconds": 2, "timeoutSeconds": 1, "successThreshold": 1, "failureThreshold": 30},
                "livenessProbe": {"tcpSocket": {"port": 2020}, "periodSeconds": 10, "timeoutSeconds": 1, "successThreshold": 1, "failureThreshold": 3},
                "lifecycle": {"preStop": {"exec": {"command": ["/bin/sh", "-c", "sleep 2"]}}},
                "securityContext": {"allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true, "runAsNonRoot": true, "runAsUser": 1000,
                                    "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}
            }],
            "containers": [{
                "name": "web", "image": "nginx:1.27", "imagePullPolicy": "IfNotPresent",
                "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File",
                "ports": [{"containerPort": 8080, "name": "http", "protocol": "TCP"}],
                "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}},
                "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080, "scheme": "HTTP"}, "periodSeconds": 10, "timeoutSeconds": 1, "successThreshold": 1, "failureThreshold": 3},
                "volumeMounts": [{"name": "logs", "mountPath": "/var/log/app"},
                                 {"name": "kube-api-access-abcde", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "readOnly": true}]
            }],
            "restartPolicy": "Always", "terminationGracePeriodSeconds": 30, "dnsPolicy": "ClusterFirst",
            "serviceAccountName": "default", "serviceAccount": "default", "nodeName": "node-1",
            "securityContext": {"runAsNonRoot": true, "fsGroup": 2000}, "schedulerName": "default-scheduler",
            "tolerations": [{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}],
            "priority": 0, "enableServiceLinks": true, "preemptionPolicy": "PreemptLowerPriority",
            "imagePullSecrets": [{"name": "registry"}]
        }
    })
}

/// Sets the JSON pointer `ptr` (creating objects on the way) to `v`.
fn with(mut p: Value, ptr: &str, v: Value) -> Value {
    let mut cur = &mut p;
    let parts: Vec<&str> = ptr.trim_start_matches('/').split('/').collect();
    for (i, part) in parts.iter().enumerate() {
        let last = i == parts.len() - 1;
        if let Ok(idx) = part.parse::<usize>() {
            let a = cur.as_array_mut().expect("array");
            while a.len() <= idx {
                a.push(json!({}));
            }
            if last {
                a[idx] = v;
                return p;
            }
            cur = &mut a[idx];
        } else {
            let o = cur.as_object_mut().expect("object");
            if last {
                o.insert(part.to_string(), v);
                return p;
            }
            cur = o.entry(part.to_string()).or_insert(json!({}));
        }
    }
    p
}

fn refused_with(p: &Value, v: u32, path: &str, rule: &str) {
    let errs = validate_pod_create(p, Version(v));
    assert!(
        errs.iter().any(|e| e.path == path && e.rule == rule),
        "1.{v}: expected {rule} at {path}, got {errs:#?}\npod: {p}"
    );
}

fn all_versions() -> impl Iterator<Item = u32> {
    VERSIONS
}

#[test]
fn stored_pod_with_native_sidecar_is_accepted_in_every_version() {
    let p = stored_pod();
    for v in all_versions() {
        assert_accepted(&p, Version(v));
    }
    let mut d = p.clone();
    default_pod(&mut d);
    for v in all_versions() {
        assert_accepted(&d, Version(v));
    }
}

#[test]
fn minimal_pod_is_accepted_and_defaulted() {
    for v in all_versions() {
        assert_accepted(&pod(), Version(v));
    }
    let mut d = pod();
    default_pod(&mut d);
    assert_eq!(d["spec"]["terminationGracePeriodSeconds"], 30);
    assert_eq!(d["spec"]["restartPolicy"], "Always");
    assert_eq!(d["spec"]["dnsPolicy"], "ClusterFirst");
    assert_eq!(d["spec"]["schedulerName"], "default-scheduler");
    assert_eq!(d["spec"]["securityContext"], json!({}));
    assert_eq!(
        d["spec"]["containers"][0]["imagePullPolicy"],
        "IfNotPresent"
    );
    assert_eq!(
        d["spec"]["containers"][0]["terminationMessagePolicy"],
        "File"
    );
    let mut l = with(pod(), "/spec/containers/0/image", json!("nginx"));
    default_pod(&mut l);
    assert_eq!(l["spec"]["containers"][0]["imagePullPolicy"], "Always");
}

// (a) Windows Pods: container securityContext fields refused by validateWindows
#[test]
fn windows_pod_refuses_linux_security_context() {
    let p = with(pod(), "/spec/os", json!({"name": "windows"}));
    let p = with(
        p,
        "/spec/containers/0/securityContext",
        json!({
            "allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}
        }),
    );
    for v in all_versions() {
        for f in ["allowPrivilegeEscalation", "capabilities", "seccompProfile"] {
            refused_with(
                &p,
                v,
                &format!("spec.containers[0].securityContext.{f}"),
                "validateWindows",
            );
        }
    }
    let p = with(pod(), "/spec/os", json!({"name": "windows"}));
    let p = with(
        p,
        "/spec/initContainers",
        json!([{"name": "side", "image": "x:1", "restartPolicy": "Always",
        "securityContext": {"runAsUser": 1000, "windowsOptions": {"runAsUserName": "ContainerUser"}}}]),
    );
    refused_with(
        &p,
        33,
        "spec.initContainers[0].securityContext.runAsUser",
        "validateWindows",
    );
    let p = with(
        p,
        "/spec/initContainers/0/securityContext",
        json!({"windowsOptions": {"runAsUserName": "ContainerUser"}}),
    );
    for v in all_versions() {
        assert_accepted(&p, Version(v));
    }
    let p = with(pod(), "/spec/os", json!({"name": "windows"}));
    let p = with(
        p,
        "/spec/securityContext",
        json!({"runAsUser": 1, "fsGroup": 1, "sysctls": [{"name": "kernel.shm_rmid_forced", "value": "0"}]}),
    );
    refused_with(&p, 33, "spec.securityContext.runAsUser", "validateWindows");
    refused_with(&p, 33, "spec.securityContext.fsGroup", "validateWindows");
    refused_with(&p, 33, "spec.securityContext.sysctls", "validateWindows");
    let p = with(
        with(pod(), "/spec/os", json!({"name": "windows"})),
        "/spec/hostUsers",
        json!(true),
    );
    assert_accepted(&p, Version(32)); // hostUsers dropped, UserNamespacesSupport off
    refused_with(&p, 33, "spec.hostUsers", "validateWindows");
}

#[test]
fn linux_pod_refuses_windows_options() {
    let p = with(pod(), "/spec/os", json!({"name": "linux"}));
    let p = with(
        p,
        "/spec/containers/0/securityContext/windowsOptions",
        json!({"runAsUserName": "x"}),
    );
    refused_with(
        &p,
        33,
        "spec.containers[0].securityContext.windowsOptions",
        "validateLinux",
    );
    refused_with(
        &with(pod(), "/spec/os", json!({"name": "plan9"})),
        33,
        "spec.os",
        "validateOS",
    );
    assert_accepted(
        &with(pod(), "/spec/os", json!({"name": "linux"})),
        Version(33),
    );
}

// (b) preStop sleep
#[test]
fn sleep_action_versions_and_grace_period() {
    let zero = with(
        pod(),
        "/spec/containers/0/lifecycle",
        json!({"preStop": {"sleep": {"seconds": 0}}}),
    );
    // 1.29: PodLifecycleSleepAction off, the sleep (and the emptied hook) is dropped
    assert_accepted(&zero, Version(29));
    for v in 30..=32 {
        refused_with(
            &zero,
            v,
            "spec.containers[0].lifecycle.preStop.sleep.seconds",
            "validateSleepAction",
        );
    }
    for v in 33..=36 {
        assert_accepted(&zero, Version(v));
    }
    let one = with(
        pod(),
        "/spec/containers/0/lifecycle",
        json!({"preStop": {"sleep": {"seconds": 1}}}),
    );
    let one0 = with(one.clone(), "/spec/terminationGracePeriodSeconds", json!(0));
    for v in 30..=36 {
        assert_accepted(&one, Version(v));
        refused_with(
            &one0,
            v,
            "spec.containers[0].lifecycle.preStop.sleep.seconds",
            "validateSleepAction",
        );
    }
    let both = with(
        pod(),
        "/spec/containers/0/lifecycle",
        json!({"preStop": {"sleep": {"seconds": 1}, "exec": {"command": ["x"]}}}),
    );
    refused_with(
        &both,
        33,
        "spec.containers[0].lifecycle.preStop.sleep",
        "validateHandler",
    );
    let none = with(
        pod(),
        "/spec/containers/0/lifecycle",
        json!({"postStart": {}}),
    );
    refused_with(
        &none,
        33,
        "spec.containers[0].lifecycle.postStart",
        "validateHandler",
    );
}

// (c) mountPath equal to a devicePath
#[test]
fn mount_path_in_volume_devices() {
    let p = with(
        pod(),
        "/spec/volumes",
        json!([{"name": "data", "emptyDir": {}}, {"name": "blk", "persistentVolumeClaim": {"claimName": "blk"}}]),
    );
    let p = with(
        p,
        "/spec/containers/0/volumeMounts",
        json!([{"name": "data", "mountPath": "/dev/xvda"}]),
    );
    let ok = with(
        p.clone(),
        "/spec/containers/0/volumeDevices",
        json!([{"name": "blk", "devicePath": "/dev/xvdb"}]),
    );
    let bad = with(
        p,
        "/spec/containers/0/volumeDevices",
        json!([{"name": "blk", "devicePath": "/dev/xvda"}]),
    );
    for v in all_versions() {
        assert_accepted(&ok, Version(v));
        refused_with(
            &bad,
            v,
            "spec.containers[0].volumeMounts[0].mountPath",
            "ValidateVolumeMounts",
        );
        refused_with(
            &bad,
            v,
            "spec.containers[0].volumeDevices[0].devicePath",
            "ValidateVolumeDevices",
        );
    }
    let not_pvc = with(
        ok.clone(),
        "/spec/containers/0/volumeDevices/0/name",
        json!("data"),
    );
    refused_with(
        &not_pvc,
        33,
        "spec.containers[0].volumeDevices[0].name",
        "ValidateVolumeDevices",
    );
}

// (d) Bidirectional propagation
#[test]
fn bidirectional_needs_privileged() {
    let p = with(
        pod(),
        "/spec/volumes",
        json!([{"name": "host", "hostPath": {"path": "/mnt"}}]),
    );
    let p = with(
        p,
        "/spec/containers/0/volumeMounts",
        json!([{"name": "host", "mountPath": "/mnt", "mountPropagation": "Bidirectional"}]),
    );
    let privileged = with(
        p.clone(),
        "/spec/containers/0/securityContext",
        json!({"privileged": true}),
    );
    for v in all_versions() {
        refused_with(
            &p,
            v,
            "spec.containers[0].volumeMounts.mountPropagation",
            "validateMountPropagation",
        );
        assert_accepted(&privileged, Version(v));
    }
    let bad = with(
        p,
        "/spec/containers/0/volumeMounts/0/mountPropagation",
        json!("Shared"),
    );
    refused_with(
        &bad,
        33,
        "spec.containers[0].volumeMounts.mountPropagation",
        "validateMountPropagation",
    );
}

// (e) recursiveReadOnly
#[test]
fn recursive_read_only_needs_read_only() {
    let p = with(
        pod(),
        "/spec/volumes",
        json!([{"name": "d", "emptyDir": {}}]),
    );
    let bad = with(
        p.clone(),
        "/spec/containers/0/volumeMounts",
        json!([{"name": "d", "mountPath": "/d", "recursiveReadOnly": "Enabled"}]),
    );
    let ok = with(
        p.clone(),
        "/spec/containers/0/volumeMounts",
        json!([{"name": "d", "mountPath": "/d", "readOnly": true, "recursiveReadOnly": "Enabled"}]),
    );
    let prop = with(
        ok.clone(),
        "/spec/containers/0/volumeMounts/0/mountPropagation",
        json!("HostToContainer"),
    );
    for v in [29, 30] {
        assert_accepted(&bad, Version(v)); // field absent (1.29) / dropped (1.30)
    }
    for v in 31..=36 {
        refused_with(
            &bad,
            v,
            "spec.containers[0].volumeMounts.recursiveReadOnly",
            "validateMountRecursiveReadOnly",
        );
        refused_with(
            &prop,
            v,
            "spec.containers[0].volumeMounts.recursiveReadOnly",
            "validateMountRecursiveReadOnly",
        );
        assert_accepted(&ok, Version(v));
    }
}

// (f) quantities
#[test]
fn quantities_must_parse() {
    for q in ["20 m", "1.5.0", "1Kb", "", "abc"] {
        let p = with(
            pod(),
            "/spec/containers/0/resources",
            json!({"requests": {"cpu": q}}),
        );
        for v in all_versions() {
            refused_with(
                &p,
                v,
                "spec.containers[0].resources.requests[cpu]",
                "ParseQuantity",
            );
        }
    }
    for q in [
        json!("20m"),
        json!("0.5"),
        json!(1),
        json!("1e3"),
        json!(".5"),
    ] {
        let p = with(
            pod(),
            "/spec/containers/0/resources",
            json!({"requests": {"cpu": q}}),
        );
        assert_accepted(&p, Version(33));
    }
    let p = with(
        pod(),
        "/spec/containers/0/resources",
        json!({"requests": {"cpu": "2"}, "limits": {"cpu": "1"}}),
    );
    refused_with(
        &p,
        33,
        "spec.containers[0].resources.requests",
        "validateResourceRequirements",
    );
    let p = with(
        pod(),
        "/spec/containers/0/resources",
        json!({"requests": {"cpu": "-1"}}),
    );
    refused_with(
        &p,
        33,
        "spec.containers[0].resources.requests[cpu]",
        "ValidateResourceQuantityValue",
    );
    let p = with(
        pod(),
        "/spec/containers/0/resources",
        json!({"limits": {"pods": "1"}}),
    );
    refused_with(
        &p,
        33,
        "spec.containers[0].resources.limits[pods]",
        "validateContainerResourceName",
    );
    let p = with(
        pod(),
        "/spec/containers/0/resources",
        json!({"limits": {"example.com/gpu": "1"}, "requests": {"example.com/gpu": "2"}}),
    );
    refused_with(
        &p,
        33,
        "spec.containers[0].resources.requests",
        "validateResourceRequirements",
    );
    let p = with(
        pod(),
        "/spec/containers/0/resources",
        json!({"limits": {"example.com/gpu": "500m"}}),
    );
    refused_with(
        &p,
        33,
        "spec.containers[0].resources.limits[example.com/gpu]",
        "ValidateResourceQuantityValue",
    );
    let p = with(
        pod(),
        "/spec/containers/0/resources",
        json!({"limits": {"hugepages-2Mi": "3Mi", "memory": "1Gi"}}),
    );
    refused_with(
        &p,
        33,
        "spec.containers[0].resources.limits[hugepages-2Mi]",
        "validateResourceQuantityHugePageValue",
    );
    let p = with(
        pod(),
        "/spec/containers/0/resources",
        json!({"limits": {"hugepages-2Mi": "4Mi"}}),
    );
    refused_with(
        &p,
        33,
        "spec.containers[0].resources",
        "validateResourceRequirements",
    );
    let p = with(
        pod(),
        "/spec/containers/0/resources",
        json!({"limits": {"hugepages-2Mi": "4Mi", "memory": "1Gi", "example.com/gpu": "1"}}),
    );
    assert_accepted(&p, Version(33));
}

// (g) probes on init containers
#[test]
fn init_container_probes() {
    let probe = json!({"exec": {"command": ["true"]}});
    let ordinary = with(
        pod(),
        "/spec/initContainers",
        json!([{"name": "init", "image": "busybox:1", "startupProbe": probe}]),
    );
    let sidecar = with(
        ordinary.clone(),
        "/spec/initContainers/0/restartPolicy",
        json!("Always"),
    );
    for v in all_versions() {
        refused_with(
            &ordinary,
            v,
            "spec.initContainers[0].startupProbe",
            "validateInitContainers",
        );
        assert_accepted(&sidecar, Version(v));
    }
    let life = with(
        pod(),
        "/spec/initContainers",
        json!([{"name": "init", "image": "busybox:1", "lifecycle": {"preStop": {"exec": {"command": ["x"]}}}}]),
    );
    refused_with(
        &life,
        33,
        "spec.initContainers[0].lifecycle",
        "validateInitContainers",
    );
    let bad_live = with(
        sidecar.clone(),
        "/spec/initContainers/0/livenessProbe",
        json!({"exec": {"command": ["x"]}, "successThreshold": 2}),
    );
    refused_with(
        &bad_live,
        33,
        "spec.initContainers[0].livenessProbe.successThreshold",
        "validateLivenessProbe",
    );
    let two = with(
        sidecar.clone(),
        "/spec/initContainers/0/readinessProbe",
        json!({"exec": {"command": ["x"]}, "tcpSocket": {"port": 80}}),
    );
    refused_with(
        &two,
        33,
        "spec.initContainers[0].readinessProbe.tcpSocket",
        "validateHandler",
    );
    let neg = with(
        sidecar.clone(),
        "/spec/initContainers/0/startupProbe/initialDelaySeconds",
        json!(-1),
    );
    refused_with(
        &neg,
        33,
        "spec.initContainers[0].startupProbe.initialDelaySeconds",
        "ValidateNonnegativeField",
    );
    let tgp = with(
        sidecar.clone(),
        "/spec/initContainers/0/readinessProbe",
        json!({"exec": {"command": ["x"]}, "terminationGracePeriodSeconds": 5}),
    );
    refused_with(
        &tgp,
        33,
        "spec.initContainers[0].readinessProbe.terminationGracePeriodSeconds",
        "validateReadinessProbe",
    );
    let port = with(
        pod(),
        "/spec/containers/0/livenessProbe",
        json!({"httpGet": {"port": "8080"}}),
    );
    refused_with(
        &port,
        33,
        "spec.containers[0].livenessProbe.httpGet.port",
        "ValidatePortNumOrName",
    );
    let never = with(
        sidecar,
        "/spec/initContainers/0/restartPolicy",
        json!("Never"),
    );
    for v in 29..=33 {
        refused_with(
            &never,
            v,
            "spec.initContainers[0].restartPolicy",
            "validateInitContainerRestartPolicy",
        );
    }
}

#[test]
fn regular_container_restart_policy() {
    let p = with(pod(), "/spec/containers/0/restartPolicy", json!("Always"));
    for v in 29..=33 {
        refused_with(
            &p,
            v,
            "spec.containers[0].restartPolicy",
            "validateContainers",
        );
    }
    assert_accepted(&p, Version(34)); // dropped: ContainerRestartRules off
    assert_accepted(&p, Version(35));
    let bad = with(
        pod(),
        "/spec/containers/0/restartPolicy",
        json!("Sometimes"),
    );
    refused_with(
        &bad,
        35,
        "spec.containers[0].restartPolicy",
        "validateContainerRestartPolicy",
    );
}

// (h) duplicate names
#[test]
fn container_names_unique_across_lists() {
    let p = with(
        pod(),
        "/spec/initContainers",
        json!([{"name": "app", "image": "x:1", "restartPolicy": "Always"}]),
    );
    for v in all_versions() {
        refused_with(
            &p,
            v,
            "spec.initContainers[0].name",
            "validateInitContainers",
        );
    }
    let p = with(
        pod(),
        "/spec/containers/1",
        json!({"name": "app", "image": "x:1"}),
    );
    refused_with(&p, 33, "spec.containers[1].name", "validateContainers");
    let p = with(pod(), "/spec/containers/0/name", json!("App_1"));
    refused_with(&p, 33, "spec.containers[0].name", "validateContainerCommon");
    let p = with(pod(), "/spec/containers/0/image", json!(""));
    refused_with(
        &p,
        33,
        "spec.containers[0].image",
        "validateContainerCommon",
    );
    let p = with(pod(), "/spec/containers/0/image", json!(" nginx"));
    refused_with(
        &p,
        33,
        "spec.containers[0].image",
        "validateContainerOnlyForPod",
    );
    let p = with(
        pod(),
        "/spec/containers/0/imagePullPolicy",
        json!("Sometimes"),
    );
    refused_with(
        &p,
        33,
        "spec.containers[0].imagePullPolicy",
        "validatePullPolicy",
    );
    let p = with(
        pod(),
        "/spec/containers/0/terminationMessagePolicy",
        json!("Stdout"),
    );
    refused_with(
        &p,
        33,
        "spec.containers[0].terminationMessagePolicy",
        "validateContainerCommon",
    );
    refused_with(
        &with(pod(), "/spec/containers", json!([])),
        33,
        "spec.containers",
        "validateContainers",
    );
    let p = with(
        pod(),
        "/spec/ephemeralContainers",
        json!([{"name": "debug", "image": "busybox:1"}]),
    );
    refused_with(&p, 33, "spec.ephemeralContainers", "ValidatePodCreate");
}

#[test]
fn ports() {
    let p = with(
        pod(),
        "/spec/containers/0/ports",
        json!([{"containerPort": 0}, {"containerPort": 70000, "hostPort": -1, "protocol": "ICMP", "name": "Http"}]),
    );
    refused_with(
        &p,
        33,
        "spec.containers[0].ports[0].containerPort",
        "validateContainerPorts",
    );
    refused_with(
        &p,
        33,
        "spec.containers[0].ports[1].containerPort",
        "validateContainerPorts",
    );
    refused_with(
        &p,
        33,
        "spec.containers[0].ports[1].hostPort",
        "validateContainerPorts",
    );
    refused_with(
        &p,
        33,
        "spec.containers[0].ports[1].protocol",
        "validateContainerPorts",
    );
    refused_with(
        &p,
        33,
        "spec.containers[0].ports[1].name",
        "validateContainerPorts",
    );
    let p = with(
        pod(),
        "/spec/containers/0/ports",
        json!([{"containerPort": 80, "name": "http"}, {"containerPort": 81, "name": "http"}]),
    );
    refused_with(
        &p,
        33,
        "spec.containers[0].ports[1].name",
        "validateContainerPorts",
    );
    let p = with(
        pod(),
        "/spec/containers/1",
        json!({"name": "b", "image": "x:1", "ports": [{"containerPort": 80, "hostPort": 8080}]}),
    );
    let p = with(
        p,
        "/spec/containers/0/ports",
        json!([{"containerPort": 80, "hostPort": 8080}]),
    );
    refused_with(
        &p,
        33,
        "spec.containers[1].ports[0].hostPort",
        "AccumulateUniqueHostPorts",
    );
    // init containers are checked one by one: the same hostPort as a container is fine
    let p = with(
        pod(),
        "/spec/containers/0/ports",
        json!([{"containerPort": 80, "hostPort": 8080}]),
    );
    let p = with(
        p,
        "/spec/initContainers",
        json!([{"name": "i", "image": "x:1", "ports": [{"containerPort": 80, "hostPort": 8080}]}]),
    );
    assert_accepted(&p, Version(33));
    let p = with(pod(), "/spec/hostNetwork", json!(true));
    let p = with(
        p,
        "/spec/containers/0/ports",
        json!([{"containerPort": 80, "hostPort": 81}]),
    );
    refused_with(
        &p,
        33,
        "spec.containers[0].ports[0].hostPort",
        "validatePodHostNetworkDeps",
    );
}

#[test]
fn env_names_and_sources() {
    let p = with(
        pod(),
        "/spec/containers/0/env",
        json!([{"name": "1BAD", "value": "x"}]),
    );
    for v in 29..=31 {
        refused_with(&p, v, "spec.containers[0].env[0].name", "ValidateEnv");
    }
    for v in 32..=36 {
        assert_accepted(&p, Version(v));
    }
    let p = with(pod(), "/spec/containers/0/env", json!([{"name": "A=B"}]));
    refused_with(&p, 36, "spec.containers[0].env[0].name", "ValidateEnv");
    let p = with(pod(), "/spec/containers/0/env", json!([{"name": ""}]));
    refused_with(&p, 36, "spec.containers[0].env[0].name", "ValidateEnv");
    let p = with(
        pod(),
        "/spec/containers/0/env",
        json!([{"name": "A", "value": "x", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}]),
    );
    refused_with(
        &p,
        33,
        "spec.containers[0].env[0].valueFrom",
        "validateEnvVarValueFrom",
    );
    let p = with(
        pod(),
        "/spec/containers/0/env",
        json!([{"name": "A", "valueFrom": {}}]),
    );
    refused_with(
        &p,
        33,
        "spec.containers[0].env[0].valueFrom",
        "validateEnvVarValueFrom",
    );
    let p = with(
        pod(),
        "/spec/containers/0/env",
        json!([{"name": "A", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}, "configMapKeyRef": {"name": "c", "key": "k"}}}]),
    );
    refused_with(
        &p,
        33,
        "spec.containers[0].env[0].valueFrom",
        "validateEnvVarValueFrom",
    );
    let p = with(
        pod(),
        "/spec/containers/0/env",
        json!([{"name": "A", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
        {"name": "B", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}},
        {"name": "C", "valueFrom": {"resourceFieldRef": {"resource": "requests.memory", "divisor": "1Mi"}}},
        {"name": "D", "valueFrom": {"configMapKeyRef": {"name": "c", "key": "k.y"}}}]),
    );
    assert_accepted(&p, Version(33));
    let p = with(
        pod(),
        "/spec/containers/0/env",
        json!([{"name": "A", "valueFrom": {"fieldRef": {"fieldPath": "status.phase"}}}]),
    );
    refused_with(
        &p,
        33,
        "spec.containers[0].env[0].valueFrom.fieldRef.fieldPath",
        "validateObjectFieldSelector",
    );
    let p = with(
        pod(),
        "/spec/containers/0/env",
        json!([{"name": "A", "valueFrom": {"fieldRef": {"fieldPath": "spec.foo"}}}]),
    );
    refused_with(
        &p,
        33,
        "spec.containers[0].env[0].valueFrom.fieldRef.fieldPath",
        "validateObjectFieldSelector",
    );
    let p = with(
        pod(),
        "/spec/containers/0/env",
        json!([{"name": "A", "valueFrom": {"resourceFieldRef": {"resource": "limits.gpu"}}}]),
    );
    refused_with(
        &p,
        33,
        "spec.containers[0].env[0].valueFrom.resourceFieldRef.resource",
        "validateContainerResourceFieldSelector",
    );
    let p = with(
        pod(),
        "/spec/containers/0/env",
        json!([{"name": "A", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu", "divisor": "2m"}}}]),
    );
    refused_with(
        &p,
        33,
        "spec.containers[0].env[0].valueFrom.resourceFieldRef.divisor",
        "validateContainerResourceDivisor",
    );
    let p = with(
        pod(),
        "/spec/containers/0/env",
        json!([{"name": "A", "valueFrom": {"secretKeyRef": {"name": "S", "key": ""}}}]),
    );
    refused_with(
        &p,
        33,
        "spec.containers[0].env[0].valueFrom.secretKeyRef.name",
        "validateConfigMapKeySelector",
    );
    refused_with(
        &p,
        33,
        "spec.containers[0].env[0].valueFrom.secretKeyRef.key",
        "validateConfigMapKeySelector",
    );
}

#[test]
fn env_from() {
    let p = with(
        pod(),
        "/spec/containers/0/envFrom",
        json!([{"prefix": "1_", "configMapRef": {"name": "c"}}]),
    );
    refused_with(
        &p,
        31,
        "spec.containers[0].envFrom[0].prefix",
        "ValidateEnvFrom",
    );
    assert_accepted(&p, Version(32));
    let p = with(
        pod(),
        "/spec/containers/0/envFrom",
        json!([{"configMapRef": {"name": "c"}, "secretRef": {"name": "s"}}]),
    );
    refused_with(&p, 33, "spec.containers[0].envFrom", "ValidateEnvFrom");
    let p = with(
        pod(),
        "/spec/containers/0/envFrom",
        json!([{"prefix": "P_"}]),
    );
    refused_with(&p, 33, "spec.containers[0].envFrom", "ValidateEnvFrom");
    let p = with(
        pod(),
        "/spec/containers/0/envFrom",
        json!([{"secretRef": {"name": ""}}]),
    );
    refused_with(
        &p,
        33,
        "spec.containers[0].envFrom[0].secretRef.name",
        "ValidateEnvFrom",
    );
}

#[test]
fn volumes() {
    let p = with(
        pod(),
        "/spec/volumes",
        json!([{"name": "a", "emptyDir": {}}, {"name": "a", "emptyDir": {}}]),
    );
    refused_with(&p, 33, "spec.volumes[1].name", "ValidateVolumes");
    let p = with(
        pod(),
        "/spec/volumes",
        json!([{"name": "A_b", "emptyDir": {}}]),
    );
    refused_with(&p, 33, "spec.volumes[0].name", "ValidateVolumes");
    let p = with(
        pod(),
        "/spec/volumes",
        json!([{"name": "a", "emptyDir": {}, "configMap": {"name": "c"}}]),
    );
    refused_with(&p, 33, "spec.volumes[0].configMap", "validateVolumeSource");
    let p = with(pod(), "/spec/volumes", json!([{"name": "a"}]));
    assert_accepted(&p, Version(33)); // SetDefaults_Volume: emptyDir
    let p = with(
        pod(),
        "/spec/volumes",
        json!([{"name": "a", "emptyDir": {"sizeLimit": "-1Gi"}}]),
    );
    refused_with(
        &p,
        33,
        "spec.volumes[0].emptyDir.sizeLimit",
        "validateVolumeSource",
    );
    let p = with(
        pod(),
        "/spec/volumes",
        json!([{"name": "a", "configMap": {"name": "c", "items": [{"key": "k", "path": "../x"}, {"key": "", "path": "/abs"}]}}]),
    );
    refused_with(
        &p,
        33,
        "spec.volumes[0].configMap.items[0].path",
        "validatePathNoBacksteps",
    );
    refused_with(
        &p,
        33,
        "spec.volumes[0].configMap.items[1].path",
        "validateLocalDescendingPath",
    );
    refused_with(
        &p,
        33,
        "spec.volumes[0].configMap.items[1].key",
        "validateKeyToPath",
    );
    let p = with(
        pod(),
        "/spec/volumes",
        json!([{"name": "a", "secret": {"secretName": "", "defaultMode": 4096}}]),
    );
    refused_with(
        &p,
        33,
        "spec.volumes[0].secret.secretName",
        "validateSecretVolumeSource",
    );
    refused_with(
        &p,
        33,
        "spec.volumes[0].secret.defaultMode",
        "validateSecretVolumeSource",
    );
    let p = with(
        pod(),
        "/spec/volumes",
        json!([{"name": "a", "hostPath": {"path": "/x/../y", "type": "Dir"}}]),
    );
    refused_with(
        &p,
        33,
        "spec.volumes[0].hostPath.path",
        "validatePathNoBacksteps",
    );
    refused_with(
        &p,
        33,
        "spec.volumes[0].hostPath.type",
        "validateHostPathType",
    );
    let p = with(
        pod(),
        "/spec/volumes",
        json!([{"name": "a", "nfs": {"server": "", "path": "rel"}}]),
    );
    refused_with(
        &p,
        33,
        "spec.volumes[0].nfs.server",
        "validateNFSVolumeSource",
    );
    refused_with(
        &p,
        33,
        "spec.volumes[0].nfs.path",
        "validateNFSVolumeSource",
    );
    let p = with(
        pod(),
        "/spec/volumes",
        json!([{"name": "a", "persistentVolumeClaim": {"claimName": ""}}]),
    );
    refused_with(
        &p,
        33,
        "spec.volumes[0].persistentVolumeClaim.claimName",
        "validatePersistentClaimVolumeSource",
    );
    let p = with(
        pod(),
        "/spec/volumes",
        json!([{"name": "a", "csi": {"driver": "Bad_Driver"}}]),
    );
    refused_with(
        &p,
        33,
        "spec.volumes[0].csi.driver",
        "ValidateCSIDriverName",
    );
    let p = with(
        pod(),
        "/spec/volumes",
        json!([{"name": "a", "downwardAPI": {"items": [{"path": "x", "fieldRef": {"fieldPath": "spec.nodeName"}}]}}]),
    );
    refused_with(
        &p,
        33,
        "spec.volumes[0].downwardAPI.fieldRef.fieldPath",
        "validateObjectFieldSelector",
    );
    let p = with(
        pod(),
        "/spec/volumes",
        json!([{"name": "a", "projected": {"sources": [{"secret": {"name": "s", "items": [{"key": "k", "path": "p"}]}, "configMap": {"name": "c"}}, {"configMap": {"name": "c", "items": [{"key": "k", "path": "p"}]}}]}}]),
    );
    refused_with(
        &p,
        33,
        "spec.volumes[0].projected.sources[0]",
        "validateProjectionSources",
    );
    refused_with(
        &p,
        33,
        "spec.volumes[0].projected",
        "validateProjectionSources",
    );
    let p = with(
        pod(),
        "/spec/volumes",
        json!([{"name": "a", "projected": {"sources": [{"serviceAccountToken": {"path": "t", "expirationSeconds": 60}}]}}]),
    );
    refused_with(
        &p,
        33,
        "spec.volumes[0].projected.sources[0].serviceAccountToken.expirationSeconds",
        "validateProjectionSources",
    );
    refused_with(
        &p,
        33,
        "spec.volumes[0].projected.sources[0].serviceAccountToken",
        "validatePodMetadataAndSpec",
    );
    let p = with(
        pod(),
        "/spec/volumes",
        json!([{"name": "a", "ephemeral": {"volumeClaimTemplate": {"spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}}}]),
    );
    assert_accepted(&p, Version(33));
    let p = with(
        pod(),
        "/spec/volumes",
        json!([{"name": "a", "ephemeral": {"volumeClaimTemplate": {"spec": {}}}}]),
    );
    refused_with(
        &p,
        33,
        "spec.volumes[0].ephemeral.volumeClaimTemplate.spec.accessModes",
        "ValidatePersistentVolumeClaimSpec",
    );
}

#[test]
fn image_volumes_by_version() {
    let p = with(
        pod(),
        "/spec/volumes",
        json!([{"name": "models", "image": {"reference": "", "pullPolicy": "IfNotPresent"}}]),
    );
    let p = with(
        p,
        "/spec/containers/0/volumeMounts",
        json!([{"name": "models", "mountPath": "/models", "subPath": "x"}]),
    );
    for v in [29, 30] {
        assert_accepted(&p, Version(v)); // unknown field: the volume defaults to emptyDir
    }
    for v in 31..=34 {
        assert_accepted(&p, Version(v)); // dropImageVolumes: volume and mount dropped
    }
    let ok_ref = with(
        p.clone(),
        "/spec/volumes/0/image/reference",
        json!("registry/models:v1"),
    );
    for v in [35, 36] {
        refused_with(
            &p,
            v,
            "spec.volumes[0].image.reference",
            "validateImageVolumeSource",
        );
        // an invalid volume is not registered: its mount is NotFound, as in Go
        refused_with(
            &p,
            v,
            "spec.containers[0].volumeMounts[0].name",
            "ValidateVolumeMounts",
        );
        refused_with(
            &ok_ref,
            v,
            "spec.containers[0].volumeMounts[0].subPath",
            "ValidateVolumeMounts",
        );
        let no_sub = with(
            ok_ref.clone(),
            "/spec/containers/0/volumeMounts/0/subPath",
            json!(""),
        );
        assert_accepted(&no_sub, Version(v));
    }
}

#[test]
fn volume_mounts() {
    let p = with(
        pod(),
        "/spec/volumes",
        json!([{"name": "d", "emptyDir": {}}]),
    );
    let p = with(
        p,
        "/spec/containers/0/volumeMounts",
        json!([
            {"name": "nope", "mountPath": "/a"}, {"name": "d", "mountPath": "/a"}, {"name": "d", "mountPath": ""},
            {"name": "d", "mountPath": "/b", "subPath": "/abs", "subPathExpr": "x"}
        ]),
    );
    refused_with(
        &p,
        33,
        "spec.containers[0].volumeMounts[0].name",
        "ValidateVolumeMounts",
    );
    refused_with(
        &p,
        33,
        "spec.containers[0].volumeMounts[1].mountPath",
        "ValidateVolumeMounts",
    );
    refused_with(
        &p,
        33,
        "spec.containers[0].volumeMounts[2].mountPath",
        "ValidateVolumeMounts",
    );
    refused_with(
        &p,
        33,
        "spec.containers[0].volumeMounts.subPath",
        "validateLocalDescendingPath",
    );
    refused_with(
        &p,
        33,
        "spec.containers[0].volumeMounts[3].subPathExpr",
        "ValidateVolumeMounts",
    );
}

#[test]
fn security_context() {
    let p = with(
        pod(),
        "/spec/containers/0/securityContext",
        json!({"allowPrivilegeEscalation": false, "privileged": true}),
    );
    refused_with(
        &p,
        33,
        "spec.containers[0].securityContext",
        "ValidateSecurityContext",
    );
    let p = with(
        pod(),
        "/spec/containers/0/securityContext",
        json!({"allowPrivilegeEscalation": false, "capabilities": {"add": ["CAP_SYS_ADMIN"]}}),
    );
    refused_with(
        &p,
        33,
        "spec.containers[0].securityContext",
        "ValidateSecurityContext",
    );
    let p = with(
        pod(),
        "/spec/containers/0/securityContext",
        json!({"allowPrivilegeEscalation": false, "capabilities": {"add": ["NET_ADMIN"]}, "runAsUser": 0}),
    );
    assert_accepted(&p, Version(33));
    let p = with(
        pod(),
        "/spec/containers/0/securityContext",
        json!({"runAsUser": -1, "runAsGroup": 2147483648u64}),
    );
    refused_with(
        &p,
        33,
        "spec.containers[0].securityContext.runAsUser",
        "ValidateSecurityContext",
    );
    refused_with(
        &p,
        33,
        "spec.containers[0].securityContext.runAsGroup",
        "ValidateSecurityContext",
    );
    let p = with(
        pod(),
        "/spec/containers/0/securityContext",
        json!({"procMount": "Masked"}),
    );
    assert_accepted(&p, Version(32)); // forced to Default: ProcMountType off
    refused_with(
        &p,
        33,
        "spec.containers[0].securityContext.procMount",
        "ValidateProcMountType",
    );
    let p = with(
        pod(),
        "/spec/containers/0/securityContext",
        json!({"procMount": "Unmasked"}),
    );
    refused_with(
        &p,
        33,
        "spec.containers[0].securityContext.procMount",
        "ValidateSecurityContext",
    );
    let p = with(p, "/spec/hostUsers", json!(false));
    assert_accepted(&p, Version(33));
    let p = with(
        pod(),
        "/spec/containers/0/securityContext",
        json!({"seccompProfile": {"type": "Localhost"}}),
    );
    refused_with(
        &p,
        33,
        "spec.containers[0].securityContext.seccompProfile.localhostProfile",
        "validateSeccompProfileField",
    );
    let p = with(
        pod(),
        "/spec/containers/0/securityContext",
        json!({"seccompProfile": {"type": "RuntimeDefault", "localhostProfile": "x"}}),
    );
    refused_with(
        &p,
        33,
        "spec.containers[0].securityContext.seccompProfile.localhostProfile",
        "validateSeccompProfileField",
    );
    let p = with(
        pod(),
        "/spec/containers/0/securityContext",
        json!({"seccompProfile": {}}),
    );
    refused_with(
        &p,
        33,
        "spec.containers[0].securityContext.seccompProfile.type",
        "validateSeccompProfileField",
    );
    let p = with(
        pod(),
        "/spec/containers/0/securityContext",
        json!({"appArmorProfile": {"type": "Localhost", "localhostProfile": " p"}}),
    );
    assert_accepted(&p, Version(29)); // field absent in 1.29
    refused_with(
        &p,
        30,
        "spec.containers[0].securityContext.appArmorProfile.localhostProfile",
        "ValidateAppArmorProfileField",
    );
    let p = with(
        pod(),
        "/spec/securityContext",
        json!({"fsGroup": -5, "fsGroupChangePolicy": "Never", "sysctls": [{"name": "net.ipv4.ip_forward", "value": "1"}, {"name": "net.ipv4.ip_forward", "value": "1"}]}),
    );
    let p = with(p, "/spec/hostNetwork", json!(true));
    refused_with(
        &p,
        33,
        "spec.securityContext.fsGroup",
        "validatePodSpecSecurityContext",
    );
    refused_with(
        &p,
        33,
        "spec.securityContext.fsGroupChangePolicy",
        "validateFSGroupChangePolicy",
    );
    refused_with(
        &p,
        33,
        "spec.securityContext.sysctls[1].name",
        "validateSysctls",
    );
    refused_with(
        &p,
        33,
        "spec.securityContext.sysctls[0].name",
        "ValidateHostSysctl",
    );
    let p = with(
        pod(),
        "/spec/securityContext",
        json!({"supplementalGroupsPolicy": "Loose", "seLinuxChangePolicy": "MountOption"}),
    );
    assert_accepted(&p, Version(32));
    refused_with(
        &p,
        33,
        "spec.securityContext.supplementalGroupsPolicy",
        "validateSupplementalGroupsPolicy",
    );
    refused_with(
        &p,
        33,
        "spec.securityContext.seLinuxChangePolicy",
        "validateSELinuxChangePolicy",
    );
    let p = with(
        with(pod(), "/spec/hostUsers", json!(false)),
        "/spec/hostNetwork",
        json!(true),
    );
    assert_accepted(&p, Version(32));
    refused_with(&p, 33, "spec.hostNetwork", "validateHostUsers");
}

#[test]
fn metadata() {
    let p = with(
        pod(),
        "/metadata/labels",
        json!({"bad key!": "v", "ok": "bad value!"}),
    );
    refused_with(&p, 33, "metadata.labels", "ValidateLabels");
    let p = with(pod(), "/metadata/annotations", json!({"-bad": "v"}));
    refused_with(&p, 33, "metadata.annotations", "ValidateAnnotations");
    let p = with(
        pod(),
        "/metadata/annotations",
        json!({"big": "x".repeat(256 * 1024)}),
    );
    refused_with(&p, 33, "metadata.annotations", "ValidateAnnotations");
    let p = with(
        pod(),
        "/metadata/annotations",
        json!({"Example.COM/Key": "v"}),
    );
    assert_accepted(&p, Version(33));
    let p = with(pod(), "/metadata/name", json!("Web_0"));
    refused_with(&p, 33, "metadata.name", "ValidateObjectMeta");
    let p = with(pod(), "/metadata", json!({"generateName": "web-"}));
    assert_accepted(&p, Version(33));
    let p = with(pod(), "/metadata", json!({}));
    refused_with(&p, 33, "metadata.name", "ValidateObjectMeta");
    let p = with(
        pod(),
        "/metadata/annotations",
        json!({"controller.kubernetes.io/pod-deletion-cost": "+1"}),
    );
    refused_with(
        &p,
        33,
        "metadata.annotations[controller.kubernetes.io/pod-deletion-cost]",
        "ValidatePodSpecificAnnotations",
    );
    // validFirstDigit: no leading zero but "0" itself; a sign first is fine.
    for cost in ["007", "00", "+1"] {
        let p = with(
            pod(),
            "/metadata/annotations",
            json!({"controller.kubernetes.io/pod-deletion-cost": cost}),
        );
        refused_with(
            &p,
            33,
            "metadata.annotations[controller.kubernetes.io/pod-deletion-cost]",
            "ValidatePodSpecificAnnotations",
        );
    }
    for cost in ["0", "-007", "2147483647"] {
        let p = with(
            pod(),
            "/metadata/annotations",
            json!({"controller.kubernetes.io/pod-deletion-cost": cost}),
        );
        assert_accepted(&p, Version(33));
    }
    let p = with(
        pod(),
        "/metadata/annotations",
        json!({"scheduler.alpha.kubernetes.io/tolerations": "nope"}),
    );
    refused_with(
        &p,
        33,
        "metadata.annotations[scheduler.alpha.kubernetes.io/tolerations]",
        "ValidatePodSpecificAnnotations",
    );
    let p = with(
        pod(),
        "/metadata/annotations",
        json!({"container.apparmor.security.beta.kubernetes.io/nope": "runtime/default"}),
    );
    refused_with(
        &p,
        33,
        "metadata.annotations[container.apparmor.security.beta.kubernetes.io/nope]",
        "ValidateAppArmorPodAnnotations",
    );
    let p = with(
        pod(),
        "/metadata/annotations",
        json!({"seccomp.security.alpha.kubernetes.io/pod": "localhost/../x"}),
    );
    refused_with(
        &p,
        33,
        "metadata.annotations.seccomp.security.alpha.kubernetes.io/pod",
        "validatePathNoBacksteps",
    );
    let p = with(
        pod(),
        "/metadata/annotations",
        json!({"container.seccomp.security.alpha.kubernetes.io/app": "unconfined"}),
    );
    let p = with(
        p,
        "/spec/containers/0/securityContext/seccompProfile",
        json!({"type": "RuntimeDefault"}),
    );
    refused_with(
        &p,
        33,
        "spec.containers[0].securityContext.seccompProfile.type",
        "validateSeccompAnnotationsAndFieldsMatch",
    );
}

#[test]
fn pod_spec_fields() {
    refused_with(
        &with(pod(), "/spec/restartPolicy", json!("Sometimes")),
        33,
        "spec.restartPolicy",
        "validateRestartPolicy",
    );
    refused_with(
        &with(pod(), "/spec/dnsPolicy", json!("Google")),
        33,
        "spec.dnsPolicy",
        "validateDNSPolicy",
    );
    refused_with(
        &with(pod(), "/spec/dnsPolicy", json!("None")),
        33,
        "spec.dnsConfig",
        "validatePodDNSConfig",
    );
    let p = with(
        pod(),
        "/spec/dnsConfig",
        json!({"nameservers": ["1.1.1.1", "x"], "searches": ["a_b.local"]}),
    );
    refused_with(
        &p,
        33,
        "spec.dnsConfig.nameservers[1]",
        "validatePodDNSConfig",
    );
    refused_with(&p, 32, "spec.dnsConfig.searches[0]", "validatePodDNSConfig");
    let p = with(
        pod(),
        "/spec/tolerations",
        json!([{"operator": "Equal", "value": "x"}, {"key": "k", "operator": "Exists", "value": "v", "effect": "Sometimes"}]),
    );
    refused_with(
        &p,
        33,
        "spec.tolerations[0].operator",
        "ValidateTolerations",
    );
    refused_with(
        &p,
        33,
        "spec.tolerations[1].operator",
        "ValidateTolerations",
    );
    refused_with(&p, 33, "spec.tolerations[1].effect", "validateTaintEffect");
    refused_with(
        &with(pod(), "/spec/activeDeadlineSeconds", json!(0)),
        33,
        "spec.activeDeadlineSeconds",
        "ValidatePodSpec",
    );
    refused_with(
        &with(pod(), "/spec/hostname", json!("a.b")),
        33,
        "spec.hostname",
        "ValidatePodSpec",
    );
    refused_with(
        &with(pod(), "/spec/serviceAccountName", json!("Bad")),
        33,
        "spec.serviceAccountName",
        "ValidatePodSpec",
    );
    refused_with(
        &with(pod(), "/spec/nodeSelector", json!({"k": "bad value"})),
        33,
        "spec.nodeSelector",
        "ValidateLabels",
    );
    let p = with(
        with(pod(), "/spec/nodeName", json!("n")),
        "/spec/schedulingGates",
        json!([{"name": "g"}]),
    );
    refused_with(&p, 33, "spec.nodeName", "ValidatePodCreate");
    let p = with(
        pod(),
        "/spec/schedulingGates",
        json!([{"name": "g"}, {"name": "g"}]),
    );
    refused_with(&p, 33, "spec.schedulingGates[1]", "validateSchedulingGates");
    let p = with(
        pod(),
        "/spec/hostAliases",
        json!([{"ip": "1.2.3", "hostnames": ["ok"]}]),
    );
    refused_with(&p, 33, "spec.hostAliases[0].ip", "ValidateHostAliases");
    let p = with(
        pod(),
        "/spec/containers/0/resizePolicy",
        json!([{"resourceName": "gpu", "restartPolicy": "NotRequired"}]),
    );
    assert_accepted(&p, Version(32));
    refused_with(
        &p,
        33,
        "spec.containers[0].resizePolicy",
        "validateResizePolicy",
    );
    let p = with(
        pod(),
        "/spec/imagePullSecrets",
        json!([{"name": "r", "extra": "dropped by the decoder"}]),
    );
    assert_accepted(&p, Version(33));
    let p = with(pod(), "/spec/os", json!({"name": "windows"}));
    let p = with(
        p,
        "/spec/containers/0/securityContext",
        json!({"windowsOptions": {"hostProcess": true}}),
    );
    refused_with(&p, 33, "spec.hostNetwork", "validateWindowsHostProcessPod");
}

#[test]
fn pod_level_resources() {
    let p = with(
        pod(),
        "/spec/containers/0/resources",
        json!({"requests": {"cpu": "1"}, "limits": {"cpu": "2"}}),
    );
    let p = with(
        p,
        "/spec/resources",
        json!({"limits": {"cpu": "1"}, "requests": {"cpu": "500m"}}),
    );
    for v in 29..=33 {
        assert_accepted(&p, Version(v)); // absent / dropped
    }
    for v in 34..=36 {
        refused_with(
            &p,
            v,
            "spec.resources.requests[cpu]",
            "validatePodResourceConsistency",
        );
        refused_with(
            &p,
            v,
            "spec.resources.containers[0][cpu].limits",
            "validatePodResourceConsistency",
        );
    }
    let ok = with(
        pod(),
        "/spec/resources",
        json!({"limits": {"cpu": "1", "memory": "1Gi"}}),
    );
    assert_accepted(&ok, Version(34));
    let bad = with(
        pod(),
        "/spec/resources",
        json!({"limits": {"ephemeral-storage": "1Gi"}}),
    );
    refused_with(
        &bad,
        34,
        "spec.resources.limits[ephemeral-storage]",
        "validatePodResourceName",
    );
}

#[test]
fn decode_errors() {
    for (ptr, v, path) in [
        (
            "/spec/containers/0/name",
            json!(5),
            "spec.containers[0].name",
        ),
        (
            "/spec/containers/0/ports",
            json!({"a": 1}),
            "spec.containers[0].ports",
        ),
        (
            "/spec/containers/0/ports",
            json!([{"containerPort": 1.5}]),
            "spec.containers[0].ports[0].containerPort",
        ),
        (
            "/spec/containers/0/ports",
            json!([{"containerPort": 4294967296u64}]),
            "spec.containers[0].ports[0].containerPort",
        ),
        (
            "/spec/terminationGracePeriodSeconds",
            json!("30"),
            "spec.terminationGracePeriodSeconds",
        ),
        ("/metadata/labels", json!({"a": 1}), "metadata.labels[a]"),
        (
            "/spec/containers/0/securityContext/privileged",
            json!("true"),
            "spec.containers[0].securityContext.privileged",
        ),
        (
            "/spec/containers/0/resources/limits/cpu",
            json!(true),
            "spec.containers[0].resources.limits[cpu]",
        ),
        (
            "/spec/containers/0/livenessProbe/httpGet/port",
            json!(1.5),
            "spec.containers[0].livenessProbe.httpGet.port",
        ),
        ("/spec", json!([]), "spec"),
    ] {
        let p = with(pod(), ptr, v);
        for ver in all_versions() {
            refused_with(&p, ver, path, "decode");
        }
    }
    assert_eq!(
        validate_pod_create(&json!("pod"), Version(33))[0].rule,
        "decode"
    );
    assert_eq!(
        validate_pod_create(&json!(null), Version(33))[0].rule,
        "decode"
    );
    // null fields decode to the zero value
    let p = with(pod(), "/spec/containers/0/env", Value::Null);
    assert_accepted(&p, Version(33));
}

#[test]
fn hostile_inputs_do_not_panic() {
    let samples = [
        json!({}),
        json!({"spec": null}),
        json!({"spec": {"containers": null}}),
        json!({"metadata": [], "spec": 1}),
        json!({"spec": {"containers": [null, 1, "x", {}]}}),
        json!({"spec": {"volumes": [{}], "initContainers": [{"lifecycle": {}}]}}),
        json!({"spec": {"containers": [{"resources": {"limits": {"cpu": "1e999999999"}, "requests": {"cpu": "-1e-999"}}}]}}),
        json!({"spec": {"containers": [{"resources": {"limits": {"hugepages-0": "1", "hugepages-x": "2"}}}]}}),
    ];
    for s in samples {
        for v in all_versions() {
            let _ = validate_pod_create(&s, Version(v));
        }
        let mut d = s.clone();
        default_pod(&mut d);
    }
}

#[test]
fn gate_table_is_consistent() {
    assert!(!Version(29).gate("PodLifecycleSleepAction"));
    assert!(Version(30).gate("PodLifecycleSleepAction"));
    assert!(!Version(32).gate("PodLifecycleSleepActionAllowZero"));
    assert!(Version(33).gate("PodLifecycleSleepActionAllowZero"));
    assert!(Version(32).gate("RelaxedEnvironmentVariableValidation"));
    assert!(!Version(34).gate("ImageVolume") && Version(35).gate("ImageVolume"));
    assert!(!Version(33).gate("PodLevelResources") && Version(34).gate("PodLevelResources"));
    assert!(GATES.iter().all(|g| !g.specs.is_empty()));
}
