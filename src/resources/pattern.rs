//! `targetContainersNameRegex`: a full match of a container name against
//! the part of RE2's syntax (OpenKruise's, Go's) that names need. A regex
//! crate cost 52 KB of policy.wasm (regex-lite); this costs a few, and the
//! property tests check it against regex-lite on random patterns.
//!
//! Supported: literals, `.`, classes (`[a-z0-9-]`, `[^…]`, `\d \w \s` and
//! their negations), groups `( )` and `(?: )`, `|`, `* + ?`, `{m}`,
//! `{m,}`, `{m,n}`, escapes of punctuation, and `^` / `$` at the ends
//! (the match is always whole). Refused, with the reason: anything else
//! (flags, lookaround, backreferences, non-ASCII).
//!
//! Matching runs a Thompson NFA (no backtracking): linear in the name.

/// A compiled pattern.
#[derive(Debug, Clone)]
pub struct Pattern {
    program: Vec<Inst>,
}

#[derive(Debug, Clone)]
enum Inst {
    /// One byte in the class.
    Byte(Class),
    Split(usize, usize),
    Jump(usize),
    Match,
}

/// A set of bytes, as 128 bits (names are ASCII; other bytes never match).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Class(u128);

impl Class {
    fn range(from: u8, to: u8) -> Class {
        let mut bits = 0u128;
        for b in from..=to.min(127) {
            bits |= 1 << b;
        }
        Class(bits)
    }
    fn byte(b: u8) -> Class {
        Class::range(b, b)
    }
    fn union(self, other: Class) -> Class {
        Class(self.0 | other.0)
    }
    fn negate(self) -> Class {
        Class(!self.0)
    }
    fn contains(self, b: u8) -> bool {
        b < 128 && self.0 & (1 << b) != 0
    }
}

/// The pattern as parsed.
#[derive(Debug, Clone)]
enum Node {
    Byte(Class),
    Concat(Vec<Node>),
    Alt(Vec<Node>),
    Repeat(Box<Node>, u32, Option<u32>),
}

/// Longer programs are refused: a pattern is a setting, not a program.
const MAX_PROGRAM: usize = 2000;
/// Longer patterns are refused.
const MAX_LENGTH: usize = 256;
/// The largest count of `{m,n}`.
const MAX_COUNT: u32 = 100;

impl Pattern {
    /// Compiles `text`; an error says what is wrong and where (from 1).
    pub fn new(text: &str) -> Result<Pattern, String> {
        if text.len() > MAX_LENGTH {
            return Err(format!("longer than {MAX_LENGTH} characters"));
        }
        if !text.is_ascii() {
            return Err("only ASCII is supported (container names are ASCII)".into());
        }
        let body = text.strip_prefix('^').unwrap_or(text);
        let body = match body.strip_suffix('$') {
            Some(b) if !b.ends_with('\\') => b,
            _ => body,
        };
        let offset = text.len() - text.strip_prefix('^').unwrap_or(text).len();
        let mut parser = Parser {
            bytes: body.as_bytes(),
            at: 0,
            offset,
            depth: 0,
        };
        let node = parser.alternation()?;
        if parser.at < parser.bytes.len() {
            return Err(parser.error("unmatched )"));
        }
        let mut program = Vec::new();
        compile(&node, &mut program)?;
        program.push(Inst::Match);
        Ok(Pattern { program })
    }

    /// Whether the whole of `name` matches.
    pub fn matches(&self, name: &str) -> bool {
        let mut current = vec![false; self.program.len()];
        let mut next = vec![false; self.program.len()];
        self.follow(0, &mut current);
        for &b in name.as_bytes() {
            next.iter_mut().for_each(|s| *s = false);
            for (pc, on) in current.iter().enumerate() {
                if *on
                    && let Some(Inst::Byte(class)) = self.program.get(pc)
                    && class.contains(b)
                {
                    self.follow(pc + 1, &mut next);
                }
            }
            std::mem::swap(&mut current, &mut next);
        }
        current
            .iter()
            .zip(&self.program)
            .any(|(on, inst)| *on && matches!(inst, Inst::Match))
    }

