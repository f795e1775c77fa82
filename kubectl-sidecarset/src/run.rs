//! Each command: gather the objects (files or cluster), ask the policy,
//! print. Warnings go to standard error, results to `out`.

use std::collections::BTreeMap;
use std::io::Write;

use serde_json::{Value, json};
use sidecarset_policy::settings::update_strategy::IntOrPercent;

use crate::cli::{Cli, Command, Output};
use crate::cluster::Cluster;
use crate::evaluate::{Evaluator, Namespaces};
use crate::explain::{self, Subject};
use crate::labels::{self, Selector};
use crate::objects;
use crate::plan::{self, Knobs};
use crate::policy::Policy;
use crate::render::{self, PodOf};
use crate::rollout::{self, Options, Outcome};
use crate::state::{self, PodReport, State};
use crate::status;

/// Where the policy comes from: a file where `--policy` names one.
fn is_file(policy: &str) -> bool {
    std::path::Path::new(policy).is_file()
        || [".yaml", ".yml", ".json"]
            .iter()
            .any(|e| policy.ends_with(e))
}

struct Context {
    runtime: tokio::runtime::Runtime,
    cli_kubeconfig: Option<String>,
    cli_context: Option<String>,
    cluster: Option<Result<Cluster, String>>,
}

impl Context {
    fn cluster(&mut self) -> Result<Cluster, String> {
        if self.cluster.is_none() {
            let connect =
                Cluster::connect(self.cli_kubeconfig.as_deref(), self.cli_context.as_deref());
            self.cluster = Some(self.runtime.block_on(connect));
        }
        self.cluster
            .clone()
            .unwrap_or_else(|| Err("no cluster".into()))
    }
}

fn load_policy(ctx: &mut Context, policy: &str) -> Result<Policy, String> {
    if is_file(policy) {
        let text = objects::read_text(policy)?;
        return Policy::from_documents(&objects::documents(&text, policy)?, policy);
    }
    let cluster = ctx.cluster()?;
    let object = ctx.runtime.block_on(cluster.policy(policy))?;
    Policy::from_object(&object, &format!("ClusterAdmissionPolicy {policy}"))
}

fn int_or_percent(flag: &str, text: &str) -> Result<IntOrPercent, String> {
    let value = match text.parse::<u64>() {
        Ok(n) => json!(n),
        Err(_) => json!(text),
    };
    IntOrPercent::read(&value, flag)
}

/// The namespace scope: None for every namespace.
fn scope(cli_namespace: &Option<String>, all: bool, default: &str) -> Option<String> {
    match (all, cli_namespace) {
        (true, _) => None,
        (false, Some(ns)) => Some(ns.clone()),
        (false, None) => Some(default.to_string()),
    }
}

pub fn run(cli: Cli, out: &mut dyn Write) -> Result<i32, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let mut ctx = Context {
        runtime,
        cli_kubeconfig: cli.kubeconfig.clone(),
        cli_context: cli.context.clone(),
        cluster: None,
    };
    let policy = load_policy(&mut ctx, &cli.policy)?;
    match cli.command {
        Command::Status {
            ref sets,
            ref files,
            ref selector,
            output,
        } => status_command(
            &mut ctx,
            &cli,
            &policy,
            sets,
            files,
            selector.as_deref(),
            output,
            out,
        ),
        Command::Render {
            ref files,
            ref namespace_labels,
        } => render_command(
            &mut ctx,
            &cli,
            &policy,
            files,
            namespace_labels.as_deref(),
            out,
        ),
        Command::Upgrade { .. } => upgrade_command(&mut ctx, &cli, &policy, out),
        Command::Explain {
            ref pod,
            ref file,
            ref namespace_labels,
        } => explain_command(
            &mut ctx,
            &cli,
            &policy,
            pod.as_deref(),
            file.as_deref(),
            namespace_labels.as_deref(),
            out,
        ),
    }
}

