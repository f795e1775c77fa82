//! kubectl's label selector syntax (`-l`), matched here as the API server
//! matches it, so that files (`-f`) are narrowed as a cluster list is; and
//! `--namespace-labels k=v,…`.

use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Requirement {
    Equals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    DoesNotExist(String),
}

/// A parsed `-l` selector: every requirement must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selector {
    requirements: Vec<Requirement>,
    text: String,
}

/// Splits at commas outside parentheses.
fn split(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

fn set_of(rest: &str) -> Option<Vec<String>> {
    let inner = rest.trim().strip_prefix('(')?.strip_suffix(')')?;
    Some(inner.split(',').map(|v| v.trim().to_string()).collect())
}

impl Selector {
    pub fn parse(text: &str) -> Result<Selector, String> {
        let mut requirements = Vec::new();
        for part in split(text)
            .into_iter()
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            let bad = || {
                format!(
                    "-l {text:?}: {part:?} is not a requirement kubectl takes (key=value, key!=value, key in (a,b), key notin (a,b), key, !key)"
                )
            };
            let requirement = if let Some(key) = part.strip_prefix('!') {
                Requirement::DoesNotExist(key.trim().to_string())
            } else if let Some((key, value)) = part.split_once("!=") {
                Requirement::NotEquals(key.trim().into(), value.trim().into())
            } else if let Some((key, value)) =
                part.split_once("==").or_else(|| part.split_once('='))
            {
                Requirement::Equals(key.trim().into(), value.trim().into())
            } else if let Some((key, rest)) = part.split_once(" notin ") {
                Requirement::NotIn(key.trim().into(), set_of(rest).ok_or_else(bad)?)
            } else if let Some((key, rest)) = part.split_once(" in ") {
                Requirement::In(key.trim().into(), set_of(rest).ok_or_else(bad)?)
            } else if part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
            {
                Requirement::Exists(part.to_string())
            } else {
                return Err(bad());
            };
            requirements.push(requirement);
        }
        Ok(Selector {
            requirements,
            text: text.to_string(),
        })
    }

    /// The selector as given, for the API server's labelSelector.
    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn matches(&self, labels: &Map<String, Value>) -> bool {
        let get = |k: &str| labels.get(k).and_then(Value::as_str);
        self.requirements.iter().all(|r| match r {
            Requirement::Equals(k, v) => get(k) == Some(v.as_str()),
            Requirement::NotEquals(k, v) => get(k) != Some(v.as_str()),
            Requirement::In(k, vs) => get(k).is_some_and(|x| vs.iter().any(|v| v == x)),
            Requirement::NotIn(k, vs) => !get(k).is_some_and(|x| vs.iter().any(|v| v == x)),
            Requirement::Exists(k) => get(k).is_some(),
            Requirement::DoesNotExist(k) => get(k).is_none(),
        })
    }
}

/// `--namespace-labels a=b,c=d` (empty: no labels but the name's).
pub fn parse_pairs(text: &str) -> Result<Map<String, Value>, String> {
    let mut labels = Map::new();
    for pair in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').ok_or_else(|| {
            format!("--namespace-labels: {pair:?} is not key=value; give labels as a=b,c=d")
        })?;
        labels.insert(key.trim().into(), Value::String(value.trim().into()));
    }
    Ok(labels)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;
    use serde_json::json;

    #[rstest]
    #[case("app=web", true)]
    #[case("app==web", true)]
    #[case("app!=web", false)]
    #[case("app in (web, api)", true)]
    #[case("app notin (web)", false)]
    #[case("tier", true)]
    #[case("!tier", false)]
    #[case("!missing,app=web", true)]
    #[case("app in (api),tier", false)]
    #[case("", true)]
    fn selectors_match_as_the_api_server_does(#[case] text: &str, #[case] expected: bool) {
        let labels = json!({"app": "web", "tier": "front"});
        let selector = Selector::parse(text).unwrap();
        assert_eq!(
            selector.matches(labels.as_object().unwrap()),
            expected,
            "{text}"
        );
    }

    #[test]
    fn a_selector_kubectl_refuses_is_an_error() {
        assert_eq!(
            Selector::parse("app in web").unwrap_err(),
            "-l \"app in web\": \"app in web\" is not a requirement kubectl takes (key=value, key!=value, key in (a,b), key notin (a,b), key, !key)"
        );
    }
}
