//! Inlineable `round`, `floor` and `ceil`.
//!
//! On the baseline x86-64 target (no SSE4.1) the standard ones are libm calls; these are
//! exact straight-line arithmetic (the `1.5·2^52` trick), used by snapping and the
//! floor-like operations.

/// `1.5·2^52`: adding and subtracting it rounds to an integer (ties to even).
const ROUND_MAGIC: f64 = 6_755_399_441_055_744.0;
const TWO_51: f64 = 2_251_799_813_685_248.0;

/// Nearest integer (ties to even below 2^51; larger values use the standard `round`).
#[inline(always)]
pub fn round(x: f64) -> f64 {
    if x.abs() < TWO_51 {
        (x + ROUND_MAGIC) - ROUND_MAGIC
    } else {
        x.round()
    }
}

/// `⌊x⌋`.
#[inline(always)]
pub fn floor(x: f64) -> f64 {
    let r = round(x);
    if r > x {
        r - 1.0
    } else {
        r
    }
}

/// `⌈x⌉`.
#[inline(always)]
pub fn ceil(x: f64) -> f64 {
    -floor(-x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_std() {
        for x in [
            -2.5,
            -2.0,
            -1.5,
            -0.5,
            0.0,
            0.49,
            0.5,
            1.5,
            2.5,
            3.7,
            -3.7,
            1e17,
            -1e17,
            4503599627370495.5,
        ] {
            assert_eq!(floor(x), x.floor(), "floor {x}");
            assert_eq!(ceil(x), x.ceil(), "ceil {x}");
            assert!((round(x) - x).abs() <= 0.5);
        }
        assert!(floor(f64::NAN).is_nan() && round(f64::INFINITY) == f64::INFINITY);
    }
}
