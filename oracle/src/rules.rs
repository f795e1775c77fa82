//! The validation rules, one function per Go function of
//! kubernetes/kubernetes pkg/apis/core/validation/validation.go (and
//! k8s.io/apimachinery api/validation, meta/v1/validation) that
//! ValidatePodCreate calls for the ported fields. Each function's doc names
//! its Go function and, where a feature gate changes it, the versions.
//!
//! The object validated is the v1 Pod JSON after decoding, defaulting and
//! dropDisabledFields; the internal core.Pod fields that live elsewhere in
//! v1 (hostNetwork, hostPID, hostIPC, shareProcessNamespace, hostUsers are
//! in core.PodSecurityContext) are read from their v1 place.

use crate::names::*;
use crate::quantity::{Quantity, parse_quantity};
use crate::{FieldError, Version};
use serde_json::Value;
use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap, HashSet};

type Errs = Vec<FieldError>;

fn push(
    errs: &mut Errs,
    path: impl Into<String>,
    kind: &'static str,
    msg: impl Into<String>,
    rule: &'static str,
) {
    errs.push(FieldError {
        path: path.into(),
        kind,
        message: msg.into(),
        rule,
    });
}

fn st<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("")
}
fn ost<'a>(v: &'a Value, k: &str) -> Option<&'a str> {
    v.get(k).and_then(Value::as_str)
}
fn ob<'a>(v: &'a Value, k: &str) -> Option<&'a Value> {
    v.get(k).filter(|x| x.is_object())
}
fn ar<'a>(v: &'a Value, k: &str) -> &'a [Value] {
    v.get(k)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}
fn int(v: &Value, k: &str) -> Option<i64> {
    v.get(k).and_then(Value::as_i64)
}
fn bo(v: &Value, k: &str) -> Option<bool> {
    v.get(k).and_then(Value::as_bool)
}
fn set(v: &Value, k: &str) -> bool {
    v.get(k).is_some_and(|x| !x.is_null())
}
fn strmap<'a>(v: &'a Value, k: &str) -> Vec<(&'a str, &'a str)> {
    v.get(k)
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, x)| (k.as_str(), x.as_str().unwrap_or("")))
                .collect()
        })
        .unwrap_or_default()
}
fn qty_of(v: &Value) -> Quantity {
    let s = match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    };
    parse_quantity(&s).unwrap_or(Quantity::ZERO)
}
fn qtymap(v: &Value, k: &str) -> BTreeMap<String, Quantity> {
    v.get(k)
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter(|(_, x)| !x.is_null())
                .map(|(k, x)| (k.clone(), qty_of(x)))
                .collect()
        })
        .unwrap_or_default()
}
fn qstr(q: &Quantity) -> String {
    format!("{}{}n", if q.is_negative() { "-" } else { "" }, q.nano)
}

const NEGATIVE: &str = "must be greater than or equal to 0";
const FILE_MODE: &str = "must be a number between 0 and 0777 (octal), both inclusive";

/// What validation needs of the Pod around a container.
struct Ctx<'a> {
    v: Version,
    grace: Option<i64>,
    restart_policy: &'a str,
    host_users: bool,
    vols: HashMap<&'a str, &'a Value>,
    claim_names: HashSet<&'a str>,
}

// ---------------------------------------------------------------- metadata

/// ValidateObjectMeta (apimachinery api/validation), as called by
/// validatePodMetadataAndSpec with ValidatePodName (NameIsDNSSubdomain):
/// name or generateName required, both DNS subdomains (generateName as a
/// prefix), namespace a DNS label when present (the API server fills it
/// from the request URL when absent), labels and annotations.
fn validate_object_meta(meta: &Value, errs: &mut Errs) {
    const R: &str = "ValidateObjectMeta";
    let name = st(meta, "name");
    let gen_name = st(meta, "generateName");
    if !gen_name.is_empty() {
        for m in name_is_dns_subdomain(gen_name, true) {
            push(errs, "metadata.generateName", "Invalid", m, R);
        }
    }
    if name.is_empty() {
        if gen_name.is_empty() {
            push(
                errs,
                "metadata.name",
                "Required",
                "name or generateName is required",
                R,
            );
        }
    } else {
        for m in name_is_dns_subdomain(name, false) {
            push(errs, "metadata.name", "Invalid", m, R);
        }
    }
    let ns = st(meta, "namespace");
    if !ns.is_empty() {
        for m in is_dns1123_label(ns) {
            push(errs, "metadata.namespace", "Invalid", m, R);
        }
    }
    validate_labels(&strmap(meta, "labels"), "metadata.labels", errs);
    validate_annotations(&strmap(meta, "annotations"), "metadata.annotations", errs);
}

/// ValidateLabels (apimachinery meta/v1/validation): keys are qualified
/// names (ValidateLabelName), values valid label values.
fn validate_labels(labels: &[(&str, &str)], path: &str, errs: &mut Errs) {
    for (k, v) in labels {
        for m in is_qualified_name(k) {
            push(
                errs,
                path,
                "Invalid",
                format!("{k:?}: {m}"),
                "ValidateLabels",
            );
        }
        for m in is_valid_label_value(v) {
            push(
                errs,
                path,
                "Invalid",
                format!("{v:?}: {m}"),
                "ValidateLabels",
            );
        }
    }
}

/// ValidateAnnotations (apimachinery api/validation): keys are qualified
/// names once lower-cased; keys and values total at most 256 KiB.
fn validate_annotations(annotations: &[(&str, &str)], path: &str, errs: &mut Errs) {
    let mut total = 0usize;
    for (k, v) in annotations {
        for m in is_qualified_name(&k.to_lowercase()) {
            push(
                errs,
                path,
                "Invalid",
                format!("{k:?}: {m}"),
                "ValidateAnnotations",
            );
        }
        total += k.len() + v.len();
    }
    if total > 256 * 1024 {
        push(
            errs,
            path,
            "TooLong",
            "must have at most 262144 bytes",
            "ValidateAnnotations",
        );
    }
}

const APPARMOR_PREFIX: &str = "container.apparmor.security.beta.kubernetes.io/";
const SECCOMP_POD: &str = "seccomp.security.alpha.kubernetes.io/pod";
const SECCOMP_PREFIX: &str = "container.seccomp.security.alpha.kubernetes.io/";

/// ValidatePodSpecificAnnotations: the mirror-pod annotation needs
/// spec.nodeName; pod-deletion-cost must be an int32 (PodDeletionCost on in
/// all versions); seccomp (ValidateSeccompPodAnnotations) and AppArmor
/// (ValidateAppArmorPodAnnotations) annotations well formed.
fn validate_pod_specific_annotations(meta: &Value, spec: &Value, errs: &mut Errs) {
    const R: &str = "ValidatePodSpecificAnnotations";
    let ann = strmap(meta, "annotations");
    for (k, v) in &ann {
        let kp = format!("metadata.annotations[{k}]");
        if *k == "kubernetes.io/config.mirror" && st(spec, "nodeName").is_empty() {
            push(
                errs,
                &kp,
                "Invalid",
                "must set spec.nodeName if mirror pod annotation is set",
                R,
            );
        }
        if *k == "controller.kubernetes.io/pod-deletion-cost" {
            // validFirstDigit: '-', '1'-'9', or exactly "0".
            let first_ok = v.starts_with('-')
                || v.starts_with(|c: char| ('1'..='9').contains(&c))
                || *v == "0";
            if !first_ok || v.parse::<i32>().is_err() {
                push(errs, &kp, "Invalid", "must be a 32bit integer", R);
            }
        }
        // ValidateTolerationsInPodAnnotations (approximate: a JSON list of
        // objects; the tolerations themselves are not validated).
        if *k == "scheduler.alpha.kubernetes.io/tolerations" && !v.is_empty() {
            let list = serde_json::from_str::<Value>(v)
                .ok()
                .and_then(|t| t.as_array().map(|a| a.iter().all(Value::is_object)));
            if list != Some(true) {
                push(errs, &kp, "Invalid", "invalid tolerations annotation", R);
            }
        }
        if *k == SECCOMP_POD || k.starts_with(SECCOMP_PREFIX) {
            validate_seccomp_profile_annotation(v, &format!("metadata.annotations.{k}"), errs);
        }
        if let Some(cname) = k.strip_prefix(APPARMOR_PREFIX) {
            if !all_containers(spec).any(|(_, _, c)| st(c, "name") == cname) {
                push(
                    errs,
                    &kp,
                    "Invalid",
                    format!("{cname:?}: container not found"),
                    "ValidateAppArmorPodAnnotations",
                );
            }
            let ok = v.is_empty()
                || *v == "runtime/default"
                || *v == "unconfined"
                || v.starts_with("localhost/");
            if !ok {
                push(
                    errs,
                    &kp,
                    "Invalid",
                    format!("invalid AppArmor profile name: {v:?}"),
                    "ValidateAppArmorPodAnnotations",
                );
            }
        }
    }
}

/// ValidateSeccompProfile (annotation form): runtime/default, docker/default,
/// unconfined, or localhost/<relative path without '..'>.
fn validate_seccomp_profile_annotation(p: &str, path: &str, errs: &mut Errs) {
    if p == "runtime/default" || p == "docker/default" || p == "unconfined" {
        return;
    }
    if let Some(rest) = p.strip_prefix("localhost/") {
        validate_local_descending_path(rest, path, errs);
        return;
    }
    push(
        errs,
        path,
        "Invalid",
        "must be a valid seccomp profile",
        "ValidateSeccompProfile",
    );
}

// ------------------------------------------------------------------- paths

/// validateLocalDescendingPath: relative, and no '..' element.
fn validate_local_descending_path(p: &str, path: &str, errs: &mut Errs) {
    if p.starts_with('/') {
        push(
            errs,
            path,
            "Invalid",
            format!("{p:?}: must be a relative path"),
            "validateLocalDescendingPath",
        );
    }
    validate_path_no_backsteps(p, path, errs);
}

/// validatePathNoBacksteps: no '..' element.
fn validate_path_no_backsteps(p: &str, path: &str, errs: &mut Errs) {
    if p.split('/').any(|x| x == "..") {
        push(
            errs,
            path,
            "Invalid",
            format!("{p:?}: must not contain '..'"),
            "validatePathNoBacksteps",
        );
    }
}

/// ValidateLocalNonReservedPath: validateLocalDescendingPath and must not
/// start with '..'.
fn validate_local_non_reserved_path(p: &str, path: &str, errs: &mut Errs) {
    validate_local_descending_path(p, path, errs);
    if p.starts_with("..") && !p.starts_with("../") {
        push(
            errs,
            path,
            "Invalid",
            format!("{p:?}: must not start with '..'"),
            "ValidateLocalNonReservedPath",
        );
    }
}

// ----------------------------------------------------------------- volumes

/// ValidateVolumes: names are unique DNS labels, each volume has exactly
/// one valid source; a persistentVolumeClaim may not name a PVC an
/// ephemeral volume of this Pod creates. Returns the valid volumes.
fn validate_volumes<'a>(
    spec: &'a Value,
    pod_name: &str,
    v: Version,
    errs: &mut Errs,
) -> HashMap<&'a str, &'a Value> {
    let mut vols = HashMap::new();
    let mut created = HashSet::new();
    if !pod_name.is_empty() {
        for vol in ar(spec, "volumes") {
            if set(vol, "ephemeral") {
                created.insert(format!("{pod_name}-{}", st(vol, "name")));
            }
        }
    }
    for (i, vol) in ar(spec, "volumes").iter().enumerate() {
        let p = format!("spec.volumes[{i}]");
        let name = st(vol, "name");
        let mut el = Vec::new();
        validate_volume_source(vol, &p, name, pod_name, v, &mut el);
        if name.is_empty() {
            push(
                &mut el,
                format!("{p}.name"),
                "Required",
                "",
                "ValidateVolumes",
            );
        } else {
            for m in is_dns1123_label(name) {
                push(
                    &mut el,
                    format!("{p}.name"),
                    "Invalid",
                    m,
                    "ValidateVolumes",
                );
            }
        }
        if vols.contains_key(name) {
            push(
                &mut el,
                format!("{p}.name"),
                "Duplicate",
                format!("{name:?}"),
                "ValidateVolumes",
            );
        }
        if el.is_empty() {
            vols.insert(name, vol);
        } else {
            errs.extend(el);
        }
        if let Some(pvc) = ob(vol, "persistentVolumeClaim")
            && created.contains(st(pvc, "claimName"))
        {
            push(
                errs,
                format!("{p}.persistentVolumeClaim.claimName"),
                "Invalid",
                "must not reference a PVC that gets created for an ephemeral volume",
                "ValidateVolumes",
            );
        }
    }
    vols
}

/// validateVolumeSource: exactly one source ("may not specify more than 1
/// volume type"; a volume without any was defaulted to emptyDir by
/// SetDefaults_Volume). Ported sources: emptyDir, hostPath, secret, nfs,
/// persistentVolumeClaim, downwardAPI, configMap, projected, csi, ephemeral,
/// image (ImageVolume: field absent before 1.31, dropped with its mounts in
/// 1.31-1.34, validated from 1.35). The other sources are counted only.
fn validate_volume_source(
    vol: &Value,
    p: &str,
    vol_name: &str,
    pod_name: &str,
    v: Version,
    errs: &mut Errs,
) {
    const R: &str = "validateVolumeSource";
    // Go's order, with the path each "more than 1" error uses
    const ORDER: &[(&str, &str)] = &[
        ("emptyDir", "emptyDir"),
        ("hostPath", "hostPath"),
        ("gitRepo", "gitRepo"),
        ("gcePersistentDisk", "gcePersistentDisk"),
        ("awsElasticBlockStore", "awsElasticBlockStore"),
        ("secret", "secret"),
        ("nfs", "nfs"),
        ("iscsi", "iscsi"),
        ("glusterfs", "glusterfs"),
        ("flocker", "flocker"),
        ("persistentVolumeClaim", "persistentVolumeClaim"),
        ("rbd", "rbd"),
        ("cinder", "cinder"),
        ("cephfs", "cephFS"),
        ("quobyte", "quobyte"),
        ("downwardAPI", "downwarAPI"),
        ("fc", "fc"),
        ("flexVolume", "flexVolume"),
        ("configMap", "configMap"),
        ("azureFile", "azureFile"),
        ("vsphereVolume", "vsphereVolume"),
        ("photonPersistentDisk", "photonPersistentDisk"),
        ("portworxVolume", "portworxVolume"),
        ("azureDisk", "azureDisk"),
        ("storageos", "storageos"),
        ("projected", "projected"),
        ("scaleIO", "scaleIO"),
        ("csi", "csi"),
        ("ephemeral", "ephemeral"),
        ("image", "image"),
    ];
    let mut n = 0;
    for (key, err_key) in ORDER {
        let Some(src) = vol.get(*key).filter(|x| !x.is_null()) else {
            continue;
        };
        if n > 0 {
            push(
                errs,
                format!("{p}.{err_key}"),
                "Forbidden",
                "may not specify more than 1 volume type",
                R,
            );
            continue;
        }
        n += 1;
        let sp = format!("{p}.{key}");
        match *key {
            "emptyDir"
                if src
                    .get("sizeLimit")
                    .is_some_and(|q| !q.is_null() && qty_of(q).is_negative()) =>
            {
                push(
                    errs,
                    format!("{sp}.sizeLimit"),
                    "Forbidden",
                    "SizeLimit field must be a valid resource quantity",
                    R,
                );
            }
            "hostPath" => validate_host_path_volume_source(src, &sp, errs),
            "secret" => validate_secret_volume_source(src, &sp, errs),
            "nfs" => validate_nfs_volume_source(src, &sp, errs),
            "persistentVolumeClaim" if st(src, "claimName").is_empty() => {
                push(
                    errs,
                    format!("{sp}.claimName"),
                    "Required",
                    "",
                    "validatePersistentClaimVolumeSource",
                );
            }
            "downwardAPI" => validate_downward_api_volume_source(src, &sp, errs),
            "configMap" => validate_config_map_volume_source(src, &sp, errs),
            "projected" => validate_projected_volume_source(src, &sp, errs),
            "csi" => validate_csi_volume_source(src, &sp, errs),
            "ephemeral" => {
                validate_ephemeral_volume_source(src, &sp, errs);
                if !pod_name.is_empty() && !vol_name.is_empty() {
                    let pvc = format!("{pod_name}-{vol_name}");
                    for m in name_is_dns_subdomain(&pvc, false) {
                        push(
                            errs,
                            format!("{p}.name"),
                            "Invalid",
                            format!("PVC name {pvc:?}: {m}"),
                            R,
                        );
                    }
                }
            }
            "image" => validate_image_volume_source(src, &sp, v, errs),
            _ => {}
        }
    }
    if n == 0 {
        push(errs, p, "Required", "must specify a volume type", R);
    }
}

