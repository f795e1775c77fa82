//! Where the cost of one evaluation goes (README "Performance"): each step of
//! policy-server's path timed on its own, for the policy and the floor, on
//! the ReplicaSet fixture with the example settings, plus the policy's own
//! code run natively (allocations, and a loop for callgrind).
//!
//!   make policy.wasm target/floor.wasm
//!   cargo run --profile host -p host --example cost
//!   valgrind --tool=callgrind target/host/examples/cost native-loop
//!   valgrind --tool=callgrind target/host/examples/cost fresh-loop policy.wasm 100

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::time::Instant;

use host::{Policy, read_policy_resources, read_request};
use serde_json::{Value, json};

/// Counts allocations, to show what the guest code allocates natively.
struct Counting;
static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);
static BYTES: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Relaxed);
        BYTES.fetch_add(layout.size(), Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn time(label: &str, f: &mut dyn FnMut()) {
    const N: u32 = 2000;
    for _ in 0..200 {
        f();
    }
    let start = Instant::now();
    for _ in 0..N {
        f();
    }
    let us = start.elapsed().as_secs_f64() * 1e6 / f64::from(N);
    println!("{label:<52} {us:>8.1} µs");
}

fn allocations(label: &str, f: &mut dyn FnMut()) {
    let (a, b) = (ALLOCATIONS.load(Relaxed), BYTES.load(Relaxed));
    f();
    println!(
        "{label:<52} {:>5} allocations, {:>6} bytes",
        ALLOCATIONS.load(Relaxed) - a,
        BYTES.load(Relaxed) - b
    );
}

fn main() {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let settings = read_policy_resources(&repo.join("examples/cluster-admission-policy.yaml"))
        .unwrap()
        .remove(0)
        .settings;
    let request =
        read_request(&repo.join("test_data/requests/pod-replicaset-create.json")).unwrap();
    let payload = serde_json::to_vec(&json!({"request": request, "settings": settings})).unwrap();
    let no_settings = serde_json::to_vec(&json!({"request": request, "settings": {}})).unwrap();

    if std::env::args().nth(1).as_deref() == Some("native-loop") {
        // For valgrind --tool=callgrind: the policy's own code, 200 times;
        // with SETS, on the benchmarks' case of that many realistic sets.
        let payload = match std::env::args().nth(2).and_then(|n| n.parse().ok()) {
            Some(sets) => serde_json::to_vec(
                &json!({"request": request, "settings": host::cases::settings_with_sets(sets)}),
            )
            .unwrap(),
            None => payload,
        };
        for _ in 0..200 {
            sidecarset_policy::admission::decide(&payload).into_response();
        }
        return;
    }

    if std::env::args().nth(1).as_deref() == Some("fresh-loop") {
        // For callgrind or strace: COUNT evaluations of MODULE on
        // policy-server's path (fresh instance, validate, diff). Callgrind
        // with COUNT 0 gives the cost of loading, to subtract.
        let module = std::env::args()
            .nth(2)
            .unwrap_or_else(|| "policy.wasm".into());
        let count: usize = std::env::args()
            .nth(3)
            .and_then(|n| n.parse().ok())
            .unwrap_or(1000);
        let policy = Policy::load(&repo.join(module)).unwrap();
        for _ in 0..count {
            policy.evaluate(&request, &settings).unwrap();
        }
        return;
    }
    let policy = Policy::load(&repo.join("policy.wasm")).unwrap();
    let floor = Policy::load(&repo.join("target/floor.wasm")).unwrap();
    let answer = policy
        .instance()
        .unwrap()
        .call("validate", &payload)
        .unwrap();
    println!(
        "payload {} bytes; the policy's answer {} bytes (it carries the mutated Pod)\n",
        payload.len(),
        answer.len()
    );
    let warm_policy = policy.instance().unwrap();
    let warm_floor = floor.instance().unwrap();
    time("instantiate (policy)", &mut || {
        policy.instance().unwrap();
    });
    time("instantiate (floor)", &mut || {
        floor.instance().unwrap();
    });
    time("host: serialize the payload", &mut || {
        serde_json::to_vec(&json!({"request": request, "settings": settings})).unwrap();
    });
    time("guest validate, fresh instance (policy)", &mut || {
        policy
            .instance()
            .unwrap()
            .call("validate", &payload)
            .unwrap();
    });
    time("guest validate, fresh instance (floor)", &mut || {
        floor
            .instance()
            .unwrap()
            .call("validate", &payload)
            .unwrap();
    });
    time("guest validate, warm (policy)", &mut || {
        warm_policy.call("validate", &payload).unwrap();
    });
    time("guest validate, warm (floor)", &mut || {
        warm_floor.call("validate", &payload).unwrap();
    });
    time("guest validate, warm, empty settings (policy)", &mut || {
        warm_policy.call("validate", &no_settings).unwrap();
    });
    let parsed: Value = serde_json::from_slice(&answer).unwrap();
    let mutated = parsed["mutated_object"].clone();
    time("host: parse the answer (policy)", &mut || {
        let _: Value = serde_json::from_slice(&answer).unwrap();
    });
    time("host: JSON Patch diff (policy)", &mut || {
        json_patch::diff(&request["object"], &mutated);
    });
    println!();
    time(
        "native: decide (policy code, settings, inject)",
        &mut || {
            sidecarset_policy::admission::decide(&payload);
        },
    );
    time("native: decide, empty settings", &mut || {
        sidecarset_policy::admission::decide(&no_settings);
    });
    time("native: parse the payload as a JSON tree", &mut || {
        let _: Value = serde_json::from_slice(&payload).unwrap();
    });
    allocations("native: decide", &mut || {
        sidecarset_policy::admission::decide(&payload);
    });
    allocations("native: decide, empty settings", &mut || {
        sidecarset_policy::admission::decide(&no_settings);
    });
    allocations("native: parse the payload as a JSON tree", &mut || {
        let _: Value = serde_json::from_slice(&payload).unwrap();
    });
}
