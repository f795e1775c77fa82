//! resource.Quantity of k8s.io/apimachinery/pkg/api/resource (quantity.go):
//! ParseQuantity / parseQuantityString ported character by character, and
//! the value kept exactly enough (nano units, rounded up as Kubernetes
//! does below 1n) to compare quantities (Cmp), take Value()/MilliValue()
//! and find the canonical String() of the divisors the API server checks.
//!
//! Grammar (quantity.go):
//! ```text
//! <quantity>        ::= <signedNumber><suffix>
//! <signedNumber>    ::= <number> | <sign><number>
//! <number>          ::= <digits> | <digits>.<digits> | <digits>. | .<digits>
//! <suffix>          ::= <binarySI> | <decimalExponent> | <decimalSI>
//! <binarySI>        ::= Ki | Mi | Gi | Ti | Pi | Ei
//! <decimalSI>       ::= n | u | m | "" | k | M | G | T | P | E
//! <decimalExponent> ::= "e" <signedNumber> | "E" <signedNumber>
//! ```

use std::cmp::Ordering;

/// How a quantity was written (resource.Format).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    DecimalSI,
    BinarySI,
    DecimalExponent,
}

/// A parsed quantity: sign, magnitude in nano units (saturating at
/// `u128::MAX`, which compares above every other value) and format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quantity {
    pub negative: bool,
    pub nano: u128,
    pub format: Format,
}

/// The error texts of quantity.go.
pub const ERR_FORMAT_WRONG: &str =
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
pub const ERR_SUFFIX: &str = "unable to parse quantity's suffix";

impl Quantity {
    pub const ZERO: Quantity = Quantity {
        negative: false,
        nano: 0,
        format: Format::DecimalSI,
    };

    pub fn is_zero(&self) -> bool {
        self.nano == 0
    }

    /// Quantity.Sign() < 0.
    pub fn is_negative(&self) -> bool {
        self.negative && self.nano != 0
    }

    /// Quantity.Cmp.
    pub fn cmp_q(&self, other: &Quantity) -> Ordering {
        match (self.is_negative(), other.is_negative()) {
            (false, true) => Ordering::Greater,
            (true, false) => Ordering::Less,
            (false, false) => self.nano.cmp(&other.nano),
            (true, true) => other.nano.cmp(&self.nano),
        }
    }

    /// Value(): rounded up (away from zero) to an integer.
    pub fn value(&self) -> i128 {
        let v = self.nano.div_ceil(1_000_000_000).min(i128::MAX as u128) as i128;
        if self.is_negative() { -v } else { v }
    }

    /// MilliValue(): rounded up to an integer number of thousandths.
    pub fn milli_value(&self) -> i128 {
        let v = self.nano.div_ceil(1_000_000).min(i128::MAX as u128) as i128;
        if self.is_negative() { -v } else { v }
    }

    /// Sum of two non-negative quantities (saturating); for aggregation.
    pub fn add(&self, other: &Quantity) -> Quantity {
        let a = if self.is_negative() { 0 } else { self.nano };
        let b = if other.is_negative() { 0 } else { other.nano };
        Quantity {
            negative: false,
            nano: a.saturating_add(b),
            format: self.format,
        }
    }

    /// Whether String() of this quantity is one of `set` ("1", "1m", "1k",
    /// "1Ki", ...): the canonical form only depends on the value and the
    /// format family, so the value is matched against each entry.
    pub fn canonical_in(&self, set: &[&str]) -> bool {
        if self.is_negative() {
            return false;
        }
        set.iter().any(|s| match parse_quantity(s) {
            Ok(q) => {
                // the value 1 prints "1" in every format
                q.nano == self.nano && (q.nano == 1_000_000_000 || q.format == self.format)
            }
            Err(_) => false,
        })
    }
}

fn interpret_suffix(suffix: &str) -> Option<(u32, i64, Format)> {
    // (base, exponent, format)
    let dec = |e| Some((10, e, Format::DecimalSI));
    let bin = |e| Some((2, e, Format::BinarySI));
    match suffix {
        "n" => dec(-9),
        "u" => dec(-6),
        "m" => dec(-3),
        "" => dec(0),
        "k" => dec(3),
        "M" => dec(6),
        "G" => dec(9),
        "T" => dec(12),
        "P" => dec(15),
        "E" => dec(18),
        "Ki" => bin(10),
        "Mi" => bin(20),
        "Gi" => bin(30),
        "Ti" => bin(40),
        "Pi" => bin(50),
        "Ei" => bin(60),
        _ => {
            let b = suffix.as_bytes();
            if b.len() > 1 && (b[0] == b'e' || b[0] == b'E') {
                // strconv.ParseInt(suffix[1:], 10, 64)
                let rest = &suffix[1..];
                let digits = rest.strip_prefix(['+', '-']).unwrap_or(rest);
                if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
                    return None;
                }
                let e: i64 = rest.parse().ok()?;
                Some((10, e, Format::DecimalExponent))
            } else {
                None
            }
        }
    }
}

