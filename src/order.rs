//! Start order: compiles `dependsOn` edges into the one linear order the
//! kubelet honours (it starts init containers, then containers, in list order).
//!
//! Pure graph code over names; which names exist and in which list they go is
//! decided by the callers (`settings` for cycles, `inject` for Pods).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use serde_json::{Map, Value};

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
