//! Placement and start order: where an injected container goes, which start
//! phase that is, what each `dependsOn` edge waits for, and the one linear
//! order the kubelet honours (it starts init containers, then containers, in
//! list order). Injection puts a Pod's lists in that order
//! ([`put_in_start_order`]); verify mode checks a Pod against it
//! ([`starts_too_early`]); validate_settings refuses cycles ([`Graph`]).

use std::borrow::Cow;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};

use serde_json::{Map, Value};

use crate::pod::ContainerView;

/// Where an injected container goes in the Pod.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// `spec.initContainers`, runs to completion.
    Init,
    /// `spec.initContainers` with `restartPolicy: Always`.
    NativeSidecar,
    /// `spec.containers`, before the Pod's own (regular mode).
    Leading,
    /// `spec.containers`, after the Pod's own (AfterAppContainer).
    Trailing,
}

impl Placement {
    /// Start phase: every init container (0) starts before any container
    /// (1, 2), and leading containers come before the app's, trailing after.
    pub fn phase(self) -> u8 {
        match self {
            Placement::Init | Placement::NativeSidecar => 0,
            Placement::Leading => 1,
            Placement::Trailing => 2,
        }
    }

    pub fn in_init_containers(self) -> bool {
        self.phase() == 0
    }

    /// How a message names it.
    pub fn describe(self) -> &'static str {
        match self {
            Placement::Init => "an init container",
            Placement::NativeSidecar => {
                "a native sidecar (an init container with restartPolicy: Always)"
            }
            Placement::Leading => "a regular sidecar in spec.containers (nativeSidecars: false)",
            Placement::Trailing => {
                "a container after the app containers (podInjectPolicy: AfterAppContainer)"
            }
        }
    }
}

/// What an edge `a dependsOn b` waits for: the kubelet starts `a` once
/// `b` has started, unless `b` holds the next container back: a native
/// sidecar until its startupProbe passes and its postStart hook returns, a
/// regular container until its postStart hook returns, an init container
/// that runs to completion until it has completed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    Started,
    Ready,
    Completed,
}

impl Wait {
    /// For the Pod entry `entry`, in `spec.initContainers` (`in_init`) or
    /// `spec.containers`.
    pub fn of(entry: &Map<String, Value>, in_init: bool) -> Wait {
        let set = |v: Option<&Value>| v.is_some_and(|v| !v.is_null());
        let post_start = set(entry.get("lifecycle").and_then(|l| l.get("postStart")));
        let native = entry.get("restartPolicy").and_then(Value::as_str) == Some("Always");
        match (in_init, native) {
            (true, false) => Wait::Completed,
            (true, true) if set(entry.get("startupProbe")) || post_start => Wait::Ready,
            (false, _) if post_start => Wait::Ready,
            _ => Wait::Started,
        }
    }

    /// "started", "ready" or "completed".
    pub fn word(self) -> &'static str {
        match self {
            Wait::Started => "started",
            Wait::Ready => "ready",
            Wait::Completed => "completed",
        }
    }

    /// "has started", "is ready" or "has completed".
    pub fn phrase(self) -> &'static str {
        match self {
            Wait::Started => "has started",
            Wait::Ready => "is ready",
            Wait::Completed => "has completed",
        }
    }
}

/// One entry of a list to order.
#[derive(Debug, Clone, Copy)]
pub struct Node<'a> {
    pub name: &'a str,
    /// Names this entry starts after; names that are not nodes are ignored
    /// here (the caller decides whether that deserves a warning).
    pub depends_on: &'a [String],
    /// The Pod's own entries keep their relative order.
    pub fixed: bool,
}

/// Nodes with their dependencies resolved to indices.
pub struct Graph<'a> {
    nodes: &'a [Node<'a>],
    /// deps[i]: the nodes i starts after.
    deps: Vec<Vec<usize>>,
}

