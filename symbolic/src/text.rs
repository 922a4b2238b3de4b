//! Canonical text form of expressions: s-expressions.
//!
//! Grammar: `expr := number | name | "(" op expr+ ")"`, with operators
//! `+ - * / floordiv ceildiv mod min max pow < <= == and or` (two arguments),
//! `neg exp log not` (one) and `select` (three). Numbers use Rust's shortest round-trip
//! `f64` form (`2`, `0.5`, `-3`, `inf`, `NaN`); names are identifiers
//! (`[A-Za-z_][A-Za-z0-9_.]*`, other than `inf`/`nan` spellings). Printing then parsing
//! gives back the same id in the same arena, and parsing then printing gives back the same
//! text for text that was printed by [`ExprArena::display`].

use crate::expr::{BinOp, Expr, ExprArena, ExprId, UnOp};
use crate::{Result, SymbolicError};

impl BinOp {
    /// The operator's symbol in the text form.
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::FloorDiv => "floordiv",
            BinOp::CeilDiv => "ceildiv",
            BinOp::Mod => "mod",
            BinOp::Min => "min",
            BinOp::Max => "max",
            BinOp::Pow => "pow",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Eq => "==",
            BinOp::And => "and",
            BinOp::Or => "or",
        }
    }
}

impl UnOp {
    /// The operator's symbol in the text form.
    pub fn symbol(self) -> &'static str {
        match self {
            UnOp::Neg => "neg",
            UnOp::Exp => "exp",
            UnOp::Log => "log",
            UnOp::Not => "not",
        }
    }
}

const BINARY: [BinOp; 15] = [
    BinOp::Add,
    BinOp::Sub,
    BinOp::Mul,
    BinOp::Div,
    BinOp::FloorDiv,
    BinOp::CeilDiv,
    BinOp::Mod,
    BinOp::Min,
    BinOp::Max,
    BinOp::Pow,
    BinOp::Lt,
    BinOp::Le,
    BinOp::Eq,
    BinOp::And,
    BinOp::Or,
];
const UNARY: [UnOp; 4] = [UnOp::Neg, UnOp::Exp, UnOp::Log, UnOp::Not];

/// Formats a constant in the canonical way.
pub fn format_number(v: f64) -> String {
    format!("{v}")
}

enum Item {
    Node(ExprId),
    Text(&'static str),
}

impl ExprArena {
    /// The canonical text of `id` (a tree: shared sub-expressions are printed each time).
    pub fn display(&self, id: ExprId) -> String {
        let mut out = String::new();
        let mut stack = vec![Item::Node(id)];
        while let Some(item) = stack.pop() {
            let id = match item {
                Item::Text(t) => {
                    out.push_str(t);
                    continue;
                }
                Item::Node(id) => id,
            };
            let (sym, kids): (&'static str, Vec<ExprId>) = match *self.get(id) {
                Expr::Const(_) => {
                    out.push_str(&format_number(self.as_const(id).unwrap_or(f64::NAN)));
                    continue;
                }
                Expr::Var(v) => {
                    out.push_str(self.var_name(v));
                    continue;
                }
                Expr::Unary(op, a) => (op.symbol(), vec![a]),
                Expr::Binary(op, a, b) => (op.symbol(), vec![a, b]),
                Expr::Select(c, a, b) => ("select", vec![c, a, b]),
            };
            out.push('(');
            out.push_str(sym);
            stack.push(Item::Text(")"));
            for &k in kids.iter().rev() {
                stack.push(Item::Node(k));
                stack.push(Item::Text(" "));
            }
        }
        out
    }

    /// Parses canonical text into this arena (declaring variables as they appear).
    ///
    /// Errors name the byte offset of the problem. Parsing is iterative, so deep nesting
    /// cannot overflow the stack.
    pub fn parse(&mut self, text: &str) -> Result<ExprId> {
        Parser { text, pos: 0 }.run(self)
    }
}

struct Frame {
    op: &'static str,
    start: usize,
    args: Vec<ExprId>,
}

struct Parser<'a> {
    text: &'a str,
    pos: usize,
}

fn err(pos: usize, msg: impl Into<String>) -> SymbolicError {
    SymbolicError::Parse {
        pos,
        msg: msg.into(),
    }
}

