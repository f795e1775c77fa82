//! A set's `shutdown`, read by hand: how its drains fit a Pod's grace
//! period. What it does is `crate::shutdown`'s.

use serde_json::Value;

use super::MAX_SECONDS;

/// A set's `shutdown`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Shutdown {
    /// Raise a Pod's terminationGracePeriodSeconds to what its drains need.
    pub extend_grace_period: bool,
    /// The most it may be raised to; above, the Pod is rejected.
    pub max_grace_period_seconds: Option<u32>,
}

impl Shutdown {
    /// Reads the block at `{at}.shutdown`; absent or null is the default.
    pub fn read(value: Option<Value>, at: &str) -> Result<Shutdown, String> {
        let mut read = Shutdown::default();
        let give = "extendGracePeriod and maxGracePeriodSeconds";
        let Some((fields, path)) = super::read::block(value, at, "shutdown", give)? else {
            return Ok(read);
        };
        let known = ["extendGracePeriod", "maxGracePeriodSeconds"];
        for (key, value) in &fields {
            super::read::known(key, &path, "shutdown", &known)?;
            match (key.as_str(), value) {
                (_, Value::Null) => {}
                ("extendGracePeriod", Value::Bool(b)) => read.extend_grace_period = *b,
                ("extendGracePeriod", _) => {
                    return Err(format!(
                        "{path}.{key}: {value} is not a boolean; use true or false"
                    ));
                }
                // maxGracePeriodSeconds (the keys are known, above); 0 is no
                // bound: what a form writes for an empty number.
                _ if value.as_u64() == Some(0) => {}
                _ => match value.as_u64().and_then(|n| u32::try_from(n).ok()) {
                    Some(n) if (1..=MAX_SECONDS).contains(&n) => {
                        read.max_grace_period_seconds = Some(n);
                    }
                    _ => {
                        return Err(format!(
                            "{path}.{key}: {value} is not a whole number of seconds from 1 to {MAX_SECONDS}"
                        ));
                    }
                },
            }
        }
        Ok(read)
    }
}