impl<'a> Graph<'a> {
    pub fn new(nodes: &'a [Node<'a>]) -> Graph<'a> {
        let mut index: HashMap<&str, usize> = HashMap::with_capacity(nodes.len());
        for (i, node) in nodes.iter().enumerate() {
            index.entry(node.name).or_insert(i);
        }
        let mut deps: Vec<Vec<usize>> = nodes
            .iter()
            .enumerate()
            .map(|(i, node)| {
                node.depends_on
                    .iter()
                    .filter_map(|d| index.get(d.as_str()).copied())
                    .filter(|&j| j != i)
                    .collect()
            })
            .collect();
        // Each fixed node starts after the fixed node before it.
        let mut previous_fixed = None;
        for (i, node) in nodes.iter().enumerate() {
            if node.fixed {
                if let (Some(p), Some(list)) = (previous_fixed, deps.get_mut(i)) {
                    list.push(p);
                }
                previous_fixed = Some(i);
            }
        }
        Graph { nodes, deps }
    }

    pub fn name(&self, i: usize) -> &'a str {
        self.nodes.get(i).map_or("", |n| n.name)
    }

    /// A topological order (as node indices): every node after the nodes it
    /// depends on; among the nodes free to go next, the lowest index first,
    /// so that without edges the order is the input order. Err holds a cycle.
    pub fn order(&self) -> Result<Vec<usize>, Vec<usize>> {
        let n = self.nodes.len();
        let mut indegree = vec![0usize; n];
        let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); n];
        for (i, deps) in self.deps.iter().enumerate() {
            for &d in deps {
                if let (Some(count), Some(list)) = (indegree.get_mut(i), dependents.get_mut(d)) {
                    *count += 1;
                    list.push(i);
                }
            }
        }
        let mut ready: BinaryHeap<Reverse<usize>> = indegree
            .iter()
            .enumerate()
            .filter(|(_, d)| **d == 0)
            .map(|(i, _)| Reverse(i))
            .collect();
        let mut order = Vec::with_capacity(n);
        while let Some(Reverse(i)) = ready.pop() {
            order.push(i);
            for &j in dependents.get(i).map_or(&[][..], Vec::as_slice) {
                if let Some(count) = indegree.get_mut(j) {
                    *count -= 1;
                    if *count == 0 {
                        ready.push(Reverse(j));
                    }
                }
            }
        }
        if order.len() == n {
            Ok(order)
        } else {
            Err(self.cycles().into_iter().next().unwrap_or_default())
        }
    }

    /// Every cycle found by one depth-first pass, each as the path
    /// `a → b → … → a` (a depends on b …), one per back edge.
    pub fn cycles(&self) -> Vec<Vec<usize>> {
        const WHITE: u8 = 0;
        const ON_PATH: u8 = 1;
        const DONE: u8 = 2;
        let n = self.nodes.len();
        let mut color = vec![WHITE; n];
        let mut cycles = Vec::new();
        for start in 0..n {
            if color.get(start) != Some(&WHITE) {
                continue;
            }
            // Iterative, so that a long chain cannot exhaust the wasm stack.
            let mut path: Vec<(usize, usize)> = vec![(start, 0)];
            if let Some(c) = color.get_mut(start) {
                *c = ON_PATH;
            }
            while let Some((node, next)) = path.last_mut() {
                let node = *node;
                let Some(&dep) = self.deps.get(node).and_then(|d| d.get(*next)) else {
                    if let Some(c) = color.get_mut(node) {
                        *c = DONE;
                    }
                    path.pop();
                    continue;
                };
                *next += 1;
                match color.get(dep) {
                    Some(&WHITE) => {
                        if let Some(c) = color.get_mut(dep) {
                            *c = ON_PATH;
                        }
                        path.push((dep, 0));
                    }
                    Some(&ON_PATH) => {
                        let from = path.iter().position(|(p, _)| *p == dep).unwrap_or(0);
                        let mut cycle: Vec<usize> = path
                            .get(from..)
                            .unwrap_or_default()
                            .iter()
                            .map(|(p, _)| *p)
                            .collect();
                        cycle.push(dep);
                        cycles.push(cycle);
                    }
                    _ => {}
                }
            }
        }
        cycles
    }

    /// `a → b → a`, for a message.
    pub fn describe(&self, path: &[usize]) -> String {
        path.iter()
            .map(|&i| self.name(i))
            .collect::<Vec<_>>()
            .join(" → ")
    }
}