/// The Pods in scope and the Namespaces to answer lookups from: files, or
/// the cluster.
fn gather<'c>(
    ctx: &'c mut Context,
    cli: &Cli,
    files: &[String],
    selector: Option<&str>,
) -> Result<(Vec<Value>, String, Namespaces<'c>), String> {
    let parsed = selector.map(Selector::parse).transpose()?;
    if !files.is_empty() {
        let objects = objects::read_objects(files)?;
        let namespaces = Namespaces::from_objects(&objects);
        let pods = objects
            .into_iter()
            .filter(objects::is_pod)
            .filter(|p| {
                cli.all_namespaces
                    || cli
                        .namespace
                        .as_deref()
                        .is_none_or(|n| objects::namespace(p) == Some(n))
            })
            .filter(|p| {
                parsed
                    .as_ref()
                    .is_none_or(|s| s.matches(&objects::labels(p)))
            })
            .collect();
        let default = cli.namespace.clone().unwrap_or_else(|| "default".into());
        return Ok((pods, default, namespaces));
    }
    let cluster = ctx.cluster()?;
    let namespace = scope(
        &cli.namespace,
        cli.all_namespaces,
        &cluster.default_namespace,
    );
    // A failed list is tried twice more (a server error between batches
    // need not stop a rollout); kube-rs retries 429 and 503 itself.
    let mut listed = ctx
        .runtime
        .block_on(cluster.list_pods(namespace.as_deref(), selector));
    for _ in 0..2 {
        if listed.is_ok() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_secs(1));
        listed = ctx
            .runtime
            .block_on(cluster.list_pods(namespace.as_deref(), selector));
    }
    let pods = listed?
        .into_iter()
        .filter(|p| {
            parsed
                .as_ref()
                .is_none_or(|s| s.matches(&objects::labels(p)))
        })
        .collect();
    let namespaces = from_cluster(Namespaces::from_objects(&[]), &ctx.runtime, cluster);
    Ok((pods, namespace.unwrap_or_default(), namespaces))
}

/// Namespaces nothing else has are read from the cluster (the lookups run
/// outside the runtime: they block on it).
fn from_cluster<'c>(
    namespaces: Namespaces<'c>,
    runtime: &'c tokio::runtime::Runtime,
    cluster: Cluster,
) -> Namespaces<'c> {
    namespaces.fetching(Box::new(move |name: &str| {
        runtime.block_on(cluster.namespace_labels(name))
    }))
}

/// The sets asked for, each checked against the policy's.
fn chosen_sets(policy: &Policy, asked: &[String]) -> Result<Vec<String>, String> {
    let all = policy.set_names();
    if asked.is_empty() {
        return Ok(all);
    }
    for name in asked {
        if !all.contains(name) {
            return Err(format!(
                "sidecar set {name} is not in the settings of policy {} (its sets: {})",
                policy.name,
                all.join(", ")
            ));
        }
    }
    Ok(asked.to_vec())
}

/// Where each Pod the policy's webhook sees stands with `sets`.
fn reports(
    pods: &[Value],
    default_namespace: &str,
    sets: &[String],
    policy: &Policy,
    evaluator: &Evaluator,
) -> Vec<PodReport> {
    let mut reports: Vec<PodReport> = pods
        .iter()
        .filter(|pod| {
            let namespace = objects::namespace(pod).unwrap_or(default_namespace);
            policy.sees(
                namespace,
                &evaluator.namespaces.selector_labels(namespace),
                &objects::labels(pod),
            )
        })
        .map(|pod| state::classify(pod, default_namespace, sets, evaluator))
        .collect();
    reports.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    reports
}