/// validateHostPathVolumeSource: path required, no '..'; type supported.
fn validate_host_path_volume_source(src: &Value, p: &str, errs: &mut Errs) {
    let path = st(src, "path");
    if path.is_empty() {
        push(
            errs,
            format!("{p}.path"),
            "Required",
            "",
            "validateHostPathVolumeSource",
        );
        return;
    }
    validate_path_no_backsteps(path, &format!("{p}.path"), errs);
    if let Some(t) = ost(src, "type") {
        const OK: &[&str] = &[
            "",
            "DirectoryOrCreate",
            "Directory",
            "FileOrCreate",
            "File",
            "Socket",
            "CharDevice",
            "BlockDevice",
        ];
        if !OK.contains(&t) {
            push(
                errs,
                format!("{p}.type"),
                "NotSupported",
                format!("{t:?}: supported values: {OK:?}"),
                "validateHostPathType",
            );
        }
    }
}

fn validate_mode(src: &Value, k: &str, p: &str, rule: &'static str, errs: &mut Errs) {
    if let Some(m) = int(src, k)
        && !(0..=0o777).contains(&m)
    {
        push(
            errs,
            format!("{p}.{k}"),
            "Invalid",
            format!("{m}: {FILE_MODE}"),
            rule,
        );
    }
}

/// validateSecretVolumeSource: secretName required, defaultMode 0..=0777,
/// items (validateKeyToPath).
fn validate_secret_volume_source(src: &Value, p: &str, errs: &mut Errs) {
    const R: &str = "validateSecretVolumeSource";
    if st(src, "secretName").is_empty() {
        push(errs, format!("{p}.secretName"), "Required", "", R);
    }
    validate_mode(src, "defaultMode", p, R, errs);
    for (i, kp) in ar(src, "items").iter().enumerate() {
        validate_key_to_path(kp, &format!("{p}.items[{i}]"), errs);
    }
}

/// validateConfigMapVolumeSource: name required, defaultMode 0..=0777,
/// items (validateKeyToPath).
fn validate_config_map_volume_source(src: &Value, p: &str, errs: &mut Errs) {
    const R: &str = "validateConfigMapVolumeSource";
    if st(src, "name").is_empty() {
        push(errs, format!("{p}.name"), "Required", "", R);
    }
    validate_mode(src, "defaultMode", p, R, errs);
    for (i, kp) in ar(src, "items").iter().enumerate() {
        validate_key_to_path(kp, &format!("{p}.items[{i}]"), errs);
    }
}

/// validateKeyToPath: key and path required, path relative without '..'
/// (ValidateLocalNonReservedPath), mode 0..=0777.
fn validate_key_to_path(kp: &Value, p: &str, errs: &mut Errs) {
    const R: &str = "validateKeyToPath";
    if st(kp, "key").is_empty() {
        push(errs, format!("{p}.key"), "Required", "", R);
    }
    if st(kp, "path").is_empty() {
        push(errs, format!("{p}.path"), "Required", "", R);
    }
    validate_local_non_reserved_path(st(kp, "path"), &format!("{p}.path"), errs);
    validate_mode(kp, "mode", p, R, errs);
}

/// validateNFSVolumeSource: server and path required, path absolute.
fn validate_nfs_volume_source(src: &Value, p: &str, errs: &mut Errs) {
    const R: &str = "validateNFSVolumeSource";
    if st(src, "server").is_empty() {
        push(errs, format!("{p}.server"), "Required", "", R);
    }
    let path = st(src, "path");
    if path.is_empty() {
        push(errs, format!("{p}.path"), "Required", "", R);
    }
    if !path.starts_with('/') {
        push(
            errs,
            format!("{p}.path"),
            "Invalid",
            format!("{path:?}: must be an absolute path"),
            R,
        );
    }
}

const VOLUME_DOWNWARD_FIELDS: &[&str] = &[
    "metadata.name",
    "metadata.namespace",
    "metadata.labels",
    "metadata.annotations",
    "metadata.uid",
];
const ENV_DOWNWARD_FIELDS: &[&str] = &[
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
    "spec.nodeName",
    "spec.serviceAccountName",
    "status.hostIP",
    "status.hostIPs",
    "status.podIP",
    "status.podIPs",
];
const RESOURCE_FIELDS: &[&str] = &[
    "limits.cpu",
    "limits.memory",
    "limits.ephemeral-storage",
    "requests.cpu",
    "requests.memory",
    "requests.ephemeral-storage",
];

/// validateDownwardAPIVolumeFile: path required and local; exactly one of
/// fieldRef (metadata.name/namespace/labels/annotations/uid) and
/// resourceFieldRef (containerName required); mode 0..=0777. The errors use
/// the path of the whole source (not indexed by item), as in Go.
fn validate_downward_api_volume_file(file: &Value, p: &str, errs: &mut Errs) {
    const R: &str = "validateDownwardAPIVolumeFile";
    let path = st(file, "path");
    if path.is_empty() {
        push(errs, format!("{p}.path"), "Required", "", R);
    }
    validate_local_non_reserved_path(path, &format!("{p}.path"), errs);
    if let Some(fr) = ob(file, "fieldRef") {
        validate_object_field_selector(fr, VOLUME_DOWNWARD_FIELDS, &format!("{p}.fieldRef"), errs);
        if set(file, "resourceFieldRef") {
            push(
                errs,
                p,
                "Invalid",
                "fieldRef and resourceFieldRef can not be specified simultaneously",
                R,
            );
        }
    } else if let Some(rf) = ob(file, "resourceFieldRef") {
        validate_container_resource_field_selector(
            rf,
            &format!("{p}.resourceFieldRef"),
            true,
            errs,
        );
    } else {
        push(
            errs,
            p,
            "Required",
            "one of fieldRef and resourceFieldRef is required",
            R,
        );
    }
    validate_mode(file, "mode", p, R, errs);
}

/// validateDownwardAPIVolumeSource: defaultMode, items.
fn validate_downward_api_volume_source(src: &Value, p: &str, errs: &mut Errs) {
    validate_mode(
        src,
        "defaultMode",
        p,
        "validateDownwardAPIVolumeSource",
        errs,
    );
    for f in ar(src, "items") {
        validate_downward_api_volume_file(f, p, errs);
    }
}

/// validateProjectedVolumeSource / validateProjectionSources: defaultMode;
/// each source has one of secret (name required), configMap (name
/// required), downwardAPI, serviceAccountToken (expirationSeconds
/// 600..=2^32, path required and local), clusterTrustBundle / podCertificate
/// (counted, not validated); item paths unique across sources.
fn validate_projected_volume_source(src: &Value, p: &str, errs: &mut Errs) {
    const R: &str = "validateProjectionSources";
    validate_mode(src, "defaultMode", p, "validateProjectedVolumeSource", errs);
    let mut all_paths = HashSet::new();
    for (i, s) in ar(src, "sources").iter().enumerate() {
        let sp = format!("{p}.sources[{i}]");
        let mut n = 0;
        for kind in ["secret", "configMap"] {
            if let Some(x) = ob(s, kind) {
                n += 1;
                let pp = format!("{sp}.{kind}");
                if st(x, "name").is_empty() {
                    push(errs, format!("{pp}.name"), "Required", "", R);
                }
                for (j, kp) in ar(x, "items").iter().enumerate() {
                    validate_key_to_path(kp, &format!("{pp}.items[{j}]"), errs);
                    let path = st(kp, "path");
                    if !path.is_empty() && !all_paths.insert(path.to_string()) {
                        push(
                            errs,
                            p,
                            "Invalid",
                            format!("{:?}: conflicting duplicate paths", st(x, "name")),
                            R,
                        );
                    }
                }
            }
        }
        if let Some(x) = ob(s, "downwardAPI") {
            n += 1;
            let pp = format!("{sp}.downwardAPI");
            for f in ar(x, "items") {
                validate_downward_api_volume_file(f, &pp, errs);
                let path = st(f, "path");
                if !path.is_empty() && !all_paths.insert(path.to_string()) {
                    push(
                        errs,
                        p,
                        "Invalid",
                        format!("{path:?}: conflicting duplicate paths"),
                        R,
                    );
                }
            }
        }
        if let Some(x) = ob(s, "serviceAccountToken") {
            n += 1;
            let pp = format!("{sp}.serviceAccountToken");
            let exp = int(x, "expirationSeconds").unwrap_or(0);
            if exp < 600 {
                push(
                    errs,
                    format!("{pp}.expirationSeconds"),
                    "Invalid",
                    format!("{exp}: may not specify a duration less than 10 minutes"),
                    R,
                );
            }
            if exp > 1 << 32 {
                push(
                    errs,
                    format!("{pp}.expirationSeconds"),
                    "Invalid",
                    format!("{exp}: may not specify a duration larger than 2^32 seconds"),
                    R,
                );
            }
            let path = st(x, "path");
            if path.is_empty() {
                push(errs, format!("{p}.path"), "Required", "", R);
            } else {
                validate_local_non_reserved_path(path, &format!("{p}.path"), errs);
            }
        }
        for other in ["clusterTrustBundle", "podCertificate"] {
            if set(s, other) {
                n += 1;
            }
        }
        if n > 1 {
            push(
                errs,
                sp,
                "Forbidden",
                "may not specify more than 1 volume type per source",
                R,
            );
        }
    }
}

/// validateCSIVolumeSource: driver (ValidateCSIDriverName: required, at most
/// 63 characters, DNS subdomain once lower-cased); nodePublishSecretRef name.
fn validate_csi_volume_source(src: &Value, p: &str, errs: &mut Errs) {
    const R: &str = "validateCSIVolumeSource";
    let d = st(src, "driver");
    let dp = format!("{p}.driver");
    if d.is_empty() {
        push(errs, &dp, "Required", "", "ValidateCSIDriverName");
    }
    if d.len() > 63 {
        push(
            errs,
            &dp,
            "TooLong",
            "may not be more than 63 bytes",
            "ValidateCSIDriverName",
        );
    }
    for m in is_dns1123_subdomain(&d.to_lowercase()) {
        push(errs, &dp, "Invalid", m, "ValidateCSIDriverName");
    }
    if let Some(r) = ob(src, "nodePublishSecretRef") {
        let n = st(r, "name");
        if n.is_empty() {
            push(
                errs,
                format!("{p}.nodePublishSecretRef.name"),
                "Required",
                "",
                R,
            );
        } else {
            for m in name_is_dns_subdomain(n, false) {
                push(errs, format!("{p}.name"), "Invalid", m, R);
            }
        }
    }
}

/// validateEphemeralVolumeSource: volumeClaimTemplate required; its
/// metadata may only have labels and annotations (ValidateTemplateObjectMeta);
/// its spec: accessModes required and supported, resources.requests.storage
/// required and positive, storageClassName a DNS subdomain, volumeMode
/// Block/Filesystem (a subset of ValidatePersistentVolumeClaimSpec).
fn validate_ephemeral_volume_source(src: &Value, p: &str, errs: &mut Errs) {
    const R: &str = "validateEphemeralVolumeSource";
    let Some(t) = ob(src, "volumeClaimTemplate") else {
        push(errs, format!("{p}.volumeClaimTemplate"), "Required", "", R);
        return;
    };
    let tp = format!("{p}.volumeClaimTemplate");
    if let Some(meta) = ob(t, "metadata") {
        validate_annotations(
            &strmap(meta, "annotations"),
            &format!("{tp}.metadata.annotations"),
            errs,
        );
        validate_labels(
            &strmap(meta, "labels"),
            &format!("{tp}.metadata.labels"),
            errs,
        );
        for (k, x) in meta.as_object().into_iter().flatten() {
            let zero = x.is_null()
                || x.as_str() == Some("")
                || x.as_object().is_some_and(|o| o.is_empty())
                || x.as_array().is_some_and(|a| a.is_empty());
            if k != "labels" && k != "annotations" && !zero {
                push(
                    errs,
                    format!("{tp}.metadata.{k}"),
                    "Forbidden",
                    "cannot be set",
                    "ValidateTemplateObjectMeta",
                );
            }
        }
    }
    let spec = t.get("spec").cloned().unwrap_or(Value::Null);
    let sp = format!("{tp}.spec");
    const PVC: &str = "ValidatePersistentVolumeClaimSpec";
    let modes = ar(&spec, "accessModes");
    if modes.is_empty() {
        push(
            errs,
            format!("{sp}.accessModes"),
            "Required",
            "at least 1 access mode is required",
            PVC,
        );
    }
    for m in modes {
        let m = m.as_str().unwrap_or("");
        if ![
            "ReadWriteOnce",
            "ReadOnlyMany",
            "ReadWriteMany",
            "ReadWriteOncePod",
        ]
        .contains(&m)
        {
            push(
                errs,
                format!("{sp}.accessModes"),
                "NotSupported",
                format!("{m:?}"),
                PVC,
            );
        }
    }
    let storage = spec
        .get("resources")
        .and_then(|r| r.get("requests"))
        .and_then(|r| r.get("storage"));
    match storage.filter(|s| !s.is_null()) {
        None => push(
            errs,
            format!("{sp}.resources[storage]"),
            "Required",
            "",
            PVC,
        ),
        Some(q) => {
            let q = match q {
                Value::String(s) => parse_quantity(s).ok(),
                Value::Number(n) => parse_quantity(&n.to_string()).ok(),
                _ => None,
            };
            if q.is_none_or(|q| q.is_zero() || q.is_negative()) {
                push(
                    errs,
                    format!("{sp}.resources[storage]"),
                    "Invalid",
                    "must be greater than zero",
                    PVC,
                );
            }
        }
    }
    if let Some(sc) = ost(&spec, "storageClassName").filter(|s| !s.is_empty()) {
        for m in name_is_dns_subdomain(sc, false) {
            push(errs, format!("{sp}.storageClassName"), "Invalid", m, PVC);
        }
    }
    if let Some(vm) = ost(&spec, "volumeMode")
        && vm != "Block"
        && vm != "Filesystem"
    {
        push(
            errs,
            format!("{sp}.volumeMode"),
            "NotSupported",
            format!("{vm:?}"),
            PVC,
        );
    }
}

/// validateImageVolumeSource (1.35+; the gate drops image volumes before):
/// reference required for a Pod, pullPolicy supported.
fn validate_image_volume_source(src: &Value, p: &str, _v: Version, errs: &mut Errs) {
    if st(src, "reference").is_empty() {
        push(
            errs,
            format!("{p}.reference"),
            "Required",
            "",
            "validateImageVolumeSource",
        );
    }
    validate_pull_policy(st(src, "pullPolicy"), &format!("{p}.pullPolicy"), errs);
}

// -------------------------------------------------------------- containers

fn all_containers(spec: &Value) -> impl Iterator<Item = (&'static str, usize, &Value)> {
    ["initContainers", "containers", "ephemeralContainers"]
        .into_iter()
        .flat_map(move |list| {
            ar(spec, list)
                .iter()
                .enumerate()
                .map(move |(i, c)| (list, i, c))
        })
}

