//! Kubernetes quantities (`50m`, `1.5`, `64Mi`, `2e3`) as exact fractions,
//! so that `cpu*50%` of `333m` is 166.5m before it is rounded up, never
//! 166.49999 because of a float.

use std::cmp::Ordering;

/// An exact amount of a resource in its base unit (cores, bytes): a reduced
/// fraction with a positive denominator. Every operation is checked: one
/// that would overflow gives `None`, never a wrong number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Amount {
    num: i128,
    den: i128,
}

/// What an amount that overflowed is called in messages.
pub const OUT_OF_RANGE: &str = "is out of range";

/// The greatest common divisor. i128 arithmetic is emulated in wasm (a
/// division is a call of a hundred instructions or more); amounts of real
/// Pods fit in 64 bits, where it is native.
fn gcd(a: i128, b: i128) -> i128 {
    let (a, b) = (a.unsigned_abs(), b.unsigned_abs());
    if let (Ok(mut a), Ok(mut b)) = (u64::try_from(a), u64::try_from(b)) {
        while b != 0 {
            (a, b) = (b, a % b);
        }
        return i128::from(a);
    }
    let (mut a, mut b) = (a, b);
    while b != 0 {
        (a, b) = (b, a % b);
    }
    i128::try_from(a).unwrap_or(1)
}

/// `a / b`, natively where both fit in 64 bits.
fn div(a: i128, b: i128) -> Option<i128> {
    match (i64::try_from(a), i64::try_from(b)) {
        (Ok(a), Ok(b)) => a.checked_div(b).map(i128::from),
        _ => a.checked_div(b),
    }
}

impl Amount {
    pub const ZERO: Amount = Amount { num: 0, den: 1 };

    #[inline(never)]
    pub fn new(num: i128, den: i128) -> Option<Amount> {
        if den == 0 {
            return None;
        }
        if den == 1 {
            return Some(Amount { num, den });
        }
        let g = gcd(num, den).max(1);
        let sign = if den < 0 { -1 } else { 1 };
        Some(Amount {
            num: div(num, g)?.checked_mul(sign)?,
            den: div(den, g)?.checked_mul(sign)?,
        })
    }

    pub fn integer(n: i128) -> Amount {
        Amount { num: n, den: 1 }
    }

    #[inline(never)]
    pub fn checked_add(self, other: Amount) -> Option<Amount> {
        if self.den == other.den {
            return Amount::new(self.num.checked_add(other.num)?, self.den);
        }
        let g = gcd(self.den, other.den).max(1);
        let den = div(self.den, g)?.checked_mul(other.den)?;
        let num = self
            .num
            .checked_mul(div(other.den, g)?)?
            .checked_add(other.num.checked_mul(div(self.den, g)?)?)?;
        Amount::new(num, den)
    }

    #[inline(never)]
    pub fn checked_sub(self, other: Amount) -> Option<Amount> {
        self.checked_add(Amount {
            num: other.num.checked_neg()?,
            den: other.den,
        })
    }

    #[inline(never)]
    pub fn checked_mul(self, other: Amount) -> Option<Amount> {
        // Cross-reduced first, so that only a result out of range overflows.
        let g1 = gcd(self.num, other.den).max(1);
        let g2 = gcd(other.num, self.den).max(1);
        Amount::new(
            div(self.num, g1)?.checked_mul(div(other.num, g2)?)?,
            div(self.den, g2)?.checked_mul(div(other.den, g1)?)?,
        )
    }

    /// `None` also for a division by zero.
    #[inline(never)]
    pub fn checked_div(self, other: Amount) -> Option<Amount> {
        self.checked_mul(Amount::new(other.den, other.num)?)
    }

    pub fn is_negative(self) -> bool {
        self.num < 0
    }

    pub fn is_zero(self) -> bool {
        self.num == 0
    }

