//! `sidecarset-host run` mimics `kwctl run` for the flags this project uses;
//! `sidecarset-host explain` prints a readable account of each evaluation
//! (decision, patch, resulting start order) for `make run`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use host::{
    AdmissionResponse, ClusterContext, Policy, Resources, module_path, read_policy_resources,
    read_request, read_settings,
};
use serde_json::{Value, json};

#[derive(Parser)]
#[command(about = "Development-only waPC host for sidecarset-policy")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Evaluate a request as `kwctl run` does and print the AdmissionResponse.
    Run {
        /// File with the AdmissionRequest or AdmissionReview to evaluate.
        #[arg(short = 'r', long)]
        request_path: PathBuf,
        /// Settings file, YAML or JSON.
        #[arg(short = 's', long)]
        settings_path: Option<PathBuf>,
        /// Settings as a JSON string.
        #[arg(long, conflicts_with = "settings_path")]
        settings_json: Option<String>,
        #[command(flatten)]
        context: ContextArgs,
        /// The policy: a .wasm path, a file:// URI, or a YAML file with
        /// ClusterAdmissionPolicy / AdmissionPolicy resources.
        uri_or_sha_prefix_or_yaml_file: String,
    },
    /// Evaluate requests and explain the decision, the patch and the start order.
    Explain {
        /// Settings file, or a ClusterAdmissionPolicy manifest whose spec.settings are used.
        #[arg(short = 's', long)]
        settings_path: PathBuf,
        /// The policy module.
        #[arg(short = 'p', long)]
        policy: PathBuf,
        #[command(flatten)]
        context: ContextArgs,
        /// Requests to evaluate.
        requests: Vec<PathBuf>,
    },
}

/// kwctl's flags for context-aware policies.
#[derive(clap::Args)]
struct ContextArgs {
    /// Grant the policy the Kubernetes resources its metadata lists
    /// (contextAwareResources of the metadata.yml next to the module, or of
    /// the policy resource).
    #[arg(long)]
    allow_context_aware: bool,
    /// Answer the policy's host calls from this kwctl replay file.
    #[arg(long)]
    replay_host_capabilities_interactions: Option<PathBuf>,
}

