//! Deterministic input data shared by the parent (which computes the reference) and the worker.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The inputs every kernel of a [`crate::Problem`] sees: one buffer per entry of `input_lens`,
/// values uniform in [-1, 1) drawn from `ChaCha8Rng::seed_from_u64(seed)` in buffer order, with
/// exact zeros replaced by 0.5 (so no buffer is ever zero).
pub fn input_data(seed: u64, input_lens: &[usize]) -> Vec<Vec<f32>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    input_lens
        .iter()
        .map(|&n| {
            (0..n)
                .map(|_| {
                    let x: f32 = rng.random_range(-1.0f32..1.0);
                    if x == 0.0 {
                        0.5
                    } else {
                        x
                    }
                })
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_nonzero_in_range() {
        let a = input_data(42, &[1000, 3]);
        assert_eq!(a, input_data(42, &[1000, 3]));
        assert_ne!(a, input_data(43, &[1000, 3]));
        assert_eq!((a[0].len(), a[1].len()), (1000, 3));
        assert!(a
            .iter()
            .flatten()
            .all(|&x| x != 0.0 && (-1.0..1.0).contains(&x)));
        // Buffers are consecutive draws of one stream.
        assert_eq!(input_data(42, &[1003])[0][1000..], a[1][..]);
    }
}
