//! The Pod Security Standards, control by control, as Pod Security
//! admission (`k8s.io/pod-security-admission/policy`) checks them: the same
//! fields, the same inheritance from the Pod's `securityContext`, the same
//! versions, and findings in the shape of its messages
//! (`reason (detail)`). One function per control; [`evaluate`] runs those of
//! a level.
//!
//! What is judged is a [`Subject`]: the Pod's own fields as context, and the
//! containers, volumes and annotations to judge. For the whole Pod they are
//! all of its own; for what a sidecar set adds, only the set's, judged in
//! the Pod's context (its `runAsNonRoot`, `seccompProfile`, `hostUsers`,
//! `os`), so that the Pod's own violations stay its author's.

use serde_json::{Map, Value};

/// A Pod Security level, in order of strictness.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Privileged,
    Baseline,
    Restricted,
}

impl Level {
    pub fn name(self) -> &'static str {
        match self {
            Level::Privileged => "privileged",
            Level::Baseline => "baseline",
            Level::Restricted => "restricted",
        }
    }
}

/// A policy version: the minor of `v1.N`. `latest` is the newest version
/// any check has (the API server clamps newer ones to it).
pub type Version = u32;
/// v1.37: the newest check revision (two more safe sysctls).
pub const LATEST: Version = 37;
/// Versions from this one on are judged as their own; older ones differ in
/// ways not modelled here (annotations for seccomp, no runAsUser check…).
pub const OLDEST_MODELLED: Version = 25;

/// What is judged. Objects are the API's JSON (a container, a volume).
#[derive(Default)]
pub struct Subject<'a> {
    /// The Pod's spec: the context every container is judged in.
    pub pod: Option<&'a Map<String, Value>>,
    /// Judge the Pod's own fields too (hostNetwork, sysctls, its
    /// securityContext), not only use them as context.
    pub judge_pod: bool,
    pub containers: Vec<&'a Map<String, Value>>,
    pub volumes: Vec<&'a Map<String, Value>>,
    pub annotations: Vec<(&'a str, &'a str)>,
}

impl<'a> Subject<'a> {
    /// The whole Pod `pod` (a Pod object), judged as the API server judges
    /// it: its own fields, every container and init container, its volumes
    /// and annotations. None: not a Pod with a spec.
    pub fn whole_pod(pod: &'a Value) -> Option<Subject<'a>> {
        let spec = pod.get("spec")?.as_object()?;
        let list = |key: &str| -> Vec<&'a Map<String, Value>> {
            let entries = spec.get(key).and_then(Value::as_array);
            entries
                .into_iter()
                .flatten()
                .filter_map(Value::as_object)
                .collect()
        };
        let mut containers = list("initContainers");
        containers.extend(list("containers"));
        let annotations = pod
            .pointer("/metadata/annotations")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .filter_map(|(k, v)| Some((k.as_str(), v.as_str()?)))
            .collect();
        Some(Subject {
            pod: Some(spec),
            judge_pod: true,
            containers,
            volumes: list("volumes"),
            annotations,
        })
    }
}

/// A control the subject fails, as the API server words it: `reason
/// (detail)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    /// The check's ID in pod-security-admission (`runAsNonRoot`…).
    pub check: &'static str,
    pub reason: String,
    pub detail: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "{} ({})", self.reason, self.detail)
    }
}

type Finding = Option<(String, String)>;

/// A `securityContext`, when there is one.
type Context<'a> = Option<&'a Map<String, Value>>;

struct Check {
    id: &'static str,
    level: Level,
    /// A baseline check that a restricted one replaces at restricted.
    replaced: bool,
    run: fn(&Subject, Version) -> Finding,
}