    /// Compares without multiplying out (no overflow): the integer parts
    /// first, then the remainders' reciprocals (a continued fraction).
    #[inline(never)]
    pub fn compare(self, other: Amount) -> Ordering {
        // Cross-multiplied where that cannot overflow (every real case).
        if let (Some(a), Some(b)) = (
            self.num.checked_mul(other.den),
            other.num.checked_mul(self.den),
        ) {
            return a.cmp(&b);
        }
        let (mut a, mut b, mut c, mut d) = (self.num, self.den, other.num, other.den);
        let mut flipped = false;
        loop {
            let (q1, r1) = (a.div_euclid(b), a.rem_euclid(b));
            let (q2, r2) = (c.div_euclid(d), c.rem_euclid(d));
            let order = match q1.cmp(&q2) {
                Ordering::Equal => match (r1 == 0, r2 == 0) {
                    (true, true) => Ordering::Equal,
                    (true, false) => Ordering::Less,
                    (false, true) => Ordering::Greater,
                    // a/b = q + r1/b: compare b/r1 with d/r2, reversed.
                    (false, false) => {
                        (a, b, c, d) = (b, r1, d, r2);
                        flipped = !flipped;
                        continue;
                    }
                },
                order => order,
            };
            return if flipped { order.reverse() } else { order };
        }
    }

    pub fn max(self, other: Amount) -> Amount {
        if self.compare(other) == Ordering::Less {
            other
        } else {
            self
        }
    }

    pub fn min(self, other: Amount) -> Amount {
        if self.compare(other) == Ordering::Greater {
            other
        } else {
            self
        }
    }

    /// Rounded up to a whole number of `1/per` units (`per` 1000: milli).
    #[inline(never)]
    fn ceil_units(self, per: i128) -> Option<i128> {
        let scaled = self.num.checked_mul(per)?;
        if let (Ok(scaled), Ok(den)) = (i64::try_from(scaled), i64::try_from(self.den)) {
            let (q, r) = (scaled.div_euclid(den), scaled.rem_euclid(den));
            return Some(i128::from(if r == 0 { q } else { q.checked_add(1)? }));
        }
        let (q, r) = (scaled.div_euclid(self.den), scaled.rem_euclid(self.den));
        if r == 0 { Some(q) } else { q.checked_add(1) }
    }

    /// Rounded up to what `resource` is counted in (milli-cores for cpu,
    /// whole units, such as bytes, otherwise), in canonical Kubernetes form.
    #[inline(never)]
    pub fn canonical(self, resource: &str) -> Option<String> {
        if resource == "cpu" {
            Some(decimal_si(self.ceil_units(1000)?, -3))
        } else {
            let units = self.ceil_units(1)?;
            let decimal = decimal_si(units, 0);
            match binary_si(units) {
                // The shorter of the two canonical forms: 2G, not 1953125Ki.
                Some(binary) if binary.len() <= decimal.len() => Some(binary),
                _ => Some(decimal),
            }
        }
    }

    /// Parses a Kubernetes quantity: an optional sign, a decimal number, and
    /// a suffix (n u m k M G T P E, Ki Mi Gi Ti Pi Ei, or an exponent e3).
    #[inline(never)]
    pub fn parse(text: &str) -> Result<Amount, String> {
        let (negative, rest) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text.strip_prefix('+').unwrap_or(text)),
        };
        let (amount, used) = parse_number(rest.as_bytes())
            .map_err(|e| format!("{text:?} is not a quantity: {e}"))?;
        let suffix = rest.get(used..).unwrap_or_default();
        let scale = suffix_scale(suffix).ok_or_else(|| {
            format!("{text:?} is not a quantity: unknown suffix {suffix:?} (use m, k, M, G, Ki, Mi, Gi, …)")
        })?;
        let amount = amount
            .checked_mul(scale)
            .ok_or_else(|| format!("{text:?} {OUT_OF_RANGE}"))?;
        if negative {
            Amount::new(-amount.num, amount.den).ok_or_else(|| format!("{text:?} {OUT_OF_RANGE}"))
        } else {
            Ok(amount)
        }
    }
}

/// `10^exp` as an amount.
fn power_of_ten(exp: i32) -> Option<Amount> {
    let p = 10i128.checked_pow(exp.unsigned_abs())?;
    if exp < 0 {
        Amount::new(1, p)
    } else {
        Some(Amount::integer(p))
    }
}