impl ContextArgs {
    fn context(&self, module: &Path, granted: Option<Resources>) -> Result<ClusterContext> {
        let metadata = module
            .parent()
            .unwrap_or(Path::new("."))
            .join("metadata.yml");
        let replay = self.replay_host_capabilities_interactions.as_ref();
        let mut context = match (self.allow_context_aware, granted) {
            // As kwctl: a policy resource's contextAwareResources are granted
            // as declared, and without a replay file kwctl needs a cluster.
            (_, Some(granted)) if !granted.is_empty() && replay.is_none() => {
                anyhow::bail!(
                    "failed to infer config: the policy declares contextAwareResources and there is no cluster here; pass --replay-host-capabilities-interactions FILE"
                )
            }
            (_, Some(granted)) if !granted.is_empty() => ClusterContext {
                granted,
                ..ClusterContext::default()
            },
            (true, None) if metadata.exists() => ClusterContext::granted_by(&metadata)?,
            // Not allowed, or a policy resource that declares nothing.
            _ => ClusterContext::default(),
        };
        if let Some(path) = replay {
            context.exchanges = ClusterContext::read_replay(path)?;
            context.in_order = true;
        }
        Ok(context)
    }
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Run {
            request_path,
            settings_path,
            settings_json,
            context,
            uri_or_sha_prefix_or_yaml_file,
        } => run(
            &request_path,
            settings_path.as_deref(),
            settings_json.as_deref(),
            &context,
            &uri_or_sha_prefix_or_yaml_file,
        ),
        Command::Explain {
            settings_path,
            policy,
            context,
            requests,
        } => explain(&settings_path, &policy, &context, &requests),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn is_yaml(uri: &str) -> bool {
    uri.ends_with(".yaml") || uri.ends_with(".yml")
}

fn run(
    request_path: &Path,
    settings_path: Option<&Path>,
    settings_json: Option<&str>,
    context: &ContextArgs,
    uri: &str,
) -> Result<()> {
    let request = read_request(request_path)?;
    // As kwctl: a YAML file of policy resources brings its own modules,
    // settings and granted resources, and --settings-* are ignored.
    let evaluations: Vec<(PathBuf, Value, Option<Resources>)> = if is_yaml(uri) {
        read_policy_resources(Path::new(uri.strip_prefix("file://").unwrap_or(uri)))?
            .into_iter()
            .map(|r| {
                Ok((
                    module_path(&r.module)?,
                    r.settings,
                    Some(r.context_aware_resources),
                ))
            })
            .collect::<Result<_>>()?
    } else {
        let settings = match (settings_path, settings_json) {
            (Some(path), _) => read_settings(path)?,
            (None, Some(text)) => {
                serde_json::from_str(text).context("--settings-json is not JSON")?
            }
            (None, None) => json!({}),
        };
        vec![(module_path(uri)?, settings, None)]
    };
    for (module, settings, granted) in evaluations {
        let policy = Policy::load(&module)?.with_context(context.context(&module, granted)?);
        let validation = policy.validate_settings(&settings)?;
        if !validation.valid {
            println!("{}", serde_json::to_string(&validation)?);
            anyhow::bail!(
                "Provided settings are not valid: {}",
                validation.message.unwrap_or_default()
            );
        }
        let response = policy.evaluate(&request, &settings)?;
        println!("{}", serde_json::to_string(&response)?);
    }
    Ok(())
}

fn explain(
    settings_path: &Path,
    policy_path: &Path,
    context: &ContextArgs,
    requests: &[PathBuf],
) -> Result<()> {
    let settings = match read_policy_resources(settings_path) {
        Ok(resources) => resources
            .into_iter()
            .next()
            .map(|r| r.settings)
            .unwrap_or_default(),
        Err(_) => read_settings(settings_path)?,
    };
    let policy = Policy::load(policy_path)?.with_context(context.context(policy_path, None)?);
    let validation = policy.validate_settings(&settings)?;
    if !validation.valid {
        anyhow::bail!(
            "Provided settings are not valid: {}",
            validation.message.unwrap_or_default()
        );
    }
    for path in requests {
        let request = read_request(path)?;
        let response = policy.evaluate(&request, &settings)?;
        println!("── {}", path.display());
        println!("   request:  {}", describe_request(&request));
        print_response(&request, &response)?;
        println!();
    }
    Ok(())
}

fn describe_request(request: &Value) -> String {
    let text = |pointer: &str| {
        request
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or("-")
            .to_string()
    };
    let name = request
        .pointer("/object/metadata/name")
        .or_else(|| request.pointer("/object/metadata/generateName"))
        .and_then(Value::as_str)
        .unwrap_or("-");
    format!(
        "{} {} {}/{}",
        text("/operation"),
        text("/kind/kind"),
        text("/namespace"),
        name
    )
}

fn print_response(request: &Value, response: &AdmissionResponse) -> Result<()> {
    let patch = response.patch_operations()?;
    let decision = match (response.allowed, patch.0.len()) {
        (false, _) => "rejected".to_string(),
        (true, 0) => "accepted, unchanged".to_string(),
        (true, n) => format!("accepted with a JSON Patch of {n} operations"),
    };
    println!("   decision: {decision}");
    if let Some(message) = response.message() {
        println!("   message:  {message}");
    }
    for warning in response.warnings.iter().flatten() {
        println!("   warning:  {warning}");
    }
    if patch.0.is_empty() {
        return Ok(());
    }
    println!("   patch:");
    for operation in &patch.0 {
        println!("     {}", serde_json::to_string(operation)?);
    }
    let mut pod = request.get("object").cloned().unwrap_or_default();
    json_patch::patch(&mut pod, &patch)
        .context("the patch does not apply to the request object")?;
    println!("   start order of the resulting Pod:");
    for (i, line) in start_order(&pod).iter().enumerate() {
        println!("     {:>2}. {line}", i + 1);
    }
    Ok(())
}

/// Init containers in list order (native sidecars keep running), then the
/// app containers, which the kubelet starts together once init is done.
fn start_order(pod: &Value) -> Vec<String> {
    let list = |key: &str| {
        pod.pointer(&format!("/spec/{key}"))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let mut lines = Vec::new();
    for container in list("initContainers") {
        let native = container.get("restartPolicy").and_then(Value::as_str) == Some("Always");
        let kind = if native && container.get("startupProbe").is_some() {
            "native sidecar  (next starts once its startupProbe passes)"
        } else if native {
            "native sidecar  (next starts once it has started)"
        } else {
            "init container  (runs to completion)"
        };
        lines.push(format!(
            "{:<16} {kind}",
            container["name"].as_str().unwrap_or("?")
        ));
    }
    for container in list("containers") {
        lines.push(format!(
            "{:<16} container",
            container["name"].as_str().unwrap_or("?")
        ));
    }
    lines
}