const CHECKS: &[Check] = &[
    check("hostNamespaces", Level::Baseline, false, host_namespaces),
    check("privileged", Level::Baseline, false, privileged),
    check(
        "capabilities_baseline",
        Level::Baseline,
        true,
        capabilities_baseline,
    ),
    check("hostPathVolumes", Level::Baseline, true, host_path_volumes),
    check("hostPorts", Level::Baseline, false, host_ports),
    check("appArmorProfile", Level::Baseline, false, app_armor),
    check("seLinuxOptions", Level::Baseline, false, se_linux),
    check("procMount", Level::Baseline, true, proc_mount_baseline),
    check(
        "seccompProfile_baseline",
        Level::Baseline,
        true,
        seccomp_baseline,
    ),
    check("sysctls", Level::Baseline, false, sysctls),
    check(
        "windowsHostProcess",
        Level::Baseline,
        false,
        windows_host_process,
    ),
    check(
        "hostProbesAndHostLifecycle",
        Level::Baseline,
        false,
        host_probes,
    ),
    check(
        "restrictedVolumes",
        Level::Restricted,
        false,
        restricted_volumes,
    ),
    check(
        "allowPrivilegeEscalation",
        Level::Restricted,
        false,
        privilege_escalation,
    ),
    check("runAsNonRoot", Level::Restricted, false, run_as_non_root),
    check("runAsUser", Level::Restricted, false, run_as_user),
    check(
        "seccompProfile_restricted",
        Level::Restricted,
        false,
        seccomp_restricted,
    ),
    check(
        "capabilities_restricted",
        Level::Restricted,
        false,
        capabilities_restricted,
    ),
    check(
        "procMount_restricted",
        Level::Restricted,
        false,
        proc_mount_restricted,
    ),
];

impl Check {
    /// The subject against this control, at `version`.
    fn run(&self, subject: &Subject, version: Version) -> Option<Violation> {
        let (reason, detail) = (self.run)(subject, version)?;
        Some(Violation {
            check: self.id,
            reason,
            detail,
        })
    }
}

const fn check(
    id: &'static str,
    level: Level,
    replaced: bool,
    run: fn(&Subject, Version) -> Finding,
) -> Check {
    Check {
        id,
        level,
        replaced,
        run,
    }
}

/// Every control of `level` (at `version`) the subject fails, in the
/// API server's order.
pub fn evaluate(subject: &Subject, level: Level, version: Version) -> Vec<Violation> {
    let mut violations = Vec::new();
    for c in CHECKS {
        if c.level > level || (c.replaced && level == Level::Restricted) {
            continue;
        }
        violations.extend(c.run(subject, version));
    }
    violations
}

/// The strictest level the subject meets (at `latest`), and the reasons
/// (not the details) that keep it from the next; every check runs once (a baseline check that restricted
/// replaces is subsumed by its replacement).
pub fn best_level(subject: &Subject) -> (Level, Vec<Violation>) {
    BRIEF.with(|b| b.set(true));
    let best = best_level_brief(subject);
    BRIEF.with(|b| b.set(false));
    best
}

/// [`best_level`], with the details left empty.
fn best_level_brief(subject: &Subject) -> (Level, Vec<Violation>) {
    let mut baseline = Vec::new();
    let mut restricted = Vec::new();
    for c in CHECKS {
        let Some(violation) = c.run(subject, LATEST) else {
            continue;
        };
        if c.level == Level::Restricted {
            restricted.push(violation);
        } else if c.replaced {
            baseline.push(violation);
        } else {
            baseline.push(violation.clone());
            restricted.push(violation);
        }
    }
    if restricted.is_empty() {
        (Level::Restricted, restricted)
    } else if baseline.is_empty() {
        (Level::Baseline, restricted)
    } else {
        (Level::Privileged, baseline)
    }
}

// ── reading the JSON ───────────────────────────────────────────────────

fn object<'a>(map: Option<&'a Map<String, Value>>, key: &str) -> Option<&'a Map<String, Value>> {
    map?.get(key)?.as_object()
}

fn text<'a>(map: Option<&'a Map<String, Value>>, key: &str) -> Option<&'a str> {
    map?.get(key)?.as_str()
}

fn flag(map: Option<&Map<String, Value>>, key: &str) -> Option<bool> {
    map?.get(key)?.as_bool()
}

fn strings<'a>(map: Option<&'a Map<String, Value>>, key: &str) -> impl Iterator<Item = &'a str> {
    map.and_then(|m| m.get(key))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
}

fn security_context(container: &Map<String, Value>) -> Option<&Map<String, Value>> {
    object(Some(container), "securityContext")
}

fn name(container: &Map<String, Value>) -> &str {
    text(Some(container), "name").unwrap_or_default()
}