/// The leading decimal number (`12`, `1.5`, `.5`, `5.`) of `bytes`, and how
/// many bytes it took.
#[inline(never)]
pub fn parse_number(bytes: &[u8]) -> Result<(Amount, usize), String> {
    let mut num: i128 = 0;
    let mut den: i128 = 1;
    let mut digits = 0;
    let mut seen_point = false;
    let mut used = 0;
    for &b in bytes {
        match b {
            b'0'..=b'9' => {
                num = num
                    .checked_mul(10)
                    .and_then(|n| n.checked_add(i128::from(b - b'0')))
                    .ok_or_else(|| "a number with too many digits".to_string())?;
                if seen_point {
                    den = den
                        .checked_mul(10)
                        .ok_or_else(|| "a number with too many digits".to_string())?;
                }
                digits += 1;
            }
            b'.' if !seen_point => seen_point = true,
            _ => break,
        }
        used += 1;
    }
    if digits == 0 {
        return Err("a number was expected".to_string());
    }
    Ok((Amount::new(num, den).unwrap_or(Amount::ZERO), used))
}

/// The factor a quantity suffix stands for.
#[inline(never)]
pub fn suffix_scale(suffix: &str) -> Option<Amount> {
    let binary = |power: u32| Some(Amount::integer(1i128 << (10 * power)));
    match suffix {
        "" => Some(Amount::integer(1)),
        "n" => power_of_ten(-9),
        "u" => power_of_ten(-6),
        "m" => power_of_ten(-3),
        "k" => power_of_ten(3),
        "M" => power_of_ten(6),
        "G" => power_of_ten(9),
        "T" => power_of_ten(12),
        "P" => power_of_ten(15),
        "E" => power_of_ten(18),
        "Ki" => binary(1),
        "Mi" => binary(2),
        "Gi" => binary(3),
        "Ti" => binary(4),
        "Pi" => binary(5),
        "Ei" => binary(6),
        _ => {
            let exponent = suffix.strip_prefix(['e', 'E'])?;
            let digits = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
            if digits.is_empty() || digits.len() > 3 || !digits.bytes().all(|b| b.is_ascii_digit())
            {
                return None;
            }
            power_of_ten(exponent.parse().ok()?)
        }
    }
}

/// `units × 10^scale` with the largest exponent (a multiple of 3) that
/// keeps the number whole: 1500m, 2, 167m, 200M.
#[inline(never)]
fn decimal_si(mut units: i128, mut scale: i32) -> String {
    if units == 0 {
        return "0".to_string();
    }
    while units != 0 && units % 1000 == 0 && scale < 18 {
        units /= 1000;
        scale += 3;
    }
    let suffix = match scale {
        -3 => "m",
        3 => "k",
        6 => "M",
        9 => "G",
        12 => "T",
        15 => "P",
        18 => "E",
        _ => "",
    };
    whole(units, suffix)
}

