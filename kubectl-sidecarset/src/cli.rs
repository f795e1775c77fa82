//! The command line, as kubectl users expect it: `-n`, `-A`, `-l`, `-o`,
//! `-f`, `--context`, `--kubeconfig`.

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Parser, Debug)]
#[command(
    name = "kubectl-sidecarset",
    version,
    about = "sidecarset-policy's rollout from kubectl: status, render, upgrade in batches, explain. Every answer is the policy's own."
)]
pub struct Cli {
    /// The kubeconfig file (default: KUBECONFIG, ~/.kube/config, in-cluster).
    #[arg(long, global = true)]
    pub kubeconfig: Option<String>,
    /// The kubeconfig context (default: its current context).
    #[arg(long, global = true)]
    pub context: Option<String>,
    /// The namespace (default: the context's).
    #[arg(short = 'n', long, global = true)]
    pub namespace: Option<String>,
    /// Every namespace.
    #[arg(short = 'A', long, global = true)]
    pub all_namespaces: bool,
    /// The policy: a ClusterAdmissionPolicy (or AdmissionPolicy) file, or
    /// the name of a ClusterAdmissionPolicy in the cluster.
    #[arg(long, global = true, default_value = "sidecarset")]
    pub policy: String,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Wide,
    Json,
    Yaml,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Per set: the Pods it applies to, per revision, current, stale (and
    /// why), ready, missing.
    Status {
        /// Only these sets (default: every set of the policy).
        sets: Vec<String>,
        /// Pods (and Namespaces) from files instead of the cluster:
        /// `kubectl get namespaces,pods -A -o json` output; `-` reads stdin.
        #[arg(short = 'f', long = "filename")]
        files: Vec<String>,
        /// Only the Pods this label selector selects.
        #[arg(short = 'l', long)]
        selector: Option<String>,
        #[arg(short = 'o', long)]
        output: Option<Output>,
    },
    /// Writes manifests back with each Pod template as the policy injects
    /// the Pods its controller creates.
    Render {
        /// Manifests (multi-document YAML or JSON; `-` reads stdin).
        #[arg(short = 'f', long = "filename", required = true)]
        files: Vec<String>,
        /// The Namespace's labels (`a=b,c=d`), instead of the manifests'
        /// Namespace documents or the cluster.
        #[arg(long)]
        namespace_labels: Option<String>,
    },
    /// Upgrades a set's sidecars in place, in batches, waiting for each
    /// batch to be ready.
    Upgrade {
        /// The sidecar set.
        set: String,
        /// Only the Pods this label selector selects.
        #[arg(short = 'l', long)]
        selector: Option<String>,
        /// Pods of one owner upgraded at once: a number or a percentage
        /// (default: the set's updateStrategy.maxUnavailable, else 1).
        #[arg(long)]
        max_unavailable: Option<String>,
        /// Pods of each owner left on their revision: a number or a
        /// percentage (default: the set's updateStrategy.partition, else 0).
        #[arg(long)]
        partition: Option<String>,
        /// How long a batch may take to become ready.
        #[arg(long, default_value = "5m")]
        timeout: String,
        /// Print the plan; change nothing.
        #[arg(long)]
        dry_run: bool,
        /// With --dry-run: Pods from files instead of the cluster.
        #[arg(short = 'f', long = "filename")]
        files: Vec<String>,
        /// How often a batch's Pods are read while waiting.
        #[arg(long, default_value = "2s", hide = true)]
        poll_interval: String,
    },
    /// What the policy does to one Pod, and why.
    Explain {
        /// A Pod of the cluster (in -n, or the context's namespace).
        pod: Option<String>,
        /// A Pod, a workload, or an AdmissionRequest / AdmissionReview.
        #[arg(short = 'f', long = "filename")]
        file: Option<String>,
        /// The Namespace's labels (`a=b,c=d`), instead of the file's
        /// Namespace documents or the cluster.
        #[arg(long)]
        namespace_labels: Option<String>,
    },
}