impl Subject<'_> {
    fn pod_context(&self) -> Option<&Map<String, Value>> {
        object(self.pod, "securityContext")
    }

    /// The Pod's security context, when its fields are judged.
    fn judged_pod_context(&self) -> Option<&Map<String, Value>> {
        self.pod_context().filter(|_| self.judge_pod)
    }

    /// `spec.os.name: windows`: from v1.25 some restricted controls do
    /// not apply.
    fn windows_exempt(&self, version: Version) -> bool {
        version >= 25 && text(object(self.pod, "os"), "name") == Some("windows")
    }

    /// `spec.hostUsers: false` (a user namespace): from v1.35 the
    /// run-as-root controls and baseline's procMount do not apply.
    fn user_namespace(&self, version: Version) -> bool {
        version >= 35 && flag(self.pod, "hostUsers") == Some(false)
    }

    /// Whether one of the Pod's own containers (init, regular, ephemeral)
    /// sets what `bad` refuses, when they are context and not judged: the
    /// API server then names them, and not the containers that inherit.
    fn own_containers_set(&self, bad: &dyn Fn(Context) -> bool) -> bool {
        if self.judge_pod {
            return false;
        }
        ["initContainers", "containers", "ephemeralContainers"]
            .iter()
            .filter_map(|list| {
                self.pod
                    .and_then(|p| p.get(*list))
                    .and_then(Value::as_array)
            })
            .flatten()
            .filter_map(Value::as_object)
            .any(|c| bad(security_context(c)))
    }

    /// The names of the containers `bad` holds for (of their
    /// securityContext). A `dyn` keeps one copy of the loop in the module.
    fn containers_where(&self, bad: &dyn Fn(Context) -> bool) -> Vec<&str> {
        let mut names = Vec::new();
        for c in &self.containers {
            if bad(security_context(c)) {
                names.push(name(c));
            }
        }
        names
    }
}

// ── wording, as the API server's ───────────────────────────────────────
// Loops rather than iterator chains: each chain adds its own copy of
// `collect` to the module.

fn plural<'s>(n: usize, one: &'s str, many: &'s str) -> &'s str {
    if n == 1 { one } else { many }
}

thread_local! {
    /// While [`best_level`] runs: only the reasons are wanted, so the
    /// details (most of a check's cost) are not written.
    static BRIEF: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn brief() -> bool {
    BRIEF.with(std::cell::Cell::get)
}

/// `"a", "b"`.
fn quoted(items: &[&str]) -> String {
    let mut out = String::new();
    if brief() {
        return out;
    }
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push('"');
        out.push_str(item);
        out.push('"');
    }
    out
}

/// `container "a"` / `containers "a", "b"`.
fn containers(names: &[&str]) -> String {
    if brief() {
        return String::new();
    }
    format!(
        "{} {}",
        plural(names.len(), "container", "containers"),
        quoted(names)
    )
}

/// Sorted and without repeats, as the API server lists values (an
/// insertion: the lists are short, and a sort would add its code).
fn unique(items: Vec<&str>) -> Vec<&str> {
    let mut sorted: Vec<&str> = Vec::with_capacity(items.len());
    for item in items {
        if let Err(at) = sorted.binary_search(&item) {
            sorted.insert(at, item);
        }
    }
    sorted
}

fn found(reason: &str, details: Vec<String>) -> Finding {
    (!details.is_empty()).then(|| (reason.to_string(), details.join("; ")))
}

/// `containers "a", "b" <rest>`, if there are any.
fn must(names: &[&str], rest: &str) -> Vec<String> {
    if names.is_empty() {
        Vec::new()
    } else if brief() {
        vec![String::new()]
    } else {
        vec![format!("{} {rest}", containers(names))]
    }
}

/// `pod or containers "a", "b" <rest>`: what the containers or the Pod
/// (for every container) must set, if any container lacks it.
fn pod_or(names: &[&str], rest: &str) -> Vec<String> {
    let mut found = must(names, rest);
    if let Some(detail) = found.first_mut().filter(|d| !d.is_empty()) {
        detail.insert_str(0, "pod or ");
    }
    found
}

/// `pod`, `container "a"` or `pod and containers "a", "b"`: who sets a
/// forbidden value (the Pod when its own field is bad, and judged).
fn who(pod: bool, names: &[&str]) -> Option<String> {
    match (pod, names.is_empty()) {
        (false, true) => None,
        (true, true) => Some("pod".into()),
        (false, false) => Some(containers(names)),
        (true, false) => Some(format!("pod and {}", containers(names))),
    }
}

/// `<who> must not set <what>`, if anyone does.
fn setters(pod: bool, names: &[&str], what: &str) -> Vec<String> {
    match who(pod, names) {
        Some(_) if brief() => vec![String::new()],
        Some(who) => vec![format!("{who} must not set {what}")],
        None => Vec::new(),
    }
}

