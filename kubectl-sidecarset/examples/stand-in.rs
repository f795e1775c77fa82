//! The stand-in API server of the plugin's tests (tests/support), for a
//! try without a cluster: serves the Namespaces and Pods of OBJECTS and the
//! ClusterAdmissionPolicy of POLICY on loopback, runs the policy on every
//! Pod patch as its webhook would, plays the kubelet, and runs COMMAND
//! with KUBECONFIG pointing at it.
//!
//! stand-in OBJECTS POLICY [--never POD]... -- COMMAND [ARG]...
//!
//! `--never POD`: the kubelet never gets POD's restarted sidecar ready.

#[path = "../tests/support/mod.rs"]
mod support;

use std::process::{Command, exit};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(split) = args.iter().position(|a| a == "--") else {
        eprintln!("usage: stand-in OBJECTS POLICY [--never POD]... -- COMMAND [ARG]...");
        exit(2);
    };
    let (own, command) = (&args[..split], &args[split + 1..]);
    let (Some(objects), Some(policy)) = (own.first(), own.get(1)) else {
        eprintln!("usage: stand-in OBJECTS POLICY [--never POD]... -- COMMAND [ARG]...");
        exit(2);
    };
    let stand_in = support::StandIn::start(objects, policy);
    for pair in own[2..].chunks(2) {
        if let [flag, pod] = pair
            && flag == "--never"
        {
            stand_in.set_kubelet(pod, support::Kubelet::Never);
        }
    }
    let Some((program, rest)) = command.split_first() else {
        eprintln!("stand-in: no command to run");
        exit(2);
    };
    let status = Command::new(program)
        .args(rest)
        .env("KUBECONFIG", stand_in.kubeconfig())
        .status();
    match status {
        Ok(status) => exit(status.code().unwrap_or(1)),
        Err(e) => {
            eprintln!("stand-in: {program}: {e}");
            exit(2);
        }
    }
}