#[allow(clippy::too_many_arguments)]
fn status_command(
    ctx: &mut Context,
    cli: &Cli,
    policy: &Policy,
    asked: &[String],
    files: &[String],
    selector: Option<&str>,
    output: Option<Output>,
    out: &mut dyn Write,
) -> Result<i32, String> {
    let sets = chosen_sets(policy, asked)?;
    let (pods, default_namespace, namespaces) = gather(ctx, cli, files, selector)?;
    let evaluator = Evaluator::new(&policy.settings, false, &namespaces);
    let reports = reports(&pods, &default_namespace, &sets, policy, &evaluator);
    for line in namespaces
        .failures()
        .iter()
        .chain(&status::refused(&reports))
    {
        eprintln!("warning: {}", crate::table::printable(line));
    }
    let statuses = status::summarize(&sets, &reports);
    let text = match output {
        None => status::table(&statuses),
        Some(Output::Wide) => format!(
            "{}\n{}",
            status::table(&statuses),
            status::pod_table(&sets, &reports)
        ),
        Some(format) => {
            let pods: Vec<&PodReport> = reports.iter().filter(|r| !r.sets.is_empty()).collect();
            let document = json!({"policy": policy.name, "sets": statuses, "pods": pods});
            if format == Output::Json {
                format!(
                    "{}\n",
                    serde_json::to_string_pretty(&document).unwrap_or_default()
                )
            } else {
                objects::to_yaml(std::slice::from_ref(&document))?
            }
        }
    };
    out.write_all(text.as_bytes()).map_err(|e| e.to_string())?;
    Ok(0)
}

fn fixed_or<'a>(
    namespaces: Namespaces<'a>,
    labels: Option<&str>,
) -> Result<Namespaces<'a>, String> {
    Ok(match labels {
        Some(text) => namespaces.fixed(labels::parse_pairs(text)?),
        None => namespaces,
    })
}

fn render_command(
    ctx: &mut Context,
    cli: &Cli,
    policy: &Policy,
    files: &[String],
    namespace_labels: Option<&str>,
    out: &mut dyn Write,
) -> Result<i32, String> {
    let texts: Vec<(String, String)> = files
        .iter()
        .map(|f| objects::read_text(f).map(|t| (f.clone(), t)))
        .collect::<Result<_, _>>()?;
    // Namespace documents among the manifests answer the lookups; else
    // --namespace-labels, else the cluster, read only when the policy asks.
    let mut in_manifests = Vec::new();
    for (file, text) in &texts {
        in_manifests.extend(objects::flatten(objects::documents(text, file)?));
    }
    let mut namespaces = Namespaces::from_objects(&in_manifests);
    let cluster = match namespace_labels {
        None => ctx.cluster().ok(),
        Some(_) => None,
    };
    if let Some(cluster) = cluster {
        namespaces = from_cluster(namespaces, &ctx.runtime, cluster);
    }
    let namespaces = fixed_or(namespaces, namespace_labels)?;
    let evaluator = Evaluator::new(&policy.settings, false, &namespaces);
    let default_namespace = cli.namespace.clone().unwrap_or_else(|| "default".into());
    let mut documents = Vec::new();
    let mut rejections = Vec::new();
    for (file, text) in &texts {
        let rendered = render::render(text, file, &default_namespace, policy, &evaluator)?;
        for warning in &rendered.warnings {
            eprintln!("warning: {file}: {}", crate::table::printable(warning));
        }
        rejections.extend(rendered.rejections.iter().map(|r| format!("{file}: {r}")));
        documents.extend(rendered.documents);
    }
    for line in namespaces.failures() {
        eprintln!("warning: {}", crate::table::printable(&line));
    }
    if !rejections.is_empty() {
        // Nothing is written: a pipe into kubectl apply must not apply
        // the documents that passed without the ones that did not.
        for rejection in &rejections {
            eprintln!("error: {}", crate::table::printable(rejection));
        }
        return Ok(1);
    }
    out.write_all(render::to_text(&documents)?.as_bytes())
        .map_err(|e| e.to_string())?;
    Ok(0)
}