// ── baseline ───────────────────────────────────────────────────────────

/// Host namespaces: hostNetwork, hostPID, hostIPC.
fn host_namespaces(s: &Subject, _: Version) -> Finding {
    let pod = s.pod.filter(|_| s.judge_pod);
    let mut shared = Vec::new();
    for key in ["hostNetwork", "hostPID", "hostIPC"] {
        if flag(pod, key) == Some(true) {
            shared.push(format!("{key}=true"));
        }
    }
    (!shared.is_empty()).then(|| ("host namespaces".into(), shared.join(", ")))
}

/// Privileged containers.
fn privileged(s: &Subject, _: Version) -> Finding {
    let bad = s.containers_where(&|sc| flag(sc, "privileged") == Some(true));
    found(
        "privileged",
        must(&bad, "must not set securityContext.privileged=true"),
    )
}

/// What baseline lets a container add: the container runtime's defaults.
const BASELINE_CAPABILITIES: &[&str] = &[
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

/// `container "a" must not include "X" in securityContext.capabilities.add`
/// for the capabilities `allowed` refuses.
fn added_capabilities(s: &Subject, allowed: &dyn Fn(&str) -> bool) -> Vec<String> {
    let mut names = Vec::new();
    let mut added = Vec::new();
    for c in &s.containers {
        let before = added.len();
        for cap in strings(object(security_context(c), "capabilities"), "add") {
            if !allowed(cap) {
                added.push(cap);
            }
        }
        if added.len() > before {
            names.push(name(c));
        }
    }
    let rest = format!(
        "must not include {} in securityContext.capabilities.add",
        quoted(&unique(added))
    );
    must(&names, &rest)
}

/// Capabilities beyond the default set.
fn capabilities_baseline(s: &Subject, _: Version) -> Finding {
    let details = added_capabilities(s, &|cap| BASELINE_CAPABILITIES.contains(&cap));
    found("non-default capabilities", details)
}

/// The volumes whose source `bad` refuses, and those sources.
fn volume_names<'a>(s: &'a Subject, bad: &dyn Fn(&str) -> bool) -> (Vec<&'a str>, Vec<&'a str>) {
    let mut names = Vec::new();
    let mut kinds = Vec::new();
    for volume in &s.volumes {
        // The volume's source: its one member besides the name. None is
        // an emptyDir, as the API server defaults it.
        for (kind, value) in volume.iter() {
            if kind != "name" && !value.is_null() {
                if bad(kind) {
                    names.push(name(volume));
                    kinds.push(kind.as_str());
                }
                break;
            }
        }
    }
    (names, unique(kinds))
}

/// hostPath volumes.
fn host_path_volumes(s: &Subject, _: Version) -> Finding {
    let (names, _) = volume_names(s, &|kind| kind == "hostPath");
    (!names.is_empty()).then(|| {
        let detail = format!(
            "{} {}",
            plural(names.len(), "volume", "volumes"),
            quoted(&names)
        );
        ("hostPath volumes".into(), detail)
    })
}

/// `<subjects> use(s) <thing(s)> <values>`.
fn uses(names: &[&str], thing: (&str, &str), values: &[&str], quote: bool) -> String {
    let listed = if quote {
        quoted(values)
    } else {
        values.join(", ")
    };
    format!(
        "{} {} {listed}",
        plural(names.len(), "uses", "use"),
        plural(values.len(), thing.0, thing.1),
    )
}

/// Host ports.
fn host_ports(s: &Subject, _: Version) -> Finding {
    let mut names = Vec::new();
    let mut ports = Vec::new();
    for c in &s.containers {
        let before = ports.len();
        for port in c
            .get("ports")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            match port.get("hostPort").and_then(Value::as_i64) {
                Some(0) | None => {}
                Some(p) => ports.push(p.to_string()),
            }
        }
        if ports.len() > before {
            names.push(name(c));
        }
    }
    (!names.is_empty()).then(|| {
        let ports: Vec<&str> = ports.iter().map(String::as_str).collect();
        let detail = format!(
            "{} {}",
            containers(&names),
            uses(&names, ("hostPort", "hostPorts"), &ports, false)
        );
        ("hostPort".into(), detail)
    })
}

const APPARMOR_ANNOTATION: &str = "container.apparmor.security.beta.kubernetes.io/";

