//! What the API server's decoder does before any validation: a value of the
//! wrong JSON type is refused (json: cannot unmarshal ...), a quantity that
//! does not parse is refused (Quantity.UnmarshalJSON -> ParseQuantity), and
//! a field the version's v1 API does not have is dropped (unknown fields are
//! not an error on this path).

use crate::quantity::parse_quantity;
use crate::{FieldError, Version};
use serde_json::Value;

/// The expected JSON shape of a field of the v1 Pod.
pub(crate) enum S {
    Str,
    I32,
    I64,
    Bool,
    /// resource.Quantity: a string or a number that ParseQuantity accepts.
    Qty,
    /// intstr.IntOrString: an int32 or a string.
    IntOrStr,
    Any,
    StrMap,
    QtyMap,
    StrArr,
    Arr(&'static S),
    Obj(&'static [(&'static str, S)]),
}
use S::*;

static OBJ_NAME: S = Obj(&[("name", Str), ("optional", Bool)]);
static ENV: S = Obj(&[
    ("name", Str),
    ("value", Str),
    (
        "valueFrom",
        Obj(&[
            ("fieldRef", FIELD_REF_REF),
            ("resourceFieldRef", RES_FIELD_REF_REF),
            ("configMapKeyRef", KEY_SEL_REF),
            ("secretKeyRef", KEY_SEL_REF),
            (
                "fileKeyRef",
                Obj(&[
                    ("volumeName", Str),
                    ("path", Str),
                    ("key", Str),
                    ("optional", Bool),
                ]),
            ),
        ]),
    ),
]);
// Obj fields hold S by value; these aliases re-state shared shapes.
const FIELD_REF_REF: S = Obj(&[("apiVersion", Str), ("fieldPath", Str)]);
const RES_FIELD_REF_REF: S = Obj(&[("containerName", Str), ("resource", Str), ("divisor", Qty)]);
const KEY_SEL_REF: S = Obj(&[("name", Str), ("key", Str), ("optional", Bool)]);
static ENV_FROM: S = Obj(&[
    ("prefix", Str),
    ("configMapRef", OBJ_NAME_REF),
    ("secretRef", OBJ_NAME_REF),
]);
const OBJ_NAME_REF: S = Obj(&[("name", Str), ("optional", Bool)]);
static PORT: S = Obj(&[
    ("name", Str),
    ("hostPort", I32),
    ("containerPort", I32),
    ("protocol", Str),
    ("hostIP", Str),
]);
const RESOURCES: S = Obj(&[
    ("limits", QtyMap),
    ("requests", QtyMap),
    ("claims", Arr(&CLAIM)),
]);
static CLAIM: S = Obj(&[("name", Str), ("request", Str)]);
static VOLUME_MOUNT: S = Obj(&[
    ("name", Str),
    ("readOnly", Bool),
    ("recursiveReadOnly", Str),
    ("mountPath", Str),
    ("subPath", Str),
    ("mountPropagation", Str),
    ("subPathExpr", Str),
]);
static VOLUME_DEVICE: S = Obj(&[("name", Str), ("devicePath", Str)]);
static HEADER: S = Obj(&[("name", Str), ("value", Str)]);
const EXEC: S = Obj(&[("command", StrArr)]);
const HTTP_GET: S = Obj(&[
    ("path", Str),
    ("port", IntOrStr),
    ("host", Str),
    ("scheme", Str),
    ("httpHeaders", Arr(&HEADER)),
]);
const TCP: S = Obj(&[("port", IntOrStr), ("host", Str)]);
const GRPC: S = Obj(&[("port", I32), ("service", Str)]);
const HANDLER: S = Obj(&[
    ("exec", EXEC),
    ("httpGet", HTTP_GET),
    ("tcpSocket", TCP),
    ("sleep", Obj(&[("seconds", I64)])),
]);
const PROBE: S = Obj(&[
    ("exec", EXEC),
    ("httpGet", HTTP_GET),
    ("tcpSocket", TCP),
    ("grpc", GRPC),
    ("initialDelaySeconds", I32),
    ("timeoutSeconds", I32),
    ("periodSeconds", I32),
    ("successThreshold", I32),
    ("failureThreshold", I32),
    ("terminationGracePeriodSeconds", I64),
]);
const SECCOMP: S = Obj(&[("type", Str), ("localhostProfile", Str)]);
const SELINUX: S = Obj(&[("user", Str), ("role", Str), ("type", Str), ("level", Str)]);
const WINDOWS: S = Obj(&[
    ("gmsaCredentialSpecName", Str),
    ("gmsaCredentialSpec", Str),
    ("runAsUserName", Str),
    ("hostProcess", Bool),
]);
const SECURITY_CONTEXT: S = Obj(&[
    ("capabilities", Obj(&[("add", StrArr), ("drop", StrArr)])),
    ("privileged", Bool),
    ("seLinuxOptions", SELINUX),
    ("windowsOptions", WINDOWS),
    ("runAsUser", I64),
    ("runAsGroup", I64),
    ("runAsNonRoot", Bool),
    ("readOnlyRootFilesystem", Bool),
    ("allowPrivilegeEscalation", Bool),
    ("procMount", Str),
    ("seccompProfile", SECCOMP),
    ("appArmorProfile", SECCOMP),
]);
static CONTAINER: S = Obj(&[
    ("name", Str),
    ("image", Str),
    ("command", StrArr),
    ("args", StrArr),
    ("workingDir", Str),
    ("ports", Arr(&PORT)),
    ("envFrom", Arr(&ENV_FROM)),
    ("env", Arr(&ENV)),
    ("resources", RESOURCES),
    ("resizePolicy", Arr(&RESIZE)),
    ("restartPolicy", Str),
    ("restartPolicyRules", Any),
    ("volumeMounts", Arr(&VOLUME_MOUNT)),
    ("volumeDevices", Arr(&VOLUME_DEVICE)),
    ("livenessProbe", PROBE),
    ("readinessProbe", PROBE),
    ("startupProbe", PROBE),
    (
        "lifecycle",
        Obj(&[
            ("postStart", HANDLER),
            ("preStop", HANDLER),
            ("stopSignal", Str),
        ]),
    ),
    ("terminationMessagePath", Str),
    ("terminationMessagePolicy", Str),
    ("imagePullPolicy", Str),
    ("securityContext", SECURITY_CONTEXT),
    ("stdin", Bool),
    ("stdinOnce", Bool),
    ("tty", Bool),
    ("targetContainerName", Str),
]);
static RESIZE: S = Obj(&[("resourceName", Str), ("restartPolicy", Str)]);
static KEY_TO_PATH: S = Obj(&[("key", Str), ("path", Str), ("mode", I32)]);
static DOWNWARD_FILE: S = Obj(&[
    ("path", Str),
    ("fieldRef", FIELD_REF_REF),
    ("resourceFieldRef", RES_FIELD_REF_REF),
    ("mode", I32),
]);
static PROJECTION: S = Obj(&[
    (
        "secret",
        Obj(&[
            ("name", Str),
            ("items", Arr(&KEY_TO_PATH)),
            ("optional", Bool),
        ]),
    ),
    (
        "configMap",
        Obj(&[
            ("name", Str),
            ("items", Arr(&KEY_TO_PATH)),
            ("optional", Bool),
        ]),
    ),
    ("downwardAPI", Obj(&[("items", Arr(&DOWNWARD_FILE))])),
    (
        "serviceAccountToken",
        Obj(&[("audience", Str), ("expirationSeconds", I64), ("path", Str)]),
    ),
    ("clusterTrustBundle", Any),
    ("podCertificate", Any),
]);
static VOLUME: S = Obj(&[
    ("name", Str),
    ("hostPath", Obj(&[("path", Str), ("type", Str)])),
    ("emptyDir", Obj(&[("medium", Str), ("sizeLimit", Qty)])),
    (
        "secret",
        Obj(&[
            ("secretName", Str),
            ("items", Arr(&KEY_TO_PATH)),
            ("defaultMode", I32),
            ("optional", Bool),
        ]),
    ),
    (
        "nfs",
        Obj(&[("server", Str), ("path", Str), ("readOnly", Bool)]),
    ),
    (
        "persistentVolumeClaim",
        Obj(&[("claimName", Str), ("readOnly", Bool)]),
    ),
    (
        "downwardAPI",
        Obj(&[("items", Arr(&DOWNWARD_FILE)), ("defaultMode", I32)]),
    ),
    (
        "configMap",
        Obj(&[
            ("name", Str),
            ("items", Arr(&KEY_TO_PATH)),
            ("defaultMode", I32),
            ("optional", Bool),
        ]),
    ),
    (
        "projected",
        Obj(&[("sources", Arr(&PROJECTION)), ("defaultMode", I32)]),
    ),
    (
        "csi",
        Obj(&[
            ("driver", Str),
            ("readOnly", Bool),
            ("fsType", Str),
            ("volumeAttributes", StrMap),
            ("nodePublishSecretRef", OBJ_NAME_REF),
        ]),
    ),
    (
        "ephemeral",
        Obj(&[(
            "volumeClaimTemplate",
            Obj(&[
                (
                    "metadata",
                    Obj(&[("labels", StrMap), ("annotations", StrMap)]),
                ),
                ("spec", Any),
            ]),
        )]),
    ),
    ("image", Obj(&[("reference", Str), ("pullPolicy", Str)])),
]);
static TOLERATION: S = Obj(&[
    ("key", Str),
    ("operator", Str),
    ("value", Str),
    ("effect", Str),
    ("tolerationSeconds", I64),
]);
static HOST_ALIAS: S = Obj(&[("ip", Str), ("hostnames", StrArr)]);
static DNS_OPTION: S = Obj(&[("name", Str), ("value", Str)]);
static READINESS_GATE: S = Obj(&[("conditionType", Str)]);
static SCHEDULING_GATE: S = Obj(&[("name", Str)]);
static SYSCTL: S = Obj(&[("name", Str), ("value", Str)]);
static RESOURCE_CLAIM: S = Obj(&[
    ("name", Str),
    ("resourceClaimName", Str),
    ("resourceClaimTemplateName", Str),
]);
static GROUP: S = I64;
static POD: S = Obj(&[
    (
        "metadata",
        Obj(&[
            ("name", Str),
            ("generateName", Str),
            ("namespace", Str),
            ("labels", StrMap),
            ("annotations", StrMap),
        ]),
    ),
    (
        "spec",
        Obj(&[
            ("volumes", Arr(&VOLUME)),
            ("initContainers", Arr(&CONTAINER)),
            ("containers", Arr(&CONTAINER)),
            ("ephemeralContainers", Arr(&CONTAINER)),
            ("restartPolicy", Str),
            ("terminationGracePeriodSeconds", I64),
            ("activeDeadlineSeconds", I64),
            ("dnsPolicy", Str),
            ("nodeSelector", StrMap),
            ("serviceAccountName", Str),
            ("serviceAccount", Str),
            ("automountServiceAccountToken", Bool),
            ("nodeName", Str),
            ("hostNetwork", Bool),
            ("hostPID", Bool),
            ("hostIPC", Bool),
            ("shareProcessNamespace", Bool),
            (
                "securityContext",
                Obj(&[
                    ("seLinuxOptions", SELINUX),
                    ("windowsOptions", WINDOWS),
                    ("runAsUser", I64),
                    ("runAsGroup", I64),
                    ("runAsNonRoot", Bool),
                    ("supplementalGroups", Arr(&GROUP)),
                    ("supplementalGroupsPolicy", Str),
                    ("fsGroup", I64),
                    ("sysctls", Arr(&SYSCTL)),
                    ("fsGroupChangePolicy", Str),
                    ("seccompProfile", SECCOMP),
                    ("appArmorProfile", SECCOMP),
                    ("seLinuxChangePolicy", Str),
                ]),
            ),
            ("imagePullSecrets", Arr(&OBJ_NAME)),
            ("hostname", Str),
            ("subdomain", Str),
            ("affinity", Any),
            ("schedulerName", Str),
            ("tolerations", Arr(&TOLERATION)),
            ("hostAliases", Arr(&HOST_ALIAS)),
            ("priorityClassName", Str),
            ("priority", I32),
            (
                "dnsConfig",
                Obj(&[
                    ("nameservers", StrArr),
                    ("searches", StrArr),
                    ("options", Arr(&DNS_OPTION)),
                ]),
            ),
            ("readinessGates", Arr(&READINESS_GATE)),
            ("runtimeClassName", Str),
            ("enableServiceLinks", Bool),
            ("preemptionPolicy", Str),
            ("overhead", QtyMap),
            ("topologySpreadConstraints", Any),
            ("setHostnameAsFQDN", Bool),
            ("os", Obj(&[("name", Str)])),
            ("hostUsers", Bool),
            ("schedulingGates", Arr(&SCHEDULING_GATE)),
            ("resourceClaims", Arr(&RESOURCE_CLAIM)),
            ("resources", RESOURCES),
            ("hostnameOverride", Str),
        ]),
    ),
]);