/// validateContainers: at least one container; validateContainerCommon;
/// names unique among containers; lifecycle and the three probes
/// validated; restartPolicy forbidden ("may not be set for non-init
/// containers") through 1.33, dropped in 1.34 (ContainerRestartRules off),
/// Always/OnFailure/Never from 1.35; hostPort conflicts across all
/// containers (checkHostPortConflicts).
fn validate_containers(spec: &Value, ctx: &Ctx, errs: &mut Errs) {
    const R: &str = "validateContainers";
    let cs = ar(spec, "containers");
    if cs.is_empty() {
        push(errs, "spec.containers", "Required", "", R);
        return;
    }
    let mut names = HashSet::new();
    for (i, c) in cs.iter().enumerate() {
        let p = format!("spec.containers[{i}]");
        validate_container_common(c, &p, ctx, errs);
        let n = st(c, "name");
        if !names.insert(n) {
            push(errs, format!("{p}.name"), "Duplicate", format!("{n:?}"), R);
        }
        if let Some(l) = ob(c, "lifecycle") {
            validate_lifecycle(l, ctx, &format!("{p}.lifecycle"), errs);
        }
        validate_probes(c, ctx, &p, errs);
        if let Some(rp) = ost(c, "restartPolicy") {
            if ctx.v.gate("ContainerRestartRules") {
                validate_container_restart_policy(rp, &format!("{p}.restartPolicy"), errs);
            } else {
                push(
                    errs,
                    format!("{p}.restartPolicy"),
                    "Forbidden",
                    "may not be set for non-init containers",
                    R,
                );
            }
        }
    }
    check_host_port_conflicts(cs, "spec.containers", errs);
}

/// validateContainerRestartPolicy (1.35+, ContainerRestartRules): Always,
/// OnFailure or Never.
fn validate_container_restart_policy(rp: &str, p: &str, errs: &mut Errs) {
    if !["Always", "OnFailure", "Never"].contains(&rp) {
        push(
            errs,
            p,
            "NotSupported",
            format!("{rp:?}: supported values: \"Always\", \"Never\", \"OnFailure\""),
            "validateContainerRestartPolicy",
        );
    }
}

/// validateInitContainerRestartPolicy: only Always through 1.34 (in 1.34
/// other values are dropped first), Always/OnFailure/Never from 1.35
/// (ContainerRestartRules).
fn validate_init_container_restart_policy(rp: &str, p: &str, v: Version, errs: &mut Errs) {
    if v.gate("ContainerRestartRules") {
        validate_container_restart_policy(rp, p, errs);
    } else if rp != "Always" {
        push(
            errs,
            p,
            "NotSupported",
            format!("{rp:?}: supported values: \"Always\""),
            "validateInitContainerRestartPolicy",
        );
    }
}

fn validate_probes(c: &Value, ctx: &Ctx, p: &str, errs: &mut Errs) {
    if let Some(pr) = ob(c, "livenessProbe") {
        validate_liveness_probe(pr, ctx, &format!("{p}.livenessProbe"), errs);
    }
    if let Some(pr) = ob(c, "readinessProbe") {
        validate_readiness_probe(pr, ctx, &format!("{p}.readinessProbe"), errs);
    }
    if let Some(pr) = ob(c, "startupProbe") {
        validate_startup_probe(pr, ctx, &format!("{p}.startupProbe"), errs);
    }
}

/// validateInitContainers: validateContainerCommon; restartPolicy
/// (validateInitContainerRestartPolicy); names unique across containers and
/// init containers; hostPort conflicts within each init container alone
/// (the path uses index 0, as Go's checkHostPortConflicts([]{ctr})); a
/// restartable init container (restartPolicy Always: native sidecar) has
/// its lifecycle and probes validated, an ordinary one may have none of
/// lifecycle, livenessProbe, readinessProbe, startupProbe.
fn validate_init_containers(spec: &Value, ctx: &Ctx, errs: &mut Errs) {
    const R: &str = "validateInitContainers";
    let mut names: HashSet<&str> = ar(spec, "containers")
        .iter()
        .map(|c| st(c, "name"))
        .collect();
    for (i, c) in ar(spec, "initContainers").iter().enumerate() {
        let p = format!("spec.initContainers[{i}]");
        validate_container_common(c, &p, ctx, errs);
        let mut restart_always = false;
        if let Some(rp) = ost(c, "restartPolicy") {
            validate_init_container_restart_policy(rp, &format!("{p}.restartPolicy"), ctx.v, errs);
            restart_always = rp == "Always";
        }
        let n = st(c, "name");
        if names.contains(n) {
            push(errs, format!("{p}.name"), "Duplicate", format!("{n:?}"), R);
        } else if !n.is_empty() {
            names.insert(n);
        }
        check_host_port_conflicts(std::slice::from_ref(c), "spec.initContainers", errs);
        if restart_always {
            if let Some(l) = ob(c, "lifecycle") {
                validate_lifecycle(l, ctx, &format!("{p}.lifecycle"), errs);
            }
            validate_probes(c, ctx, &p, errs);
        } else {
            for f in [
                "lifecycle",
                "livenessProbe",
                "readinessProbe",
                "startupProbe",
            ] {
                if set(c, f) {
                    push(
                        errs,
                        format!("{p}.{f}"),
                        "Forbidden",
                        "may not be set for init containers without restartPolicy=Always",
                        R,
                    );
                }
            }
        }
    }
}

/// validateEphemeralContainers (ephemeral containers are refused on create
/// anyway, see validate_pod_create): validateContainerCommon, names unique
/// across all containers, targetContainerName exists, and the fields an
/// ephemeral container cannot set (ports, resources, probes, lifecycle,
/// subPath, subPathExpr).
fn validate_ephemeral_containers(spec: &Value, ctx: &Ctx, errs: &mut Errs) {
    const R: &str = "validateEphemeralContainers";
    let ecs = ar(spec, "ephemeralContainers");
    if ecs.is_empty() {
        return;
    }
    let others: HashSet<&str> = ar(spec, "containers")
        .iter()
        .chain(ar(spec, "initContainers"))
        .map(|c| st(c, "name"))
        .collect();
    let mut all = others.clone();
    for (i, c) in ecs.iter().enumerate() {
        let p = format!("spec.ephemeralContainers[{i}]");
        validate_container_common(c, &p, ctx, errs);
        validate_container_only_for_pod(c, &p, errs);
        let n = st(c, "name");
        if !all.insert(n) {
            push(errs, format!("{p}.name"), "Duplicate", format!("{n:?}"), R);
        }
        let t = st(c, "targetContainerName");
        if !t.is_empty() && !others.contains(t) {
            push(
                errs,
                format!("{p}.targetContainerName"),
                "NotFound",
                format!("{t:?}"),
                R,
            );
        }
        for f in [
            "ports",
            "resources",
            "livenessProbe",
            "readinessProbe",
            "startupProbe",
            "lifecycle",
            "resizePolicy",
            "restartPolicy",
        ] {
            let nonzero = c.get(f).is_some_and(|x| {
                !(x.is_null()
                    || x.as_array().is_some_and(|a| a.is_empty())
                    || x.as_object().is_some_and(|o| o.is_empty()))
            });
            if nonzero {
                push(
                    errs,
                    format!("{p}.{f}"),
                    "Forbidden",
                    "cannot be set for an Ephemeral Container",
                    R,
                );
            }
        }
        for (j, m) in ar(c, "volumeMounts").iter().enumerate() {
            for f in ["subPath", "subPathExpr"] {
                if !st(m, f).is_empty() {
                    push(
                        errs,
                        format!("{p}.volumeMounts[{j}].{f}"),
                        "Forbidden",
                        "cannot be set for an Ephemeral Container",
                        R,
                    );
                }
            }
        }
    }
}

/// validateContainerCommon: name a DNS label, image required,
/// terminationMessagePolicy File/FallbackToLogsOnError, then ports, env,
/// envFrom, volumeMounts, volumeDevices, imagePullPolicy, resources,
/// resizePolicy and securityContext.
fn validate_container_common(c: &Value, p: &str, ctx: &Ctx, errs: &mut Errs) {
    const R: &str = "validateContainerCommon";
    let n = st(c, "name");
    if n.is_empty() {
        push(errs, format!("{p}.name"), "Required", "", R);
    } else {
        for m in is_dns1123_label(n) {
            push(
                errs,
                format!("{p}.name"),
                "Invalid",
                format!("{n:?}: {m}"),
                R,
            );
        }
    }
    if st(c, "image").is_empty() {
        push(errs, format!("{p}.image"), "Required", "", R);
    }
    match st(c, "terminationMessagePolicy") {
        "File" | "FallbackToLogsOnError" => {}
        "" => push(
            errs,
            format!("{p}.terminationMessagePolicy"),
            "Required",
            "",
            R,
        ),
        o => push(
            errs,
            format!("{p}.terminationMessagePolicy"),
            "NotSupported",
            format!("{o:?}: supported values: \"File\", \"FallbackToLogsOnError\""),
            R,
        ),
    }
    let mounts: HashMap<&str, &str> = ar(c, "volumeMounts")
        .iter()
        .map(|m| (st(m, "name"), st(m, "mountPath")))
        .collect();
    let devices: HashMap<&str, &str> = ar(c, "volumeDevices")
        .iter()
        .map(|d| (st(d, "name"), st(d, "devicePath")))
        .collect();
    validate_container_ports(ar(c, "ports"), &format!("{p}.ports"), errs);
    validate_env(ar(c, "env"), &format!("{p}.env"), ctx.v, errs);
    validate_env_from(ar(c, "envFrom"), &format!("{p}.envFrom"), ctx.v, errs);
    validate_volume_mounts(c, &devices, ctx, &format!("{p}.volumeMounts"), errs);
    validate_volume_devices(
        ar(c, "volumeDevices"),
        &mounts,
        ctx,
        &format!("{p}.volumeDevices"),
        errs,
    );
    validate_pull_policy(
        st(c, "imagePullPolicy"),
        &format!("{p}.imagePullPolicy"),
        errs,
    );
    let res = c.get("resources").cloned().unwrap_or(Value::Null);
    validate_resource_requirements(
        &res,
        false,
        &ctx.claim_names,
        &format!("{p}.resources"),
        errs,
    );
    validate_resize_policy(
        ar(c, "resizePolicy"),
        ctx,
        &format!("{p}.resizePolicy"),
        errs,
    );
    if let Some(sc) = ob(c, "securityContext") {
        validate_security_context(sc, ctx.host_users, &format!("{p}.securityContext"), errs);
    }
}

/// validateContainerOnlyForPod: image without leading/trailing whitespace.
fn validate_container_only_for_pod(c: &Value, p: &str, errs: &mut Errs) {
    let img = st(c, "image");
    if img.trim() != img {
        push(
            errs,
            format!("{p}.image"),
            "Invalid",
            format!("{img:?}: must not have leading or trailing whitespace"),
            "validateContainerOnlyForPod",
        );
    }
}

/// validateContainerPorts: name an IANA_SVC_NAME unique in the container,
/// containerPort required and 1..=65535, hostPort 0 or 1..=65535, protocol
/// TCP/UDP/SCTP.
fn validate_container_ports(ports: &[Value], p: &str, errs: &mut Errs) {
    const R: &str = "validateContainerPorts";
    let mut names = HashSet::new();
    for (i, port) in ports.iter().enumerate() {
        let ip = format!("{p}[{i}]");
        let name = st(port, "name");
        if !name.is_empty() {
            let msgs = is_valid_port_name(name);
            if !msgs.is_empty() {
                for m in msgs {
                    push(
                        errs,
                        format!("{ip}.name"),
                        "Invalid",
                        format!("{name:?}: {m}"),
                        R,
                    );
                }
            } else if !names.insert(name) {
                push(
                    errs,
                    format!("{ip}.name"),
                    "Duplicate",
                    format!("{name:?}"),
                    R,
                );
            }
        }
        let cp = int(port, "containerPort").unwrap_or(0);
        if cp == 0 {
            push(errs, format!("{ip}.containerPort"), "Required", "", R);
        } else {
            for m in is_valid_port_num(cp) {
                push(
                    errs,
                    format!("{ip}.containerPort"),
                    "Invalid",
                    format!("{cp}: {m}"),
                    R,
                );
            }
        }
        let hp = int(port, "hostPort").unwrap_or(0);
        if hp != 0 {
            for m in is_valid_port_num(hp) {
                push(
                    errs,
                    format!("{ip}.hostPort"),
                    "Invalid",
                    format!("{hp}: {m}"),
                    R,
                );
            }
        }
        match st(port, "protocol") {
            "" => push(errs, format!("{ip}.protocol"), "Required", "", R),
            "TCP" | "UDP" | "SCTP" => {}
            o => push(
                errs,
                format!("{ip}.protocol"),
                "NotSupported",
                format!("{o:?}: supported values: \"SCTP\", \"TCP\", \"UDP\""),
                R,
            ),
        }
    }
}

/// checkHostPortConflicts / AccumulateUniqueHostPorts: a non-zero
/// protocol/hostIP/hostPort triple appears once in the given containers.
fn check_host_port_conflicts(containers: &[Value], p: &str, errs: &mut Errs) {
    let mut seen = HashSet::new();
    for (ci, c) in containers.iter().enumerate() {
        for (pi, port) in ar(c, "ports").iter().enumerate() {
            let hp = int(port, "hostPort").unwrap_or(0);
            if hp == 0 {
                continue;
            }
            let key = format!("{}/{}/{}", st(port, "protocol"), st(port, "hostIP"), hp);
            if !seen.insert(key.clone()) {
                push(
                    errs,
                    format!("{p}[{ci}].ports[{pi}].hostPort"),
                    "Duplicate",
                    format!("{key:?}"),
                    "AccumulateUniqueHostPorts",
                );
            }
        }
    }
}

fn env_name_errors(name: &str, v: Version) -> Vec<String> {
    if v.gate("RelaxedEnvironmentVariableValidation") {
        is_relaxed_env_var_name(name)
    } else {
        is_env_var_name(name)
    }
}

/// ValidateEnv: name required; IsEnvVarName through 1.31, IsRelaxedEnvVarName
/// (printable ASCII but '=') from 1.32 (RelaxedEnvironmentVariableValidation);
/// valueFrom (validateEnvVarValueFrom).
fn validate_env(env: &[Value], p: &str, v: Version, errs: &mut Errs) {
    for (i, e) in env.iter().enumerate() {
        let ip = format!("{p}[{i}]");
        let n = st(e, "name");
        if n.is_empty() {
            push(errs, format!("{ip}.name"), "Required", "", "ValidateEnv");
        } else {
            for m in env_name_errors(n, v) {
                push(
                    errs,
                    format!("{ip}.name"),
                    "Invalid",
                    format!("{n:?}: {m}"),
                    "ValidateEnv",
                );
            }
        }
        validate_env_var_value_from(e, &format!("{ip}.valueFrom"), errs);
    }
}

/// validateEnvVarValueFrom: exactly one of fieldRef (validateObjectFieldSelector
/// with the env paths), resourceFieldRef, configMapKeyRef, secretKeyRef
/// (and fileKeyRef from 1.35, EnvFiles; dropped in 1.34, unknown before),
/// and not together with a non-empty value.
fn validate_env_var_value_from(e: &Value, p: &str, errs: &mut Errs) {
    const R: &str = "validateEnvVarValueFrom";
    let Some(vf) = ob(e, "valueFrom") else { return };
    let mut n = 0;
    if let Some(fr) = ob(vf, "fieldRef") {
        n += 1;
        validate_object_field_selector(fr, ENV_DOWNWARD_FIELDS, &format!("{p}.fieldRef"), errs);
    }
    if let Some(rf) = ob(vf, "resourceFieldRef") {
        n += 1;
        validate_container_resource_field_selector(
            rf,
            &format!("{p}.resourceFieldRef"),
            false,
            errs,
        );
    }
    for k in ["configMapKeyRef", "secretKeyRef"] {
        if let Some(s) = ob(vf, k) {
            n += 1;
            validate_key_selector(s, &format!("{p}.{k}"), errs);
        }
    }
    if let Some(f) = ob(vf, "fileKeyRef") {
        n += 1;
        validate_file_key_selector(f, &format!("{p}.fileKeyRef"), errs);
    }
    if n == 0 {
        push(
            errs,
            p,
            "Invalid",
            "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`",
            R,
        );
    } else if !st(e, "value").is_empty() {
        push(
            errs,
            p,
            "Invalid",
            "may not be specified when `value` is not empty",
            R,
        );
    } else if n > 1 {
        push(
            errs,
            p,
            "Invalid",
            "may not have more than one field specified at a time",
            R,
        );
    }
}