/// AppArmor: the `appArmorProfile` fields (RuntimeDefault or Localhost)
/// and the beta annotations (runtime/default or localhost/…).
fn app_armor(s: &Subject, _: Version) -> Finding {
    let unconfined = |sc: Option<&Map<String, Value>>| {
        text(object(sc, "appArmorProfile"), "type")
            .is_some_and(|t| !matches!(t, "RuntimeDefault" | "Localhost"))
    };
    let pod = unconfined(s.judged_pod_context());
    let names = s.containers_where(&unconfined);
    let mut details = setters(
        pod,
        &names,
        "securityContext.appArmorProfile.type to \"Unconfined\"",
    );
    for (key, value) in &s.annotations {
        let allowed =
            value.is_empty() || *value == "runtime/default" || value.starts_with("localhost/");
        if key.starts_with(APPARMOR_ANNOTATION) && !allowed {
            details.push(format!("annotation {key} must not be {value:?}"));
        }
    }
    let reason = plural(
        details.len(),
        "forbidden AppArmor profile",
        "forbidden AppArmor profiles",
    );
    found(reason, details)
}

/// SELinux: only the container types, and no user or role.
fn se_linux(s: &Subject, version: Version) -> Finding {
    let mut types = Vec::new();
    let (mut user, mut role) = (false, false);
    let mut pod = false;
    let mut names = Vec::new();
    let pod_context = s.judged_pod_context().map(|sc| ("", sc));
    let containers = s
        .containers
        .iter()
        .filter_map(|c| Some((name(c), security_context(c)?)));
    for (who, sc) in pod_context.into_iter().chain(containers) {
        let options = object(Some(sc), "seLinuxOptions");
        let kind = text(options, "type").unwrap_or_default();
        let container_type = matches!(
            kind,
            "" | "container_t" | "container_init_t" | "container_kvm_t"
        ) || (version >= 31 && kind == "container_engine_t");
        let bad_type = !container_type;
        if bad_type {
            types.push(kind);
        }
        let set = |key| text(options, key).is_some_and(|v| !v.is_empty());
        let (u, r) = (set("user"), set("role"));
        user |= u;
        role |= r;
        if bad_type || u || r {
            match who {
                "" => pod = true,
                _ => names.push(who),
            }
        }
    }
    let who = who(pod, &names)?;
    let mut what = Vec::new();
    if !types.is_empty() {
        let types = unique(types);
        what.push(format!(
            "{} {}",
            plural(types.len(), "type", "types"),
            quoted(&types)
        ));
    }
    if user {
        what.push("user may not be set".to_string());
    }
    if role {
        what.push("role may not be set".to_string());
    }
    let detail = format!(
        "{who} set forbidden securityContext.seLinuxOptions: {}",
        what.join("; ")
    );
    Some(("seLinuxOptions".into(), detail))
}

/// `/proc` mount type: Default only.
fn proc_mount(s: &Subject) -> Finding {
    let mut kinds = Vec::new();
    let mut names = Vec::new();
    for c in &s.containers {
        if let Some(kind) = text(security_context(c), "procMount").filter(|k| *k != "Default") {
            kinds.push(kind);
            names.push(name(c));
        }
    }
    let rest = format!(
        "must not set securityContext.procMount to {}",
        quoted(&unique(kinds))
    );
    found("procMount", must(&names, &rest))
}

/// Baseline's `/proc` mount type: any in a user namespace (v1.35).
fn proc_mount_baseline(s: &Subject, version: Version) -> Finding {
    if s.user_namespace(version) {
        return None;
    }
    proc_mount(s)
}

fn seccomp_type(sc: Option<&Map<String, Value>>) -> Option<&str> {
    text(object(sc, "seccompProfile"), "type")
}

/// The seccomp profiles set to a type `bad` refuses, as findings.
fn bad_seccomp(s: &Subject, bad: fn(&str) -> bool) -> Vec<String> {
    let mut details = Vec::new();
    if let Some(t) = seccomp_type(s.judged_pod_context()).filter(|t| bad(t)) {
        details.push(format!(
            "pod must not set securityContext.seccompProfile.type to {t:?}"
        ));
    }
    let mut types = Vec::new();
    let mut names = Vec::new();
    for c in &s.containers {
        if let Some(t) = seccomp_type(security_context(c)).filter(|t| bad(t)) {
            types.push(t);
            names.push(name(c));
        }
    }
    let rest = format!(
        "must not set securityContext.seccompProfile.type to {}",
        quoted(&unique(types))
    );
    details.extend(must(&names, &rest));
    details
}