fn bad(errs: &mut Vec<FieldError>, path: &str, want: &str, v: &Value) {
    let got = match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    errs.push(FieldError {
        path: path.to_string(),
        kind: "Invalid",
        message: format!("json: cannot unmarshal {got} into Go value of type {want}"),
        rule: "decode",
    });
}

fn join(path: &str, k: &str) -> String {
    if path.is_empty() {
        k.to_string()
    } else {
        format!("{path}.{k}")
    }
}

fn check_qty(v: &Value, path: &str, errs: &mut Vec<FieldError>) {
    let s = match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return bad(errs, path, "resource.Quantity", v),
    };
    if let Err(e) = parse_quantity(&s) {
        errs.push(FieldError {
            path: path.to_string(),
            kind: "Invalid",
            message: e.to_string(),
            rule: "ParseQuantity",
        });
    }
}

fn check(v: &Value, s: &S, path: &str, errs: &mut Vec<FieldError>) {
    // a JSON null decodes to the zero value
    if v.is_null() {
        return;
    }
    match s {
        Str => {
            if !v.is_string() {
                bad(errs, path, "string", v)
            }
        }
        I32 => {
            if v.as_i64().is_none_or(|n| i32::try_from(n).is_err()) {
                bad(errs, path, "int32", v)
            }
        }
        I64 => {
            if v.as_i64().is_none() {
                bad(errs, path, "int64", v)
            }
        }
        Bool => {
            if !v.is_boolean() {
                bad(errs, path, "bool", v)
            }
        }
        Qty => check_qty(v, path, errs),
        IntOrStr => {
            if !(v.is_string() || v.as_i64().is_some_and(|n| i32::try_from(n).is_ok())) {
                bad(errs, path, "intstr.IntOrString", v)
            }
        }
        Any => {}
        StrMap => match v.as_object() {
            Some(m) => {
                for (k, x) in m {
                    if !x.is_string() && !x.is_null() {
                        bad(errs, &format!("{path}[{k}]"), "string", x)
                    }
                }
            }
            None => bad(errs, path, "map[string]string", v),
        },
        QtyMap => match v.as_object() {
            Some(m) => {
                for (k, x) in m {
                    if !x.is_null() {
                        check_qty(x, &format!("{path}[{k}]"), errs)
                    }
                }
            }
            None => bad(errs, path, "core.ResourceList", v),
        },
        StrArr => match v.as_array() {
            Some(a) => {
                for (i, x) in a.iter().enumerate() {
                    if !x.is_string() && !x.is_null() {
                        bad(errs, &format!("{path}[{i}]"), "string", x)
                    }
                }
            }
            None => bad(errs, path, "[]string", v),
        },
        Arr(e) => match v.as_array() {
            Some(a) => {
                for (i, x) in a.iter().enumerate() {
                    check(x, e, &format!("{path}[{i}]"), errs)
                }
            }
            None => bad(errs, path, "array", v),
        },
        Obj(fields) => match v.as_object() {
            Some(m) => {
                for (k, fs) in fields.iter() {
                    if let Some(x) = m.get(*k) {
                        check(x, fs, &join(path, k), errs)
                    }
                }
            }
            None => bad(errs, path, "struct", v),
        },
    }
}

