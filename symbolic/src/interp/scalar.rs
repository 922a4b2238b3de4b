//! Scalar operations of the interpreter: f32 values and i64 indices.

use super::ProgErr;
use crate::expr::BinOp;
use crate::looptree::{ValueBinOp, ValueUnOp};

/// `op(x)` in f32 (`erf` is computed in f64 and rounded).
pub(crate) fn unary(op: ValueUnOp, x: f32) -> f32 {
    match op {
        ValueUnOp::Neg => -x,
        ValueUnOp::Exp => x.exp(),
        ValueUnOp::Log => x.ln(),
        ValueUnOp::Sqrt => x.sqrt(),
        ValueUnOp::Rsqrt => 1.0 / x.sqrt(),
        ValueUnOp::Tanh => x.tanh(),
        ValueUnOp::Erf => erf(f64::from(x)) as f32,
        ValueUnOp::Sigmoid => 1.0 / (1.0 + (-x).exp()),
        ValueUnOp::Abs => x.abs(),
        ValueUnOp::Relu => x.max(0.0),
    }
}

/// `op(x, y)` in f32 (`max`/`min` ignore a NaN operand, like `fmaxf`/`fminf`).
pub(crate) fn binary(op: ValueBinOp, x: f32, y: f32) -> f32 {
    match op {
        ValueBinOp::Add => x + y,
        ValueBinOp::Sub => x - y,
        ValueBinOp::Mul => x * y,
        ValueBinOp::Div => x / y,
        ValueBinOp::Max => x.max(y),
        ValueBinOp::Min => x.min(y),
    }
}

/// The error function (absolute error below 2e-7: a Taylor series near 0, the Numerical
/// Recipes Chebyshev fit of `erfc` elsewhere).
pub(crate) fn erf(x: f64) -> f64 {
    let z = x.abs();
    if z < 0.5 {
        // erf(x) = 2/sqrt(pi) * sum (-1)^n x^(2n+1) / (n! (2n+1))
        let (mut term, mut sum) = (x, x);
        for n in 1..12 {
            term *= -x * x / f64::from(n);
            sum += term / f64::from(2 * n + 1);
        }
        return sum * std::f64::consts::FRAC_2_SQRT_PI;
    }
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let erfc = t * poly.exp();
    if x >= 0.0 {
        1.0 - erfc
    } else {
        erfc - 1.0
    }
}

fn floordiv(a: i64, b: i64) -> i64 {
    let q = a.wrapping_div(b);
    if a.wrapping_rem(b) != 0 && ((a < 0) != (b < 0)) {
        q - 1
    } else {
        q
    }
}

/// `op(a, b)` on integers (floored `floordiv`/`mod`; `/` only when exact; booleans 0/1).
pub(crate) fn int_binary(op: BinOp, a: i64, b: i64) -> Result<i64, ProgErr> {
    let div = matches!(
        op,
        BinOp::Div | BinOp::FloorDiv | BinOp::CeilDiv | BinOp::Mod
    );
    if div && b == 0 {
        return Err(ProgErr::DivZero);
    }
    Ok(match op {
        BinOp::Add => a.wrapping_add(b),
        BinOp::Sub => a.wrapping_sub(b),
        BinOp::Mul => a.wrapping_mul(b),
        BinOp::Div if a.wrapping_rem(b) == 0 => a.wrapping_div(b),
        BinOp::Div => return Err(ProgErr::Inexact),
        BinOp::FloorDiv => floordiv(a, b),
        BinOp::CeilDiv => floordiv(a.wrapping_neg(), b).wrapping_neg(),
        BinOp::Mod => a.wrapping_sub(b.wrapping_mul(floordiv(a, b))),
        BinOp::Min => a.min(b),
        BinOp::Max => a.max(b),
        BinOp::Pow => match u32::try_from(b).ok().and_then(|e| a.checked_pow(e)) {
            Some(v) => v,
            None => return Err(ProgErr::Inexact),
        },
        BinOp::Lt => i64::from(a < b),
        BinOp::Le => i64::from(a <= b),
        BinOp::Eq => i64::from(a == b),
        BinOp::And => i64::from(a != 0 && b != 0),
        BinOp::Or => i64::from(a != 0 || b != 0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int_ops_are_floored() {
        let check = |op, a, b, want: i64| {
            assert_eq!(int_binary(op, a, b).ok(), Some(want), "{op:?} {a} {b}")
        };
        check(BinOp::FloorDiv, 7, 2, 3);
        check(BinOp::FloorDiv, -7, 2, -4);
        check(BinOp::FloorDiv, 7, -2, -4);
        check(BinOp::CeilDiv, 7, 2, 4);
        check(BinOp::CeilDiv, -7, 2, -3);
        check(BinOp::Mod, -7, 3, 2);
        check(BinOp::Mod, 7, -3, -2);
        check(BinOp::Div, 8, 4, 2);
        check(BinOp::Pow, 3, 4, 81);
        assert!(int_binary(BinOp::Div, 7, 2).is_err());
        assert!(int_binary(BinOp::Mod, 7, 0).is_err());
    }

    #[test]
    fn erf_matches_known_values() {
        for (x, want) in [
            (0.0, 0.0),
            (0.1, 0.112_462_916_018_284_9),
            (0.5, 0.520_499_877_813_046_5),
            (1.0, 0.842_700_792_949_714_9),
            (-2.0, -0.995_322_265_018_952_7),
            (3.0, 0.999_977_909_503_001_4),
        ] {
            assert!(
                (erf(x) - want).abs() < 2e-7,
                "erf({x}) = {} want {want}",
                erf(x)
            );
        }
    }
}