impl Parser<'_> {
    fn skip_ws(&mut self) {
        let rest = &self.text[self.pos..];
        self.pos += rest.len() - rest.trim_start().len();
    }

    /// Next atom (maximal run of characters that are not whitespace or parentheses).
    fn atom(&mut self) -> (usize, &str) {
        let start = self.pos;
        let rest = &self.text[start..];
        let len = rest
            .find(|c: char| c.is_whitespace() || c == '(' || c == ')')
            .unwrap_or(rest.len());
        self.pos += len;
        (start, &self.text[start..start + len])
    }

    fn leaf(arena: &mut ExprArena, start: usize, tok: &str) -> Result<ExprId> {
        if let Ok(v) = tok.parse::<f64>() {
            return Ok(arena.constant(v));
        }
        let mut chars = tok.chars();
        let ok_first = chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
        if ok_first && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.') {
            Ok(arena.var(tok))
        } else {
            Err(err(
                start,
                format!("`{tok}` is neither a number nor a variable name"),
            ))
        }
    }

    fn run(mut self, arena: &mut ExprArena) -> Result<ExprId> {
        let mut stack: Vec<Frame> = Vec::new();
        let mut result: Option<ExprId> = None;
        loop {
            self.skip_ws();
            if self.pos >= self.text.len() {
                return match (stack.last(), result) {
                    (Some(f), _) => Err(err(
                        self.pos,
                        format!("unclosed `({}` opened at byte {}", f.op, f.start),
                    )),
                    (None, Some(id)) => Ok(id),
                    (None, None) => Err(err(self.pos, "empty expression")),
                };
            }
            if result.is_some() && stack.is_empty() {
                return Err(err(self.pos, "unexpected text after the expression"));
            }
            let c = self.text[self.pos..].chars().next().unwrap_or(' ');
            let done = match c {
                '(' => {
                    let start = self.pos;
                    self.pos += 1;
                    self.skip_ws();
                    let (at, sym) = self.atom();
                    let op = BINARY
                        .iter()
                        .map(|o| o.symbol())
                        .chain(UNARY.iter().map(|o| o.symbol()))
                        .chain(["select"])
                        .find(|s| *s == sym)
                        .ok_or_else(|| err(at, format!("unknown operator `{sym}`")))?;
                    stack.push(Frame {
                        op,
                        start,
                        args: Vec::new(),
                    });
                    continue;
                }
                ')' => {
                    let frame = stack.pop().ok_or_else(|| err(self.pos, "unbalanced `)`"))?;
                    self.pos += 1;
                    Self::build(arena, frame)?
                }
                _ => {
                    let (start, tok) = self.atom();
                    Self::leaf(arena, start, tok)?
                }
            };
            match stack.last_mut() {
                Some(f) => f.args.push(done),
                None => result = Some(done),
            }
        }
    }

    fn build(arena: &mut ExprArena, f: Frame) -> Result<ExprId> {
        let arity = |n: usize| {
            if f.args.len() == n {
                Ok(())
            } else {
                Err(err(
                    f.start,
                    format!("`{}` takes {n} argument(s), got {}", f.op, f.args.len()),
                ))
            }
        };
        if let Some(&op) = BINARY.iter().find(|o| o.symbol() == f.op) {
            arity(2)?;
            return Ok(arena.binary(op, f.args[0], f.args[1]));
        }
        if let Some(&op) = UNARY.iter().find(|o| o.symbol() == f.op) {
            arity(1)?;
            return Ok(arena.unary(op, f.args[0]));
        }
        arity(3)?;
        Ok(arena.select(f.args[0], f.args[1], f.args[2]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(text: &str) {
        let mut a = ExprArena::new();
        let id = a.parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(a.display(id), text);
        assert_eq!(a.parse(&a.display(id)).unwrap(), id);
    }

    #[test]
    fn corpus_round_trips() {
        for t in [
            "2",
            "-3.5",
            "0.1",
            "inf",
            "NaN",
            "x",
            "sp_0_1",
            "(+ x 1)",
            "(- (* 2 y) (/ x 3))",
            "(floordiv (ceildiv n 7) (mod m 4))",
            "(min (max a b) (pow a 2.5))",
            "(exp (log (neg x)))",
            "(select (and (< a b) (or (<= b c) (not (== a c)))) a c)",
            "(* (+ x y) (+ x y))",
        ] {
            roundtrip(t);
        }
    }

    #[test]
    fn hash_consing_shares_equal_nodes() {
        let mut a = ExprArena::new();
        let e1 = a.parse("(+ (* x 2) (* x 2))").unwrap();
        assert_eq!(a.len(), 4, "x, 2, (* x 2), the sum");
        let e2 = a.parse("(+ (* x 2) (* x 2))").unwrap();
        assert_eq!(e1, e2);
    }

    #[test]
    fn errors_name_the_position() {
        let check = |text: &str, pos: usize| {
            let mut a = ExprArena::new();
            match a.parse(text) {
                Err(SymbolicError::Parse { pos: p, .. }) => assert_eq!(p, pos, "{text}"),
                other => panic!("{text}: expected a parse error, got {other:?}"),
            }
        };
        check("", 0);
        check("(+ x", 4);
        check("(+ x 1))", 7);
        check("(foo x 1)", 1);
        check("(+ x)", 0);
        check("(exp x y)", 0);
        check("x y", 2);
        check("(+ 1x y)", 3);
        check(")", 0);
    }

    #[test]
    fn deep_nesting_does_not_overflow() {
        let depth = 100_000;
        let text = format!("{}x{}", "(neg ".repeat(depth), ")".repeat(depth));
        let mut a = ExprArena::new();
        let id = a.parse(&text).unwrap();
        assert_eq!(a.display(id), text);
    }
}
