//! `make bench`: the policy against a floor policy (floor/: decode the
//! request with the SDK, accept), on the same requests, in the same run, in
//! two modes:
//! - fresh: policy-server's path (a new instance per request from the
//!   precompiled module, validate, JSON Patch diff);
//! - warm: kwctl bench's path (one instance reused).
//!
//! Absolute times vary from machine to machine and run to run; the ratios to
//! the floor, measured side by side, are what to compare. After criterion's
//! own report, a table of medians of policy and floor timed alternately (so
//! that machine noise hits both alike) gives the ratios; it is also written
//! to target/bench-table.md.

use std::path::{Path, PathBuf};
use std::time::Instant;

use criterion::{BenchmarkId, Criterion};
use host::Policy;
use host::cases::*;
use serde_json::Value;

fn module(var: &str, default: &str) -> Policy {
    let path = std::env::var_os(var)
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join(default));
    Policy::load(&path).unwrap_or_else(|e| panic!("{}: {e} (run `make bench`)", path.display()))
}

enum Call {
    Validate(Value, Value),
    Settings(Value),
}

struct Case {
    name: &'static str,
    call: Call,
    /// Also measured on a warm instance (kwctl bench's path).
    warm: bool,
}

fn cases() -> Vec<Case> {
    use Call::*;
    vec![
        Case {
            name: "1 ReplicaSet Pod, 2 sets apply",
            call: Validate(replicaset_pod(), example_settings()),
            warm: true,
        },
        Case {
            name: "2 same Pod, no set applies",
            call: Validate(no_set_applies(), example_settings()),
            warm: true,
        },
        Case {
            name: "3 100 sets, 2 apply",
            call: Validate(replicaset_pod(), settings_with_sets(100)),
            warm: true,
        },
        Case {
            name: "4 Pod of 30 containers, 20 volumes",
            call: Validate(large_pod(30), example_settings()),
            warm: true,
        },
        Case {
            name: "5 validate_settings, 100 sets",
            call: Settings(settings_with_sets(100)),
            warm: true,
        },
        Case {
            name: "6 20-node dependency graph",
            call: Validate(replicaset_pod(), graph_settings(20)),
            warm: true,
        },
        Case {
            name: "7 case 1 with a namespaceSelector (host call)",
            call: Validate(replicaset_pod(), namespace_selector_settings()),
            warm: true,
        },
        // Growth with the settings, the Pod and the graph (fresh mode).
        Case {
            name: "sets: 10",
            call: Validate(replicaset_pod(), settings_with_sets(10)),
            warm: false,
        },
        Case {
            name: "sets: 500",
            call: Validate(replicaset_pod(), settings_with_sets(500)),
            warm: false,
        },
        Case {
            name: "Pod: 10 containers",
            call: Validate(large_pod(10), example_settings()),
            warm: false,
        },
        Case {
            name: "Pod: 100 containers",
            call: Validate(large_pod(100), example_settings()),
            warm: false,
        },
        Case {
            name: "graph: 100 nodes",
            call: Validate(replicaset_pod(), graph_settings(100)),
            warm: false,
        },
    ]
}

/// One call of `call` on `module`: in a fresh instance each time
/// (policy-server's path) or, `warm`, in one instance kept for all calls
/// (kwctl bench's path).
fn runner<'a>(call: &'a Call, module: &'a Policy, warm: bool) -> Box<dyn FnMut() + 'a> {
    let instance = warm.then(|| module.instance().unwrap());
    match call {
        Call::Validate(request, settings) => Box::new(move || {
            let answer = match &instance {
                Some(instance) => instance.evaluate(request, settings),
                None => module.evaluate(request, settings),
            };
            drop(answer.unwrap());
        }),
        Call::Settings(settings) => Box::new(move || {
            let answer = match &instance {
                Some(instance) => instance.validate_settings(settings),
                None => module.validate_settings(settings),
            };
            drop(answer.unwrap());
        }),
    }
}

/// The modes a case is measured in.
fn modes(case: &Case) -> &'static [(&'static str, bool)] {
    if case.warm {
        &[("fresh", false), ("warm", true)]
    } else {
        &[("fresh", false)]
    }
}

