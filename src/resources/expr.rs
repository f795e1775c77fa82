//! The expressions of a resourcesPolicy's `resourcesExpr`, as OpenKruise
//! defines them: `+ - * /`, parentheses, `max(a, b)`, `min(a, b)`,
//! percentages and Kubernetes quantities, over one variable, the resource
//! the expression is for (`cpu` or `memory`): the targets' sum or max.

use super::quantity::{Amount, OUT_OF_RANGE, parse_number, suffix_scale};

/// A parsed expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Number(Amount),
    /// The targets' value of the expression's resource.
    Resource,
    Binary(Op, Box<Expr>, Box<Expr>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Add,
    Sub,
    Mul,
    Div,
    Max,
    Min,
}

/// Longer expressions are refused: they are settings, not programs.
const MAX_LENGTH: usize = 256;
/// Nesting deeper than this is refused (the parser recurses).
const MAX_DEPTH: usize = 32;

/// Parses `text`, an expression for `resource` (`cpu` or `memory`). An
/// error names the position (from 1) and what was expected.
pub fn parse(text: &str, resource: &str) -> Result<Expr, String> {
    if text.len() > MAX_LENGTH {
        return Err(format!("longer than {MAX_LENGTH} characters"));
    }
    let mut parser = Parser {
        bytes: text.as_bytes(),
        at: 0,
        resource,
        depth: 0,
    };
    let expr = parser.sum()?;
    parser.skip_spaces();
    if parser.at < parser.bytes.len() {
        return Err(parser.error("an operator (+ - * /) or the end"));
    }
    Ok(expr)
}

impl Expr {
    /// The value with `value` for the resource; None when it divides by
    /// zero or overflows (the message is the caller's: it knows the Pod).
    pub fn eval(&self, value: Amount) -> Result<Amount, &'static str> {
        match self {
            Expr::Number(n) => Ok(*n),
            Expr::Resource => Ok(value),
            Expr::Binary(op, a, b) => {
                let (a, b) = (a.eval(value)?, b.eval(value)?);
                match op {
                    Op::Add => a.checked_add(b).ok_or(OUT_OF_RANGE),
                    Op::Sub => a.checked_sub(b).ok_or(OUT_OF_RANGE),
                    Op::Mul => a.checked_mul(b).ok_or(OUT_OF_RANGE),
                    Op::Div if b.is_zero() => Err("divides by zero"),
                    Op::Div => a.checked_div(b).ok_or(OUT_OF_RANGE),
                    Op::Max => Ok(a.max(b)),
                    Op::Min => Ok(a.min(b)),
                }
            }
        }
    }
}

struct Parser<'a> {
    bytes: &'a [u8],
    at: usize,
    resource: &'a str,
    depth: usize,
}

