//! Instructions per evaluation on policy-server's path (a fresh instance,
//! `validate`, the answer parsed, the JSON Patch diffed), for the policy and
//! the floors, counted by callgrind: deterministic where the time table
//! (`benches/evaluation.rs`) swings with the machine.
//!
//!   make bench                      the table, also in target/instructions.md
//!   make instruction-tests          fails when a ratio grows more than 10%
//!                                   past host/benches/instructions-baseline.json
//!
//! The modules are compiled ahead of time (outside valgrind), then this
//! binary runs itself under `valgrind --tool=callgrind`, collecting only
//! inside [`measured`] and dumping the counts after each call, so that one
//! run counts every case of every module.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use host::cases::*;
use host::{AdmissionResponse, Policy, admission_response};
use serde_json::{Value, json};

/// Evaluations per count: the count divided by this is one evaluation.
const EVALUATIONS: usize = 20;
/// How far past the baseline a ratio may grow before the check fails.
const TOLERANCE: f64 = 1.10;
/// Label, default path, and the variable that names another path.
const MODULES: [(&str, &str, &str); 3] = [
    ("policy", "policy.wasm", "POLICY_WASM"),
    ("floor", "target/floor.wasm", "FLOOR_WASM"),
    (
        "mutating floor",
        "target/floor-mutating.wasm",
        "MUTATING_FLOOR_WASM",
    ),
];

fn module_path(default: &str, var: &str) -> PathBuf {
    std::env::var_os(var)
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join(default))
}

struct Case {
    name: &'static str,
    request: Value,
    settings: Value,
}

impl Case {
    /// The `validate` payload, serialized once: the host's serialization
    /// costs the same whatever the module, so it is not counted.
    fn payload(&self) -> Vec<u8> {
        serde_json::to_vec(&json!({"request": self.request, "settings": self.settings}))
            .unwrap_or_default()
    }
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "1 ReplicaSet Pod, 2 sets inject",
            request: replicaset_pod(),
            settings: example_settings(),
        },
        Case {
            name: "2 same Pod, no set applies",
            request: no_set_applies(),
            settings: example_settings(),
        },
        Case {
            name: "3 100 realistic sets, 2 inject",
            request: replicaset_pod(),
            settings: settings_with_sets(100),
        },
        Case {
            name: "4 case 1 with a resourcesPolicy",
            request: replicaset_pod(),
            settings: resources_policy_settings(),
        },
        Case {
            name: "5 a Pod UPDATE that is not an upgrade",
            request: pod_update_labels(),
            settings: example_settings(),
        },
    ]
}

/// Where the precompiled modules and callgrind's output go.
fn work_dir() -> PathBuf {
    repo().join("target/instructions")
}

/// One evaluation as policy-server makes it: a fresh instance, `validate`,
/// the answer parsed and, when it mutates, diffed into a JSON Patch.
fn evaluate(policy: &Policy, request: &Value, payload: &[u8]) -> Option<AdmissionResponse> {
    let answer = policy.instance().ok()?.validate_payload(payload).ok()?;
    Some(admission_response(request, answer))
}

/// The function callgrind counts in: `count` evaluations of `case`.
#[inline(never)]
fn measured(policy: &Policy, request: &Value, payload: &[u8], count: usize) {
    for _ in 0..count {
        std::hint::black_box(evaluate(policy, request, payload));
    }
}

/// Under valgrind: every case on every module, one dump each, in order.
fn run_measured() -> ExitCode {
    let modules: Vec<Policy> = MODULES
        .iter()
        .map(|(label, ..)| {
            Policy::from_precompiled(&work_dir().join(format!("{label}.cwasm")))
                .unwrap_or_else(|e| panic!("{e}"))
        })
        .collect();
    for case in cases() {
        let payload = case.payload();
        for module in &modules {
            // A first evaluation outside the count: one-time set-up.
            warm_up(module, &case, &payload);
            measured(module, &case.request, &payload, EVALUATIONS);
        }
    }
    ExitCode::SUCCESS
}

#[inline(never)]
fn warm_up(policy: &Policy, case: &Case, payload: &[u8]) {
    let answer = evaluate(policy, &case.request, payload);
    assert!(
        answer.as_ref().is_some_and(|a| a.allowed),
        "{}: {answer:?}",
        case.name
    );
}

