//! A set's `appContainers`, read by hand from its JSON (a serde derive
//! would add a reader per struct to the module): what the set gives the
//! Pod's own containers. What it does is `crate::app`'s.

use serde_json::Value;

use crate::resources::pattern::Pattern;

/// A set's `appContainers`.
#[derive(Debug, Clone)]
pub struct AppContainers {
    /// The containers it applies to by name (none: all of them).
    pub names: Vec<String>,
    /// Or by a full-match pattern.
    pub name_regex: Option<Pattern>,
    pub env: Vec<Value>,
    pub env_from: Vec<Value>,
    pub volume_mounts: Vec<Value>,
    /// The hash state of the block as given: part of the set's definition.
    pub state: u64,
}

/// The lists of a container an `appContainers` block adds to.
pub const LISTS: [&str; 3] = ["env", "envFrom", "volumeMounts"];

impl AppContainers {
    /// Reads the block at `{at}.appContainers`; absent or null is None.
    /// Each entry is checked for what the policy reads from it (a name, a
    /// mountPath); the rest of the corev1 types by `validate_settings`.
    pub fn read(value: Option<Value>, at: &str) -> Result<Option<AppContainers>, String> {
        let give = "env, envFrom or volumeMounts, and names or nameRegex";
        let Some((fields, path)) = super::read::block(value, at, "appContainers", give)? else {
            return Ok(None);
        };
        let mut read = AppContainers {
            names: Vec::new(),
            name_regex: None,
            env: Vec::new(),
            env_from: Vec::new(),
            volume_mounts: Vec::new(),
            state: crate::provenance::map_state(0xa99, &fields),
        };
        let [env, env_from, volume_mounts] = LISTS;
        let known = ["names", "nameRegex", env, env_from, volume_mounts];
        for (key, value) in fields {
            super::read::known(&key, &path, "appContainers", &known)?;
            let at = format!("{path}.{key}");
            let items = match value {
                Value::Null => continue,
                Value::Array(items) => items,
                Value::String(text) if key == "nameRegex" => {
                    let pattern = Pattern::new(&text).map_err(|e| {
                        format!("{at}: {e}; give a full-match pattern such as web|api-.*")
                    })?;
                    read.name_regex = Some(pattern);
                    continue;
                }
                other => {
                    return Err(format!(
                        "{at}: {other} is not {}",
                        if key == "nameRegex" {
                            "a pattern"
                        } else {
                            "a list"
                        }
                    ));
                }
            };
            let (list, required): (&mut Vec<Value>, &[&str]) = match key.as_str() {
                "names" => {
                    for (i, name) in items.into_iter().enumerate() {
                        match name {
                            Value::String(name) => read.names.push(name),
                            other => {
                                return Err(format!("{at}[{i}]: {other} is not a container name"));
                            }
                        }
                    }
                    continue;
                }
                "env" => (&mut read.env, &["name"]),
                "envFrom" => (&mut read.env_from, &[]),
                // volumeMounts: the keys are known (above).
                _ => (&mut read.volume_mounts, &["name", "mountPath"]),
            };
            for (i, item) in items.into_iter().enumerate() {
                let Value::Object(entry) = &item else {
                    return Err(format!("{at}[{i}]: {item} is not a mapping"));
                };
                for field in required {
                    if !entry.get(*field).is_some_and(Value::is_string) {
                        return Err(format!("{at}[{i}].{field}: required, a string"));
                    }
                }
                list.push(item);
            }
        }
        Ok(Some(read))
    }

    /// Whether the block applies to the app container `name`.
    pub fn selects(&self, name: &str) -> bool {
        match &self.name_regex {
            Some(pattern) => pattern.matches(name),
            None => self.names.is_empty() || self.names.iter().any(|n| n == name),
        }
    }

    /// Every entry the block gives, with its list.
    pub fn entries(&self) -> impl Iterator<Item = (&'static str, &Value)> {
        let [env, env_from, mounts] = LISTS;
        let tag = |list: &'static str| move |entry| (list, entry);
        self.env
            .iter()
            .map(tag(env))
            .chain(self.env_from.iter().map(tag(env_from)))
            .chain(self.volume_mounts.iter().map(tag(mounts)))
    }
}
