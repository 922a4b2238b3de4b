//! Compilation of output expressions into a [`Tape`].

use super::{Instr, Op, Tape};
use crate::expr::{BinOp, Expr, ExprArena, ExprId, UnOp};
use crate::integral::integral_reachable;
use crate::{Result, SymbolicError, Var};

fn binop(op: BinOp) -> Op {
    match op {
        BinOp::Add => Op::Add,
        BinOp::Sub => Op::Sub,
        BinOp::Mul => Op::Mul,
        BinOp::Div => Op::Div,
        BinOp::FloorDiv => Op::FloorDiv,
        BinOp::CeilDiv => Op::CeilDiv,
        BinOp::Mod => Op::Mod,
        BinOp::Min => Op::Min,
        BinOp::Max => Op::Max,
        BinOp::Pow => Op::Pow,
        BinOp::Lt => Op::Lt,
        BinOp::Le => Op::Le,
        BinOp::Eq => Op::Eq,
        BinOp::And => Op::And,
        BinOp::Or => Op::Or,
    }
}

fn unop(op: UnOp) -> Op {
    match op {
        UnOp::Neg => Op::Neg,
        UnOp::Exp => Op::Exp,
        UnOp::Log => Op::Log,
        UnOp::Not => Op::Not,
    }
}

impl Tape {
    /// Compiles `outputs` (expressions of `arena`) into a flat program whose input columns
    /// are the variables `columns`, in that order.
    ///
    /// Only nodes reachable from the outputs are compiled, in topological (id) order.
    /// Errors: an output id not from `arena` ([`SymbolicError::InvalidRef`]), a column listed
    /// twice ([`SymbolicError::InvalidInput`]), or an output depending on a variable not in
    /// `columns` ([`SymbolicError::UnboundVar`]).
    pub fn compile(arena: &ExprArena, outputs: &[ExprId], columns: &[Var]) -> Result<Tape> {
        for &o in outputs {
            arena.try_get(o)?;
        }
        let mut col_of = vec![u32::MAX; arena.num_vars()];
        for (j, v) in columns.iter().enumerate() {
            let entry = col_of.get_mut(v.index()).ok_or_else(|| {
                SymbolicError::InvalidRef(format!("variable {} not declared in the arena", v.0))
            })?;
            if *entry != u32::MAX {
                return Err(SymbolicError::InvalidInput(format!(
                    "column variable `{}` listed twice",
                    arena.var_name(*v)
                )));
            }
            *entry = j as u32;
        }
        let reach = arena.reachable(outputs);
        let integral = integral_reachable(arena, &reach);
        let mut slot_of = vec![u32::MAX; arena.len()];
        let mut next = columns.len() as u32;
        let mut consts = Vec::new();
        for &id in &reach {
            match *arena.get(id) {
                Expr::Const(bits) => {
                    slot_of[id.index()] = next;
                    consts.push((next, f64::from_bits(bits)));
                    next += 1;
                }
                Expr::Var(v) => {
                    let col = col_of[v.index()];
                    if col == u32::MAX {
                        return Err(SymbolicError::UnboundVar(arena.var_name(v).to_string()));
                    }
                    slot_of[id.index()] = col;
                }
                _ => {}
            }
        }
        let mut instrs = Vec::new();
        for &id in &reach {
            let s = |c: ExprId| slot_of[c.index()];
            let (op, a, b, c, h) = match *arena.get(id) {
                Expr::Const(_) | Expr::Var(_) => continue,
                Expr::Unary(op, a) => (unop(op), s(a), s(a), s(a), 0.0),
                Expr::Binary(op, a, b) => {
                    let h = if integral[a.index()] && integral[b.index()] {
                        0.5
                    } else {
                        0.0
                    };
                    (binop(op), s(a), s(b), s(b), h)
                }
                Expr::Select(c, a, b) => (Op::Select, s(c), s(a), s(b), 0.0),
            };
            slot_of[id.index()] = next;
            instrs.push(Instr {
                op,
                out: next,
                a,
                b,
                c,
                h,
                first: 0,
            });
            next += if op.has_aux() { 3 } else { 1 };
        }
        let outputs: Vec<u32> = outputs.iter().map(|o| slot_of[o.index()]).collect();
        // Adjoint initialisation: column slots are zeroed per chunk; every other slot is
        // assigned by its first writer (an output seed, or the first consumer met in the
        // backward sweep), so no full clear of the adjoint buffer is needed.
        let mut written = vec![false; next as usize];
        written[..columns.len()].fill(true);
        let seed_assign = outputs
            .iter()
            .map(|&s| !std::mem::replace(&mut written[s as usize], true))
            .collect();
        for ins in instrs.iter_mut().rev() {
            for (i, s) in [ins.a, ins.b, ins.c]
                .into_iter()
                .enumerate()
                .take(ins.op.arity())
            {
                if !std::mem::replace(&mut written[s as usize], true) {
                    ins.first |= 1 << i;
                }
            }
        }
        Ok(Tape {
            columns: columns.to_vec(),
            consts,
            instrs,
            outputs,
            seed_assign,
            n_slots: next as usize,
        })
    }
}