/// The instruction count of each callgrind dump, in dump order.
fn dumps(out: &Path) -> Vec<u64> {
    let mut files: Vec<(u32, PathBuf)> = std::fs::read_dir(work_dir())
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let path = entry.path();
            let name = path.file_name()?.to_str()?.to_string();
            let part = name
                .strip_prefix(out.file_name()?.to_str()?)?
                .strip_prefix('.')?;
            Some((part.parse().ok()?, path))
        })
        .collect();
    files.sort();
    files
        .iter()
        .filter_map(|(_, path)| {
            let text = std::fs::read_to_string(path).ok()?;
            text.lines()
                .find_map(|l| l.strip_prefix("summary: ").or(l.strip_prefix("totals: ")))
                .and_then(|n| n.trim().parse().ok())
        })
        .collect()
}

/// Instructions per evaluation: case name → module label → count.
type Counts = BTreeMap<String, BTreeMap<String, f64>>;

fn count() -> Result<Counts, String> {
    let dir = work_dir();
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for (label, default, var) in MODULES {
        let path = module_path(default, var);
        let bytes = std::fs::read(&path)
            .map_err(|e| format!("{}: {e} (run `make bench`)", path.display()))?;
        let compiled = Policy::precompile(&bytes).map_err(|e| e.to_string())?;
        std::fs::write(dir.join(format!("{label}.cwasm")), compiled)
            .map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let out = dir.join("callgrind.out");
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let status = Command::new("valgrind")
        .args([
            "--tool=callgrind",
            "--collect-atstart=no",
            "--toggle-collect=*instructions::measured",
            "--dump-after=*instructions::measured",
        ])
        .arg(format!("--callgrind-out-file={}", out.display()))
        .arg(&exe)
        .arg("--measure")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(dir.join("valgrind.log")).map_err(|e| e.to_string())?)
        .status()
        .map_err(|e| format!("cannot run valgrind: {e}"))?;
    if !status.success() {
        return Err(format!(
            "valgrind failed ({status}); see {}",
            dir.join("valgrind.log").display()
        ));
    }
    let dumps = dumps(&out);
    let cases = cases();
    if dumps.len() < cases.len() * MODULES.len() {
        return Err(format!(
            "callgrind wrote {} counts, not {}; see {}",
            dumps.len(),
            cases.len() * MODULES.len(),
            dir.display()
        ));
    }
    let mut counts = Counts::new();
    let mut dumps = dumps.into_iter();
    for case in &cases {
        for (label, ..) in MODULES {
            let total = dumps.next().unwrap_or_default();
            counts
                .entry(case.name.into())
                .or_default()
                .insert(label.into(), total as f64 / EVALUATIONS as f64);
        }
    }
    Ok(counts)
}

/// A ratio the issue set a target for: name, value, target.
struct Ratio {
    name: &'static str,
    value: f64,
    target: f64,
}

fn ratios(counts: &Counts) -> Vec<Ratio> {
    let get = |case: &str, module: &str| {
        counts
            .iter()
            .find(|(name, _)| name.starts_with(case))
            .and_then(|(_, m)| m.get(module))
            .copied()
            .unwrap_or(f64::NAN)
    };
    // What each of the 98 sets that select nothing adds, to the policy and
    // to the floor (which skips their JSON).
    let per_set = |module| (get("3 ", module) - get("1 ", module)) / 98.0;
    vec![
        Ratio {
            name: "2 sets inject: policy / mutating floor",
            value: get("1 ", "policy") / get("1 ", "mutating floor"),
            target: 1.20,
        },
        Ratio {
            name: "no set applies: policy / floor",
            value: get("2 ", "policy") / get("2 ", "floor"),
            target: 1.05,
        },
        Ratio {
            name: "100 realistic sets, 2 inject: policy / mutating floor",
            value: get("3 ", "policy") / get("3 ", "mutating floor"),
            target: 1.30,
        },
        Ratio {
            name: "each set that selects nothing: policy / floor",
            value: per_set("policy") / per_set("floor"),
            target: 1.50,
        },
        // Not a target of the performance issue: what sizing a sidecar from
        // the Pod (issue 14) costs, next to the same Pod without it.
        Ratio {
            name: "a resourcesPolicy: case 4 / case 1, policy",
            value: get("4 ", "policy") / get("1 ", "policy"),
            target: 1.10,
        },
        // Issue 13: every other Pod UPDATE is answered as before, cheaply.
        Ratio {
            name: "a Pod UPDATE that is not an upgrade: policy / floor",
            value: get("5 ", "policy") / get("5 ", "floor"),
            target: 1.05,
        },
    ]
}