fn bench(c: &mut Criterion, policy: &Policy, floor: &Policy, cases: &[Case]) {
    for case in cases {
        let mut group = c.benchmark_group(case.name);
        for (label, module) in [("policy", policy), ("floor", floor)] {
            // The module must answer the case as intended, not fail.
            match &case.call {
                Call::Validate(request, settings) => {
                    let answer = module.evaluate(request, settings).unwrap();
                    assert!(answer.allowed, "{}: {label}: {answer:?}", case.name);
                }
                Call::Settings(settings) => {
                    let answer = module.validate_settings(settings).unwrap();
                    assert!(answer.valid, "{}: {label}", case.name);
                }
            }
            for &(mode, warm) in modes(case) {
                let mut run = runner(&case.call, module, warm);
                group.bench_function(BenchmarkId::new(mode, label), |b| b.iter(&mut run));
            }
        }
        group.finish();
    }
}

/// Medians (ns) of the policy and the floor, timed alternately one call
/// each, `rounds` times: drift on a noisy machine hits both alike, so their
/// ratio holds from run to run where absolute times do not.
fn interleaved(rounds: usize, policy: &mut dyn FnMut(), floor: &mut dyn FnMut()) -> (f64, f64) {
    let (mut p, mut f) = (Vec::with_capacity(rounds), Vec::with_capacity(rounds));
    for _ in 0..rounds {
        let start = Instant::now();
        policy();
        p.push(start.elapsed().as_nanos() as f64);
        let start = Instant::now();
        floor();
        f.push(start.elapsed().as_nanos() as f64);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or_default()
    };
    (median(&mut p), median(&mut f))
}

type Pair = Option<(f64, f64)>;

/// Medians for one case: fresh policy and floor, fresh policy and mutating
/// floor (cases that mutate), warm policy and floor.
fn measure(case: &Case, policy: &Policy, floor: &Policy, mutating: &Policy) -> (Pair, Pair, Pair) {
    let rounds = 200;
    let pair = |a: &Policy, b: &Policy, warm: bool| {
        interleaved(
            rounds,
            &mut runner(&case.call, a, warm),
            &mut runner(&case.call, b, warm),
        )
    };
    let mutates = match &case.call {
        Call::Validate(request, settings) => {
            policy.evaluate(request, settings).unwrap().patch.is_some()
        }
        Call::Settings(_) => false,
    };
    (
        Some(pair(policy, floor, false)),
        mutates.then(|| pair(policy, mutating, false)),
        case.warm.then(|| pair(policy, floor, true)),
    )
}

fn table(
    cases: &[Case],
    [policy, floor, mutating]: [&Policy; 3],
    size: u64,
    floor_size: u64,
) -> String {
    let mut out = String::from(
        "| case | fresh: policy | fresh: floor | ratio | fresh: mutating floor | ratio to it | warm: policy | warm: floor | ratio |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n",
    );
    let cells = |pair: Pair| match pair {
        Some((p, f)) if f > 0.0 => (
            format!("{:.0} µs", p / 1000.0),
            format!("{:.0} µs", f / 1000.0),
            format!("{:.2}×", p / f),
        ),
        _ => ("–".into(), "–".into(), "–".into()),
    };
    for case in cases {
        let (fresh, against_mutating, warm) = measure(case, policy, floor, mutating);
        let (fp, ff, fr) = cells(fresh);
        let (_, mf, mr) = cells(against_mutating);
        let (wp, wf, wr) = cells(warm);
        out.push_str(&format!(
            "| {} | {fp} | {ff} | **{fr}** | {mf} | {mr} | {wp} | {wf} | {wr} |\n",
            case.name
        ));
    }
    out.push_str(&format!(
        "\nMedians of 200 calls of each, the policy and a floor alternating. The mutating floor returns the request's object with one annotation added: the least any mutating policy costs (the host parses the mutated object and diffs it).\npolicy.wasm: {size} bytes; floor.wasm: {floor_size} bytes\n"
    ));
    out
}

fn main() {
    let policy_path = std::env::var_os("POLICY_WASM")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("policy.wasm"));
    let floor_path = std::env::var_os("FLOOR_WASM")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target/floor.wasm"));
    let policy = module("POLICY_WASM", "policy.wasm").with_context(cluster());
    let floor = module("FLOOR_WASM", "target/floor.wasm");
    let mutating = module("MUTATING_FLOOR_WASM", "target/floor-mutating.wasm");
    let cases = cases();
    let mut criterion = Criterion::default()
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(2))
        .sample_size(30)
        .configure_from_args();
    bench(&mut criterion, &policy, &floor, &cases);
    criterion.final_summary();
    // `cargo test --benches` runs each benchmark once: no table then.
    if std::env::args().any(|a| a == "--bench") {
        let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or_default();
        let table = table(
            &cases,
            [&policy, &floor, &mutating],
            size(&policy_path),
            size(&floor_path),
        );
        println!("\n{table}");
        let _ = std::fs::write(repo().join("target/bench-table.md"), &table);
    }
}
