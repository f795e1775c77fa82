//! The defaulting the API server applies while decoding a v1 Pod
//! (pkg/apis/core/v1/defaults.go, SetDefaults_*), limited to the fields
//! validation reads, and the dropping of fields whose feature gate is off
//! (pkg/api/pod/util.go dropDisabledFields, called by the Pod strategy's
//! PrepareForCreate before validation).

use crate::Version;
use serde_json::{Map, Value, json};

fn obj_mut<'a>(v: &'a mut Value, k: &str) -> Option<&'a mut Map<String, Value>> {
    v.get_mut(k).and_then(Value::as_object_mut)
}

fn arr_mut<'a>(v: &'a mut Value, k: &str) -> impl Iterator<Item = &'a mut Value> {
    v.get_mut(k)
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
        .filter(|x| x.is_object())
}

fn set_if_absent(o: &mut Map<String, Value>, k: &str, v: Value) {
    let absent = match o.get(k) {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.is_empty(),
        Some(Value::Number(n)) => n.as_i64() == Some(0),
        _ => false,
    };
    if absent {
        o.insert(k.to_string(), v);
    }
}

/// Image tag as ParseImageName sees it: "latest" when neither tag nor digest.
fn image_tag(image: &str) -> Option<String> {
    if image.is_empty() || image.trim() != image {
        return None; // does not parse: no tag
    }
    let (name, digest) = match image.split_once('@') {
        Some((n, d)) => (n, Some(d)),
        None => (image, None),
    };
    let last = name.rsplit('/').next().unwrap_or(name);
    match last.split_once(':') {
        Some((_, tag)) => Some(tag.to_string()),
        None if digest.is_none() => Some("latest".to_string()),
        None => None,
    }
}

/// SetDefaults_HTTPGetAction: path "/", scheme HTTP.
fn default_http_get(h: &mut Value) {
    if let Some(g) = obj_mut(h, "httpGet") {
        set_if_absent(g, "path", json!("/"));
        set_if_absent(g, "scheme", json!("HTTP"));
    }
}

/// SetDefaults_Probe: timeoutSeconds 1, periodSeconds 10, successThreshold 1,
/// failureThreshold 3.
fn default_probe(p: &mut Value) {
    default_http_get(p);
    if let Some(o) = p.as_object_mut() {
        set_if_absent(o, "timeoutSeconds", json!(1));
        set_if_absent(o, "periodSeconds", json!(10));
        set_if_absent(o, "successThreshold", json!(1));
        set_if_absent(o, "failureThreshold", json!(3));
    }
}

fn default_field_ref(r: &mut Value) {
    if let Some(o) = r.as_object_mut() {
        set_if_absent(o, "apiVersion", json!("v1"));
    }
}

/// SetDefaults_Container, SetDefaults_ContainerPort, SetDefaults_Probe,
/// SetDefaults_HTTPGetAction, SetDefaults_ObjectFieldSelector.
fn default_container(c: &mut Value, host_network: bool, copy_limits: bool) {
    let image = c
        .get("image")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let o = c.as_object_mut().expect("object");
    if !matches!(o.get("imagePullPolicy"), Some(Value::String(s)) if !s.is_empty()) {
        let p = if image_tag(&image).as_deref() == Some("latest") {
            "Always"
        } else {
            "IfNotPresent"
        };
        o.insert("imagePullPolicy".into(), json!(p));
    }
    set_if_absent(o, "terminationMessagePath", json!("/dev/termination-log"));
    set_if_absent(o, "terminationMessagePolicy", json!("File"));
    for port in arr_mut(c, "ports") {
        let po = port.as_object_mut().expect("object");
        set_if_absent(po, "protocol", json!("TCP"));
        // SetDefaults_PodSpec (hostNetwork): hostPort defaults to containerPort
        if host_network {
            let cp = po.get("containerPort").cloned().unwrap_or(json!(0));
            set_if_absent(po, "hostPort", cp);
        }
    }
    for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
        if let Some(p) = c.get_mut(probe).filter(|p| p.is_object()) {
            default_probe(p);
        }
    }
    if let Some(l) = c.get_mut("lifecycle").filter(|l| l.is_object()) {
        for h in ["postStart", "preStop"] {
            if let Some(h) = l.get_mut(h).filter(|h| h.is_object()) {
                default_http_get(h);
            }
        }
    }
    for e in arr_mut(c, "env") {
        if let Some(f) = e
            .get_mut("valueFrom")
            .and_then(|v| v.get_mut("fieldRef"))
            .filter(|f| f.is_object())
        {
            default_field_ref(f);
        }
    }
    // SetDefaults_Pod: container requests default to the limits
    if copy_limits && let Some(r) = c.get_mut("resources").filter(|r| r.is_object()) {
        let limits = r
            .get("limits")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        if !limits.is_empty() {
            let ro = r.as_object_mut().expect("object");
            if !ro.get("requests").is_some_and(Value::is_object) {
                ro.insert("requests".into(), json!({}));
            }
            let req = ro
                .get_mut("requests")
                .and_then(Value::as_object_mut)
                .expect("object");
            for (k, v) in limits {
                if !req.contains_key(&k) || req[&k].is_null() {
                    req.insert(k, v);
                }
            }
        }
    }
}