/// parseQuantityString: (positive, num, denom, suffix).
fn parse_quantity_string(s: &str) -> Result<(bool, String, String, String), &'static str> {
    let b = s.as_bytes();
    let end = b.len();
    let mut positive = true;
    let mut pos = 0;
    if pos < end {
        match b[0] {
            b'-' => {
                positive = false;
                pos += 1;
            }
            b'+' => pos += 1,
            _ => {}
        }
    }
    // strip leading zeros
    loop {
        if pos >= end {
            return Ok((positive, "0".into(), String::new(), String::new()));
        }
        if b[pos] == b'0' {
            pos += 1;
        } else {
            break;
        }
    }
    // numerator
    let start = pos;
    while pos < end && b[pos].is_ascii_digit() {
        pos += 1;
    }
    if pos >= end {
        return Ok((
            positive,
            s[start..end].to_string(),
            String::new(),
            String::new(),
        ));
    }
    let mut num = s[start..pos].to_string();
    if num.is_empty() {
        num = "0".into();
    }
    let mut denom = String::new();
    if b[pos] == b'.' {
        pos += 1;
        let dstart = pos;
        while pos < end && b[pos].is_ascii_digit() {
            pos += 1;
        }
        denom = s[dstart..pos].to_string();
        if pos >= end {
            return Ok((positive, num, denom, String::new()));
        }
    }
    // suffix letters
    let suffix_start = pos;
    while pos < end && b"eEinumkKMGTP".contains(&b[pos]) {
        pos += 1;
    }
    if pos >= end {
        return Ok((positive, num, denom, s[suffix_start..].to_string()));
    }
    if b[pos] == b'-' || b[pos] == b'+' {
        pos += 1;
    }
    while pos < end && b[pos].is_ascii_digit() {
        pos += 1;
    }
    if pos >= end {
        return Ok((positive, num, denom, s[suffix_start..].to_string()));
    }
    Err(ERR_FORMAT_WRONG)
}

/// resource.ParseQuantity.
pub fn parse_quantity(s: &str) -> Result<Quantity, &'static str> {
    if s.is_empty() {
        return Err("quantities must match the regular expression (empty string)");
    }
    let (positive, num, denom, suffix) = parse_quantity_string(s)?;
    let (base, exp, format) = interpret_suffix(&suffix).ok_or(ERR_SUFFIX)?;
    // mantissa digits (num followed by denom), value = M * 10^(e10) * 2^(e2)
    let mut digits: Vec<u8> = num.bytes().chain(denom.bytes()).map(|c| c - b'0').collect();
    while digits.len() > 1 && digits[0] == 0 {
        digits.remove(0);
    }
    let mut e10: i64 = 9 - denom.len() as i64; // nano units
    let mut e2: i64 = 0;
    if base == 10 {
        e10 = e10.saturating_add(exp);
    } else {
        e2 = exp;
    }
    // keep at most 36 significant digits; dropped non-zero digits round up
    let mut dropped_nonzero = false;
    if digits.len() > 36 {
        let extra = digits.len() - 36;
        dropped_nonzero = digits[36..].iter().any(|&d| d != 0);
        digits.truncate(36);
        e10 = e10.saturating_add(extra as i64);
    }
    let mut m: u128 = digits.iter().fold(0u128, |acc, &d| acc * 10 + d as u128);
    let mut saturated = false;
    let mul = |m: u128, f: u128, sat: &mut bool| -> u128 {
        match m.checked_mul(f) {
            Some(v) => v,
            None => {
                *sat = true;
                u128::MAX
            }
        }
    };
    for _ in 0..e2.max(0) {
        m = mul(m, 2, &mut saturated);
        if saturated || m == 0 {
            break;
        }
    }
    let nano = if m == 0 {
        if dropped_nonzero { 1 } else { 0 }
    } else if e10 >= 0 {
        let mut v = m;
        for _ in 0..e10.min(200) {
            v = mul(v, 10, &mut saturated);
            if saturated {
                break;
            }
        }
        v
    } else {
        // divide by 10^-e10, rounding up
        let mut v = m;
        let mut rem = dropped_nonzero;
        for _ in 0..(-e10).min(200) {
            if !v.is_multiple_of(10) {
                rem = true;
            }
            v /= 10;
            if v == 0 {
                break;
            }
        }
        if rem { v + 1 } else { v }
    };
    Ok(Quantity {
        negative: !positive,
        nano,
        format,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grammar() {
        for ok in [
            "1", "0", "100m", "1.5", "1.5Gi", "1e3", "1E3", "1E", "-1", "+1", ".5", "5.", "1e-3",
            "0.1n", "1Ki",
        ] {
            assert!(parse_quantity(ok).is_ok(), "{ok}");
        }
        for bad in [
            "", "20 m", "1.5.0", "1Kb", "1e", "abc", "1 ", " 1", "1ki", "1Ki5", "1mm", "1e1.5",
        ] {
            assert!(parse_quantity(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn values() {
        let q = |s| parse_quantity(s).unwrap();
        assert_eq!(q("100m").nano, 100_000_000);
        assert_eq!(q("1Ki").nano, 1024 * 1_000_000_000);
        assert_eq!(q("0.1n").nano, 1);
        assert_eq!(q("1e3").value(), 1000);
        assert_eq!(q("1.5").milli_value(), 1500);
        assert!(q("-1").is_negative());
        assert!(!q("-0").is_negative());
        assert_eq!(q("1000m").cmp_q(&q("1")), Ordering::Equal);
        assert!(q("1000m").canonical_in(&["1m", "1"]));
        assert!(q("1m").canonical_in(&["1m", "1"]));
        assert!(!q("2m").canonical_in(&["1m", "1"]));
        assert!(q("1Ki").canonical_in(&["1", "1Ki"]));
        assert!(!q("1024").canonical_in(&["1", "1Ki"]));
    }
}
