//! The end of a Pod's life. Native sidecars stop after the app containers,
//! in reverse start order (the kubelet's rule). Regular sidecars get SIGTERM
//! together with the app: a container's `drainSeconds` becomes a preStop
//! sleep, staggered by the dependsOn graph so that what others depend on
//! stops last, and the Pod's grace period must cover the app's own stop plus
//! the longest of those sleeps. A Pod that runs to completion gets no drain:
//! nothing may keep a Job's Pod alive.

use serde_json::{Map, Value, json};

use crate::order::Placement;
use crate::pod::PodView;
use crate::selector::Applying;
pub use crate::settings::Shutdown;

/// A Pod's grace period when it sets none (the API server's default).
pub const DEFAULT_GRACE_SECONDS: u32 = 30;

/// A Pod's drains.
#[derive(Debug, PartialEq, Eq)]
pub struct Drains {
    /// Each regular sidecar that sleeps before its SIGTERM, and how long.
    pub sleeps: Vec<(String, u32)>,
    /// The longest preStop sleep of the Pod's own containers: the app's
    /// own stop, as the Pod declares it.
    pub app_stop: u32,
    /// The Pod's grace period (its terminationGracePeriodSeconds).
    pub grace: u32,
    /// What it is raised to (shutdown.extendGracePeriod).
    pub raise_to: Option<u32>,
}

/// No drains, in a Pod with the default grace period.
impl Default for Drains {
    fn default() -> Self {
        Drains {
            sleeps: Vec::new(),
            app_stop: 0,
            grace: DEFAULT_GRACE_SECONDS,
            raise_to: None,
        }
    }
}

/// The seconds of a preStop sleep hook in a container `spec`.
fn pre_stop_sleep(spec: &Map<String, Value>) -> Option<u64> {
    spec.get("lifecycle")?
        .get("preStop")?
        .get("sleep")?
        .get("seconds")?
        .as_u64()
}

impl Drains {
    /// The drains of the `applying` sets' regular sidecars in `pod`: each
    /// one's drainSeconds plus the longest sleep of the regular sidecars
    /// that depend on it, directly or not.
    pub fn of(applying: &[Applying], pod: &PodView) -> Drains {
        // A negative grace period passes validation (the kubelet reads it
        // as 1 s), but no sleep is within it: taken as 0.
        let grace = match pod.spec.get("terminationGracePeriodSeconds") {
            Some(g) if g.as_i64().is_some_and(|g| g < 0) => 0,
            g => g
                .and_then(Value::as_u64)
                .map_or(DEFAULT_GRACE_SECONDS, |g| g.min(u64::from(u32::MAX)) as u32),
        };
        let mut drains = Drains {
            grace,
            ..Drains::default()
        };
        let drains_any = |a: &Applying| a.set.containers.iter().any(|c| c.drain_seconds.is_some());
        if pod.runs_to_completion() || !applying.iter().any(drains_any) {
            return drains;
        }
        // (name, drain, what it depends on) of each regular sidecar.
        let mut items = Vec::new();
        for a in applying {
            for (c, placement, after) in a.set.items_with_dependencies(a.native) {
                if matches!(placement, Placement::Leading | Placement::Trailing) {
                    items.push((c.name(), c.drain_seconds.unwrap_or(0), after));
                }
            }
        }
        let mut sleeps: Vec<u32> = items.iter().map(|(_, drain, _)| *drain).collect();
        // Longest paths in an acyclic graph (validate_settings refuses
        // cycles): as many passes as there are items at most.
        for _ in 0..items.len() {
            let mut changed = false;
            for (d, (_, _, after)) in items.iter().enumerate() {
                let sleep = sleeps.get(d).copied().unwrap_or(0);
                for dep in after.iter() {
                    let found = items.iter().enumerate().find(|(_, (name, ..))| name == dep);
                    if let Some((j, (_, drain, _))) = found {
                        let want = drain.saturating_add(sleep);
                        if let Some(slot) = sleeps.get_mut(j)
                            && want > *slot
                        {
                            *slot = want;
                            changed = true;
                        }
                    }
                }
            }
            if !changed {
                break;
            }
        }
        drains.sleeps = items
            .iter()
            .zip(sleeps)
            .filter(|(_, sleep)| *sleep > 0)
            .map(|((name, ..), sleep)| (name.to_string(), sleep))
            .collect();
        if !drains.sleeps.is_empty() {
            let named: Vec<&str> = items.iter().map(|(name, ..)| *name).collect();
            drains.app_stop = pod
                .containers
                .iter()
                .filter(|c| !named.contains(&c.name))
                .filter_map(|c| pre_stop_sleep(c.spec))
                .max()
                .map_or(0, |s| s.min(u64::from(u32::MAX)) as u32);
        }
        drains
    }

    /// The longest sleep, and whose.
    fn longest(&self) -> Option<&(String, u32)> {
        self.sleeps.iter().max_by_key(|(_, s)| *s)
    }

    /// The grace period the drains need: the app's own stop plus the
    /// longest drain chain.
    pub fn need(&self) -> u32 {
        self.longest()
            .map_or(0, |(_, s)| s.saturating_add(self.app_stop))
    }