/// An injected item of an applying set, as the start order sees it.
pub struct Item<'s> {
    pub name: &'s str,
    pub set: &'s str,
    /// Its dependsOn and the implicit edges (`items_with_dependencies`).
    pub depends_on: Cow<'s, [String]>,
    pub placement: Placement,
}

/// Takes the entries of `items` out of `list`, in the order of `items`;
/// what stays in `list` (the Pod's own entries) keeps its order.
fn extract<'i, 's>(list: &mut Vec<Value>, items: &[&'i Item<'s>]) -> Vec<(Value, &'i Item<'s>)> {
    let position: HashMap<&str, usize> = list
        .iter()
        .enumerate()
        .map(|(i, e)| (entry_name(e), i))
        .rev() // the first entry of a name wins
        .collect();
    let wanted: Vec<(usize, &Item)> = items
        .iter()
        .filter_map(|item| position.get(item.name).map(|&i| (i, *item)))
        .collect();
    if wanted.is_empty() {
        return Vec::new();
    }
    let mut slots: Vec<Option<Value>> = std::mem::take(list).into_iter().map(Some).collect();
    let taken = wanted
        .into_iter()
        .filter_map(|(i, item)| Some((slots.get_mut(i)?.take()?, item)))
        .collect();
    list.extend(slots.into_iter().flatten());
    taken
}

/// Sorts `entries` (in their default order) so that each comes after the
/// entries it depends on; `fixed` ones (the Pod's own) keep their relative
/// order. A dependency on a name that is not among them is ignored here.
fn sort(entries: Vec<(Value, &[String], bool)>) -> Result<Vec<Value>, String> {
    let names: Vec<&str> = entries.iter().map(|(e, ..)| entry_name(e)).collect();
    let nodes: Vec<Node> = entries
        .iter()
        .zip(&names)
        .map(|((_, depends_on, fixed), name)| Node {
            name,
            depends_on,
            fixed: *fixed,
        })
        .collect();
    let graph = Graph::new(&nodes);
    let order = graph.order().map_err(|cycle| {
        format!(
            "dependsOn cycle: {}; fix the policy's settings (validate_settings refuses them)",
            graph.describe(&cycle)
        )
    })?;
    drop(nodes);
    let mut slots: Vec<Option<Value>> = entries.into_iter().map(|(e, ..)| Some(e)).collect();
    Ok(order
        .into_iter()
        .filter_map(|i| slots.get_mut(i).and_then(Option::take))
        .collect())
}

fn as_entries<'i>(taken: Vec<(Value, &'i Item)>) -> Vec<(Value, &'i [String], bool)> {
    taken
        .into_iter()
        .map(|(e, item)| (e, &*item.depends_on, false))
        .collect()
}

/// Puts spec.initContainers and spec.containers in start order: the
/// applying sets' items by their dependencies (ties: settings order), then
/// the Pod's own init containers in their order, an item that depends on
/// one of those after it; leading sidecars before the Pod's own containers
/// and trailing ones after them.
pub fn put_in_start_order(spec: &mut Map<String, Value>, items: &[Item]) -> Result<(), String> {
    let in_phase = |phase: u8| -> Vec<&Item> {
        items
            .iter()
            .filter(|i| i.placement.phase() == phase)
            .collect()
    };
    if let Some(Value::Array(init)) = spec.get_mut("initContainers") {
        let mut entries = as_entries(extract(init, &in_phase(0)));
        entries.extend(std::mem::take(init).into_iter().map(|e| (e, &[][..], true)));
        *init = sort(entries)?;
    }
    if let Some(Value::Array(containers)) = spec.get_mut("containers") {
        let leading = extract(containers, &in_phase(1));
        let trailing = extract(containers, &in_phase(2));
        let own = std::mem::take(containers);
        containers.extend(sort(as_entries(leading))?);
        containers.extend(own);
        containers.extend(sort(as_entries(trailing))?);
    }
    Ok(())
}