/// Type-checks `pod` against the v1 Pod fields the oracle reads.
pub(crate) fn check_pod(pod: &Value) -> Vec<FieldError> {
    let mut errs = Vec::new();
    check(pod, &POD, "", &mut errs);
    errs
}

fn containers_mut(pod: &mut Value) -> Vec<&mut Value> {
    let mut out = Vec::new();
    if let Some(spec) = pod.get_mut("spec").and_then(Value::as_object_mut) {
        for (k, list) in spec.iter_mut() {
            if (k == "initContainers" || k == "containers" || k == "ephemeralContainers")
                && let Some(a) = list.as_array_mut()
            {
                out.extend(a.iter_mut().filter(|c| c.is_object()));
            }
        }
    }
    out
}

/// Drops the fields the v1 API of `version` does not have (the decoder
/// ignores unknown fields).
pub(crate) fn drop_unknown_fields(pod: &mut Value, version: Version) {
    let n = version.0;
    for c in containers_mut(pod) {
        // recursiveReadOnly (absent before 1.30) is dropped with its gate,
        // off through 1.30 (drop_disabled_fields).
        if n < 30
            && let Some(sc) = c.get_mut("securityContext").and_then(Value::as_object_mut)
        {
            sc.remove("appArmorProfile");
        }
        if n < 33
            && let Some(l) = c.get_mut("lifecycle").and_then(Value::as_object_mut)
        {
            l.remove("stopSignal");
        }
        if n < 34 {
            if let Some(o) = c.as_object_mut() {
                o.remove("restartPolicyRules");
            }
            for e in c
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
    }
    let Some(spec) = pod.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    // LocalObjectReference has only `name`
    for s in spec
        .get_mut("imagePullSecrets")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
    {
        if let Some(o) = s.as_object_mut() {
            o.retain(|k, _| k == "name");
        }
    }
    if n < 30
        && let Some(sc) = spec
            .get_mut("securityContext")
            .and_then(Value::as_object_mut)
    {
        sc.remove("appArmorProfile");
    }
    if n < 31 {
        for v in spec
            .get_mut("volumes")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            if let Some(o) = v.as_object_mut() {
                o.remove("image");
            }
        }
        if let Some(sc) = spec
            .get_mut("securityContext")
            .and_then(Value::as_object_mut)
        {
            sc.remove("supplementalGroupsPolicy");
        }
    }
    if n < 32 {
        spec.remove("resources");
        if let Some(sc) = spec
            .get_mut("securityContext")
            .and_then(Value::as_object_mut)
        {
            sc.remove("seLinuxChangePolicy");
        }
    }
    if n < 34 {
        spec.remove("hostnameOverride");
    }
}