/// Seccomp (baseline): not Unconfined.
fn seccomp_baseline(s: &Subject, _: Version) -> Finding {
    found("seccompProfile", bad_seccomp(s, |t| t == "Unconfined"))
}

/// Sysctls a Pod may set, by the version that made them safe.
const SAFE_SYSCTLS: &[(&str, Version)] = &[
    ("kernel.shm_rmid_forced", 0),
    ("net.ipv4.ip_local_port_range", 0),
    ("net.ipv4.tcp_syncookies", 0),
    ("net.ipv4.ping_group_range", 0),
    ("net.ipv4.ip_unprivileged_port_start", 0),
    ("net.ipv4.ip_local_reserved_ports", 27),
    ("net.ipv4.tcp_keepalive_time", 29),
    ("net.ipv4.tcp_fin_timeout", 29),
    ("net.ipv4.tcp_keepalive_intvl", 29),
    ("net.ipv4.tcp_keepalive_probes", 29),
    ("net.ipv4.tcp_rmem", 32),
    ("net.ipv4.tcp_wmem", 32),
    ("net.ipv4.tcp_slow_start_after_idle", 37),
    ("net.ipv4.tcp_notsent_lowat", 37),
];

/// Sysctls: the safe set only (Pod level).
fn sysctls(s: &Subject, version: Version) -> Finding {
    let list = s.judged_pod_context().and_then(|sc| sc.get("sysctls"));
    let mut forbidden = Vec::new();
    for sysctl in list.and_then(Value::as_array).into_iter().flatten() {
        let n = text(sysctl.as_object(), "name").unwrap_or_default();
        if !SAFE_SYSCTLS
            .iter()
            .any(|(safe, v)| *safe == n && *v <= version)
        {
            forbidden.push(n);
        }
    }
    (!forbidden.is_empty()).then(|| ("forbidden sysctls".into(), forbidden.join(", ")))
}

/// Windows HostProcess containers.
fn windows_host_process(s: &Subject, _: Version) -> Finding {
    let host_process = |sc: Option<&Map<String, Value>>| {
        flag(object(sc, "windowsOptions"), "hostProcess") == Some(true)
    };
    let pod = host_process(s.judged_pod_context());
    let names = s.containers_where(&host_process);
    let what = "securityContext.windowsOptions.hostProcess=true";
    found("hostProcess", setters(pod, &names, what))
}

/// A host in probes and lifecycle handlers (v1.34).
fn host_probes(s: &Subject, version: Version) -> Finding {
    if version < 34 {
        return None;
    }
    let mut names = Vec::new();
    let mut hosts = Vec::new();
    for c in &s.containers {
        let lifecycle = object(Some(c), "lifecycle");
        let before = hosts.len();
        let handlers = [
            object(Some(c), "livenessProbe"),
            object(Some(c), "readinessProbe"),
            object(Some(c), "startupProbe"),
            object(lifecycle, "postStart"),
            object(lifecycle, "preStop"),
        ];
        for handler in handlers {
            for action in ["httpGet", "tcpSocket"] {
                if let Some(host) = text(object(handler, action), "host").filter(|h| !h.is_empty())
                {
                    hosts.push(host);
                }
            }
        }
        if hosts.len() > before {
            names.push(name(c));
        }
    }
    (!names.is_empty()).then(|| {
        let names = unique(names);
        let thing = ("probe or lifecycle host", "probe or lifecycle hosts");
        let detail = format!(
            "{} {}",
            containers(&names),
            uses(&names, thing, &unique(hosts), true)
        );
        ("probe or lifecycle host".into(), detail)
    })
}

// ── restricted ─────────────────────────────────────────────────────────

/// Volume types: the core ones and those of PersistentVolumes only.
fn restricted_volumes(s: &Subject, _: Version) -> Finding {
    const ALLOWED: &[&str] = &[
        "configMap",
        "csi",
        "downwardAPI",
        "emptyDir",
        "ephemeral",
        "image",
        "persistentVolumeClaim",
        "projected",
        "secret",
    ];
    let (names, kinds) = volume_names(s, &|kind| !ALLOWED.contains(&kind));
    (!names.is_empty()).then(|| {
        let thing = ("restricted volume type", "restricted volume types");
        let detail = format!(
            "{} {} {}",
            plural(names.len(), "volume", "volumes"),
            quoted(&names),
            uses(&names, thing, &kinds, true)
        );
        ("restricted volume types".into(), detail)
    })
}