fn table(counts: &Counts, ratios: &[Ratio]) -> String {
    let mut out =
        String::from("| case | policy | floor | mutating floor |\n| --- | ---: | ---: | ---: |\n");
    let n = |m: &BTreeMap<String, f64>, k: &str| {
        let v = m.get(k).copied().unwrap_or_default().round() as u64;
        let s = v.to_string();
        let mut grouped = String::new();
        for (i, c) in s.chars().enumerate() {
            if i > 0 && (s.len() - i).is_multiple_of(3) {
                grouped.push(',');
            }
            grouped.push(c);
        }
        grouped
    };
    for (case, m) in counts {
        out.push_str(&format!(
            "| {case} | {} | {} | {} |\n",
            n(m, "policy"),
            n(m, "floor"),
            n(m, "mutating floor")
        ));
    }
    out.push_str("\n| ratio | value | target |\n| --- | ---: | ---: |\n");
    for r in ratios {
        let met = if r.value <= r.target {
            ""
        } else {
            " (not met)"
        };
        out.push_str(&format!(
            "| {} | **{:.2}×** | ≤ {:.2}×{met} |\n",
            r.name, r.value, r.target
        ));
    }
    out.push_str(&format!(
        "\nInstructions per evaluation on policy-server's path (fresh instance, validate, answer parsed, JSON Patch diffed; the payload is serialized once, outside the count, as it costs the host the same whatever the module), counted by callgrind over {EVALUATIONS} evaluations (`make bench`; target/instructions.md).\n"
    ));
    out
}

fn baseline_path() -> PathBuf {
    repo().join("host/benches/instructions-baseline.json")
}

/// The ratios that grew more than [`TOLERANCE`] past the baseline.
fn regressions(ratios: &[Ratio]) -> Result<Vec<String>, String> {
    let path = baseline_path();
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let baseline: BTreeMap<String, f64> =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut grown = Vec::new();
    for r in ratios {
        match baseline.get(r.name) {
            Some(&base) if r.value > base * TOLERANCE => grown.push(format!(
                "{}: {:.3}× is more than {:.0}% past the baseline {base:.3}×",
                r.name,
                r.value,
                (TOLERANCE - 1.0) * 100.0
            )),
            Some(_) => {}
            None => grown.push(format!("{}: not in {}", r.name, path.display())),
        }
    }
    Ok(grown)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let has = |flag: &str| args.iter().any(|a| a == flag);
    if has("--measure") {
        return run_measured();
    }
    // `cargo test --benches` runs this once without --bench: check that every
    // case is answered as intended, without valgrind.
    if !has("--bench") && !has("--check") {
        for case in cases() {
            for (label, default, var) in MODULES {
                let path = module_path(default, var);
                let policy = Policy::load(&path)
                    .unwrap_or_else(|e| panic!("{}: {e} (run `make bench`)", path.display()));
                let answer = policy.evaluate(&case.request, &case.settings);
                assert!(
                    answer.as_ref().is_ok_and(|a| a.allowed),
                    "{}: {label}: {answer:?}",
                    case.name
                );
            }
        }
        return ExitCode::SUCCESS;
    }
    if Command::new("valgrind").arg("--version").output().is_err() {
        println!("instructions: skipped: valgrind is not installed (make tools installs it)");
        return ExitCode::SUCCESS;
    }
    let counts = match count() {
        Ok(counts) => counts,
        Err(e) => {
            eprintln!("instructions: {e}");
            return ExitCode::FAILURE;
        }
    };
    let ratios = ratios(&counts);
    let table = table(&counts, &ratios);
    println!("\n{table}");
    let _ = std::fs::write(repo().join("target/instructions.md"), &table);
    let current: BTreeMap<&str, f64> = ratios
        .iter()
        .map(|r| (r.name, (r.value * 1000.0).round() / 1000.0))
        .collect();
    let _ = std::fs::write(
        work_dir().join("ratios.json"),
        serde_json::to_string_pretty(&json!(current)).unwrap_or_default(),
    );
    if has("--check") {
        match regressions(&ratios) {
            Ok(grown) if grown.is_empty() => {
                println!("instructions: every ratio within 10% of the baseline");
            }
            Ok(grown) => {
                for g in grown {
                    eprintln!("instructions: {g}");
                }
                eprintln!(
                    "instructions: if the growth is deliberate, copy {} to {}",
                    work_dir().join("ratios.json").display(),
                    baseline_path().display()
                );
                return ExitCode::FAILURE;
            }
            Err(e) => {
                eprintln!("instructions: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}