impl Parser<'_> {
    fn error(&self, expected: &str) -> String {
        let found = match self.bytes.get(self.at) {
            Some(&b) => format!("{:?}", char::from(b)),
            None => "the end".to_string(),
        };
        format!(
            "at character {}: {expected} expected, found {found}",
            self.at + 1
        )
    }

    fn skip_spaces(&mut self) {
        while self.bytes.get(self.at).is_some_and(u8::is_ascii_whitespace) {
            self.at += 1;
        }
    }

    /// The next non-space byte, taken when it is `byte`.
    fn eat(&mut self, byte: u8) -> bool {
        self.skip_spaces();
        let found = self.bytes.get(self.at) == Some(&byte);
        if found {
            self.at += 1;
        }
        found
    }

    fn sum(&mut self) -> Result<Expr, String> {
        let mut left = self.product()?;
        loop {
            let op = if self.eat(b'+') {
                Op::Add
            } else if self.eat(b'-') {
                Op::Sub
            } else {
                return Ok(left);
            };
            left = Expr::Binary(op, Box::new(left), Box::new(self.product()?));
        }
    }

    fn product(&mut self) -> Result<Expr, String> {
        let mut left = self.operand()?;
        loop {
            let op = if self.eat(b'*') {
                Op::Mul
            } else if self.eat(b'/') {
                Op::Div
            } else {
                return Ok(left);
            };
            left = Expr::Binary(op, Box::new(left), Box::new(self.operand()?));
        }
    }

    fn operand(&mut self) -> Result<Expr, String> {
        self.skip_spaces();
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(format!(
                "at character {}: nested more than {MAX_DEPTH} deep",
                self.at + 1
            ));
        }
        let operand = match self.bytes.get(self.at) {
            Some(b'(') => {
                self.at += 1;
                let inner = self.sum()?;
                if !self.eat(b')') {
                    return Err(self.error("\")\""));
                }
                Ok(inner)
            }
            Some(b'0'..=b'9' | b'.') => self.number(),
            Some(b'a'..=b'z' | b'A'..=b'Z') => self.name(),
            _ => Err(self.error(&format!(
                "a number, a quantity, {}, max( or min(",
                self.resource
            ))),
        };
        self.depth -= 1;
        operand
    }

    /// A number with a quantity suffix (`50m`, `64Mi`, `2e3`) or a
    /// percentage (`50%`).
    fn number(&mut self) -> Result<Expr, String> {
        let start = self.at;
        let rest = self.bytes.get(start..).unwrap_or_default();
        let (amount, used) =
            parse_number(rest).map_err(|e| format!("at character {}: {e}", start + 1))?;
        self.at += used;
        let suffix_start = self.at;
        while self.bytes.get(self.at).is_some_and(|&b| {
            b.is_ascii_alphanumeric()
                || (matches!(b, b'+' | b'-') && self.in_exponent(suffix_start))
        }) {
            self.at += 1;
        }
        let suffix = std::str::from_utf8(self.bytes.get(suffix_start..self.at).unwrap_or_default())
            .unwrap_or_default();
        let scale = suffix_scale(suffix).ok_or_else(|| {
            format!(
                "at character {}: unknown quantity suffix {suffix:?} (use m, k, M, G, Ki, Mi, Gi, … or %)",
                suffix_start + 1
            )
        })?;
        let mut amount = amount.checked_mul(scale);
        if self.bytes.get(self.at) == Some(&b'%') {
            if !suffix.is_empty() {
                return Err(format!(
                    "at character {}: a percentage takes a plain number, such as 50%",
                    self.at + 1
                ));
            }
            self.at += 1;
            amount = amount.and_then(|a| a.checked_div(Amount::integer(100)));
        }
        amount
            .map(Expr::Number)
            .ok_or_else(|| format!("at character {}: the number {OUT_OF_RANGE}", start + 1))
    }

    /// Whether the byte at `self.at` follows an exponent's `e` directly
    /// (`2e-3`), where a sign belongs to the number.
    fn in_exponent(&self, suffix_start: usize) -> bool {
        self.at == suffix_start + 1
            && matches!(self.bytes.get(suffix_start), Some(b'e' | b'E'))
            && self.bytes.get(self.at + 1).is_some_and(u8::is_ascii_digit)
    }

    /// The resource's name, or a call of max or min.
    fn name(&mut self) -> Result<Expr, String> {
        let start = self.at;
        while self
            .bytes
            .get(self.at)
            .is_some_and(u8::is_ascii_alphanumeric)
        {
            self.at += 1;
        }
        let name = std::str::from_utf8(self.bytes.get(start..self.at).unwrap_or_default())
            .unwrap_or_default();
        let op = match name {
            "max" => Op::Max,
            "min" => Op::Min,
            _ if name == self.resource => return Ok(Expr::Resource),
            "cpu" | "memory" => {
                return Err(format!(
                    "at character {}: {name} in an expression for {}: an expression reads only its own resource",
                    start + 1,
                    self.resource
                ));
            }
            _ => {
                self.at = start;
                return Err(self.error(&format!("{}, max( or min(", self.resource)));
            }
        };
        if !self.eat(b'(') {
            return Err(self.error("\"(\""));
        }
        let a = self.sum()?;
        if !self.eat(b',') {
            return Err(self.error("\",\""));
        }
        let b = self.sum()?;
        if !self.eat(b')') {
            return Err(self.error("\")\""));
        }
        Ok(Expr::Binary(op, Box::new(a), Box::new(b)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn value(expr: &str, resource: &str, input: &str) -> String {
        let input = Amount::parse(input).unwrap();
        parse(expr, resource)
            .unwrap()
            .eval(input)
            .unwrap()
            .canonical(resource)
            .unwrap()
    }

    #[rstest]
    #[case("cpu*50%", "cpu", "333m", "167m")]
    #[case("max(cpu*50%, 50m)", "cpu", "50m", "50m")]
    #[case("max(cpu*50%, 50m)", "cpu", "600m", "300m")]
    #[case("min(cpu, 1)", "cpu", "4", "1")]
    #[case("cpu / 3", "cpu", "1", "334m")]
    #[case("(cpu + 100m) * 2", "cpu", "400m", "1")]
    #[case("cpu + 100m * 2", "cpu", "400m", "600m")]
    #[case("cpu - 100m - 100m", "cpu", "400m", "200m")]
    #[case("2e3", "cpu", "0", "2k")]
    #[case("1e-3", "cpu", "0", "1m")]
    #[case("1.5", "cpu", "0", "1500m")]
    #[case("memory*20% + 64Mi", "memory", "1Gi", "281857229")]
    #[case("memory*25% + 64Mi", "memory", "1Gi", "320Mi")]
    #[case("200Mi", "memory", "0", "200Mi")]
    #[case("max(memory*50%, 100Mi)", "memory", "100Mi", "100Mi")]
    #[case("  memory  ", "memory", "1Gi", "1Gi")]
    fn evaluates(
        #[case] expr: &str,
        #[case] resource: &str,
        #[case] input: &str,
        #[case] expected: &str,
    ) {
        assert_eq!(value(expr, resource, input), expected);
    }

    #[rstest]
    #[case(
        "",
        "cpu",
        "at character 1: a number, a quantity, cpu, max( or min( expected, found the end"
    )]
    #[case(
        "cpu*",
        "cpu",
        "at character 5: a number, a quantity, cpu, max( or min( expected, found the end"
    )]
    #[case(
        "cpu 50%",
        "cpu",
        "at character 5: an operator (+ - * /) or the end expected, found '5'"
    )]
    #[case("max(cpu 50m)", "cpu", "at character 9: \",\" expected, found '5'")]
    #[case(
        "max(cpu, 50m",
        "cpu",
        "at character 13: \")\" expected, found the end"
    )]
    #[case("(cpu", "cpu", "at character 5: \")\" expected, found the end")]
    #[case(
        "avg(cpu, 1)",
        "cpu",
        "at character 1: cpu, max( or min( expected, found 'a'"
    )]
    #[case("max cpu", "cpu", "at character 5: \"(\" expected, found 'c'")]
    #[case(
        "memory*2",
        "cpu",
        "at character 1: memory in an expression for cpu: an expression reads only its own resource"
    )]
    #[case(
        "50x",
        "cpu",
        "at character 3: unknown quantity suffix \"x\" (use m, k, M, G, Ki, Mi, Gi, … or %)"
    )]
    #[case(
        "50m%",
        "cpu",
        "at character 4: a percentage takes a plain number, such as 50%"
    )]
    #[case(
        "cpu ^ 2",
        "cpu",
        "at character 5: an operator (+ - * /) or the end expected, found '^'"
    )]
    #[case(
        "-cpu",
        "cpu",
        "at character 1: a number, a quantity, cpu, max( or min( expected, found '-'"
    )]
    fn refuses(#[case] expr: &str, #[case] resource: &str, #[case] message: &str) {
        assert_eq!(parse(expr, resource).unwrap_err(), message);
    }

    #[test]
    fn refuses_deep_nesting_and_long_text() {
        let deep = format!("{}cpu{}", "(".repeat(40), ")".repeat(40));
        assert_eq!(
            parse(&deep, "cpu").unwrap_err(),
            "at character 33: nested more than 32 deep"
        );
        assert_eq!(
            parse(&"1+".repeat(200), "cpu").unwrap_err(),
            "longer than 256 characters"
        );
    }

    #[test]
    fn division_by_zero_and_overflow_are_errors() {
        let expr = parse("1 / cpu", "cpu").unwrap();
        assert_eq!(expr.eval(Amount::ZERO), Err("divides by zero"));
        let expr = parse("cpu * 1E * 1E * 1E", "cpu").unwrap();
        assert_eq!(expr.eval(Amount::parse("1E").unwrap()), Err(OUT_OF_RANGE));
    }
}