/// SetDefaults_Volume (no source: emptyDir), SetDefaults_*VolumeSource
/// (defaultMode 0644, serviceAccountToken expirationSeconds 3600,
/// image pullPolicy), SetDefaults_ObjectFieldSelector.
fn default_volume(v: &mut Value) {
    const SOURCES: &[&str] = &[
        "hostPath",
        "emptyDir",
        "gcePersistentDisk",
        "awsElasticBlockStore",
        "gitRepo",
        "secret",
        "nfs",
        "iscsi",
        "glusterfs",
        "persistentVolumeClaim",
        "rbd",
        "flexVolume",
        "cinder",
        "cephfs",
        "flocker",
        "downwardAPI",
        "fc",
        "azureFile",
        "configMap",
        "vsphereVolume",
        "quobyte",
        "azureDisk",
        "photonPersistentDisk",
        "projected",
        "portworxVolume",
        "scaleIO",
        "storageos",
        "csi",
        "ephemeral",
        "image",
    ];
    let o = v.as_object_mut().expect("object");
    if SOURCES.iter().all(|s| o.get(*s).is_none_or(Value::is_null)) {
        o.insert("emptyDir".into(), json!({}));
    }
    for s in ["secret", "configMap", "downwardAPI", "projected"] {
        if let Some(src) = o.get_mut(s).and_then(Value::as_object_mut)
            && src.get("defaultMode").is_none_or(Value::is_null)
        {
            src.insert("defaultMode".into(), json!(0o644));
        }
    }
    if let Some(img) = o.get_mut("image").and_then(Value::as_object_mut)
        && !matches!(img.get("pullPolicy"), Some(Value::String(s)) if !s.is_empty())
    {
        let r = img.get("reference").and_then(Value::as_str).unwrap_or("");
        let p = if image_tag(r).as_deref() == Some("latest") {
            "Always"
        } else {
            "IfNotPresent"
        };
        img.insert("pullPolicy".into(), json!(p));
    }
    if let Some(d) = v.get_mut("downwardAPI").filter(|d| d.is_object()) {
        for f in arr_mut(d, "items") {
            if let Some(r) = f.get_mut("fieldRef").filter(|r| r.is_object()) {
                default_field_ref(r);
            }
        }
    }
    if let Some(p) = v.get_mut("projected").filter(|d| d.is_object()) {
        for src in arr_mut(p, "sources") {
            if let Some(t) = obj_mut(src, "serviceAccountToken") {
                set_if_absent(t, "expirationSeconds", json!(3600));
            }
            if let Some(d) = src.get_mut("downwardAPI").filter(|d| d.is_object()) {
                for f in arr_mut(d, "items") {
                    if let Some(r) = f.get_mut("fieldRef").filter(|r| r.is_object()) {
                        default_field_ref(r);
                    }
                }
            }
        }
    }
}