/// Privilege escalation: every container says false.
fn privilege_escalation(s: &Subject, version: Version) -> Finding {
    if s.windows_exempt(version) {
        return None;
    }
    let bad = s.containers_where(&|sc| flag(sc, "allowPrivilegeEscalation") != Some(false));
    found(
        "allowPrivilegeEscalation != false",
        must(
            &bad,
            "must set securityContext.allowPrivilegeEscalation=false",
        ),
    )
}

/// Running as non-root: runAsNonRoot true, in the container or inherited
/// from the Pod. As `runAsNonRoot_1_0` attributes it: where the Pod or a
/// container sets false, those are named, and not the containers that
/// inherit.
fn run_as_non_root(s: &Subject, version: Version) -> Finding {
    if s.user_namespace(version) {
        return None;
    }
    let pod = flag(s.pod_context(), "runAsNonRoot");
    let mut details = Vec::new();
    if s.judge_pod && pod == Some(false) {
        details.push("pod must not set securityContext.runAsNonRoot=false".to_string());
    }
    let sets_false = |sc: Context| flag(sc, "runAsNonRoot") == Some(false);
    let explicit = s.containers_where(&sets_false);
    details.extend(must(
        &explicit,
        "must not set securityContext.runAsNonRoot=false",
    ));
    if pod == Some(false) || !explicit.is_empty() || s.own_containers_set(&sets_false) {
        return found("runAsNonRoot != true", details);
    }
    let implicit =
        s.containers_where(&|sc| flag(sc, "runAsNonRoot").is_none() && pod != Some(true));
    details.extend(pod_or(
        &implicit,
        "must set securityContext.runAsNonRoot=true",
    ));
    found("runAsNonRoot != true", details)
}

/// Non-root user: no runAsUser 0 (v1.23).
fn run_as_user(s: &Subject, version: Version) -> Finding {
    if s.user_namespace(version) {
        return None;
    }
    let root = |sc: Option<&Map<String, Value>>| {
        sc.and_then(|sc| sc.get("runAsUser"))
            .and_then(Value::as_i64)
            == Some(0)
    };
    let names = s.containers_where(&root);
    found(
        "runAsUser=0",
        setters(root(s.judged_pod_context()), &names, "runAsUser=0"),
    )
}

/// Seccomp (restricted): RuntimeDefault or Localhost, in the container or
/// inherited from the Pod.
fn seccomp_restricted(s: &Subject, version: Version) -> Finding {
    if s.windows_exempt(version) {
        return None;
    }
    let valid = |t: &str| matches!(t, "RuntimeDefault" | "Localhost");
    let mut details = bad_seccomp(s, |t| !matches!(t, "RuntimeDefault" | "Localhost"));
    // As `seccompProfileRestricted_1_19` attributes it: where the Pod or a
    // container sets a bad type, those are named, not who inherits.
    let sets_bad = |sc: Context| seccomp_type(sc).is_some_and(|t| !valid(t));
    if !details.is_empty() || sets_bad(s.pod_context()) || s.own_containers_set(&sets_bad) {
        return found("seccompProfile", details);
    }
    // A Pod's type covers the containers that set none, if it is valid.
    let pod_covers = seccomp_type(s.pod_context()).is_some_and(valid);
    let implicit = s.containers_where(&|sc| seccomp_type(sc).is_none() && !pod_covers);
    let what =
        "must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\"";
    details.extend(pod_or(&implicit, what));
    found("seccompProfile", details)
}

/// Capabilities (restricted): drop ALL, add NET_BIND_SERVICE at most.
fn capabilities_restricted(s: &Subject, version: Version) -> Finding {
    if s.windows_exempt(version) {
        return None;
    }
    let no_drop_all = s.containers_where(&|sc| {
        !strings(object(sc, "capabilities"), "drop").any(|cap| cap == "ALL")
    });
    let mut details = must(
        &no_drop_all,
        "must set securityContext.capabilities.drop=[\"ALL\"]",
    );
    details.extend(added_capabilities(s, &|cap| cap == "NET_BIND_SERVICE"));
    found("unrestricted capabilities", details)
}

/// Restricted's `/proc` mount type: Default only, user namespace or not.
fn proc_mount_restricted(s: &Subject, _: Version) -> Finding {
    proc_mount(s)
}

#[cfg(test)]
mod tests;