/// Whole units as a multiple of the largest power of 1024 that divides
/// them (64Mi), or None below 1Ki or when 1024 does not divide them.
#[inline(never)]
fn binary_si(mut units: i128) -> Option<String> {
    let suffixes = ["Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];
    let mut power = 0;
    while units != 0 && units % 1024 == 0 && power < suffixes.len() {
        units /= 1024;
        power += 1;
    }
    let suffix = suffixes.get(power.checked_sub(1)?)?;
    Some(whole(units, suffix))
}

/// `units` then `suffix`; formatted as an i64 where it fits (i128's
/// formatting divides in emulated 128-bit arithmetic).
fn whole(units: i128, suffix: &str) -> String {
    match i64::try_from(units) {
        Ok(units) => format!("{units}{suffix}"),
        Err(_) => format!("{units}{suffix}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("1", "cpu", "1")]
    #[case("1.5", "cpu", "1500m")]
    #[case("333m", "cpu", "333m")]
    #[case("0.1", "cpu", "100m")]
    #[case("100n", "cpu", "1m")] // rounded up to the milli-core
    #[case("2e3", "cpu", "2k")]
    #[case("2E3", "cpu", "2k")]
    #[case("1E", "memory", "1E")]
    #[case("64Mi", "memory", "64Mi")]
    #[case("1Gi", "memory", "1Gi")]
    #[case("1.5Gi", "memory", "1536Mi")]
    #[case("2G", "memory", "2G")]
    #[case("200M", "memory", "200M")]
    #[case("1500", "memory", "1500")]
    #[case("1024", "memory", "1Ki")]
    #[case("0.5", "memory", "1")] // rounded up to the byte
    #[case("0", "cpu", "0")]
    #[case("+5", "cpu", "5")]
    #[case(".5", "cpu", "500m")]
    #[case("5.", "cpu", "5")]
    #[case("1e-3", "cpu", "1m")]
    fn parses_and_writes_canonical_form(
        #[case] text: &str,
        #[case] resource: &str,
        #[case] canonical: &str,
    ) {
        let amount = Amount::parse(text).unwrap();
        assert_eq!(amount.canonical(resource).unwrap(), canonical);
    }

    #[rstest]
    #[case("", "\"\" is not a quantity: a number was expected")]
    #[case("m", "\"m\" is not a quantity: a number was expected")]
    #[case(
        "1x",
        "\"1x\" is not a quantity: unknown suffix \"x\" (use m, k, M, G, Ki, Mi, Gi, …)"
    )]
    #[case(
        "1 Mi",
        "\"1 Mi\" is not a quantity: unknown suffix \" Mi\" (use m, k, M, G, Ki, Mi, Gi, …)"
    )]
    #[case(
        "1e",
        "\"1e\" is not a quantity: unknown suffix \"e\" (use m, k, M, G, Ki, Mi, Gi, …)"
    )]
    #[case(
        "1..2",
        "\"1..2\" is not a quantity: unknown suffix \".2\" (use m, k, M, G, Ki, Mi, Gi, …)"
    )]
    #[case(
        "99999999999999999999999999999999999999999",
        "\"99999999999999999999999999999999999999999\" is not a quantity: a number with too many digits"
    )]
    #[case(
        "1e999",
        "\"1e999\" is not a quantity: unknown suffix \"e999\" (use m, k, M, G, Ki, Mi, Gi, …)"
    )]
    fn refuses_what_is_not_a_quantity(#[case] text: &str, #[case] message: &str) {
        assert_eq!(Amount::parse(text).unwrap_err(), message);
    }

    #[test]
    fn arithmetic_is_exact() {
        let q = |s| Amount::parse(s).unwrap();
        let half = Amount::new(1, 2).unwrap();
        assert_eq!(
            q("333m")
                .checked_mul(half)
                .unwrap()
                .canonical("cpu")
                .unwrap(),
            "167m"
        );
        let third = q("1").checked_div(Amount::integer(3)).unwrap();
        assert_eq!(third.checked_mul(Amount::integer(3)).unwrap(), q("1"));
        assert_eq!(q("100m").checked_add(q("200m")).unwrap(), q("300m"));
        assert_eq!(q("100m").checked_sub(q("200m")).unwrap(), q("-100m"));
        assert!(q("1").checked_div(Amount::ZERO).is_none());
        let huge = Amount::integer(i128::MAX / 2);
        assert!(huge.checked_mul(Amount::integer(4)).is_none());
        assert!(huge.checked_add(huge).unwrap().checked_add(huge).is_none());
    }

    #[test]
    fn compares_without_overflow() {
        let q = |s| Amount::parse(s).unwrap();
        assert_eq!(q("1").compare(q("1000m")), Ordering::Equal);
        assert_eq!(q("999m").compare(q("1")), Ordering::Less);
        assert_eq!(q("-1").compare(q("-2")), Ordering::Greater);
        let a = Amount::new(i128::MAX - 1, i128::MAX).unwrap();
        let b = Amount::new(i128::MAX - 2, i128::MAX - 1).unwrap();
        assert_eq!(a.compare(b), Ordering::Greater);
        assert_eq!(b.compare(a), Ordering::Less);
        assert_eq!(q("1").max(q("2")), q("2"));
        assert_eq!(q("1").min(q("2")), q("1"));
    }
}