/// Whether `spec`'s init containers and containers are already in the start
/// order [`put_in_start_order`] puts them in (compared by name: only names
/// are copied).
pub fn is_in_start_order(spec: &Map<String, Value>, items: &[Item]) -> bool {
    let names = |key: &str| -> Vec<Value> {
        match spec.get(key) {
            Some(Value::Array(list)) => list
                .iter()
                .map(|e| {
                    let mut entry = Map::new();
                    entry.insert("name".into(), Value::String(entry_name(e).to_string()));
                    Value::Object(entry)
                })
                .collect(),
            _ => Vec::new(),
        }
    };
    let mut light = Map::new();
    light.insert(
        "initContainers".into(),
        Value::Array(names("initContainers")),
    );
    light.insert("containers".into(), Value::Array(names("containers")));
    let before = light.clone();
    put_in_start_order(&mut light, items).is_ok() && light == before
}

/// Dependencies that no entry of this Pod satisfies: each is dropped, with a
/// warning naming it. A dependency is satisfied by an applying set's item in
/// the same or an earlier phase, or by one of the Pod's init containers.
pub fn dropped_dependencies(spec: &Map<String, Value>, items: &[Item]) -> Vec<String> {
    let init_names: HashSet<&str> = match spec.get("initContainers") {
        Some(Value::Array(list)) => list.iter().map(entry_name).collect(),
        _ => HashSet::new(),
    };
    let phase_of: HashMap<&str, u8> = items
        .iter()
        .map(|i| (i.name, i.placement.phase()))
        .collect();
    let mut warnings = Vec::new();
    for item in items {
        for dep in item.depends_on.iter() {
            let satisfied = match phase_of.get(dep.as_str()) {
                Some(&phase) => phase <= item.placement.phase(),
                None => init_names.contains(dep.as_str()),
            };
            if !satisfied {
                warnings.push(format!(
                    "dependency dropped: {} (sidecar set {}) depends on {dep}, which is not an init container or earlier sidecar of this Pod",
                    item.name, item.set
                ));
            }
        }
    }
    warnings
}

/// One line: init containers in order, then the containers the kubelet
/// starts together in list order; then, for each dependsOn edge (written or
/// implicit) that the Pod holds, whether it waits until the dependency has
/// started, is ready or has completed.
pub fn describe_start_order(spec: &Map<String, Value>, items: &[Item]) -> String {
    let list = |key: &str| match spec.get(key) {
        Some(Value::Array(list)) => list.as_slice(),
        _ => &[],
    };
    let init: Vec<String> = list("initContainers")
        .iter()
        .map(|e| {
            let native = e.get("restartPolicy").and_then(Value::as_str) == Some("Always");
            if native {
                format!("{} (sidecar)", entry_name(e))
            } else {
                entry_name(e).to_string()
            }
        })
        .collect();
    let containers: Vec<&str> = list("containers").iter().map(entry_name).collect();
    let mut line = String::from("start order: ");
    for name in &init {
        line.push_str(name);
        line.push_str(" → ");
    }
    line.push('[');
    line.push_str(&containers.join(", "));
    line.push(']');
    // What each dependsOn edge waits for.
    let entries: Vec<(&Map<String, Value>, bool)> = list("initContainers")
        .iter()
        .filter_map(|e| Some((e.as_object()?, true)))
        .chain(
            list("containers")
                .iter()
                .filter_map(|e| Some((e.as_object()?, false))),
        )
        .collect();
    for item in items {
        for dep in item.depends_on.iter() {
            let named = |(e, _): &&(&Map<String, Value>, bool)| {
                e.get("name").and_then(Value::as_str) == Some(dep.as_str())
            };
            if let Some((entry, in_init)) = entries.iter().find(named) {
                let wait = Wait::of(entry, *in_init);
                line.push_str(&format!("; {} after {dep} {}", item.name, wait.phrase()));
            }
        }
    }
    line
}

/// Where an entry starts: init containers first, then containers, each in
/// list order.
fn position(entry: &ContainerView) -> (u8, usize) {
    (u8::from(entry.list != "initContainers"), entry.index)
}