    /// Fits the drains into the grace period: raised where a set with
    /// drains says `extendGracePeriod` (up to the smallest
    /// `maxGracePeriodSeconds` of those sets; above it, an error), else a
    /// warning. A sleep is capped at the grace period, which the API server
    /// requires of a preStop sleep.
    pub fn fit(&mut self, applying: &[Applying], warnings: &mut Vec<String>) -> Result<(), String> {
        let need = self.need();
        if need <= self.grace {
            return Ok(());
        }
        let draining = |a: &&Applying| {
            a.items()
                .any(|(c, _)| self.sleeps.iter().any(|(n, _)| n == c.name()))
        };
        let extending: Vec<&Applying> = applying
            .iter()
            .filter(draining)
            .filter(|a| a.set.shutdown.extend_grace_period)
            .collect();
        let (name, longest) = self.longest().cloned().unwrap_or_default();
        let why = format!(
            "the app's own stop ({} s, the longest preStop sleep of its containers) plus the longest drain ({name}: {longest} s) needs {need} s",
            self.app_stop
        );
        let bound = extending
            .iter()
            .filter_map(|a| a.set.shutdown.max_grace_period_seconds.map(|m| (m, a)))
            .min_by_key(|(m, _)| *m);
        if let Some((bound, a)) = bound
            && need > bound
        {
            return Err(format!(
                "sidecar set {:?}: the Pod's terminationGracePeriodSeconds would have to be raised from {} to {need} ({why}), above the set's shutdown.maxGracePeriodSeconds {bound}; shorten the drains (drainSeconds) or the Pod's preStop sleep, or raise the bound",
                a.set.name, self.grace
            ));
        }
        if let Some(first) = extending.first() {
            warnings.push(format!(
                "sidecar set {}: terminationGracePeriodSeconds raised from {} to {need} (shutdown.extendGracePeriod): {why}",
                first.set.name, self.grace
            ));
            self.raise_to = Some(need);
            self.grace = need;
            return Ok(());
        }
        let sets: Vec<&str> = applying
            .iter()
            .filter(draining)
            .map(|a| a.set.name.as_str())
            .collect();
        // A sleep of 0 s is refused before 1.33 (PodLifecycleSleepActionAllowZero).
        let capped = if self.grace == 0 {
            "no preStop sleep is added (the API server refuses a sleep of 0 s before v1.33)"
                .to_string()
        } else {
            format!("the preStop sleeps are capped at {} s", self.grace)
        };
        warnings.push(format!(
            "terminationGracePeriodSeconds {} does not cover the sidecars' drains: {why}; {capped}; raise the Pod's terminationGracePeriodSeconds, or set shutdown.extendGracePeriod: true in sidecar set {}",
            self.grace,
            sets.join(", ")
        ));
        // The sleeps are capped where they are read (`sleep`).
        Ok(())
    }

    /// The preStop sleep `name` gets, if any.
    pub fn sleep(&self, name: &str) -> Option<u32> {
        self.sleeps
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, s)| (*s).min(self.grace))
            .filter(|s| *s > 0)
    }

    /// Adds the preStop sleep of `name` to its entry, unless the set gives
    /// the container a preStop of its own (which wins).
    pub fn add_sleep(&self, entry: &mut Value, name: &str) {
        let Some(seconds) = self.sleep(name) else {
            return;
        };
        let Some(map) = entry.as_object_mut() else {
            return;
        };
        let lifecycle = map.entry("lifecycle").or_insert(Value::Null);
        if !lifecycle.is_object() {
            *lifecycle = Value::Object(Map::new());
        }
        if let Value::Object(lifecycle) = lifecycle
            && lifecycle.get("preStop").is_none_or(Value::is_null)
        {
            lifecycle.insert("preStop".into(), json!({"sleep": {"seconds": seconds}}));
        }
    }

    /// One line: the containers that get SIGTERM at once (a regular
    /// sidecar's preStop sleep named), then the native sidecars in reverse
    /// start order, each once the later ones have stopped; the grace period.
    pub fn describe(&self, spec: &Map<String, Value>) -> String {
        let list = |key: &str| match spec.get(key) {
            Some(Value::Array(list)) => list.as_slice(),
            _ => &[],
        };
        let name = crate::order::entry_name;
        let mut line = String::from("stop order: [");
        for (i, entry) in list("containers").iter().enumerate() {
            if i > 0 {
                line.push_str(", ");
            }
            line.push_str(name(entry));
            if let Some(seconds) = entry.as_object().and_then(pre_stop_sleep) {
                line.push_str(&format!(" (preStop sleep {seconds} s)"));
            }
        }
        line.push_str("] get SIGTERM together");
        let mut native = list("initContainers")
            .iter()
            .rev()
            .filter(|e| e.get("restartPolicy").and_then(Value::as_str) == Some("Always"))
            .peekable();
        if native.peek().is_some() {
            line.push_str(", then the native sidecars in reverse start order: ");
            let names: Vec<&str> = native.map(name).collect();
            line.push_str(&names.join(" → "));
        }
        line.push_str(&format!(
            "; terminationGracePeriodSeconds {}",
            self.raise_to.unwrap_or(self.grace)
        ));
        if !self.sleeps.is_empty() {
            line.push_str(&format!(" (the drains need {})", self.need()));
        }
        line
    }
}

#[cfg(test)]
mod tests;