/// validateFileKeySelector (1.35+, EnvFiles; approximate): volumeName, path
/// and key required, path relative without '..'.
fn validate_file_key_selector(f: &Value, p: &str, errs: &mut Errs) {
    const R: &str = "validateFileKeySelector";
    for k in ["volumeName", "path", "key"] {
        if st(f, k).is_empty() {
            push(errs, format!("{p}.{k}"), "Required", "", R);
        }
    }
    validate_local_descending_path(st(f, "path"), &format!("{p}.path"), errs);
}

/// validateConfigMapKeySelector / validateSecretKeySelector: name a DNS
/// subdomain, key required and a valid config key.
fn validate_key_selector(s: &Value, p: &str, errs: &mut Errs) {
    const R: &str = "validateConfigMapKeySelector";
    let n = st(s, "name");
    for m in name_is_dns_subdomain(n, false) {
        push(
            errs,
            format!("{p}.name"),
            "Invalid",
            format!("{n:?}: {m}"),
            R,
        );
    }
    let k = st(s, "key");
    if k.is_empty() {
        push(errs, format!("{p}.key"), "Required", "", R);
    } else {
        for m in is_config_map_key(k) {
            push(
                errs,
                format!("{p}.key"),
                "Invalid",
                format!("{k:?}: {m}"),
                R,
            );
        }
    }
}

/// SplitMaybeSubscriptedPath (pkg/fieldpath).
fn split_subscripted(fp: &str) -> Option<(&str, &str)> {
    let s = fp.strip_suffix("']")?;
    let (a, b) = s.split_once("['")?;
    if a.is_empty() { None } else { Some((a, b)) }
}

/// validateObjectFieldSelector (with ConvertDownwardAPIFieldLabel):
/// apiVersion (defaulted v1) and fieldPath required; the label must be a
/// supported v1 downward API label; a subscript only on metadata.labels /
/// metadata.annotations with a qualified-name key; otherwise one of the
/// given paths.
fn validate_object_field_selector(fs: &Value, allowed: &[&str], p: &str, errs: &mut Errs) {
    const R: &str = "validateObjectFieldSelector";
    let api = st(fs, "apiVersion");
    if api.is_empty() {
        push(errs, format!("{p}.apiVersion"), "Required", "", R);
        return;
    }
    let fp = st(fs, "fieldPath");
    if fp.is_empty() {
        push(errs, format!("{p}.fieldPath"), "Required", "", R);
        return;
    }
    // ConvertDownwardAPIFieldLabel
    let conv_err = if api != "v1" {
        Some(format!("unsupported pod version: {api}"))
    } else if let Some((path, _)) = split_subscripted(fp) {
        if path == "metadata.annotations" || path == "metadata.labels" {
            None
        } else {
            Some(format!("field label does not support subscript: {fp}"))
        }
    } else {
        const LABELS: &[&str] = &[
            "metadata.annotations",
            "metadata.labels",
            "metadata.name",
            "metadata.namespace",
            "metadata.uid",
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.serviceAccountName",
            "spec.schedulerName",
            "status.phase",
            "status.hostIP",
            "status.hostIPs",
            "status.podIP",
            "status.podIPs",
            "spec.host",
        ];
        if LABELS.contains(&fp) {
            None
        } else {
            Some(format!("field label not supported: {fp}"))
        }
    };
    if let Some(m) = conv_err {
        push(
            errs,
            format!("{p}.fieldPath"),
            "Invalid",
            format!("{fp:?}: error converting fieldPath: {m}"),
            R,
        );
        return;
    }
    let internal = if fp == "spec.host" {
        "spec.nodeName"
    } else {
        fp
    };
    if let Some((path, sub)) = split_subscripted(internal) {
        match path {
            "metadata.annotations" => {
                for m in is_qualified_name(&sub.to_lowercase()) {
                    push(errs, p, "Invalid", m, R);
                }
            }
            "metadata.labels" => {
                for m in is_qualified_name(sub) {
                    push(errs, p, "Invalid", m, R);
                }
            }
            _ => push(
                errs,
                p,
                "Invalid",
                format!("{path:?}: does not support subscript"),
                R,
            ),
        }
    } else if !allowed.contains(&internal) {
        push(
            errs,
            format!("{p}.fieldPath"),
            "NotSupported",
            format!("{internal:?}: supported values: {allowed:?}"),
            R,
        );
    }
}

/// validateContainerResourceFieldSelector: containerName required in a
/// volume; resource required, one of limits/requests.cpu, .memory,
/// .ephemeral-storage or a limits/requests.hugepages- prefix; divisor
/// (validateContainerResourceDivisor) 1m or 1 for cpu, 1, 1k..1E, 1Ki..1Ei
/// for memory, ephemeral-storage and hugepages.
fn validate_container_resource_field_selector(fs: &Value, p: &str, volume: bool, errs: &mut Errs) {
    const R: &str = "validateContainerResourceFieldSelector";
    let r = st(fs, "resource");
    if volume && st(fs, "containerName").is_empty() {
        push(errs, format!("{p}.containerName"), "Required", "", R);
    } else if r.is_empty() {
        push(errs, format!("{p}.resource"), "Required", "", R);
    } else if !RESOURCE_FIELDS.contains(&r)
        && !r.starts_with("requests.hugepages-")
        && !r.starts_with("limits.hugepages-")
    {
        push(
            errs,
            format!("{p}.resource"),
            "NotSupported",
            format!("{r:?}: supported values: {RESOURCE_FIELDS:?}"),
            R,
        );
    }
    let d = fs
        .get("divisor")
        .filter(|d| !d.is_null())
        .map(qty_of)
        .unwrap_or(Quantity::ZERO);
    if d.is_zero() {
        return;
    }
    const MEM: &[&str] = &[
        "1", "1k", "1M", "1G", "1T", "1P", "1E", "1Ki", "1Mi", "1Gi", "1Ti", "1Pi", "1Ei",
    ];
    let bad = match r {
        "limits.cpu" | "requests.cpu" => !d.canonical_in(&["1m", "1"]),
        "limits.memory"
        | "requests.memory"
        | "limits.ephemeral-storage"
        | "requests.ephemeral-storage" => !d.canonical_in(MEM),
        _ => false,
    } || ((r.starts_with("requests.hugepages-") || r.starts_with("limits.hugepages-"))
        && !d.canonical_in(MEM));
    if bad {
        push(
            errs,
            format!("{p}.divisor"),
            "Invalid",
            format!("{r:?}: divisor not supported for this resource"),
            "validateContainerResourceDivisor",
        );
    }
}

/// ValidateEnvFrom: prefix a valid env var name (strict through 1.31,
/// relaxed from 1.32); exactly one of configMapRef / secretRef, whose name
/// is required and a DNS subdomain (prefix form).
fn validate_env_from(env_from: &[Value], p: &str, v: Version, errs: &mut Errs) {
    const R: &str = "ValidateEnvFrom";
    for (i, e) in env_from.iter().enumerate() {
        let ip = format!("{p}[{i}]");
        let prefix = st(e, "prefix");
        if !prefix.is_empty() {
            for m in env_name_errors(prefix, v) {
                push(
                    errs,
                    format!("{ip}.prefix"),
                    "Invalid",
                    format!("{prefix:?}: {m}"),
                    R,
                );
            }
        }
        let mut n = 0;
        for k in ["configMapRef", "secretRef"] {
            if let Some(r) = ob(e, k) {
                n += 1;
                let name = st(r, "name");
                if name.is_empty() {
                    push(errs, format!("{ip}.{k}.name"), "Required", "", R);
                } else {
                    for m in name_is_dns_subdomain(name, true) {
                        push(
                            errs,
                            format!("{ip}.{k}.name"),
                            "Invalid",
                            format!("{name:?}: {m}"),
                            R,
                        );
                    }
                }
            }
        }
        if n == 0 {
            push(
                errs,
                p,
                "Invalid",
                "must specify one of: `configMapRef` or `secretRef`",
                R,
            );
        } else if n > 1 {
            push(
                errs,
                p,
                "Invalid",
                "may not have more than one field specified at a time",
                R,
            );
        }
    }
}

/// ValidateVolumeMounts: name required and a volume of the Pod; mountPath
/// required and unique in the container; name and mountPath not also in
/// volumeDevices ("must not already exist as a path in volumeDevices");
/// no subPath/subPathExpr on an image volume; subPath and subPathExpr
/// relative without '..' and mutually exclusive; mountPropagation
/// (validateMountPropagation); recursiveReadOnly (validateMountRecursiveReadOnly).
/// The subPath/subPathExpr/mountPropagation/recursiveReadOnly errors use
/// the path of the list, not of the mount, as in Go.
fn validate_volume_mounts(
    c: &Value,
    devices: &HashMap<&str, &str>,
    ctx: &Ctx,
    p: &str,
    errs: &mut Errs,
) {
    const R: &str = "ValidateVolumeMounts";
    let mut mountpoints = HashSet::new();
    for (i, m) in ar(c, "volumeMounts").iter().enumerate() {
        let ip = format!("{p}[{i}]");
        let name = st(m, "name");
        let mp = st(m, "mountPath");
        if name.is_empty() {
            push(errs, format!("{ip}.name"), "Required", "", R);
        }
        if !ctx.vols.contains_key(name) {
            push(
                errs,
                format!("{ip}.name"),
                "NotFound",
                format!("{name:?}"),
                R,
            );
        }
        if mp.is_empty() {
            push(errs, format!("{ip}.mountPath"), "Required", "", R);
        }
        if !mountpoints.insert(mp) {
            push(
                errs,
                format!("{ip}.mountPath"),
                "Invalid",
                format!("{mp:?}: must be unique"),
                R,
            );
        }
        if devices.contains_key(name) {
            push(
                errs,
                format!("{ip}.name"),
                "Invalid",
                format!("{name:?}: must not already exist in volumeDevices"),
                R,
            );
        }
        if devices.values().any(|d| *d == mp) {
            push(
                errs,
                format!("{ip}.mountPath"),
                "Invalid",
                format!("{mp:?}: must not already exist as a path in volumeDevices"),
                R,
            );
        }
        let sub = st(m, "subPath");
        let expr = st(m, "subPathExpr");
        if ctx.vols.get(name).is_some_and(|v| set(v, "image")) {
            if !sub.is_empty() {
                push(
                    errs,
                    format!("{ip}.subPath"),
                    "Invalid",
                    format!("{sub:?}: not allowed in image volume sources"),
                    R,
                );
            }
            if !expr.is_empty() {
                push(
                    errs,
                    format!("{ip}.subPathExpr"),
                    "Invalid",
                    format!("{expr:?}: not allowed in image volume sources"),
                    R,
                );
            }
        }
        if !sub.is_empty() {
            validate_local_descending_path(sub, &format!("{p}.subPath"), errs);
        }
        if !expr.is_empty() {
            if !sub.is_empty() {
                push(
                    errs,
                    format!("{ip}.subPathExpr"),
                    "Invalid",
                    format!("{expr:?}: subPathExpr and subPath are mutually exclusive"),
                    R,
                );
            }
            validate_local_descending_path(expr, &format!("{p}.subPathExpr"), errs);
        }
        if let Some(prop) = ost(m, "mountPropagation") {
            validate_mount_propagation(prop, c, &format!("{p}.mountPropagation"), errs);
        }
        validate_mount_recursive_read_only(m, &format!("{p}.recursiveReadOnly"), errs);
    }
}