/// SetDefaults_Pod and SetDefaults_PodSpec (dnsPolicy ClusterFirst,
/// restartPolicy Always, securityContext {}, terminationGracePeriodSeconds
/// 30, schedulerName default-scheduler), and the nested defaults; with
/// PodLevelResources on (1.34+), pod-level requests default from the
/// pod-level limits.
pub(crate) fn default_pod(pod: &mut Value, version: Version) {
    if !pod.is_object() {
        return;
    }
    let po = pod.as_object_mut().expect("object");
    if !po.get("spec").is_some_and(Value::is_object) {
        po.insert("spec".into(), json!({}));
    }
    let spec = pod.get_mut("spec").expect("spec");
    let so = spec.as_object_mut().expect("object");
    set_if_absent(so, "dnsPolicy", json!("ClusterFirst"));
    set_if_absent(so, "restartPolicy", json!("Always"));
    set_if_absent(so, "schedulerName", json!("default-scheduler"));
    if so
        .get("terminationGracePeriodSeconds")
        .is_none_or(Value::is_null)
    {
        so.insert("terminationGracePeriodSeconds".into(), json!(30));
    }
    if so.get("securityContext").is_none_or(Value::is_null) {
        so.insert("securityContext".into(), json!({}));
    }
    let host_network = so
        .get("hostNetwork")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    for c in arr_mut(spec, "containers") {
        default_container(c, host_network, true);
    }
    for c in arr_mut(spec, "initContainers") {
        default_container(c, host_network, true);
    }
    for c in arr_mut(spec, "ephemeralContainers") {
        default_container(c, false, false);
    }
    for v in arr_mut(spec, "volumes") {
        default_volume(v);
    }
    if version.gate("PodLevelResources")
        && let Some(r) = obj_mut(spec, "resources")
    {
        let limits = r
            .get("limits")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        if !limits.is_empty() {
            if !r.get("requests").is_some_and(Value::is_object) {
                r.insert("requests".into(), json!({}));
            }
            let req = r
                .get_mut("requests")
                .and_then(Value::as_object_mut)
                .expect("object");
            for (k, v) in limits {
                if (k == "cpu" || k == "memory") && !req.contains_key(&k) {
                    req.insert(k, v);
                }
            }
        }
    }
}

fn each_container_mut(spec: &mut Value, mut f: impl FnMut(&str, &mut Value)) {
    for list in ["initContainers", "containers", "ephemeralContainers"] {
        for c in arr_mut(spec, list) {
            f(list, c);
        }
    }
}

