//! The workload text parser.
//!
//! Grammar (whitespace between tokens is ignored):
//! ```text
//! workload := IDENT '(' [param (',' param)*] ')' ('+' epilogue)*
//! param    := IDENT '=' (INT | IDENT)        // IDENT only for dtype=f16|bf16|f32
//! epilogue := IDENT ['(' NUMBER (',' NUMBER)* ')']
//! ```

use crate::epilogue::EpilogueOp;
use crate::error::TemplateError;
use crate::op::Op;
use crate::params::{spec, Kind};
use crate::workload::{DType, Workload};

struct Cursor<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn err(&self, msg: impl Into<String>) -> TemplateError {
        TemplateError::Parse {
            text: self.text.into(),
            pos: self.pos,
            msg: msg.into(),
        }
    }

    fn skip_ws(&mut self) {
        while self.text[self.pos..].starts_with(|c: char| c.is_whitespace()) {
            self.pos += self.text[self.pos..]
                .chars()
                .next()
                .map_or(1, char::len_utf8);
        }
    }

    fn peek(&mut self) -> Option<char> {
        self.skip_ws();
        self.text[self.pos..].chars().next()
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: char) -> Result<(), TemplateError> {
        if self.eat(c) {
            Ok(())
        } else {
            let found = self
                .peek()
                .map_or("end of text".to_string(), |f| format!("`{f}`"));
            Err(self.err(format!("expected `{c}`, found {found}")))
        }
    }

    /// A token of the characters allowed by `ok` (at least one).
    fn token(&mut self, what: &str, ok: impl Fn(char) -> bool) -> Result<&'a str, TemplateError> {
        self.skip_ws();
        let start = self.pos;
        let len = self.text[start..]
            .find(|c: char| !ok(c))
            .unwrap_or(self.text.len() - start);
        if len == 0 {
            return Err(self.err(format!("expected {what}")));
        }
        self.pos += len;
        Ok(&self.text[start..start + len])
    }

    fn ident(&mut self) -> Result<&'a str, TemplateError> {
        self.token("a name", |c| c.is_ascii_alphanumeric() || c == '_')
    }
}

/// Parses a workload text (validating it).
pub(crate) fn parse(text: &str) -> Result<Workload, TemplateError> {
    let mut cur = Cursor { text, pos: 0 };
    let name = cur.ident()?;
    let table = spec(name).ok_or_else(|| TemplateError::UnknownOperator(name.into()))?;
    cur.expect('(')?;
    let mut given: Vec<Option<i64>> = vec![None; table.len()];
    let mut dtype = DType::F32;
    let mut dtype_seen = false;
    if !cur.eat(')') {
        loop {
            let pname = cur.ident()?;
            cur.expect('=')?;
            if pname == "dtype" {
                let value = cur.ident()?;
                if dtype_seen {
                    return Err(TemplateError::DuplicateParameter {
                        op: name.into(),
                        param: pname.into(),
                    });
                }
                dtype_seen = true;
                dtype = value.parse()?;
            } else {
                let slot = table.iter().position(|p| p.name == pname).ok_or_else(|| {
                    TemplateError::UnknownParameter {
                        op: name.into(),
                        param: pname.into(),
                    }
                })?;
                let tok = cur.token("an integer", |c| c.is_ascii_digit() || c == '-')?;
                let value: i64 = tok
                    .parse()
                    .map_err(|_| cur.err(format!("`{tok}` is not an integer for `{pname}`")))?;
                if given[slot].replace(value).is_some() {
                    return Err(TemplateError::DuplicateParameter {
                        op: name.into(),
                        param: pname.into(),
                    });
                }
            }
            if cur.eat(')') {
                break;
            }
            if !cur.eat(',') {
                let found = cur
                    .peek()
                    .map_or("end of text".to_string(), |f| format!("`{f}`"));
                return Err(cur.err(format!("expected `,` or `)`, found {found}")));
            }
        }
    }
    let mut values = Vec::with_capacity(table.len());
    for (p, v) in table.iter().zip(&given) {
        let value = v
            .or(p.default)
            .ok_or_else(|| TemplateError::MissingParameter {
                op: name.into(),
                param: p.name.into(),
            })?;
        values.push(value);
    }
    // Range-check before building (negative values must not wrap).
    for (p, &v) in table.iter().zip(&values) {
        if v < 0 || (p.kind == Kind::Dim && v < 1) {
            let err = if p.kind == Kind::Dim {
                TemplateError::NonPositiveDimension {
                    op: name.into(),
                    param: p.name.into(),
                    value: v,
                }
            } else {
                TemplateError::OutOfRange {
                    op: name.into(),
                    param: p.name.into(),
                    value: v,
                    expected: ">= 0",
                }
            };
            return Err(err);
        }
        if p.kind == Kind::Flag && v > 1 {
            return Err(TemplateError::OutOfRange {
                op: name.into(),
                param: p.name.into(),
                value: v,
                expected: "0 or 1",
            });
        }
    }
    let op = Op::from_values(name, &values)?;
    let mut epilogue = Vec::new();
    while cur.eat('+') {
        let ename = cur.ident()?;
        let mut args = Vec::new();
        if cur.eat('(') {
            loop {
                let tok = cur.token("a number", |c| {
                    c.is_ascii_alphanumeric() || "+-.".contains(c)
                })?;
                let v: f64 = tok
                    .parse()
                    .map_err(|_| cur.err(format!("`{tok}` is not a number")))?;
                if !v.is_finite() {
                    return Err(cur.err(format!("`{tok}` is not a finite number")));
                }
                args.push(v);
                if cur.eat(')') {
                    break;
                }
                cur.expect(',')?;
            }
        }
        epilogue.push(EpilogueOp::from_parts(ename, &args)?);
    }
    if let Some(c) = cur.peek() {
        return Err(cur.err(format!("unexpected `{c}` after the workload")));
    }
    Workload::new(op, dtype, epilogue)
}