/// validateMountPropagation: Bidirectional, HostToContainer or None;
/// Bidirectional only in a privileged container.
fn validate_mount_propagation(prop: &str, c: &Value, p: &str, errs: &mut Errs) {
    const R: &str = "validateMountPropagation";
    if !["Bidirectional", "HostToContainer", "None"].contains(&prop) {
        push(
            errs,
            p,
            "NotSupported",
            format!("{prop:?}: supported values: \"Bidirectional\", \"HostToContainer\", \"None\""),
            R,
        );
    }
    let privileged = c
        .get("securityContext")
        .and_then(|s| s.get("privileged"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if prop == "Bidirectional" && !privileged {
        push(
            errs,
            p,
            "Forbidden",
            "Bidirectional mount propagation is available only to privileged containers",
            R,
        );
    }
}

/// validateMountRecursiveReadOnly (RecursiveReadOnlyMounts: field absent in
/// 1.29, dropped in 1.30, validated from 1.31): Disabled, or Enabled /
/// IfPossible with readOnly true and mountPropagation None or unset.
fn validate_mount_recursive_read_only(m: &Value, p: &str, errs: &mut Errs) {
    const R: &str = "validateMountRecursiveReadOnly";
    let Some(rro) = ost(m, "recursiveReadOnly") else {
        return;
    };
    match rro {
        "Disabled" => {}
        "Enabled" | "IfPossible" => {
            if !bo(m, "readOnly").unwrap_or(false) {
                push(
                    errs,
                    p,
                    "Forbidden",
                    "may only be specified when readOnly is true",
                    R,
                );
            }
            if ost(m, "mountPropagation").is_some_and(|x| x != "None") {
                push(
                    errs,
                    p,
                    "Forbidden",
                    "may only be specified when mountPropagation is None or not specified",
                    R,
                );
            }
        }
        o => push(
            errs,
            p,
            "NotSupported",
            format!("{o:?}: supported values: \"Disabled\", \"Enabled\", \"IfPossible\""),
            R,
        ),
    }
}

/// ValidateVolumeDevices: name required, unique, a persistentVolumeClaim or
/// ephemeral volume; devicePath required, unique, no '..'; neither name nor
/// devicePath also in volumeMounts.
fn validate_volume_devices(
    devs: &[Value],
    mounts: &HashMap<&str, &str>,
    ctx: &Ctx,
    p: &str,
    errs: &mut Errs,
) {
    const R: &str = "ValidateVolumeDevices";
    let mut paths = HashSet::new();
    let mut names = HashSet::new();
    for (i, d) in devs.iter().enumerate() {
        let ip = format!("{p}[{i}]");
        let name = st(d, "name");
        let dp = st(d, "devicePath");
        let vol = ctx.vols.get(name);
        let is_pvc = vol.is_some_and(|v| set(v, "persistentVolumeClaim") || set(v, "ephemeral"));
        if name.is_empty() {
            push(errs, format!("{ip}.name"), "Required", "", R);
        }
        if names.contains(name) {
            push(
                errs,
                format!("{ip}.name"),
                "Invalid",
                format!("{name:?}: must be unique"),
                R,
            );
        }
        if vol.is_some() && !is_pvc {
            push(
                errs,
                format!("{ip}.name"),
                "Invalid",
                format!(
                    "{name:?}: can only use volume source type of PersistentVolumeClaim or Ephemeral for block mode"
                ),
                R,
            );
        }
        if vol.is_none() {
            push(
                errs,
                format!("{ip}.name"),
                "NotFound",
                format!("{name:?}"),
                R,
            );
        }
        if dp.is_empty() {
            push(errs, format!("{ip}.devicePath"), "Required", "", R);
        }
        if paths.contains(dp) {
            push(
                errs,
                format!("{ip}.devicePath"),
                "Invalid",
                format!("{dp:?}: must be unique"),
                R,
            );
        }
        if !dp.is_empty() && dp.split('/').any(|x| x == "..") {
            push(
                errs,
                format!("{ip}.devicePath"),
                "Invalid",
                format!("{dp:?}: can not contain backsteps ('..')"),
                R,
            );
        } else {
            paths.insert(dp);
        }
        if mounts.contains_key(name) {
            push(
                errs,
                format!("{ip}.name"),
                "Invalid",
                format!("{name:?}: must not already exist in volumeMounts"),
                R,
            );
        }
        if mounts.values().any(|m| *m == dp) {
            push(
                errs,
                format!("{ip}.devicePath"),
                "Invalid",
                format!("{dp:?}: must not already exist as a path in volumeMounts"),
                R,
            );
        }
        if !name.is_empty() {
            names.insert(name);
        }
    }
}

/// validatePullPolicy: Always, IfNotPresent or Never (defaulted when empty).
fn validate_pull_policy(p: &str, path: &str, errs: &mut Errs) {
    match p {
        "Always" | "IfNotPresent" | "Never" => {}
        "" => push(errs, path, "Required", "", "validatePullPolicy"),
        o => push(
            errs,
            path,
            "NotSupported",
            format!("{o:?}: supported values: \"Always\", \"IfNotPresent\", \"Never\""),
            "validatePullPolicy",
        ),
    }
}

/// validateResizePolicy (resizePolicy dropped through 1.32,
/// InPlacePodVerticalScaling off): resourceName cpu/memory unique,
/// restartPolicy NotRequired/RestartContainer, NotRequired when the Pod's
/// restartPolicy is Never.
fn validate_resize_policy(list: &[Value], ctx: &Ctx, p: &str, errs: &mut Errs) {
    const R: &str = "validateResizePolicy";
    let mut seen = HashSet::new();
    for (i, rp) in list.iter().enumerate() {
        let rn = st(rp, "resourceName");
        if !seen.insert(rn) {
            push(errs, format!("{p}[{i}]"), "Duplicate", format!("{rn:?}"), R);
        }
        match rn {
            "cpu" | "memory" => {}
            "" => push(errs, p, "Required", "", R),
            o => push(
                errs,
                p,
                "NotSupported",
                format!("{o:?}: supported values: \"cpu\", \"memory\""),
                R,
            ),
        }
        let pol = st(rp, "restartPolicy");
        match pol {
            "NotRequired" | "RestartContainer" => {}
            "" => push(errs, p, "Required", "", R),
            o => push(
                errs,
                p,
                "NotSupported",
                format!("{o:?}: supported values: \"NotRequired\", \"RestartContainer\""),
                R,
            ),
        }
        if ctx.restart_policy == "Never" && pol != "NotRequired" {
            push(
                errs,
                p,
                "Invalid",
                format!("{pol:?}: must be 'NotRequired' when `restartPolicy` is 'Never'"),
                R,
            );
        }
    }
}

// ----------------------------------------------------------------- resources

fn is_native_resource(n: &str) -> bool {
    !n.contains('/') || n.contains("kubernetes.io/")
}
fn is_hugepages(n: &str) -> bool {
    n.starts_with("hugepages-")
}
/// helper.IsExtendedResourceName.
fn is_extended_resource_name(n: &str) -> bool {
    if is_native_resource(n) || n.starts_with("requests.") {
        return false;
    }
    is_qualified_name(&format!("requests.{n}")).is_empty()
}
fn is_overcommit_allowed(n: &str) -> bool {
    is_native_resource(n) && !is_hugepages(n)
}
fn is_integer_resource(n: &str) -> bool {
    const INT: &[&str] = &[
        "pods",
        "resourcequotas",
        "services",
        "replicationcontrollers",
        "secrets",
        "configmaps",
        "persistentvolumeclaims",
        "services.nodeports",
        "services.loadbalancers",
    ];
    INT.contains(&n) || is_extended_resource_name(n)
}

/// validateResourceName: a qualified name; without '/', a standard resource.
fn validate_resource_name(n: &str, p: &str, errs: &mut Errs) -> bool {
    const R: &str = "validateResourceName";
    let msgs = is_qualified_name(n);
    let had = !msgs.is_empty();
    for m in msgs {
        push(errs, p, "Invalid", format!("{n:?}: {m}"), R);
    }
    if had {
        return false;
    }
    if !n.contains('/') {
        const STD: &[&str] = &[
            "cpu",
            "memory",
            "ephemeral-storage",
            "requests.cpu",
            "requests.memory",
            "requests.ephemeral-storage",
            "limits.cpu",
            "limits.memory",
            "limits.ephemeral-storage",
            "pods",
            "resourcequotas",
            "services",
            "replicationcontrollers",
            "secrets",
            "persistentvolumeclaims",
            "configmaps",
            "storage",
            "requests.storage",
            "services.nodeports",
            "services.loadbalancers",
        ];
        if !STD.contains(&n) && !is_hugepages(n) && !n.starts_with("requests.hugepages-") {
            push(
                errs,
                p,
                "Invalid",
                format!("{n:?}: must be a standard resource type or fully qualified"),
                R,
            );
            return false;
        }
    }
    true
}

/// validateContainerResourceName: validateResourceName; without '/', cpu,
/// memory, ephemeral-storage or hugepages-<size>; with '/', native
/// (kubernetes.io/) or an extended resource name.
fn validate_container_resource_name(n: &str, p: &str, errs: &mut Errs) {
    const R: &str = "validateContainerResourceName";
    validate_resource_name(n, p, errs);
    if !n.contains('/') {
        if !["cpu", "memory", "ephemeral-storage"].contains(&n) && !is_hugepages(n) {
            push(
                errs,
                p,
                "Invalid",
                format!("{n:?}: must be a standard resource for containers"),
                R,
            );
        }
    } else if !is_native_resource(n) && !is_extended_resource_name(n) {
        push(
            errs,
            p,
            "Invalid",
            format!("{n:?}: doesn't follow extended resource name standard"),
            R,
        );
    }
}

/// validatePodResourceName (1.34+): validateResourceName, and cpu or memory
/// (resourcehelper.IsSupportedPodLevelResource).
fn validate_pod_resource_name(n: &str, p: &str, errs: &mut Errs) {
    if validate_resource_name(n, p, errs) && n != "cpu" && n != "memory" {
        push(
            errs,
            p,
            "NotSupported",
            format!("{n:?}: supported values: \"cpu\", \"memory\""),
            "validatePodResourceName",
        );
    }
}

/// ValidateResourceQuantityValue: not negative; an integer for integer
/// resources (extended resources).
fn validate_resource_quantity_value(n: &str, q: &Quantity, p: &str, errs: &mut Errs) {
    const R: &str = "ValidateResourceQuantityValue";
    if q.is_negative() {
        push(errs, p, "Invalid", format!("{}: {NEGATIVE}", qstr(q)), R);
    }
    if is_integer_resource(n) && q.milli_value() % 1000 != 0 {
        push(
            errs,
            p,
            "Invalid",
            format!("{}: must be an integer", qstr(q)),
            R,
        );
    }
}

/// validateResourceQuantityHugePageValue: a multiple of the page size.
fn validate_hugepage_value(n: &str, q: &Quantity, p: &str, errs: &mut Errs) {
    let size = n
        .strip_prefix("hugepages-")
        .and_then(|s| parse_quantity(s).ok());
    let ok = match size {
        Some(s) if !s.is_negative() && !s.is_zero() && s.milli_value() % 1000 == 0 => {
            q.value() % s.value() == 0
        }
        _ => false,
    };
    if !ok {
        push(
            errs,
            p,
            "Invalid",
            format!("{} is not positive integer multiple of {n}", qstr(q)),
            "validateResourceQuantityHugePageValue",
        );
    }
}

/// validateResourceRequirements (ValidateContainerResourceRequirements, and
/// validatePodResourceRequirements for spec.resources): names, quantities,
/// requests <= limits (== for resources that cannot be overcommitted, which
/// also need a limit), hugepages need cpu or memory, claims name entries of
/// spec.resourceClaims.
fn validate_resource_requirements(
    res: &Value,
    pod_level: bool,
    claims: &HashSet<&str>,
    p: &str,
    errs: &mut Errs,
) {
    const R: &str = "validateResourceRequirements";
    let limits = qtymap(res, "limits");
    let requests = qtymap(res, "requests");
    let (mut lim_cm, mut req_cm, mut lim_hp, mut req_hp) = (false, false, false, false);
    let name_fn = |n: &str, fp: &str, errs: &mut Errs| {
        if pod_level {
            validate_pod_resource_name(n, fp, errs)
        } else {
            validate_container_resource_name(n, fp, errs)
        }
    };
    for (n, q) in &limits {
        let fp = format!("{p}.limits[{n}]");
        name_fn(n, &fp, errs);
        validate_resource_quantity_value(n, q, &fp, errs);
        if is_hugepages(n) {
            lim_hp = true;
            validate_hugepage_value(n, q, &fp, errs);
        }
        if n == "cpu" || n == "memory" {
            lim_cm = true;
        }
    }
    for (n, q) in &requests {
        let fp = format!("{p}.requests[{n}]");
        name_fn(n, &fp, errs);
        validate_resource_quantity_value(n, q, &fp, errs);
        if let Some(l) = limits.get(n) {
            if q.cmp_q(l) != Ordering::Equal && !is_overcommit_allowed(n) {
                push(
                    errs,
                    format!("{p}.requests"),
                    "Invalid",
                    format!("{}: must be equal to {n} limit of {}", qstr(q), qstr(l)),
                    R,
                );
            } else if q.cmp_q(l) == Ordering::Greater {
                push(
                    errs,
                    format!("{p}.requests"),
                    "Invalid",
                    format!(
                        "{}: must be less than or equal to {n} limit of {}",
                        qstr(q),
                        qstr(l)
                    ),
                    R,
                );
            }
        } else if !is_overcommit_allowed(n) {
            push(
                errs,
                format!("{p}.limits"),
                "Required",
                "Limit must be set for non overcommitable resources",
                R,
            );
        }
        if is_hugepages(n) {
            req_hp = true;
            validate_hugepage_value(n, q, &fp, errs);
        }
        if n == "cpu" || n == "memory" {
            req_cm = true;
        }
    }
    if !lim_cm && !req_cm && (req_hp || lim_hp) {
        push(errs, p, "Forbidden", "HugePages require cpu or memory", R);
    }
    let mut seen = HashSet::new();
    for (i, c) in ar(res, "claims").iter().enumerate() {
        let n = st(c, "name");
        let cp = format!("{p}.claims[{i}]");
        if n.is_empty() {
            push(errs, cp, "Required", "", "validateResourceClaimNames");
            continue;
        }
        let key = if st(c, "request").is_empty() {
            n.to_string()
        } else {
            format!("{n}/{}", st(c, "request"))
        };
        if !seen.insert(key.clone()) {
            push(
                errs,
                &cp,
                "Duplicate",
                format!("{key:?}"),
                "validateResourceClaimNames",
            );
        }
        if !claims.contains(n) {
            push(
                errs,
                &cp,
                "NotFound",
                format!("{n:?}: must be one of the names in pod.spec.resourceClaims"),
                "validateResourceClaimNames",
            );
        }
    }
}

/// validatePodResources (PodLevelResources: spec.resources absent before
/// 1.32, dropped in 1.32-1.33, validated from 1.34): no claims; names cpu or
/// memory; requests <= limits; validatePodResourceConsistency: pod requests
/// >= the aggregate container requests (regular and restartable init
/// > containers summed, ordinary init containers as a maximum), each
/// > container limit <= the pod limit.
fn validate_pod_resources(spec: &Value, claims: &HashSet<&str>, errs: &mut Errs) {
    let Some(res) = ob(spec, "resources") else {
        return;
    };
    const R: &str = "validatePodResourceConsistency";
    if set(res, "claims") {
        push(
            errs,
            "spec.resources.claims",
            "Forbidden",
            "claims cannot be set for Resources at pod-level",
            "validatePodResources",
        );
    }
    validate_resource_requirements(res, true, claims, "spec.resources", errs);
    // resourcehelper.AggregateContainerRequests
    let mut sum: BTreeMap<String, Quantity> = BTreeMap::new();
    for c in ar(spec, "containers") {
        for (n, q) in qtymap(c.get("resources").unwrap_or(&Value::Null), "requests") {
            let e = sum.entry(n).or_insert(Quantity::ZERO);
            *e = e.add(&q);
        }
    }
    let mut sidecars: BTreeMap<String, Quantity> = BTreeMap::new();
    let mut init_max: BTreeMap<String, Quantity> = BTreeMap::new();
    for c in ar(spec, "initContainers") {
        let reqs = qtymap(c.get("resources").unwrap_or(&Value::Null), "requests");
        let restartable = st(c, "restartPolicy") == "Always";
        let mut this: BTreeMap<String, Quantity> = sidecars.clone();
        for (n, q) in &reqs {
            let e = this.entry(n.clone()).or_insert(Quantity::ZERO);
            *e = e.add(q);
        }
        if restartable {
            for (n, q) in &reqs {
                let e = sum.entry(n.clone()).or_insert(Quantity::ZERO);
                *e = e.add(q);
                let s = sidecars.entry(n.clone()).or_insert(Quantity::ZERO);
                *s = s.add(q);
            }
        }
        for (n, q) in this {
            let e = init_max.entry(n).or_insert(Quantity::ZERO);
            if q.cmp_q(e) == Ordering::Greater {
                *e = q;
            }
        }
    }
    for (n, q) in init_max {
        let e = sum.entry(n).or_insert(Quantity::ZERO);
        if q.cmp_q(e) == Ordering::Greater {
            *e = q;
        }
    }
    let pod_req = qtymap(res, "requests");
    let pod_lim = qtymap(res, "limits");
    for (n, agg) in &sum {
        let pr = pod_req.get(n).copied().unwrap_or(Quantity::ZERO);
        if agg.cmp_q(&pr) == Ordering::Greater {
            push(
                errs,
                format!("spec.resources.requests[{n}]"),
                "Invalid",
                format!(
                    "{}: must be greater than or equal to aggregate container requests of {}",
                    qstr(&pr),
                    qstr(agg)
                ),
                R,
            );
        }
    }
    for (i, c) in ar(spec, "containers").iter().enumerate() {
        for (n, l) in qtymap(c.get("resources").unwrap_or(&Value::Null), "limits") {
            if let Some(pl) = pod_lim.get(&n)
                && l.cmp_q(pl) == Ordering::Greater
            {
                push(
                    errs,
                    format!("spec.resources.containers[{i}][{n}].limits"),
                    "Invalid",
                    format!(
                        "{}: must be less than or equal to pod limits of {}",
                        qstr(&l),
                        qstr(pl)
                    ),
                    R,
                );
            }
        }
    }
}

// ---------------------------------------------------------- probes, hooks

/// validateProbe: exactly one handler (validateHandler over exec, httpGet,
/// tcpSocket, grpc); initialDelaySeconds, timeoutSeconds, periodSeconds,
/// successThreshold, failureThreshold non-negative; a probe-level
/// terminationGracePeriodSeconds greater than 0.
fn validate_probe(pr: &Value, ctx: &Ctx, p: &str, errs: &mut Errs) {
    validate_handler(pr, &["exec", "httpGet", "tcpSocket", "grpc"], ctx, p, errs);
    for k in [
        "initialDelaySeconds",
        "timeoutSeconds",
        "periodSeconds",
        "successThreshold",
        "failureThreshold",
    ] {
        let n = int(pr, k).unwrap_or(0);
        if n < 0 {
            push(
                errs,
                format!("{p}.{k}"),
                "Invalid",
                format!("{n}: {NEGATIVE}"),
                "ValidateNonnegativeField",
            );
        }
    }
    if let Some(t) = int(pr, "terminationGracePeriodSeconds")
        && t <= 0
    {
        push(
            errs,
            format!("{p}.terminationGracePeriodSeconds"),
            "Invalid",
            format!("{t}: must be greater than 0"),
            "validateProbe",
        );
    }
}

/// validateLivenessProbe: validateProbe and successThreshold 1.
fn validate_liveness_probe(pr: &Value, ctx: &Ctx, p: &str, errs: &mut Errs) {
    validate_probe(pr, ctx, p, errs);
    let s = int(pr, "successThreshold").unwrap_or(0);
    if s != 1 {
        push(
            errs,
            format!("{p}.successThreshold"),
            "Invalid",
            format!("{s}: must be 1"),
            "validateLivenessProbe",
        );
    }
}

/// validateReadinessProbe: validateProbe and no terminationGracePeriodSeconds.
fn validate_readiness_probe(pr: &Value, ctx: &Ctx, p: &str, errs: &mut Errs) {
    validate_probe(pr, ctx, p, errs);
    if set(pr, "terminationGracePeriodSeconds") {
        push(
            errs,
            format!("{p}.terminationGracePeriodSeconds"),
            "Invalid",
            "must not be set for readinessProbes",
            "validateReadinessProbe",
        );
    }
}

/// validateStartupProbe: validateProbe and successThreshold 1.
fn validate_startup_probe(pr: &Value, ctx: &Ctx, p: &str, errs: &mut Errs) {
    validate_probe(pr, ctx, p, errs);
    let s = int(pr, "successThreshold").unwrap_or(0);
    if s != 1 {
        push(
            errs,
            format!("{p}.successThreshold"),
            "Invalid",
            format!("{s}: must be 1"),
            "validateStartupProbe",
        );
    }
}

/// validateHandler: exactly one of the handler kinds ("may not specify more
/// than 1 handler type" / "must specify a handler type"), each validated:
/// exec command required (validateExecAction); httpGet path required, port
/// a number 1..=65535 or an IANA_SVC_NAME, scheme HTTP/HTTPS, header names
/// (validateHTTPGetAction); tcpSocket and grpc port (ValidatePortNumOrName);
/// sleep (validateSleepAction).
fn validate_handler(h: &Value, kinds: &[&str], ctx: &Ctx, p: &str, errs: &mut Errs) {
    const R: &str = "validateHandler";
    let mut n = 0;
    for k in kinds {
        let Some(x) = h.get(*k).filter(|x| !x.is_null()) else {
            continue;
        };
        let kp = format!("{p}.{k}");
        if n > 0 {
            push(
                errs,
                kp,
                "Forbidden",
                "may not specify more than 1 handler type",
                R,
            );
            continue;
        }
        n += 1;
        match *k {
            "exec" if ar(x, "command").is_empty() => {
                push(
                    errs,
                    format!("{kp}.command"),
                    "Required",
                    "",
                    "validateExecAction",
                );
            }
            "httpGet" => {
                if st(x, "path").is_empty() {
                    push(
                        errs,
                        format!("{kp}.path"),
                        "Required",
                        "",
                        "validateHTTPGetAction",
                    );
                }
                validate_port_num_or_name(
                    x.get("port").unwrap_or(&Value::Null),
                    &format!("{kp}.port"),
                    errs,
                );
                let s = st(x, "scheme");
                if s != "HTTP" && s != "HTTPS" {
                    push(
                        errs,
                        format!("{kp}.scheme"),
                        "NotSupported",
                        format!("{s:?}: supported values: \"HTTP\", \"HTTPS\""),
                        "validateHTTPGetAction",
                    );
                }
                for hd in ar(x, "httpHeaders") {
                    for m in is_http_header_name(st(hd, "name")) {
                        push(
                            errs,
                            format!("{kp}.httpHeaders"),
                            "Invalid",
                            m,
                            "validateHTTPGetAction",
                        );
                    }
                }
            }
            "tcpSocket" => validate_port_num_or_name(
                x.get("port").unwrap_or(&Value::Null),
                &format!("{kp}.port"),
                errs,
            ),
            "grpc" => {
                let port = int(x, "port").unwrap_or(0);
                for m in is_valid_port_num(port) {
                    push(
                        errs,
                        format!("{kp}.port"),
                        "Invalid",
                        format!("{port}: {m}"),
                        "ValidatePortNumOrName",
                    );
                }
            }
            "sleep" => validate_sleep_action(x, ctx, &kp, errs),
            _ => {}
        }
    }
    if n == 0 {
        push(errs, p, "Required", "must specify a handler type", R);
    }
}

/// ValidatePortNumOrName: an int 1..=65535 or an IANA_SVC_NAME string.
fn validate_port_num_or_name(port: &Value, p: &str, errs: &mut Errs) {
    match port {
        Value::String(s) => {
            for m in is_valid_port_name(s) {
                push(
                    errs,
                    p,
                    "Invalid",
                    format!("{s:?}: {m}"),
                    "ValidatePortNumOrName",
                );
            }
        }
        _ => {
            let n = port.as_i64().unwrap_or(0);
            for m in is_valid_port_num(n) {
                push(
                    errs,
                    p,
                    "Invalid",
                    format!("{n}: {m}"),
                    "ValidatePortNumOrName",
                );
            }
        }
    }
}

/// validateSleepAction (PodLifecycleSleepAction: sleep dropped in 1.29):
/// seconds at most the Pod's terminationGracePeriodSeconds, and greater than
/// 0 through 1.32; 0 allowed from 1.33 (PodLifecycleSleepActionAllowZero).
fn validate_sleep_action(s: &Value, ctx: &Ctx, p: &str, errs: &mut Errs) {
    const R: &str = "validateSleepAction";
    let secs = int(s, "seconds").unwrap_or(0);
    let Some(grace) = ctx.grace else { return };
    if ctx.v.gate("PodLifecycleSleepActionAllowZero") {
        if secs < 0 || secs > grace {
            push(
                errs,
                format!("{p}.seconds"),
                "Invalid",
                format!(
                    "{secs}: must be non-negative and less than terminationGracePeriodSeconds ({grace})"
                ),
                R,
            );
        }
    } else if secs <= 0 || secs > grace {
        push(
            errs,
            format!("{p}.seconds"),
            "Invalid",
            format!(
                "{secs}: must be greater than 0 and less than terminationGracePeriodSeconds ({grace})"
            ),
            R,
        );
    }
}

/// validateLifecycle: postStart and preStop, when set, have exactly one of
/// exec, httpGet, tcpSocket, sleep (validateHandler).
fn validate_lifecycle(l: &Value, ctx: &Ctx, p: &str, errs: &mut Errs) {
    for h in ["postStart", "preStop"] {
        if let Some(x) = l.get(h).filter(|x| !x.is_null()) {
            validate_handler(
                x,
                &["exec", "httpGet", "tcpSocket", "sleep"],
                ctx,
                &format!("{p}.{h}"),
                errs,
            );
        }
    }
}

// -------------------------------------------------------- security context

/// validateSeccompProfileField: type Localhost/RuntimeDefault/Unconfined
/// (required); localhostProfile required for Localhost (relative, no '..')
/// and only for Localhost.
fn validate_seccomp_profile_field(sp: &Value, p: &str, errs: &mut Errs) {
    const R: &str = "validateSeccompProfileField";
    let t = st(sp, "type");
    match t {
        "Localhost" | "RuntimeDefault" | "Unconfined" => {}
        "" => push(
            errs,
            format!("{p}.type"),
            "Required",
            "type is required when seccompProfile is set",
            R,
        ),
        o => push(
            errs,
            format!("{p}.type"),
            "NotSupported",
            format!("{o:?}: supported values: \"Localhost\", \"RuntimeDefault\", \"Unconfined\""),
            R,
        ),
    }
    if t == "Localhost" {
        match ost(sp, "localhostProfile") {
            None => push(
                errs,
                format!("{p}.localhostProfile"),
                "Required",
                "must be set when seccomp type is Localhost",
                R,
            ),
            Some(lp) => validate_local_descending_path(lp, &format!("{p}.localhostProfile"), errs),
        }
    } else if set(sp, "localhostProfile") {
        push(
            errs,
            format!("{p}.localhostProfile"),
            "Invalid",
            "can only be set when seccomp type is Localhost",
            R,
        );
    }
}

/// ValidateAppArmorProfileField (field from 1.30): type Localhost (with a
/// non-empty, unpadded localhostProfile of at most 4095 bytes),
/// RuntimeDefault or Unconfined (without localhostProfile).
fn validate_app_armor_profile_field(ap: &Value, p: &str, errs: &mut Errs) {
    const R: &str = "ValidateAppArmorProfileField";
    match st(ap, "type") {
        "Localhost" => match ost(ap, "localhostProfile") {
            None => push(
                errs,
                format!("{p}.localhostProfile"),
                "Required",
                "must be set when AppArmor type is Localhost",
                R,
            ),
            Some(lp) => {
                if lp.trim() != lp {
                    push(
                        errs,
                        format!("{p}.localhostProfile"),
                        "Invalid",
                        "must not be padded with whitespace",
                        R,
                    );
                } else if lp.is_empty() {
                    push(
                        errs,
                        format!("{p}.localhostProfile"),
                        "Required",
                        "must be set when AppArmor type is Localhost",
                        R,
                    );
                }
                if lp.len() > 4095 {
                    push(
                        errs,
                        format!("{p}.localhostProfile"),
                        "TooLong",
                        "may not be more than 4095 bytes",
                        R,
                    );
                }
            }
        },
        "RuntimeDefault" | "Unconfined" => {
            if set(ap, "localhostProfile") {
                push(
                    errs,
                    format!("{p}.localhostProfile"),
                    "Invalid",
                    "can only be set when AppArmor type is Localhost",
                    R,
                );
            }
        }
        "" => push(
            errs,
            format!("{p}.type"),
            "Required",
            "type is required when appArmorProfile is set",
            R,
        ),
        o => push(
            errs,
            format!("{p}.type"),
            "NotSupported",
            format!("{o:?}: supported values: \"Localhost\", \"RuntimeDefault\", \"Unconfined\""),
            R,
        ),
    }
}

/// validateWindowsSecurityContextOptions (subset): gmsaCredentialSpecName a
/// DNS subdomain, gmsaCredentialSpec non-empty and under 64 KiB,
/// runAsUserName non-empty, without control characters, at most one '\',
/// a user part of 1..=104 characters without "/\:;|=,+*?<>@[] and not
/// only dots and spaces, a domain under 256 characters.
fn validate_windows_security_context_options(w: &Value, p: &str, errs: &mut Errs) {
    const R: &str = "validateWindowsSecurityContextOptions";
    if let Some(n) = ost(w, "gmsaCredentialSpecName") {
        for m in is_dns1123_subdomain(n) {
            push(errs, format!("{p}.gmsaCredentialSpecName"), "Invalid", m, R);
        }
    }
    if let Some(s) = ost(w, "gmsaCredentialSpec") {
        if s.is_empty() {
            push(
                errs,
                format!("{p}.gmsaCredentialSpec"),
                "Invalid",
                "gmsaCredentialSpec cannot be an empty string",
                R,
            );
        } else if s.len() > 64 * 1024 {
            push(
                errs,
                format!("{p}.gmsaCredentialSpec"),
                "Invalid",
                "gmsaCredentialSpec size must be under 64 KiB",
                R,
            );
        }
    }
    if let Some(u) = ost(w, "runAsUserName") {
        let up = format!("{p}.runAsUserName");
        let parts: Vec<&str> = u.split('\\').collect();
        if u.is_empty() {
            push(
                errs,
                up,
                "Invalid",
                "runAsUserName cannot be an empty string",
                R,
            );
        } else if u.chars().any(char::is_control) {
            push(
                errs,
                up,
                "Invalid",
                "runAsUserName cannot contain control characters",
                R,
            );
        } else if parts.len() > 2 {
            push(
                errs,
                up,
                "Invalid",
                "runAsUserName cannot contain more than one backslash",
                R,
            );
        } else {
            let (domain, user) = if parts.len() == 1 {
                ("", parts[0])
            } else {
                (parts[0], parts[1])
            };
            if domain.len() >= 256 {
                push(
                    errs,
                    &up,
                    "Invalid",
                    "runAsUserName's Domain length must be under 256 characters",
                    R,
                );
            }
            if user.is_empty() {
                push(
                    errs,
                    &up,
                    "Invalid",
                    "runAsUserName's User cannot be empty",
                    R,
                );
            } else if user.len() > 104 {
                push(
                    errs,
                    &up,
                    "Invalid",
                    "runAsUserName's User length must not be longer than 104 characters",
                    R,
                );
            }
            if !user.is_empty() && user.chars().all(|c| c == '.' || c == ' ') {
                push(
                    errs,
                    &up,
                    "Invalid",
                    "runAsUserName's User cannot contain only periods or spaces",
                    R,
                );
            }
            if user.chars().any(|c| "\"/\\:;|=,+*?<>@[]".contains(c)) {
                push(
                    errs,
                    &up,
                    "Invalid",
                    "runAsUserName's User cannot contain the following characters: \"/\\:;|=,+*?<>@[]",
                    R,
                );
            }
        }
    }
}

/// ValidateSecurityContext (container): privileged allowed (the oracle
/// assumes kube-apiserver --allow-privileged=true, as kubeadm, kind and the
/// managed offerings run it); runAsUser/runAsGroup 0..=2^31-1; procMount
/// Default/Unmasked, Unmasked needs hostUsers false (procMount forced to
/// Default through 1.32, ProcMountType off); seccompProfile;
/// allowPrivilegeEscalation false with privileged true, or with
/// capabilities.add CAP_SYS_ADMIN (that exact string, as the source checks),
/// is Invalid; windowsOptions; appArmorProfile.
fn validate_security_context(sc: &Value, host_users: bool, p: &str, errs: &mut Errs) {
    const R: &str = "ValidateSecurityContext";
    for k in ["runAsUser", "runAsGroup"] {
        if let Some(id) = int(sc, k) {
            for m in is_valid_id(id) {
                push(errs, format!("{p}.{k}"), "Invalid", format!("{id}: {m}"), R);
            }
        }
    }
    if let Some(pm) = ost(sc, "procMount") {
        if pm != "Default" && pm != "Unmasked" {
            push(
                errs,
                format!("{p}.procMount"),
                "NotSupported",
                format!("{pm:?}: supported values: \"Default\", \"Unmasked\""),
                "ValidateProcMountType",
            );
        }
        if host_users && pm == "Unmasked" {
            push(
                errs,
                format!("{p}.procMount"),
                "Invalid",
                "`hostUsers` must be false to use `Unmasked`",
                R,
            );
        }
    }
    if let Some(sp) = ob(sc, "seccompProfile") {
        validate_seccomp_profile_field(sp, &format!("{p}.seccompProfile"), errs);
    }
    if bo(sc, "allowPrivilegeEscalation") == Some(false) {
        if bo(sc, "privileged") == Some(true) {
            push(
                errs,
                p,
                "Invalid",
                "cannot set `allowPrivilegeEscalation` to false and `privileged` to true",
                R,
            );
        }
        let caps = sc.get("capabilities").map(|c| ar(c, "add")).unwrap_or(&[]);
        for cap in caps {
            if cap.as_str() == Some("CAP_SYS_ADMIN") {
                push(
                    errs,
                    p,
                    "Invalid",
                    "cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN",
                    R,
                );
            }
        }
    }
    if let Some(w) = ob(sc, "windowsOptions") {
        validate_windows_security_context_options(w, &format!("{p}.windowsOptions"), errs);
    }
    if let Some(ap) = ob(sc, "appArmorProfile") {
        validate_app_armor_profile_field(ap, &format!("{p}.appArmorProfile"), errs);
    }
}

/// validatePodSpecSecurityContext: fsGroup, runAsUser, runAsGroup,
/// supplementalGroups 0..=2^31-1; shareProcessNamespace and hostPID not
/// both; sysctls (validateSysctls); fsGroupChangePolicy OnRootMismatch/Always;
/// seccompProfile; windowsOptions; appArmorProfile; supplementalGroupsPolicy
/// Merge/Strict (1.33+, dropped before); seLinuxChangePolicy (1.33+,
/// dropped before) only Recursive while SELinuxMount is off.
fn validate_pod_spec_security_context(spec: &Value, v: Version, errs: &mut Errs) {
    const R: &str = "validatePodSpecSecurityContext";
    let Some(sc) = ob(spec, "securityContext") else {
        return;
    };
    let p = "spec.securityContext";
    for k in ["fsGroup", "runAsUser", "runAsGroup"] {
        if let Some(id) = int(sc, k) {
            for m in is_valid_id(id) {
                push(errs, format!("{p}.{k}"), "Invalid", format!("{id}: {m}"), R);
            }
        }
    }
    for (i, g) in ar(sc, "supplementalGroups").iter().enumerate() {
        let id = g.as_i64().unwrap_or(0);
        for m in is_valid_id(id) {
            push(
                errs,
                format!("{p}.supplementalGroups[{i}]"),
                "Invalid",
                format!("{id}: {m}"),
                R,
            );
        }
    }
    if bo(spec, "shareProcessNamespace") == Some(true) && bo(spec, "hostPID") == Some(true) {
        push(
            errs,
            format!("{p}.shareProcessNamespace"),
            "Invalid",
            "ShareProcessNamespace and HostPID cannot both be enabled",
            R,
        );
    }
    validate_sysctls(spec, sc, &format!("{p}.sysctls"), errs);
    if let Some(f) = ost(sc, "fsGroupChangePolicy")
        && f != "OnRootMismatch"
        && f != "Always"
    {
        push(
            errs,
            format!("{p}.fsGroupChangePolicy"),
            "NotSupported",
            format!("{f:?}: supported values: \"Always\", \"OnRootMismatch\""),
            "validateFSGroupChangePolicy",
        );
    }
    if let Some(sp) = ob(sc, "seccompProfile") {
        validate_seccomp_profile_field(sp, &format!("{p}.seccompProfile"), errs);
    }
    if let Some(w) = ob(sc, "windowsOptions") {
        validate_windows_security_context_options(w, &format!("{p}.windowsOptions"), errs);
    }
    if let Some(ap) = ob(sc, "appArmorProfile") {
        validate_app_armor_profile_field(ap, &format!("{p}.appArmorProfile"), errs);
    }
    if let Some(g) = ost(sc, "supplementalGroupsPolicy")
        && g != "Merge"
        && g != "Strict"
    {
        push(
            errs,
            format!("{p}.supplementalGroupsPolicy"),
            "NotSupported",
            format!("{g:?}: supported values: \"Merge\", \"Strict\""),
            "validateSupplementalGroupsPolicy",
        );
    }
    if let Some(c) = ost(sc, "seLinuxChangePolicy") {
        let ok: &[&str] = if v.gate("SELinuxMount") {
            &["Recursive", "MountOption"]
        } else {
            &["Recursive"]
        };
        if !ok.contains(&c) {
            push(
                errs,
                format!("{p}.seLinuxChangePolicy"),
                "NotSupported",
                format!("{c:?}: supported values: {ok:?}"),
                "validateSELinuxChangePolicy",
            );
        }
    }
}

/// validateSysctls: name required, a valid sysctl name, unique; no net.*
/// sysctl with hostNetwork, no IPC sysctl with hostIPC (ValidateHostSysctl).
fn validate_sysctls(spec: &Value, sc: &Value, p: &str, errs: &mut Errs) {
    const R: &str = "validateSysctls";
    let mut names = HashSet::new();
    for (i, s) in ar(sc, "sysctls").iter().enumerate() {
        let n = st(s, "name");
        let np = format!("{p}[{i}].name");
        if n.is_empty() {
            push(errs, &np, "Required", "", R);
        } else if !is_valid_sysctl_name(n) {
            push(
                errs,
                &np,
                "Invalid",
                format!(
                    "{n:?}: must have at most 253 characters and match regex ^([a-z0-9]([-_a-z0-9]*[a-z0-9])?[\\./])*[a-z0-9]([-_a-z0-9]*[a-z0-9])?$"
                ),
                R,
            );
        } else if names.contains(n) {
            push(errs, &np, "Duplicate", format!("{n:?}"), R);
        }
        let norm = n.replace('/', ".");
        let net = norm.starts_with("net.");
        let ipc = norm == "kernel.sem"
            || norm.starts_with("kernel.shm")
            || norm.starts_with("kernel.msg")
            || norm.starts_with("fs.mqueue.");
        if bo(spec, "hostNetwork") == Some(true) && net {
            push(
                errs,
                &np,
                "Invalid",
                format!("{n:?}: may not be specified when 'hostNetwork' is true"),
                "ValidateHostSysctl",
            );
        } else if bo(spec, "hostIPC") == Some(true) && ipc {
            push(
                errs,
                &np,
                "Invalid",
                format!("{n:?}: may not be specified when 'hostIPC' is true"),
                "ValidateHostSysctl",
            );
        }
        names.insert(n);
    }
}

// ---------------------------------------------------------------- pod spec

/// validateRestartPolicy: Always, OnFailure or Never.
fn validate_restart_policy(rp: &str, errs: &mut Errs) {
    match rp {
        "Always" | "OnFailure" | "Never" => {}
        "" => push(
            errs,
            "spec.restartPolicy",
            "Required",
            "",
            "validateRestartPolicy",
        ),
        o => push(
            errs,
            "spec.restartPolicy",
            "NotSupported",
            format!("{o:?}: supported values: \"Always\", \"OnFailure\", \"Never\""),
            "validateRestartPolicy",
        ),
    }
}

/// validateDNSPolicy: ClusterFirstWithHostNet, ClusterFirst, Default or None.
fn validate_dns_policy(d: &str, errs: &mut Errs) {
    match d {
        "ClusterFirstWithHostNet" | "ClusterFirst" | "Default" | "None" => {}
        "" => push(errs, "spec.dnsPolicy", "Required", "", "validateDNSPolicy"),
        o => push(
            errs,
            "spec.dnsPolicy",
            "NotSupported",
            format!(
                "{o:?}: supported values: \"ClusterFirstWithHostNet\", \"ClusterFirst\", \"Default\", \"None\""
            ),
            "validateDNSPolicy",
        ),
    }
}

fn is_dns1123_subdomain_with_underscore(s: &str) -> bool {
    s.len() <= 253
        && s.split('.').all(|l| {
            let b = l.as_bytes();
            let ok = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_';
            !b.is_empty() && ok(b[0]) && ok(b[b.len() - 1]) && b.iter().all(|&c| ok(c) || c == b'-')
        })
}

/// validatePodDNSConfig: dnsPolicy None needs dnsConfig with a nameserver;
/// at most 3 nameservers, valid IPs; at most 32 searches of at most 2048
/// characters in all, DNS subdomains (with '_' and a lone '.' from 1.33,
/// RelaxedDNSSearchValidation); option names required.
fn validate_pod_dns_config(spec: &Value, v: Version, errs: &mut Errs) {
    const R: &str = "validatePodDNSConfig";
    let cfg = ob(spec, "dnsConfig");
    let p = "spec.dnsConfig";
    if st(spec, "dnsPolicy") == "None" {
        match cfg {
            None => {
                return push(
                    errs,
                    p,
                    "Required",
                    "must provide `dnsConfig` when `dnsPolicy` is None",
                    R,
                );
            }
            Some(c) if ar(c, "nameservers").is_empty() => {
                return push(
                    errs,
                    format!("{p}.nameservers"),
                    "Required",
                    "must provide at least one DNS nameserver when `dnsPolicy` is None",
                    R,
                );
            }
            _ => {}
        }
    }
    let Some(c) = cfg else { return };
    let ns = ar(c, "nameservers");
    if ns.len() > 3 {
        push(
            errs,
            format!("{p}.nameservers"),
            "Invalid",
            "must not have more than 3 nameservers",
            R,
        );
    }
    for (i, n) in ns.iter().enumerate() {
        let n = n.as_str().unwrap_or("");
        if n.parse::<std::net::IpAddr>().is_err() {
            push(
                errs,
                format!("{p}.nameservers[{i}]"),
                "Invalid",
                format!("{n:?}: must be a valid IP address"),
                R,
            );
        }
    }
    let searches: Vec<&str> = ar(c, "searches")
        .iter()
        .map(|s| s.as_str().unwrap_or(""))
        .collect();
    if searches.len() > 32 {
        push(
            errs,
            format!("{p}.searches"),
            "Invalid",
            "must not have more than 32 search paths",
            R,
        );
    }
    if searches.join(" ").len() > 2048 {
        push(
            errs,
            format!("{p}.searches"),
            "Invalid",
            "must not have more than 2048 characters (including spaces) in the search list",
            R,
        );
    }
    for (i, s) in searches.iter().enumerate() {
        if v.gate("RelaxedDNSSearchValidation") {
            if *s != "." && !is_dns1123_subdomain_with_underscore(s.strip_suffix('.').unwrap_or(s))
            {
                push(
                    errs,
                    format!("{p}.searches[{i}]"),
                    "Invalid",
                    format!("{s:?}: must be a DNS subdomain (underscores allowed)"),
                    R,
                );
            }
        } else {
            for m in is_dns1123_subdomain(s.strip_suffix('.').unwrap_or(s)) {
                push(errs, format!("{p}.searches[{i}]"), "Invalid", m, R);
            }
        }
    }
    for (i, o) in ar(c, "options").iter().enumerate() {
        if st(o, "name").is_empty() {
            push(
                errs,
                format!("{p}.options[{i}]"),
                "Required",
                "must not be empty",
                R,
            );
        }
    }
}

/// validatePodHostNetworkDeps: with hostNetwork, each container port's
/// hostPort equals its containerPort (hostPort defaults to it).
fn validate_pod_host_network_deps(spec: &Value, errs: &mut Errs) {
    if bo(spec, "hostNetwork") != Some(true) {
        return;
    }
    for (i, c) in ar(spec, "containers").iter().enumerate() {
        for (j, port) in ar(c, "ports").iter().enumerate() {
            if int(port, "hostPort").unwrap_or(0) != int(port, "containerPort").unwrap_or(0) {
                push(
                    errs,
                    format!("spec.containers[{i}].ports[{j}].hostPort"),
                    "Invalid",
                    "must match `containerPort` when `hostNetwork` is true",
                    "validatePodHostNetworkDeps",
                );
            }
        }
    }
}

/// validateImagePullSecrets: only `name` may be set. The decoder already
/// dropped any other key (LocalObjectReference has only `name`), so on a
/// decoded object this never fires; kept for the record.
fn validate_image_pull_secrets(spec: &Value, errs: &mut Errs) {
    for (i, s) in ar(spec, "imagePullSecrets").iter().enumerate() {
        if s.as_object().is_some_and(|o| o.keys().any(|k| k != "name")) {
            push(
                errs,
                format!("spec.imagePullSecrets[{i}]"),
                "Invalid",
                "only name may be set",
                "validateImagePullSecrets",
            );
        }
    }
}

/// ValidateTolerations: key a label name; empty key only with Exists;
/// tolerationSeconds only with NoExecute; Equal (or empty) operator with a
/// label value, Exists with no value; effect NoSchedule, PreferNoSchedule
/// or NoExecute.
fn validate_tolerations(spec: &Value, errs: &mut Errs) {
    const R: &str = "ValidateTolerations";
    for (i, t) in ar(spec, "tolerations").iter().enumerate() {
        let p = format!("spec.tolerations[{i}]");
        let key = st(t, "key");
        let op = st(t, "operator");
        let value = st(t, "value");
        let effect = st(t, "effect");
        if !key.is_empty() {
            for m in is_qualified_name(key) {
                push(errs, format!("{p}.key"), "Invalid", m, R);
            }
        }
        if key.is_empty() && op != "Exists" {
            push(
                errs,
                format!("{p}.operator"),
                "Invalid",
                "operator must be Exists when `key` is empty, which means \"match all values and all keys\"",
                R,
            );
        }
        if set(t, "tolerationSeconds") && effect != "NoExecute" {
            push(
                errs,
                format!("{p}.effect"),
                "Invalid",
                "effect must be 'NoExecute' when `tolerationSeconds` is set",
                R,
            );
        }
        match op {
            "Equal" | "" => {
                let m = is_valid_label_value(value);
                if !m.is_empty() {
                    push(errs, format!("{p}.operator"), "Invalid", m.join(";"), R);
                }
            }
            "Exists" => {
                if !value.is_empty() {
                    push(
                        errs,
                        format!("{p}.operator"),
                        "Invalid",
                        "value must be empty when `operator` is 'Exists'",
                        R,
                    );
                }
            }
            o => push(
                errs,
                format!("{p}.operator"),
                "NotSupported",
                format!("{o:?}: supported values: \"Equal\", \"Exists\""),
                R,
            ),
        }
        if !effect.is_empty() && !["NoSchedule", "PreferNoSchedule", "NoExecute"].contains(&effect)
        {
            push(
                errs,
                format!("{p}.effect"),
                "NotSupported",
                format!(
                    "{effect:?}: supported values: \"NoSchedule\", \"PreferNoSchedule\", \"NoExecute\""
                ),
                "validateTaintEffect",
            );
        }
    }
}

/// validateWindowsHostProcessPod: pod and container hostProcess agree; if any
/// container is a HostProcess container, all are, and hostNetwork is true.
fn validate_windows_host_process_pod(spec: &Value, errs: &mut Errs) {
    const R: &str = "validateWindowsHostProcessPod";
    let hp = |sc: Option<&Value>| {
        sc.and_then(|s| s.get("windowsOptions"))
            .and_then(|w| w.get("hostProcess"))
            .and_then(Value::as_bool)
    };
    let pod_hp = hp(spec.get("securityContext"));
    let (mut count, mut hp_count) = (0, 0);
    for (list, i, c) in all_containers(spec) {
        count += 1;
        let c_hp = hp(c.get("securityContext"));
        if let (Some(a), Some(b)) = (pod_hp, c_hp)
            && a != b
        {
            push(
                errs,
                format!("spec.{list}[{i}].securityContext.windowsOptions.hostProcess"),
                "Invalid",
                format!("pod hostProcess value must be identical if both are specified, was {a}"),
                R,
            );
        }
        if c_hp == Some(true) || (c_hp.is_none() && pod_hp == Some(true)) {
            hp_count += 1;
        }
    }
    if hp_count > 0 {
        if hp_count != count {
            push(
                errs,
                "spec",
                "Invalid",
                "If pod contains any hostProcess containers then all containers must be HostProcess containers",
                R,
            );
        }
        if bo(spec, "hostNetwork") != Some(true) {
            push(
                errs,
                "spec.hostNetwork",
                "Invalid",
                "hostNetwork must be true if pod contains any hostProcess containers",
                R,
            );
        }
    }
}

/// validateHostUsers (hostUsers dropped through 1.32, UserNamespacesSupport
/// off): hostUsers false forbids hostNetwork, hostPID and hostIPC.
fn validate_host_users(spec: &Value, errs: &mut Errs) {
    const R: &str = "validateHostUsers";
    if bo(spec, "hostUsers") != Some(false) {
        return;
    }
    for (k, p) in [
        ("hostNetwork", "spec.hostNetwork"),
        ("hostPID", "spec.HostPID"),
        ("hostIPC", "spec.HostIPC"),
    ] {
        if bo(spec, k) == Some(true) {
            push(
                errs,
                p,
                "Forbidden",
                "when `pod.Spec.HostUsers` is false",
                R,
            );
        }
    }
}

/// validateOS: os.name required, linux or windows.
fn validate_os(os: &Value, errs: &mut Errs) -> bool {
    let n = st(os, "name");
    if n.is_empty() {
        push(
            errs,
            "spec.os.name",
            "Required",
            "cannot be empty",
            "validateOS",
        );
        return false;
    }
    if n != "linux" && n != "windows" {
        push(
            errs,
            "spec.os",
            "NotSupported",
            format!("{n:?}: supported values: \"linux\", \"windows\""),
            "validateOS",
        );
        return false;
    }
    true
}

/// validateLinux (spec.os.name linux): no windowsOptions in the Pod's or any
/// container's securityContext.
fn validate_linux(spec: &Value, errs: &mut Errs) {
    const R: &str = "validateLinux";
    if spec
        .get("securityContext")
        .is_some_and(|s| set(s, "windowsOptions"))
    {
        push(
            errs,
            "spec.securityContext.windowsOptions",
            "Forbidden",
            "windows options cannot be set for a linux pod",
            R,
        );
    }
    for (list, i, c) in all_containers(spec) {
        if c.get("securityContext")
            .is_some_and(|s| set(s, "windowsOptions"))
        {
            push(
                errs,
                format!("spec.{list}[{i}].securityContext.windowsOptions"),
                "Forbidden",
                "windows options cannot be set for a linux pod",
                R,
            );
        }
    }
}

/// validateWindows (spec.os.name windows): the Pod may not set
/// securityContext.appArmorProfile, seLinuxOptions, seccompProfile, fsGroup,
/// fsGroupChangePolicy, sysctls, runAsUser, runAsGroup, supplementalGroups,
/// supplementalGroupsPolicy, seLinuxChangePolicy, nor hostUsers, hostPID,
/// hostIPC, shareProcessNamespace; no container (init, regular, ephemeral)
/// may set securityContext.appArmorProfile, seLinuxOptions, seccompProfile,
/// capabilities, readOnlyRootFilesystem, privileged,
/// allowPrivilegeEscalation, procMount, runAsUser, runAsGroup.
fn validate_windows(spec: &Value, errs: &mut Errs) {
    const R: &str = "validateWindows";
    const MSG: &str = "cannot be set for a windows pod";
    if let Some(sc) = ob(spec, "securityContext") {
        for k in ["appArmorProfile", "seLinuxOptions"] {
            if set(sc, k) {
                push(
                    errs,
                    format!("spec.securityContext.{k}"),
                    "Forbidden",
                    MSG,
                    R,
                );
            }
        }
        if set(spec, "hostUsers") {
            push(errs, "spec.hostUsers", "Forbidden", MSG, R);
        }
        for k in ["hostPID", "hostIPC"] {
            if bo(spec, k) == Some(true) {
                push(errs, format!("spec.{k}"), "Forbidden", MSG, R);
            }
        }
        for k in ["seccompProfile", "fsGroup", "fsGroupChangePolicy"] {
            if set(sc, k) {
                push(
                    errs,
                    format!("spec.securityContext.{k}"),
                    "Forbidden",
                    MSG,
                    R,
                );
            }
        }
        if !ar(sc, "sysctls").is_empty() {
            push(errs, "spec.securityContext.sysctls", "Forbidden", MSG, R);
        }
        if set(spec, "shareProcessNamespace") {
            push(errs, "spec.shareProcessNamespace", "Forbidden", MSG, R);
        }
        for k in [
            "runAsUser",
            "runAsGroup",
            "supplementalGroups",
            "supplementalGroupsPolicy",
            "seLinuxChangePolicy",
        ] {
            if set(sc, k) {
                push(
                    errs,
                    format!("spec.securityContext.{k}"),
                    "Forbidden",
                    MSG,
                    R,
                );
            }
        }
    }
    for (list, i, c) in all_containers(spec) {
        let Some(sc) = ob(c, "securityContext") else {
            continue;
        };
        for k in [
            "appArmorProfile",
            "seLinuxOptions",
            "seccompProfile",
            "capabilities",
            "readOnlyRootFilesystem",
            "privileged",
            "allowPrivilegeEscalation",
            "procMount",
            "runAsUser",
            "runAsGroup",
        ] {
            if set(sc, k) {
                push(
                    errs,
                    format!("spec.{list}[{i}].securityContext.{k}"),
                    "Forbidden",
                    MSG,
                    R,
                );
            }
        }
    }
}

/// validatePodResourceClaims: name required, unique, a DNS label; exactly
/// one of resourceClaimName and resourceClaimTemplateName, DNS subdomains.
fn validate_pod_resource_claims(spec: &Value, errs: &mut Errs) {
    const R: &str = "validatePodResourceClaim";
    let mut names = HashSet::new();
    for (i, c) in ar(spec, "resourceClaims").iter().enumerate() {
        let p = format!("spec.resourceClaims[{i}]");
        let n = st(c, "name");
        if n.is_empty() {
            push(errs, format!("{p}.name"), "Required", "", R);
        } else if names.contains(n) {
            push(errs, format!("{p}.name"), "Duplicate", format!("{n:?}"), R);
        } else {
            for m in is_dns1123_label(n) {
                push(errs, format!("{p}.name"), "Invalid", m, R);
            }
            names.insert(n);
        }
        let a = ost(c, "resourceClaimName");
        let b = ost(c, "resourceClaimTemplateName");
        if a.is_some() && b.is_some() {
            push(
                errs,
                &p,
                "Invalid",
                "at most one of `resourceClaimName` or `resourceClaimTemplateName` may be specified",
                R,
            );
        }
        if a.is_none() && b.is_none() {
            push(
                errs,
                &p,
                "Invalid",
                "must specify one of: `resourceClaimName`, `resourceClaimTemplateName`",
                R,
            );
        }
        for (k, x) in [("resourceClaimName", a), ("resourceClaimTemplateName", b)] {
            if let Some(x) = x {
                for m in name_is_dns_subdomain(x, false) {
                    push(errs, format!("{p}.{k}"), "Invalid", m, R);
                }
            }
        }
    }
}

fn dns_subdomain_field(spec: &Value, k: &str, rule: &'static str, errs: &mut Errs) {
    let x = st(spec, k);
    if !x.is_empty() {
        for m in name_is_dns_subdomain(x, false) {
            push(
                errs,
                format!("spec.{k}"),
                "Invalid",
                format!("{x:?}: {m}"),
                rule,
            );
        }
    }
}

/// ValidatePodSpec: terminationGracePeriodSeconds required (defaulted to 30;
/// any value, negative included, passes); volumes; resource claims;
/// containers, init containers, ephemeral containers; pod-level resources
/// (1.34+); hostNetwork ports; restartPolicy; dnsPolicy; nodeSelector
/// labels; pod securityContext; imagePullSecrets; dnsConfig; readiness and
/// scheduling gates (qualified names, scheduling gates unique); Windows
/// HostProcess; hostUsers; serviceAccountName, nodeName, priorityClassName,
/// runtimeClassName DNS subdomains; activeDeadlineSeconds 1..=2^31-1;
/// hostname and subdomain DNS labels; tolerations; hostAliases;
/// preemptionPolicy; overhead; os (validateOS, validateLinux,
/// validateWindows).
fn validate_pod_spec(spec: &Value, meta: &Value, v: Version, errs: &mut Errs) {
    const R: &str = "ValidatePodSpec";
    let grace = int(spec, "terminationGracePeriodSeconds");
    if grace.is_none() {
        push(
            errs,
            "spec.terminationGracePeriodSeconds",
            "Required",
            "",
            R,
        );
    }
    let vols = validate_volumes(spec, st(meta, "name"), v, errs);
    let claim_names: HashSet<&str> = ar(spec, "resourceClaims")
        .iter()
        .map(|c| st(c, "name"))
        .filter(|n| !n.is_empty())
        .collect();
    validate_pod_resource_claims(spec, errs);
    let ctx = Ctx {
        v,
        grace,
        restart_policy: st(spec, "restartPolicy"),
        host_users: bo(spec, "hostUsers") != Some(false),
        vols,
        claim_names,
    };
    validate_containers(spec, &ctx, errs);
    validate_init_containers(spec, &ctx, errs);
    validate_ephemeral_containers(spec, &ctx, errs);
    if v.gate("PodLevelResources") {
        validate_pod_resources(spec, &ctx.claim_names, errs);
    }
    validate_pod_host_network_deps(spec, errs);
    validate_restart_policy(st(spec, "restartPolicy"), errs);
    validate_dns_policy(st(spec, "dnsPolicy"), errs);
    validate_labels(&strmap(spec, "nodeSelector"), "spec.nodeSelector", errs);
    validate_pod_spec_security_context(spec, v, errs);
    validate_image_pull_secrets(spec, errs);
    validate_pod_dns_config(spec, v, errs);
    for (i, g) in ar(spec, "readinessGates").iter().enumerate() {
        for m in is_qualified_name(st(g, "conditionType")) {
            push(
                errs,
                format!("spec.readinessGates[{i}].conditionType"),
                "Invalid",
                m,
                "validateReadinessGates",
            );
        }
    }
    let mut gates = HashSet::new();
    for (i, g) in ar(spec, "schedulingGates").iter().enumerate() {
        let n = st(g, "name");
        for m in is_qualified_name(n) {
            push(
                errs,
                format!("spec.schedulingGates[{i}]"),
                "Invalid",
                m,
                "validateSchedulingGates",
            );
        }
        if !gates.insert(n) {
            push(
                errs,
                format!("spec.schedulingGates[{i}]"),
                "Duplicate",
                format!("{n:?}"),
                "validateSchedulingGates",
            );
        }
    }
    validate_windows_host_process_pod(spec, errs);
    validate_host_users(spec, errs);
    dns_subdomain_field(spec, "serviceAccountName", R, errs);
    dns_subdomain_field(spec, "nodeName", R, errs);
    if let Some(a) = int(spec, "activeDeadlineSeconds")
        && !(1..=i32::MAX as i64).contains(&a)
    {
        push(
            errs,
            "spec.activeDeadlineSeconds",
            "Invalid",
            format!("{a}: must be between 1 and 2147483647, inclusive"),
            R,
        );
    }
    for k in ["hostname", "subdomain"] {
        let x = st(spec, k);
        if !x.is_empty() {
            for m in is_dns1123_label(x) {
                push(errs, format!("spec.{k}"), "Invalid", m, R);
            }
        }
    }
    validate_tolerations(spec, errs);
    for (i, h) in ar(spec, "hostAliases").iter().enumerate() {
        let ip = st(h, "ip");
        if ip.parse::<std::net::IpAddr>().is_err() {
            push(
                errs,
                format!("spec.hostAliases[{i}].ip"),
                "Invalid",
                format!("{ip:?}: must be a valid IP address"),
                "ValidateHostAliases",
            );
        }
        for (j, n) in ar(h, "hostnames").iter().enumerate() {
            for m in is_dns1123_subdomain(n.as_str().unwrap_or("")) {
                push(
                    errs,
                    format!("spec.hostAliases[{i}].hostnames[{j}]"),
                    "Invalid",
                    m,
                    "ValidateHostAliases",
                );
            }
        }
    }
    dns_subdomain_field(spec, "priorityClassName", R, errs);
    if let Some(rc) = ost(spec, "runtimeClassName") {
        for m in name_is_dns_subdomain(rc, false) {
            push(
                errs,
                "spec.runtimeClassName",
                "Invalid",
                m,
                "ValidateRuntimeClassName",
            );
        }
    }
    if let Some(pp) = ost(spec, "preemptionPolicy") {
        match pp {
            "PreemptLowerPriority" | "Never" => {}
            "" => push(
                errs,
                "spec.preemptionPolicy",
                "Required",
                "",
                "ValidatePreemptionPolicy",
            ),
            o => push(
                errs,
                "spec.preemptionPolicy",
                "NotSupported",
                format!("{o:?}"),
                "ValidatePreemptionPolicy",
            ),
        }
    }
    if let Some(o) = spec.get("overhead").filter(|o| o.is_object()) {
        let res = serde_json::json!({ "limits": o });
        validate_resource_requirements(&res, false, &HashSet::new(), "spec.overhead", errs);
    }
    if let Some(os) = ob(spec, "os")
        && validate_os(os, errs)
    {
        match st(os, "name") {
            "linux" => validate_linux(spec, errs),
            _ => validate_windows(spec, errs),
        }
    }
}

/// validateSeccompAnnotationsAndFields: a seccompProfile field and the
/// matching seccomp annotation (pod or container) must agree.
fn validate_seccomp_annotations_and_fields(meta: &Value, spec: &Value, errs: &mut Errs) {
    let ann: HashMap<&str, &str> = strmap(meta, "annotations").into_iter().collect();
    let check = |a: &str, f: &Value, p: &str, errs: &mut Errs| {
        const R: &str = "validateSeccompAnnotationsAndFieldsMatch";
        match st(f, "type") {
            "Unconfined" if a != "unconfined" => push(
                errs,
                format!("{p}.type"),
                "Forbidden",
                "seccomp type in annotation and field must match",
                R,
            ),
            "RuntimeDefault" if a != "runtime/default" && a != "docker/default" => push(
                errs,
                format!("{p}.type"),
                "Forbidden",
                "seccomp type in annotation and field must match",
                R,
            ),
            "Localhost" => match a.strip_prefix("localhost/") {
                None => push(
                    errs,
                    format!("{p}.type"),
                    "Forbidden",
                    "seccomp type in annotation and field must match",
                    R,
                ),
                Some(prof) if ost(f, "localhostProfile") != Some(prof) => push(
                    errs,
                    format!("{p}.localhostProfile"),
                    "Forbidden",
                    "seccomp profile in annotation and field must match",
                    R,
                ),
                _ => {}
            },
            _ => {}
        }
    };
    if let Some(f) = spec
        .get("securityContext")
        .and_then(|s| ob(s, "seccompProfile"))
        && let Some(a) = ann.get(SECCOMP_POD)
    {
        check(a, f, "spec.securityContext.seccompProfile", errs);
    }
    for (list, i, c) in all_containers(spec) {
        let Some(f) = c
            .get("securityContext")
            .and_then(|s| ob(s, "seccompProfile"))
        else {
            continue;
        };
        if let Some(a) = ann.get(format!("{SECCOMP_PREFIX}{}", st(c, "name")).as_str()) {
            check(
                a,
                f,
                &format!("spec.{list}[{i}].securityContext.seccompProfile"),
                errs,
            );
        }
    }
}

/// validateAppArmorAnnotationsAndFieldsMatchOnCreate (not for Windows
/// Pods): a container's effective appArmorProfile and its AppArmor
/// annotation must agree.
fn validate_app_armor_annotations_and_fields_match_on_create(
    meta: &Value,
    spec: &Value,
    errs: &mut Errs,
) {
    const R: &str = "validateAppArmorAnnotationsAndFieldsMatchOnCreate";
    if spec.get("os").is_some_and(|o| st(o, "name") == "windows") {
        return;
    }
    let ann: HashMap<&str, &str> = strmap(meta, "annotations").into_iter().collect();
    let pod_profile = spec
        .get("securityContext")
        .and_then(|s| ob(s, "appArmorProfile"));
    for (list, i, c) in all_containers(spec) {
        let profile = c
            .get("securityContext")
            .and_then(|s| ob(s, "appArmorProfile"))
            .or(pod_profile);
        let Some(profile) = profile else { continue };
        let Some(a) = ann.get(format!("{APPARMOR_PREFIX}{}", st(c, "name")).as_str()) else {
            continue;
        };
        let p = format!("spec.{list}[{i}].securityContext.appArmorProfile");
        match st(profile, "type") {
            "Unconfined" if *a != "unconfined" => push(
                errs,
                format!("{p}.type"),
                "Forbidden",
                "apparmor type in annotation and field must match",
                R,
            ),
            "RuntimeDefault" if *a != "runtime/default" => push(
                errs,
                format!("{p}.type"),
                "Forbidden",
                "apparmor type in annotation and field must match",
                R,
            ),
            "Localhost" => match a.strip_prefix("localhost/") {
                None => push(
                    errs,
                    format!("{p}.type"),
                    "Forbidden",
                    "apparmor type in annotation and field must match",
                    R,
                ),
                Some(prof) if ost(profile, "localhostProfile") != Some(prof) => push(
                    errs,
                    format!("{p}.localhostProfile"),
                    "Forbidden",
                    "apparmor profile in annotation and field must match",
                    R,
                ),
                _ => {}
            },
            _ => {}
        }
    }
}

/// ValidatePodCreate: validatePodMetadataAndSpec (ValidateObjectMeta,
/// ValidatePodSpecificAnnotations, ValidatePodSpec, no projected
/// serviceAccountToken without serviceAccountName, validateContainersOnlyForPod),
/// then: no ephemeral containers on create, no nodeName with schedulingGates,
/// seccomp and AppArmor annotations agree with the fields.
pub(crate) fn validate_pod_create(pod: &Value, v: Version) -> Vec<FieldError> {
    const R: &str = "ValidatePodCreate";
    let mut errs = Vec::new();
    let null = Value::Null;
    let meta = pod
        .get("metadata")
        .filter(|m| m.is_object())
        .unwrap_or(&null);
    let spec = pod.get("spec").filter(|m| m.is_object()).unwrap_or(&null);
    validate_object_meta(meta, &mut errs);
    validate_pod_specific_annotations(meta, spec, &mut errs);
    validate_pod_spec(spec, meta, v, &mut errs);
    if st(spec, "serviceAccountName").is_empty() {
        for (vi, vol) in ar(spec, "volumes").iter().enumerate() {
            let Some(pr) = ob(vol, "projected") else {
                continue;
            };
            for (si, s) in ar(pr, "sources").iter().enumerate() {
                if set(s, "serviceAccountToken") {
                    push(
                        &mut errs,
                        format!("spec.volumes[{vi}].projected.sources[{si}].serviceAccountToken"),
                        "Forbidden",
                        "must not be specified when serviceAccountName is not set",
                        "validatePodMetadataAndSpec",
                    );
                }
            }
        }
    }
    for list in ["containers", "initContainers"] {
        for (i, c) in ar(spec, list).iter().enumerate() {
            validate_container_only_for_pod(c, &format!("spec.{list}[{i}]"), &mut errs);
        }
    }
    if !ar(spec, "ephemeralContainers").is_empty() {
        push(
            &mut errs,
            "spec.ephemeralContainers",
            "Forbidden",
            "cannot be set on create",
            R,
        );
    }
    if !st(spec, "nodeName").is_empty() && !ar(spec, "schedulingGates").is_empty() {
        push(
            &mut errs,
            "spec.nodeName",
            "Forbidden",
            "cannot be set until all schedulingGates have been cleared",
            R,
        );
    }
    validate_seccomp_annotations_and_fields(meta, spec, &mut errs);
    validate_app_armor_annotations_and_fields_match_on_create(meta, spec, &mut errs);
    errs
}
