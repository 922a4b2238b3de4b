//! Integer helpers for [`Space`](super::Space): prime factorisation of any `u64` and
//! binomial coefficients (counting lattice simplices).

/// Largest divisor tried by plain trial division before switching to Miller–Rabin and
/// Pollard's rho (extents in practice are far below `TRIAL_LIMIT²`).
const TRIAL_LIMIT: u64 = 1 << 16;

/// The prime factorisation of `n` as `(prime, multiplicity)` pairs, primes increasing.
/// `factorize(1)` and `factorize(0)` are empty.
pub fn factorize(n: u64) -> Vec<(u64, u32)> {
    let mut out = Vec::new();
    if n < 2 {
        return out;
    }
    let mut n = n;
    let mut d = 2u64;
    while d <= TRIAL_LIMIT && d * d <= n {
        if n.is_multiple_of(d) {
            let mut e = 0;
            while n.is_multiple_of(d) {
                n /= d;
                e += 1;
            }
            out.push((d, e));
        }
        d += if d == 2 { 1 } else { 2 };
    }
    if n > 1 {
        let mut big = Vec::new();
        split_large(n, &mut big);
        big.sort_unstable();
        for p in big {
            match out.last_mut() {
                Some((q, e)) if *q == p => *e += 1,
                _ => out.push((p, 1)),
            }
        }
    }
    out
}

/// Pushes the prime factors (with repetition) of `n > 1` onto `out`.
fn split_large(n: u64, out: &mut Vec<u64>) {
    if n == 1 {
        return;
    }
    if is_prime(n) {
        out.push(n);
        return;
    }
    let d = pollard_rho(n);
    split_large(d, out);
    split_large(n / d, out);
}

fn mul_mod(a: u64, b: u64, m: u64) -> u64 {
    ((a as u128 * b as u128) % m as u128) as u64
}

fn pow_mod(mut b: u64, mut e: u64, m: u64) -> u64 {
    let mut r = 1 % m;
    b %= m;
    while e > 0 {
        if e & 1 == 1 {
            r = mul_mod(r, b, m);
        }
        b = mul_mod(b, b, m);
        e >>= 1;
    }
    r
}

/// Deterministic Miller–Rabin for all `u64`.
pub fn is_prime(n: u64) -> bool {
    const BASES: [u64; 12] = [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37];
    if n < 2 {
        return false;
    }
    for p in BASES {
        if n.is_multiple_of(p) {
            return n == p;
        }
    }
    let s = (n - 1).trailing_zeros();
    let d = (n - 1) >> s;
    'bases: for a in BASES {
        let mut x = pow_mod(a, d, n);
        if x == 1 || x == n - 1 {
            continue;
        }
        for _ in 1..s {
            x = mul_mod(x, x, n);
            if x == n - 1 {
                continue 'bases;
            }
        }
        return false;
    }
    true
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// A non-trivial divisor of the odd composite `n` (Pollard's rho, Floyd cycle finding,
/// deterministic sequence of increments).
fn pollard_rho(n: u64) -> u64 {
    if n.is_multiple_of(2) {
        return 2;
    }
    let mut c = 1u64;
    loop {
        let f = |x: u64| (mul_mod(x, x, n) + c) % n;
        let (mut x, mut y, mut d) = (2u64, 2u64, 1u64);
        while d == 1 {
            x = f(x);
            y = f(f(y));
            d = gcd(x.abs_diff(y), n);
        }
        if d != n {
            return d;
        }
        c += 1;
    }
}

/// `C(n, k)` as `f64` (exact while it fits in 53 bits; huge values stay finite or `inf`).
pub fn binomial(n: u64, k: u64) -> f64 {
    if k > n {
        return 0.0;
    }
    let k = k.min(n - k);
    let mut r = 1.0f64;
    for i in 0..k {
        r = r * (n - i) as f64 / (i + 1) as f64;
    }
    r.round()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn product(f: &[(u64, u32)]) -> u64 {
        f.iter().map(|&(p, e)| p.pow(e)).product()
    }

    #[test]
    fn factorizes_awkward_numbers() {
        assert_eq!(factorize(11008), vec![(2, 8), (43, 1)]);
        assert_eq!(factorize(49), vec![(7, 2)]);
        assert_eq!(factorize(1000), vec![(2, 3), (5, 3)]);
        assert_eq!(factorize(97), vec![(97, 1)]);
        assert_eq!(factorize(1), vec![]);
        assert_eq!(
            factorize(30030),
            vec![(2, 1), (3, 1), (5, 1), (7, 1), (11, 1), (13, 1)]
        );
        // Large primes and semiprimes beyond the trial-division limit.
        let p = 4_294_967_291u64; // largest prime below 2^32
        assert_eq!(factorize(p), vec![(p, 1)]);
        let q = 1_000_000_007u64;
        assert_eq!(factorize(q * 65_537), vec![(65_537, 1), (q, 1)]);
        assert_eq!(
            factorize(18_446_744_073_709_551_557),
            vec![(18_446_744_073_709_551_557, 1)]
        );
        for n in [u64::MAX, 600_851_475_143, 1 << 63, 999_999_999_989 * 3] {
            let f = factorize(n);
            assert_eq!(product(&f), n);
            assert!(f.iter().all(|&(p, _)| is_prime(p)));
        }
    }

    #[test]
    fn binomials() {
        assert_eq!(binomial(5, 2), 10.0);
        assert_eq!(binomial(10, 0), 1.0);
        assert_eq!(binomial(3, 4), 0.0);
        assert_eq!(binomial(12, 4), 495.0);
    }
}