/// dropDisabledFields (pkg/api/pod/util.go) for the gates of [`crate::GATES`]:
/// a field whose gate is off is removed (not refused) before validation.
pub(crate) fn drop_disabled_fields(pod: &mut Value, v: Version) {
    let Some(spec) = pod.get_mut("spec").filter(|s| s.is_object()) else {
        return;
    };
    // hostUsers (UserNamespacesSupport), supplementalGroupsPolicy, seLinuxChangePolicy
    if !v.gate("UserNamespacesSupport") {
        spec.as_object_mut().expect("object").remove("hostUsers");
    }
    if let Some(sc) = obj_mut(spec, "securityContext") {
        if !v.gate("SupplementalGroupsPolicy") {
            sc.remove("supplementalGroupsPolicy");
        }
        if !v.gate("SELinuxChangePolicy") {
            sc.remove("seLinuxChangePolicy");
        }
    }
    // dropDisabledPodLevelResources
    if !v.gate("PodLevelResources") {
        spec.as_object_mut().expect("object").remove("resources");
    }
    if !v.gate("HostnameOverride") {
        spec.as_object_mut()
            .expect("object")
            .remove("hostnameOverride");
    }
    // dropImageVolumes: the image volumes and the mounts of them go
    if !v.gate("ImageVolume") {
        let mut names = Vec::new();
        if let Some(vols) = spec.get_mut("volumes").and_then(Value::as_array_mut) {
            vols.retain(|vol| {
                let img = vol.get("image").is_some_and(|i| !i.is_null());
                if img {
                    names.push(
                        vol.get("name")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_string(),
                    );
                }
                !img
            });
        }
        if !names.is_empty() {
            each_container_mut(spec, |_, c| {
                if let Some(ms) = c.get_mut("volumeMounts").and_then(Value::as_array_mut) {
                    ms.retain(|m| {
                        !names
                            .iter()
                            .any(|n| m.get("name").and_then(Value::as_str) == Some(n))
                    });
                }
            });
        }
    }
    let sleep_on = v.gate("PodLifecycleSleepAction");
    let rro_on = v.gate("RecursiveReadOnlyMounts");
    let procmount_on = v.gate("ProcMountType");
    let resize_on = v.gate("InPlacePodVerticalScaling");
    let restart_rules_on = v.gate("ContainerRestartRules");
    let env_files_on = v.gate("EnvFiles");
    let stop_signals_on = v.gate("ContainerStopSignals");
    each_container_mut(spec, |list, c| {
        let co = c.as_object_mut().expect("object");
        // dropDisabledProcMountField: forced to Default
        if !procmount_on
            && let Some(sc) = co.get_mut("securityContext").and_then(Value::as_object_mut)
            && sc.get("procMount").is_some_and(|p| !p.is_null())
        {
            sc.insert("procMount".into(), json!("Default"));
        }
        if !resize_on {
            co.remove("resizePolicy");
        }
        // dropContainerRestartRules (exists from 1.34)
        if v.0 >= 34 && !restart_rules_on {
            if list == "initContainers" {
                if co
                    .get("restartPolicy")
                    .and_then(Value::as_str)
                    .is_some_and(|p| p != "Always")
                {
                    co.remove("restartPolicy");
                }
            } else {
                co.remove("restartPolicy");
            }
            co.remove("restartPolicyRules");
        }
        if !rro_on {
            for m in co
                .get_mut("volumeMounts")
                .and_then(Value::as_array_mut)
                .into_iter()
                .flatten()
            {
                if let Some(mo) = m.as_object_mut() {
                    mo.remove("recursiveReadOnly");
                }
            }
        }
        // dropFileKeyRefInUse
        if !env_files_on {
            for e in co
                .get_mut("env")
                .and_then(Value::as_array_mut)
                .into_iter()
                .flatten()
            {
                if let Some(vf) = e.get_mut("valueFrom").and_then(Value::as_object_mut) {
                    vf.remove("fileKeyRef");
                }
            }
        }
        // dropPodLifecycleSleepAction, dropContainerStopSignals
        let mut lifecycle_gone = false;
        if let Some(l) = co.get_mut("lifecycle").and_then(Value::as_object_mut) {
            let mut changed = false;
            if !sleep_on {
                for h in ["preStop", "postStart"] {
                    if let Some(ho) = l.get_mut(h).and_then(Value::as_object_mut)
                        && ho.get("sleep").is_some_and(|s| !s.is_null())
                    {
                        ho.remove("sleep");
                        changed = true;
                        let others = ["exec", "httpGet", "tcpSocket"];
                        if others.iter().all(|k| ho.get(*k).is_none_or(Value::is_null)) {
                            l.remove(h);
                        }
                    }
                }
            }
            if v.0 >= 33 && !stop_signals_on && l.get("stopSignal").is_some_and(|s| !s.is_null()) {
                l.remove("stopSignal");
                changed = true;
            }
            let empty = ["preStop", "postStart", "stopSignal"]
                .iter()
                .all(|k| l.get(*k).is_none_or(Value::is_null));
            // dropPodLifecycleSleepAction nils an emptied (or empty) lifecycle
            // whenever the gate is off; dropContainerStopSignals only when it
            // removed a stopSignal.
            lifecycle_gone = (!sleep_on || changed) && empty;
        }
        if lifecycle_gone {
            co.remove("lifecycle");
        }
    });
}