fn upgrade_command(
    ctx: &mut Context,
    cli: &Cli,
    policy: &Policy,
    out: &mut dyn Write,
) -> Result<i32, String> {
    let Command::Upgrade {
        set,
        selector,
        max_unavailable,
        partition,
        timeout,
        dry_run,
        files,
        poll_interval,
    } = &cli.command
    else {
        return Ok(2);
    };
    let sets = chosen_sets(policy, std::slice::from_ref(set))?;
    if !files.is_empty() && !dry_run {
        return Err("upgrade -f works with --dry-run only: Pods in files cannot be upgraded; leave -f out to upgrade the cluster's".into());
    }
    let strategy = policy.update_strategy(set);
    let knobs = Knobs {
        max_unavailable: match max_unavailable {
            Some(text) => int_or_percent("--max-unavailable", text)?,
            None => strategy.max_unavailable,
        },
        partition: match partition {
            Some(text) => int_or_percent("--partition", text)?,
            None => strategy.partition,
        },
        strategy,
        selector: selector.as_deref().map(Selector::parse).transpose()?,
    };
    if matches!(
        knobs.max_unavailable,
        IntOrPercent::Int(0) | IntOrPercent::Percent(0)
    ) {
        return Err("--max-unavailable: must be at least 1 (or 1%)".into());
    }
    let options = Options {
        timeout: crate::duration::parse(timeout).map_err(|e| format!("--timeout: {e}"))?,
        timeout_text: timeout.clone(),
        poll: crate::duration::parse(poll_interval).map_err(|e| format!("--poll-interval: {e}"))?,
    };
    // Planned afresh before every batch: what changed since (a Pod
    // deleted, relabelled, gone unready, refused) counts. Pods this run
    // already handled are not moved again.
    let mut handled: BTreeMap<String, Outcome> = BTreeMap::new();
    let mut number = 0usize;
    let mut upgraded = 0usize;
    let mut gone = 0usize;
    let mut gone_names: BTreeMap<String, usize> = BTreeMap::new();
    let mut said: Vec<plan::Left> = Vec::new();
    let last = loop {
        let mut plan = {
            // Every Pod in scope: -l narrows what moves (knobs.selector),
            // not what counts (red team 3, D1).
            let (pods, default_namespace, namespaces) = gather(ctx, cli, files, None)?;
            let evaluator = Evaluator::new(&policy.settings, false, &namespaces);
            let mut reports = reports(&pods, &default_namespace, &sets, policy, &evaluator);
            // A Namespace the plugin cannot read makes the policy's answers
            // those of a failed lookup (no pin: a downgrade, say), which its
            // webhook, reading it, would not give: nothing is planned on them.
            let failures = namespaces.failures();
            if !failures.is_empty() {
                let done = if number == 0 {
                    "nothing was patched"
                } else {
                    "the batches before were done"
                };
                return Err(format!(
                    "{}; upgrade plans only on what the policy's webhook would read: grant get on namespaces (or fix the cause) and run again; {done}",
                    failures.join("; ")
                ));
            }
            for report in &mut reports {
                if let Some(outcome) = handled.get(&report.key()) {
                    for entry in &mut report.sets {
                        if matches!(entry.state, State::Upgradeable { .. }) {
                            entry.state = State::Blocked {
                                reason: match outcome {
                                    Outcome::Refused(message) => format!("refused: {message}"),
                                    Outcome::Gone(why) => format!(
                                        "{why}, twice in this run: its controller recreates it with its old revision (a template with the sidecars baked in?); not planned again"
                                    ),
                                    Outcome::Upgraded => {
                                        "upgraded in this run, and stale again".into()
                                    }
                                },
                            };
                        }
                    }
                }
            }
            plan::plan(set, &reports, &knobs)
        };
        if number == 0 {
            out.write_all(plan::describe(&plan, &knobs).as_bytes())
                .map_err(|e| e.to_string())?;
            if *dry_run {
                return Ok(0);
            }
            said = plan.left.clone();
        }
        if plan.batches.is_empty() {
            break plan.left;
        }
        let batch = plan.batches.remove(0);
        number += 1;
        let names: Vec<&str> = batch.pods.iter().map(|m| m.name.as_str()).collect();
        let _ = writeln!(
            out,
            "batch {number} ({} {}): {}",
            batch.namespace,
            batch.owner,
            names.join(", ")
        );
        let cluster = ctx.cluster()?;
        match ctx.runtime.block_on(rollout::run_batch(
            &cluster,
            set,
            &batch.pods,
            &options,
            out,
        )) {
            Ok(outcomes) => {
                for (pod, outcome) in outcomes {
                    upgraded += usize::from(outcome == Outcome::Upgraded);
                    // A Pod of the same name later is another Pod: planned
                    // afresh.
                    if let Outcome::Gone(_) = &outcome {
                        gone += 1;
                        let times = gone_names.entry(pod.clone()).or_insert(0);
                        *times += 1;
                        if *times < 2 {
                            continue;
                        }
                    }
                    handled.insert(pod, outcome);
                }
            }
            Err(message) => {
                eprintln!("error: batch {number} {message}");
                return Ok(1);
            }
        }
    };
    // What the run left that the first plan did not say (a Pod gone
    // unready, relabelled, refused meanwhile).
    let news: Vec<&plan::Left> = last
        .iter()
        .filter(|l| !said.contains(l) && !matches!(handled.get(&l.pod), Some(Outcome::Refused(_))))
        .collect();
    if !news.is_empty() {
        let _ = writeln!(out, "not upgraded, since the plan:");
        for left in news {
            let _ = writeln!(out, "  {}: {}", left.pod, left.reason);
        }
    }
    let refused: Vec<&String> = handled
        .iter()
        .filter(|(_, o)| matches!(o, Outcome::Refused(_)))
        .map(|(pod, _)| pod)
        .collect();
    let _ = writeln!(
        out,
        "sidecar set {set}: {upgraded} Pod{} upgraded in place{}{}",
        if upgraded == 1 { "" } else { "s" },
        if gone > 0 {
            format!(", {gone} deleted meanwhile")
        } else {
            String::new()
        },
        if refused.is_empty() {
            String::new()
        } else {
            format!(", {} refused", refused.len())
        },
    );
    if !refused.is_empty() {
        let list: Vec<&str> = refused.iter().map(|s| s.as_str()).collect();
        eprintln!(
            "error: the policy refused the upgrade of {} (above, with its message): not upgraded",
            list.join(", ")
        );
        return Ok(1);
    }
    Ok(0)
}

