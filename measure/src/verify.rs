//! Output checking: poison, guard zones, comparison with the reference.

pub use crate::aligned_buf::AlignedBuf;
use crate::{MeasureError, Tolerance, WrongKind};

/// Bit pattern written to every output element before each run (a quiet NaN with a payload
/// no arithmetic produces): an element still holding it afterwards was never written.
pub const POISON_BITS: u32 = 0x7FC0_DEAD;
/// Bit pattern of the guard zones around the output (another quiet-NaN payload).
pub const GUARD_BITS: u32 = 0x7FC0_BEEF;
/// Guard zone length on each side of the output, in `f32` elements (4 KiB; a multiple of 16 so
/// the output stays 64-byte aligned).
pub const GUARD_ELEMS: usize = 1024;

/// An output buffer with [`GUARD_ELEMS`] sentinel elements on each side.
pub struct GuardedOutput {
    buf: AlignedBuf,
    len: usize,
}

impl GuardedOutput {
    /// Allocates the output of `len` elements with filled guard zones and poisoned contents.
    pub fn new(len: usize) -> Self {
        let mut buf = AlignedBuf::zeros(len + 2 * GUARD_ELEMS);
        let guard = f32::from_bits(GUARD_BITS);
        buf.as_mut_slice().fill(guard);
        let mut g = Self { buf, len };
        g.poison();
        g
    }

    /// Writes the poison pattern to every output element.
    pub fn poison(&mut self) {
        self.output_mut().fill(f32::from_bits(POISON_BITS));
    }

    /// The output elements.
    pub fn output(&self) -> &[f32] {
        &self.buf.as_slice()[GUARD_ELEMS..GUARD_ELEMS + self.len]
    }

    /// The output elements, mutably (the pointer handed to the kernel).
    pub fn output_mut(&mut self) -> &mut [f32] {
        let len = self.len;
        &mut self.buf.as_mut_slice()[GUARD_ELEMS..GUARD_ELEMS + len]
    }

    /// The whole buffer, guards included (for copying to and from a device).
    pub fn whole(&self) -> &[f32] {
        self.buf.as_slice()
    }

    /// Checks both guard zones.
    pub fn check_guards(&self) -> Result<(), MeasureError> {
        check_guards(self.buf.as_slice(), self.len)
    }
}

/// Checks the guard zones of a whole guarded buffer (`GUARD_ELEMS + len + GUARD_ELEMS`).
/// The reported index is relative to the output start (negative: before it).
pub fn check_guards(whole: &[f32], len: usize) -> Result<(), MeasureError> {
    let bad = |i: usize| whole[i].to_bits() != GUARD_BITS;
    let before = (0..GUARD_ELEMS).find(|&i| bad(i));
    let after = (GUARD_ELEMS + len..whole.len()).find(|&i| bad(i));
    match before.or(after) {
        None => Ok(()),
        Some(i) => Err(MeasureError::WrongAnswer {
            kind: WrongKind::OutOfBounds,
            max_abs_err: 0.0,
            max_rel_err: 0.0,
            first_bad_index: i as i64 - GUARD_ELEMS as i64,
        }),
    }
}

/// Compares an output with the reference: poison (unwritten), NaN/Inf, then tolerance.
/// The reported kind is that of the first bad element; the error maxima cover all finite ones.
pub fn check_output(out: &[f32], expected: &[f32], tol: Tolerance) -> Result<(), MeasureError> {
    if out.len() != expected.len() {
        return Err(MeasureError::Invalid(format!(
            "output has {} elements, reference {}",
            out.len(),
            expected.len()
        )));
    }
    let mut first: Option<(usize, WrongKind)> = None;
    let (mut max_abs, mut max_rel) = (0.0f64, 0.0f64);
    for (i, (&o, &e)) in out.iter().zip(expected).enumerate() {
        let kind = if o.to_bits() == POISON_BITS {
            Some(WrongKind::Unwritten)
        } else if !o.is_finite() {
            (e.is_finite() || e.to_bits() != o.to_bits()).then_some(WrongKind::NonFinite)
        } else {
            let abs = (f64::from(o) - f64::from(e)).abs();
            let rel = abs / f64::from(e.abs()).max(1e-30);
            max_abs = max_abs.max(abs);
            max_rel = max_rel.max(rel);
            (abs > f64::from(tol.atol) + f64::from(tol.rtol) * f64::from(e.abs()) || !e.is_finite())
                .then_some(WrongKind::Mismatch)
        };
        if first.is_none() {
            first = kind.map(|k| (i, k));
        }
    }
    match first {
        None => Ok(()),
        Some((i, kind)) => Err(MeasureError::WrongAnswer {
            kind,
            max_abs_err: max_abs,
            max_rel_err: max_rel,
            first_bad_index: i as i64,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(out: &[f32], exp: &[f32]) -> Option<(WrongKind, i64)> {
        match check_output(out, exp, Tolerance::F32) {
            Ok(()) => None,
            Err(MeasureError::WrongAnswer {
                kind,
                first_bad_index,
                ..
            }) => Some((kind, first_bad_index)),
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn output_checks() {
        let p = f32::from_bits(POISON_BITS);
        assert_eq!(kind(&[1.0, 2.0], &[1.0, 2.0005]), None);
        assert_eq!(
            kind(&[1.0, 2.1], &[1.0, 2.0]),
            Some((WrongKind::Mismatch, 1))
        );
        assert_eq!(
            kind(&[f32::NAN, 2.0], &[1.0, 2.0]),
            Some((WrongKind::NonFinite, 0))
        );
        assert_eq!(
            kind(&[1.0, f32::INFINITY], &[1.0, 2.0]),
            Some((WrongKind::NonFinite, 1))
        );
        assert_eq!(
            kind(&[1.0, p], &[1.0, 2.0]),
            Some((WrongKind::Unwritten, 1))
        );
    }

    #[test]
    fn guards_catch_neighbours() {
        let mut g = GuardedOutput::new(10);
        assert_eq!(g.output().as_ptr() as usize % 64, 0);
        assert!(g.check_guards().is_ok());
        assert!(g.output().iter().all(|x| x.to_bits() == POISON_BITS));
        g.output_mut().fill(1.0);
        assert!(g.check_guards().is_ok());
        let mut whole = g.whole().to_vec();
        whole[GUARD_ELEMS + 10] = 0.0;
        let e = check_guards(&whole, 10).unwrap_err();
        assert!(
            matches!(
                e,
                MeasureError::WrongAnswer {
                    first_bad_index: 10,
                    ..
                }
            ),
            "{e}"
        );
        whole[GUARD_ELEMS - 1] = 0.0;
        let e = check_guards(&whole, 10).unwrap_err();
        assert!(
            matches!(
                e,
                MeasureError::WrongAnswer {
                    first_bad_index: -1,
                    ..
                }
            ),
            "{e}"
        );
    }
}