    /// Adds `pc` and every state its jumps and splits reach to `set`.
    fn follow(&self, pc: usize, set: &mut [bool]) {
        let mut todo = vec![pc];
        while let Some(pc) = todo.pop() {
            match set.get(pc) {
                Some(false) => {}
                _ => continue,
            }
            if let Some(slot) = set.get_mut(pc) {
                *slot = true;
            }
            match self.program.get(pc) {
                Some(Inst::Jump(to)) => todo.push(*to),
                Some(Inst::Split(a, b)) => {
                    todo.push(*b);
                    todo.push(*a);
                }
                _ => {}
            }
        }
    }
}

fn compile(node: &Node, program: &mut Vec<Inst>) -> Result<(), String> {
    if program.len() > MAX_PROGRAM {
        return Err("too long once its counted repetitions are expanded; simplify it".into());
    }
    match node {
        Node::Byte(class) => program.push(Inst::Byte(*class)),
        Node::Concat(nodes) => {
            for n in nodes {
                compile(n, program)?;
            }
        }
        Node::Alt(nodes) => {
            // split L1, next; L1: a; jump end; next: split L2, … ; last
            let mut jumps = Vec::new();
            for (i, n) in nodes.iter().enumerate() {
                if i + 1 < nodes.len() {
                    let split = program.len();
                    program.push(Inst::Split(split + 1, 0));
                    compile(n, program)?;
                    jumps.push(program.len());
                    program.push(Inst::Jump(0));
                    let after = program.len();
                    if let Some(Inst::Split(_, b)) = program.get_mut(split) {
                        *b = after;
                    }
                } else {
                    compile(n, program)?;
                }
            }
            let end = program.len();
            for j in jumps {
                if let Some(Inst::Jump(to)) = program.get_mut(j) {
                    *to = end;
                }
            }
        }
        Node::Repeat(inner, min, max) => {
            for _ in 0..*min {
                compile(inner, program)?;
            }
            match max {
                // x*: L: split body, end; body; jump L
                None => {
                    let split = program.len();
                    program.push(Inst::Split(split + 1, 0));
                    compile(inner, program)?;
                    program.push(Inst::Jump(split));
                    let end = program.len();
                    if let Some(Inst::Split(_, b)) = program.get_mut(split) {
                        *b = end;
                    }
                }
                // up to max - min optional copies, each skipping to the end
                Some(max) => {
                    let mut splits = Vec::new();
                    for _ in *min..*max {
                        splits.push(program.len());
                        program.push(Inst::Split(program.len() + 1, 0));
                        compile(inner, program)?;
                    }
                    let end = program.len();
                    for s in splits {
                        if let Some(Inst::Split(_, b)) = program.get_mut(s) {
                            *b = end;
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

struct Parser<'a> {
    bytes: &'a [u8],
    at: usize,
    /// Where `bytes` starts in the text as given (after a `^`).
    offset: usize,
    depth: usize,
}

impl Parser<'_> {
    fn error(&self, what: &str) -> String {
        format!("{what} at character {}", self.offset + self.at + 1)
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn alternation(&mut self) -> Result<Node, String> {
        self.depth += 1;
        if self.depth > 20 {
            return Err(self.error("nested more than 20 groups deep"));
        }
        let mut alternatives = vec![self.concatenation()?];
        while self.peek() == Some(b'|') {
            self.at += 1;
            alternatives.push(self.concatenation()?);
        }
        self.depth -= 1;
        Ok(if alternatives.len() == 1 {
            alternatives.pop().unwrap_or(Node::Concat(Vec::new()))
        } else {
            Node::Alt(alternatives)
        })
    }

    fn concatenation(&mut self) -> Result<Node, String> {
        let mut items = Vec::new();
        while let Some(b) = self.peek() {
            if b == b'|' || b == b')' {
                break;
            }
            let atom = self.atom()?;
            items.push(self.repetitions(atom)?);
        }
        Ok(Node::Concat(items))
    }

    fn repetitions(&mut self, node: Node) -> Result<Node, String> {
        let (min, max) = match self.peek() {
            Some(b'*') => (0, None),
            Some(b'+') => (1, None),
            Some(b'?') => (0, Some(1)),
            Some(b'{') => self.counts()?,
            _ => return Ok(node),
        };
        self.at += 1; // past * + ? or the }
        if self.peek() == Some(b'?') {
            // Lazy or greedy is the same for a whole match.
            self.at += 1;
        }
        // As RE2: a** is refused, not read as (a*)*.
        if matches!(self.peek(), Some(b'*' | b'+' | b'?' | b'{')) {
            return Err(self.error("a repetition of a repetition; use a group"));
        }
        Ok(Node::Repeat(Box::new(node), min, max))
    }

    /// `{m}`, `{m,}` or `{m,n}`, leaving `at` on the `}`.
    fn counts(&mut self) -> Result<(u32, Option<u32>), String> {
        let start = self.at;
        self.at += 1;
        let min = self
            .count()
            .ok_or_else(|| self.error("a count expected after {"))?;
        let max = if self.peek() == Some(b',') {
            self.at += 1;
            if self.peek() == Some(b'}') {
                None
            } else {
                Some(
                    self.count()
                        .ok_or_else(|| self.error("a count expected after ,"))?,
                )
            }
        } else {
            Some(min)
        };
        if self.peek() != Some(b'}') {
            return Err(self.error("} expected"));
        }
        if max.is_some_and(|m| m < min) || min > MAX_COUNT || max.is_some_and(|m| m > MAX_COUNT) {
            self.at = start;
            return Err(self.error(&format!("a repetition {{m,n}} needs m <= n <= {MAX_COUNT}")));
        }
        Ok((min, max))
    }

    fn count(&mut self) -> Option<u32> {
        let start = self.at;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.at += 1;
        }
        std::str::from_utf8(self.bytes.get(start..self.at)?)
            .ok()?
            .parse()
            .ok()
    }

    fn atom(&mut self) -> Result<Node, String> {
        let Some(b) = self.peek() else {
            return Err(self.error("a pattern expected"));
        };
        self.at += 1;
        match b {
            b'.' => Ok(Node::Byte(Class::byte(b'\n').negate())),
            b'[' => self.class(),
            b'(' => {
                if self.bytes.get(self.at..self.at + 2) == Some(b"?:") {
                    self.at += 2;
                } else if self.peek() == Some(b'?') {
                    return Err(self.error("flags and (?…) groups are not supported"));
                }
                let inner = self.alternation()?;
                if self.peek() != Some(b')') {
                    return Err(self.error("unclosed ("));
                }
                self.at += 1;
                Ok(inner)
            }
            b'\\' => self.escape().map(Node::Byte),
            b'*' | b'+' | b'?' | b'{' => {
                Err(self.error_before("a repetition with nothing to repeat"))
            }
            b'^' | b'$' => Err(self
                .error_before("^ and $ only at the start and the end (the whole name is matched)")),
            _ => Ok(Node::Byte(Class::byte(b))),
        }
    }

    fn error_before(&mut self, what: &str) -> String {
        self.at -= 1;
        self.error(what)
    }

    /// After a `\`: a class escape or an escaped punctuation character.
    fn escape(&mut self) -> Result<Class, String> {
        let Some(b) = self.peek() else {
            return Err(self.error("a character expected after \\"));
        };
        self.at += 1;
        let digit = Class::range(b'0', b'9');
        let word = digit
            .union(Class::range(b'a', b'z'))
            .union(Class::range(b'A', b'Z'))
            .union(Class::byte(b'_'));
        let space = Class::byte(b' ').union(Class::range(b'\t', b'\r'));
        match b {
            b'd' => Ok(digit),
            b'D' => Ok(digit.negate()),
            b'w' => Ok(word),
            b'W' => Ok(word.negate()),
            b's' => Ok(space),
            b'S' => Ok(space.negate()),
            b if b.is_ascii_punctuation() => Ok(Class::byte(b)),
            _ => Err(self.error_before(
                "this escape is not supported (use \\d \\w \\s or escape punctuation)",
            )),
        }
    }

    /// After a `[`: ranges, single characters and escapes, up to `]`.
    fn class(&mut self) -> Result<Node, String> {
        let negated = self.peek() == Some(b'^');
        if negated {
            self.at += 1;
        }
        let mut class = Class(0);
        let mut first = true;
        loop {
            let Some(b) = self.peek() else {
                return Err(self.error("unclosed ["));
            };
            self.at += 1;
            if b == b']' && !first {
                break;
            }
            first = false;
            if b == b'[' && self.peek() == Some(b':') {
                return Err(self.error_before("[:class:] is not supported (use a-z, \\d, \\w)"));
            }
            let low = if b == b'\\' {
                self.escape()?
            } else {
                Class::byte(b)
            };
            if self.peek() == Some(b'-') && self.bytes.get(self.at + 1).is_some_and(|&n| n != b']')
            {
                let (Some(from), Some(&to)) = (single(low), self.bytes.get(self.at + 1)) else {
                    return Err(self.error("a range needs single characters"));
                };
                if to == b'\\' || to < from {
                    return Err(self.error("a range must go up, between single characters"));
                }
                self.at += 2;
                class = class.union(Class::range(from, to));
            } else {
                class = class.union(low);
            }
        }
        Ok(Node::Byte(if negated { class.negate() } else { class }))
    }
}

/// The byte a class of one byte holds.
fn single(class: Class) -> Option<u8> {
    (class.0.count_ones() == 1).then(|| class.0.trailing_zeros() as u8)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case(".*", "anything", true)]
    #[case(".*", "", true)]
    #[case("web", "web", true)]
    #[case("web", "web-metrics", false)]
    #[case("^large-engine-v4$", "large-engine-v4", true)]
    #[case("^large-engine-v.*$", "large-engine-v8", true)]
    #[case("large.engine.v4", "large-engine-v4", true)]
    #[case("app|web", "web", true)]
    #[case("app|web", "appweb", false)]
    #[case("(app|web)-[0-9]+", "web-12", true)]
    #[case("(app|web)-[0-9]+", "web-", false)]
    #[case("(?:app|web)-\\d{1,2}", "app-123", false)]
    #[case("(?:app|web)-\\d{1,2}", "app-12", true)]
    #[case("[^-]+", "web", true)]
    #[case("[^-]+", "w-b", false)]
    #[case("[a-z-]+", "a-b", true)]
    #[case("a{2,}", "aaaa", true)]
    #[case("a{2,}", "a", false)]
    #[case("a?b", "b", true)]
    #[case("\\w+\\.log", "app.log", true)]
    #[case(
        "(a*)*",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab",
        false
    )]
    fn matches_whole_names(#[case] pattern: &str, #[case] name: &str, #[case] expected: bool) {
        assert_eq!(Pattern::new(pattern).unwrap().matches(name), expected);
    }

    #[rstest]
    #[case("app(", "unclosed ( at character 5")]
    #[case("app)", "unmatched ) at character 4")]
    #[case("*app", "a repetition with nothing to repeat at character 1")]
    #[case("[a-", "unclosed [ at character 4")]
    #[case(
        "[z-a]",
        "a range must go up, between single characters at character 3"
    )]
    #[case("a{3,1}", "a repetition {m,n} needs m <= n <= 100 at character 2")]
    #[case("a{1000}", "a repetition {m,n} needs m <= n <= 100 at character 2")]
    #[case("(?i)app", "flags and (?…) groups are not supported at character 2")]
    #[case(
        "a^b",
        "^ and $ only at the start and the end (the whole name is matched) at character 2"
    )]
    #[case(
        "\\bapp",
        "this escape is not supported (use \\d \\w \\s or escape punctuation) at character 2"
    )]
    #[case(
        "[[:alpha:]]",
        "[:class:] is not supported (use a-z, \\d, \\w) at character 2"
    )]
    #[case("café", "only ASCII is supported (container names are ASCII)")]
    #[case(
        "(((((((((((((((((((((a)))))))))))))))))))))",
        "nested more than 20 groups deep at character 21"
    )]
    #[case(
        "(a{100}){100}",
        "too long once its counted repetitions are expanded; simplify it"
    )]
    #[case("a**", "a repetition of a repetition; use a group at character 3")]
    #[case("a{2}{3}", "a repetition of a repetition; use a group at character 5")]
    fn refuses(#[case] pattern: &str, #[case] message: &str) {
        assert_eq!(Pattern::new(pattern).unwrap_err(), message);
    }
}