fn explain_command(
    ctx: &mut Context,
    cli: &Cli,
    policy: &Policy,
    pod: Option<&str>,
    file: Option<&str>,
    namespace_labels: Option<&str>,
    out: &mut dyn Write,
) -> Result<i32, String> {
    let (object, in_file) = match (pod, file) {
        (None, None) => {
            return Err(
                "explain: give a Pod's name or -f FILE (a Pod, a workload, or an AdmissionRequest)"
                    .into(),
            );
        }
        (name, Some(file)) => {
            let objects = objects::flatten(objects::documents(&objects::read_text(file)?, file)?);
            let subject = objects
                .iter()
                .filter(|o| objects::kind(o) != "Namespace")
                .find(|o| {
                    name.is_none_or(|n| objects::name(o) == n)
                        && cli
                            .namespace
                            .as_deref()
                            .is_none_or(|ns| objects::namespace(o) == Some(ns))
                })
                .cloned()
                .ok_or_else(|| match name {
                    Some(n) => format!("{file}: no object named {n} in it"),
                    None => format!("{file}: no Pod, workload or AdmissionRequest in it"),
                })?;
            (subject, objects)
        }
        (Some(name), None) => {
            let cluster = ctx.cluster()?;
            let namespace = cli
                .namespace
                .clone()
                .unwrap_or_else(|| cluster.default_namespace.clone());
            let found = ctx.runtime.block_on(cluster.get_pod(&namespace, name))?;
            let pod = found.ok_or_else(|| format!("Pod {namespace}/{name} not found"))?;
            (pod, Vec::new())
        }
    };
    let mut namespaces = Namespaces::from_objects(&in_file);
    if namespace_labels.is_none()
        && !in_file.iter().any(|o| objects::kind(o) == "Namespace")
        && let Ok(cluster) = ctx.cluster()
    {
        namespaces = from_cluster(namespaces, &ctx.runtime, cluster);
    }
    let namespaces = fixed_or(namespaces, namespace_labels)?;
    let evaluator = Evaluator::new(&policy.settings, true, &namespaces);
    let default_namespace = cli.namespace.clone().unwrap_or_else(|| "default".into());
    // An AdmissionReview, or an AdmissionRequest: evaluated as given.
    let request = object.get("request").cloned().or_else(|| {
        (object.get("operation").is_some() && object.get("object").is_some())
            .then(|| object.clone())
    });
    let text = if let Some(request) = request {
        let operation = request
            .get("operation")
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_string();
        let target = request.get("object").cloned().unwrap_or_default();
        let kind = request
            .pointer("/kind/kind")
            .and_then(Value::as_str)
            .unwrap_or("object");
        let namespace = request
            .get("namespace")
            .and_then(Value::as_str)
            .unwrap_or("");
        let name = objects::shown_name(&target);
        let answer = evaluator.request(request.clone());
        let subject = Subject {
            what: format!("{kind} {namespace}/{name} under policy {}", policy.name),
            operation: &operation,
            object: Some(&target),
        };
        explain::explain(&subject, &answer, None)
    } else {
        let namespace = objects::namespace(&object)
            .unwrap_or(&default_namespace)
            .to_string();
        let kind = objects::kind(&object);
        let name = objects::shown_name(&object);
        // Anything else with no template is taken for a Pod, as it is.
        let (pod, label) = match render::pod_of(&object, &namespace) {
            Some(PodOf {
                pod,
                template: Some(_),
                ..
            }) => (pod, format!("a Pod of {kind} {namespace}/{name}")),
            Some(PodOf { pod, .. }) => (pod, format!("Pod {namespace}/{name}")),
            None if sidecarset_policy::workload::template_kind(
                render::group_of(
                    object
                        .get("apiVersion")
                        .and_then(Value::as_str)
                        .unwrap_or(""),
                ),
                kind,
            )
            .is_some() =>
            {
                return Err(format!("{kind} {name}: no Pod template"));
            }
            None => (object.clone(), format!("Pod {namespace}/{name}")),
        };
        let labels = objects::labels(&pod);
        if !policy.sees(
            &namespace,
            &evaluator.namespaces.selector_labels(&namespace),
            &labels,
        ) {
            let text = format!(
                "{label} under policy {}:\n  decision: not evaluated: the policy does not see this Pod (its namespaceSelector, objectSelector or namespace)\n",
                policy.name
            );
            out.write_all(text.as_bytes()).map_err(|e| e.to_string())?;
            return Ok(0);
        }
        // A Pod that runs already: what the policy does to it as if it
        // were created now, its injections marked stale so that the
        // policy takes them out and injects afresh (the revision, order
        // and Pod Security lines of a new Pod); where it stands, apart.
        // (Inject mode: verify mode judges what the Pod holds, as it is.)
        let running = state::annotation(&pod, sidecarset_policy::annotations::STATUS).is_some()
            && (state::uid(&pod).is_some() || pod.get("status").is_some());
        let verify = policy.settings.get("mode").and_then(Value::as_str) == Some("verify");
        let answer = match running && !verify {
            true => evaluator.create(&state::as_if_new(&pod), &namespace),
            false => evaluator.create(&pod, &namespace),
        };
        let report =
            running.then(|| state::classify(&pod, &namespace, &policy.set_names(), &evaluator));
        let subject = Subject {
            what: format!("{label} under policy {}", policy.name),
            operation: "CREATE",
            object: Some(&pod),
        };
        explain::explain(&subject, &answer, report.as_ref())
    };
    for line in namespaces.failures() {
        eprintln!("warning: {}", crate::table::printable(&line));
    }
    out.write_all(text.as_bytes()).map_err(|e| e.to_string())?;
    Ok(0)
}