/// What verify mode reports when the Pod's `entry` starts before
/// `dependency`, an entry it depends on.
pub fn starts_too_early(entry: &ContainerView, dependency: &ContainerView) -> Option<String> {
    if position(dependency) <= position(entry) {
        return None;
    }
    let wait = Wait::of(dependency.spec, dependency.list == "initContainers");
    let (name, dep) = (entry.name, dependency.name);
    Some(format!(
        "{name} starts before its dependency {dep} (a \"{}\" edge: {name} must start once {dep} {})",
        wait.word(),
        wait.phrase()
    ))
}

/// The `name` of a Pod list entry ("" when it has none).
pub fn entry_name(entry: &Value) -> &str {
    entry
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    /// "name:dep,dep" or "=name" for a fixed node.
    fn nodes(spec: &[&str]) -> (Vec<String>, Vec<Vec<String>>, Vec<bool>) {
        let mut names = Vec::new();
        let mut deps = Vec::new();
        let mut fixed = Vec::new();
        for s in spec {
            let (is_fixed, s) = match s.strip_prefix('=') {
                Some(rest) => (true, rest),
                None => (false, *s),
            };
            let (name, d) = s.split_once(':').unwrap_or((s, ""));
            names.push(name.to_string());
            deps.push(
                d.split(',')
                    .filter(|x| !x.is_empty())
                    .map(String::from)
                    .collect(),
            );
            fixed.push(is_fixed);
        }
        (names, deps, fixed)
    }

    fn run(spec: &[&str]) -> Result<String, String> {
        let (names, deps, fixed) = nodes(spec);
        let nodes: Vec<Node> = (0..names.len())
            .map(|i| Node {
                name: &names[i],
                depends_on: &deps[i],
                fixed: fixed[i],
            })
            .collect();
        let graph = Graph::new(&nodes);
        graph
            .order()
            .map(|o| graph.describe(&o))
            .map_err(|c| graph.describe(&c))
    }

    #[rstest]
    #[case::no_edges(&["a", "b", "=own1", "=own2"], "a → b → own1 → own2")]
    #[case::classic(&["envoy", "mysql-client:envoy", "=app-init"], "envoy → mysql-client → app-init")]
    #[case::reversed_declaration(&["mysql-client:envoy", "envoy"], "envoy → mysql-client")]
    #[case::diamond(&["d:b,c", "c:a", "b:a", "a"], "a → c → b → d")]
    #[case::after_own(&["fluent-bit:db-migrate", "log-init", "=cloud-sql-proxy", "=db-migrate"],
        "log-init → cloud-sql-proxy → db-migrate → fluent-bit")]
    #[case::transitively_after_own(&["x:db-migrate", "y:x", "z", "=cloud-sql-proxy", "=db-migrate"],
        "z → cloud-sql-proxy → db-migrate → x → y")]
    #[case::own_keep_order_even_if_listed_later(&["=b", "=a", "c:a"], "b → a → c")]
    #[case::unknown_dependency_ignored(&["a:nowhere", "b"], "a → b")]
    #[case::self_dependency_ignored(&["a:a"], "a")]
    fn orders(#[case] spec: &[&str], #[case] expected: &str) {
        assert_eq!(run(spec).unwrap(), expected);
    }

    #[rstest]
    #[case::two(&["envoy:schema-check", "schema-check:envoy"], "envoy → schema-check → envoy")]
    #[case::three(&["a", "b:c", "c:d", "d:b"], "b → c → d → b")]
    fn cycles_are_reported(#[case] spec: &[&str], #[case] expected: &str) {
        assert_eq!(run(spec).unwrap_err(), expected);
    }

    #[test]
    fn a_long_chain_does_not_recurse() {
        let n = 100_000;
        let names: Vec<String> = (0..n).map(|i| format!("c{i}")).collect();
        let deps: Vec<Vec<String>> = (0..n)
            .map(|i| {
                if i + 1 < n {
                    vec![names[i + 1].clone()]
                } else {
                    vec![]
                }
            })
            .collect();
        let nodes: Vec<Node> = (0..n)
            .map(|i| Node {
                name: &names[i],
                depends_on: &deps[i],
                fixed: false,
            })
            .collect();
        let graph = Graph::new(&nodes);
        assert!(graph.cycles().is_empty());
        let order = graph.order().unwrap();
        assert_eq!(order.first(), Some(&(n - 1)));
    }
}
