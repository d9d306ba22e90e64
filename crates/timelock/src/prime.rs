//! Hash-to-prime: the Wesolowski challenge `ℓ`, a 256-bit prime derived from a hash.
//!
//! # Construction
//!
//! For counter `i = 0, 1, 2, …`, the candidate is
//! `SHA-256(len(tag) ‖ tag ‖ len(input) ‖ input ‖ i)` read big-endian with its top bit and its
//! lowest bit forced to one; the first candidate that passes the primality test is `ℓ`.
//! Forcing the top bit makes `ℓ` exactly [`CHALLENGE_PRIME_BITS`] bits long, so the challenge
//! space holds about `2^256 / (256 · ln 2) ≈ 2^248` primes: Boneh, Bünz and Fisch ("A survey
//! of two verifiable delay functions", 2018, §3) take `ℓ` from `Primes(2λ)` for `λ`-bit
//! security, and 256 bits gives `λ = 128`.
//!
//! # Primality test
//!
//! Trial division by the primes below 2000, then Miller–Rabin with base 2 and
//! [`MILLER_RABIN_ROUNDS`] further bases derived by hashing the candidate (deterministic, so
//! prover and verifier agree). A candidate is a hash output, not an adversarial integer, so
//! the average-case bound of Damgård, Landrock and Pomerance ("Average case error estimates
//! for the strong probable prime test", Math. Comp. 1993) applies: for 256-bit candidates and
//! 24 rounds the probability that a composite is accepted is below `2^-119`, far below
//! what a prover grinding through inputs could exploit. Everything here is on public values.
//!
//! # Speed
//!
//! The verifier re-runs the search, so it sits on the Wesolowski verification path (target
//! ≤ 1 ms). About `ln(2^256)/2 ≈ 89` candidates are hashed on average; trial division works
//! on 64-bit residues modulo products of small primes, and Miller–Rabin on 256-bit
//! candidates uses a dedicated four-limb Montgomery multiplication, so the whole search
//! costs a few hundred microseconds. Other sizes fall back to `num-bigint` (pure Rust, no
//! GMP); both paths choose the same bases and agree (tested).

use std::sync::OnceLock;

use num_bigint::BigUint;
use num_traits::{One, Zero};
use sha2::{Digest, Sha256};

/// Bit length of every challenge prime.
pub const CHALLENGE_PRIME_BITS: u64 = 256;

/// Miller–Rabin rounds after the base-2 round.
pub const MILLER_RABIN_ROUNDS: usize = 24;

const SIEVE_LIMIT: u32 = 2000;

fn small_primes() -> &'static [u32] {
    static PRIMES: OnceLock<Vec<u32>> = OnceLock::new();
    PRIMES.get_or_init(|| {
        let mut sieve = vec![true; SIEVE_LIMIT as usize];
        let mut out = Vec::new();
        for i in 2..SIEVE_LIMIT as usize {
            if sieve[i] {
                out.push(i as u32);
                let mut j = i * i;
                while j < sieve.len() {
                    sieve[j] = false;
                    j += i;
                }
            }
        }
        out
    })
}

/// The odd small primes packed into groups whose product fits in 63 bits: a residue modulo
/// the product (four 128-by-64-bit reductions) then yields every prime's residue cheaply.
fn prime_groups() -> &'static [(u64, Vec<u64>)] {
    static GROUPS: OnceLock<Vec<(u64, Vec<u64>)>> = OnceLock::new();
    GROUPS.get_or_init(|| {
        let mut groups: Vec<(u64, Vec<u64>)> = Vec::new();
        let mut current = (1u64, Vec::new());
        for &p in &small_primes()[1..] {
            let p = p as u64;
            match current.0.checked_mul(p) {
                Some(m) if m < 1 << 63 => {
                    current.0 = m;
                    current.1.push(p);
                }
                _ => {
                    groups.push(std::mem::replace(&mut current, (p, vec![p])));
                }
            }
        }
        groups.push(current);
        groups
    })
}

/// The first [`CHALLENGE_PRIME_BITS`]-bit prime in the hash sequence of `(tag, input)`.
pub fn hash_to_prime(tag: &[u8], input: &[u8]) -> BigUint {
    let mut prefix = Sha256::new();
    prefix.update((tag.len() as u64).to_be_bytes());
    prefix.update(tag);
    prefix.update((input.len() as u64).to_be_bytes());
    prefix.update(input);
    let mut counter = 0u64;
    loop {
        let mut h = prefix.clone();
        h.update(counter.to_be_bytes());
        let mut bytes: [u8; 32] = h.finalize().into();
        bytes[0] |= 0x80;
        bytes[31] |= 1;
        if is_probable_prime_256(&U256::from_be(&bytes)) {
            return BigUint::from_bytes_be(&bytes);
        }
        counter += 1;
    }
}

/// Trial division, then Miller–Rabin (base 2 and hash-derived bases). See the module docs.
pub fn is_probable_prime(n: &BigUint) -> bool {
    if n.bits() == 256 {
        let bytes = n.to_bytes_be();
        let mut be = [0u8; 32];
        be.copy_from_slice(&bytes);
        return is_probable_prime_256(&U256::from_be(&be));
    }
    if n < &BigUint::from(2u32) {
        return false;
    }
    for &p in small_primes() {
        let p = BigUint::from(p);
        if n == &p {
            return true;
        }
        if (n % &p).is_zero() {
            return false;
        }
    }
    // n is odd and larger than SIEVE_LIMIT here.
    let one = BigUint::one();
    let n_minus_one = n - &one;
    let s = n_minus_one.trailing_zeros().unwrap_or(0);
    let d = &n_minus_one >> s;
    let strong_probable_prime = |base: &BigUint| {
        let mut x = base.modpow(&d, n);
        if x == one || x == n_minus_one {
            return true;
        }
        for _ in 1..s {
            x = (&x * &x) % n;
            if x == n_minus_one {
                return true;
            }
        }
        false
    };
    if !strong_probable_prime(&BigUint::from(2u32)) {
        return false;
    }
    let n_bytes = n.to_bytes_be();
    let range = n - 3u32; // bases in [2, n − 2]
    (0..MILLER_RABIN_ROUNDS as u32).all(|round| {
        let h = BigUint::from_bytes_be(&base_hash(&n_bytes, round));
        strong_probable_prime(&((h % &range) + 2u32))
    })
}

/// The hash a Miller–Rabin base is derived from: `base = H mod (n − 3) + 2`.
fn base_hash(n_be: &[u8], round: u32) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"miller-rabin base");
    h.update(n_be);
    h.update(round.to_be_bytes());
    h.finalize().into()
}

/// A 256-bit unsigned integer, four little-endian 64-bit limbs.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct U256([u64; 4]);

impl U256 {
    pub(crate) fn from_be(b: &[u8; 32]) -> Self {
        let mut l = [0u64; 4];
        for (i, limb) in l.iter_mut().enumerate() {
            let mut w = [0u8; 8];
            w.copy_from_slice(&b[32 - 8 * (i + 1)..32 - 8 * i]);
            *limb = u64::from_be_bytes(w);
        }
        U256(l)
    }

    fn to_be(self) -> [u8; 32] {
        let mut b = [0u8; 32];
        for i in 0..4 {
            b[32 - 8 * (i + 1)..32 - 8 * i].copy_from_slice(&self.0[i].to_be_bytes());
        }
        b
    }

    fn ge(&self, o: &Self) -> bool {
        for i in (0..4).rev() {
            if self.0[i] != o.0[i] {
                return self.0[i] > o.0[i];
            }
        }
        true
    }

    /// `self − o` mod 2^256, and the borrow.
    fn sub(&self, o: &Self) -> (Self, bool) {
        let mut out = [0u64; 4];
        let mut borrow = false;
        for (i, limb) in out.iter_mut().enumerate() {
            let (d1, b1) = self.0[i].overflowing_sub(o.0[i]);
            let (d2, b2) = d1.overflowing_sub(borrow as u64);
            *limb = d2;
            borrow = b1 || b2;
        }
        (U256(out), borrow)
    }

    fn add_small(&self, v: u64) -> Self {
        let mut out = self.0;
        let mut carry = v;
        for limb in out.iter_mut() {
            let (s, c) = limb.overflowing_add(carry);
            *limb = s;
            carry = c as u64;
        }
        U256(out)
    }

    fn rem_u64(&self, m: u64) -> u64 {
        let mut r = 0u128;
        for &limb in self.0.iter().rev() {
            r = ((r << 64) | limb as u128) % m as u128;
        }
        r as u64
    }

    fn shr(&self, s: u32) -> Self {
        let (limbs, bits) = ((s / 64) as usize, s % 64);
        let mut out = [0u64; 4];
        for (i, o) in out.iter_mut().enumerate() {
            let lo = self.0.get(i + limbs).copied().unwrap_or(0);
            let hi = self.0.get(i + limbs + 1).copied().unwrap_or(0);
            *o = if bits == 0 {
                lo
            } else {
                (lo >> bits) | (hi << (64 - bits))
            };
        }
        U256(out)
    }

    fn bit(&self, i: usize) -> bool {
        (self.0[i / 64] >> (i % 64)) & 1 == 1
    }
}

/// Montgomery arithmetic modulo an odd 256-bit `n` with its top bit set.
pub(crate) struct Mont256 {
    n: U256,
    n0: u64,
    one: U256,
    r2: U256,
}

impl Mont256 {
    /// Requires `n` odd with its top bit set.
    pub(crate) fn new(n: U256) -> Self {
        // −n^{-1} mod 2^64 by Newton iteration (each step doubles the correct low bits).
        let mut inv = 1u64;
        for _ in 0..6 {
            inv = inv.wrapping_mul(2u64.wrapping_sub(n.0[0].wrapping_mul(inv)));
        }
        // R mod n = 2^256 − n, as n ≥ 2^255.
        let one = U256([0; 4]).sub(&n).0;
        let mut m = Mont256 {
            n,
            n0: inv.wrapping_neg(),
            one,
            r2: one,
        };
        // R^2 mod n: double R mod n 256 times.
        let mut r2 = one;
        for _ in 0..256 {
            r2 = m.double(&r2);
        }
        m.r2 = r2;
        m
    }

    /// For `x < n`: `q = ⌊x·2^k / n⌋` and `x·2^k mod n`, by `k` steps of binary long
    /// division (`k ≤ 32`).
    pub(crate) fn shift_divide(&self, x: &U256, k: u32) -> (u64, U256) {
        let mut x = *x;
        let mut q = 0u64;
        for _ in 0..k {
            let (d, reduced) = self.double_reduced(&x);
            x = d;
            q = (q << 1) | reduced as u64;
        }
        (q, x)
    }

    fn double(&self, a: &U256) -> U256 {
        self.double_reduced(a).0
    }

    /// `2a mod n` and whether `n` was subtracted.
    fn double_reduced(&self, a: &U256) -> (U256, bool) {
        let top = a.0[3] >> 63;
        let mut out = [0u64; 4];
        let mut carry = 0u64;
        for (i, limb) in out.iter_mut().enumerate() {
            *limb = (a.0[i] << 1) | carry;
            carry = a.0[i] >> 63;
        }
        let d = U256(out);
        if top == 1 || d.ge(&self.n) {
            (d.sub(&self.n).0, true)
        } else {
            (d, false)
        }
    }

    /// CIOS Montgomery multiplication: `a·b·2^-256 mod n`.
    #[allow(clippy::needless_range_loop)] // limb indices are the clearest notation here
    pub(crate) fn mul(&self, a: &U256, b: &U256) -> U256 {
        let n = &self.n.0;
        let mut t = [0u64; 6];
        for i in 0..4 {
            let mut c = 0u128;
            for j in 0..4 {
                let s = t[j] as u128 + a.0[j] as u128 * b.0[i] as u128 + c;
                t[j] = s as u64;
                c = s >> 64;
            }
            let s = t[4] as u128 + c;
            t[4] = s as u64;
            t[5] = (s >> 64) as u64;
            let m = t[0].wrapping_mul(self.n0);
            let s = t[0] as u128 + m as u128 * n[0] as u128;
            let mut c = s >> 64;
            for j in 1..4 {
                let s = t[j] as u128 + m as u128 * n[j] as u128 + c;
                t[j - 1] = s as u64;
                c = s >> 64;
            }
            let s = t[4] as u128 + c;
            t[3] = s as u64;
            t[4] = t[5] + (s >> 64) as u64;
        }
        let r = U256([t[0], t[1], t[2], t[3]]);
        if t[4] != 0 || r.ge(&self.n) {
            r.sub(&self.n).0
        } else {
            r
        }
    }

    pub(crate) fn to_mont(&self, a: &U256) -> U256 {
        self.mul(a, &self.r2)
    }

    /// Strong probable-prime test to `base` (`2 ≤ base < n`).
    fn strong_probable_prime(&self, base: &U256, d: &U256, s: u32, minus_one: &U256) -> bool {
        let b = self.to_mont(base);
        let mut x = self.one;
        let top = (0..256).rev().find(|&i| d.bit(i)).unwrap_or(0);
        for i in (0..=top).rev() {
            x = self.mul(&x, &x);
            if d.bit(i) {
                x = self.mul(&x, &b);
            }
        }
        if x == self.one || x == *minus_one {
            return true;
        }
        for _ in 1..s {
            x = self.mul(&x, &x);
            if x == *minus_one {
                return true;
            }
        }
        false
    }
}

/// The primality test for 256-bit odd candidates (top bit set); same decisions as the
/// generic path.
fn is_probable_prime_256(n: &U256) -> bool {
    for (m, primes) in prime_groups() {
        let r = n.rem_u64(*m);
        if primes.iter().any(|&p| r.is_multiple_of(p)) {
            return false;
        }
    }
    if n.0[0] & 1 == 0 {
        return false;
    }
    let mont = Mont256::new(*n);
    let n_minus_one = n.sub(&U256([1, 0, 0, 0])).0;
    let minus_one = mont.n.sub(&mont.one).0; // Montgomery form of n − 1
    let s = n_minus_one
        .0
        .iter()
        .enumerate()
        .find(|(_, l)| **l != 0)
        .map(|(i, l)| i as u32 * 64 + l.trailing_zeros())
        .unwrap_or(0);
    let d = n_minus_one.shr(s);
    if !mont.strong_probable_prime(&U256([2, 0, 0, 0]), &d, s, &minus_one) {
        return false;
    }
    let n_be = n.to_be();
    let range = n.sub(&U256([3, 0, 0, 0])).0;
    (0..MILLER_RABIN_ROUNDS as u32).all(|round| {
        let mut h = U256::from_be(&base_hash(&n_be, round));
        // h mod (n − 3): n − 3 ≥ 2^255 − 3, so at most two subtractions.
        while h.ge(&range) {
            h = h.sub(&range).0;
        }
        mont.strong_probable_prime(&h.add_small(2), &d, s, &minus_one)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive_is_prime(n: u64) -> bool {
        n >= 2
            && (2..)
                .take_while(|d| d * d <= n)
                .all(|d| !n.is_multiple_of(d))
    }

    #[test]
    fn agrees_with_trial_division_on_small_numbers() {
        for n in 0u64..5000 {
            assert_eq!(
                is_probable_prime(&BigUint::from(n)),
                naive_is_prime(n),
                "{n}"
            );
        }
        // Around the sieve bound and a few larger known values.
        for n in [2003u64, 2011, 4_000_037, 1_000_000_007, 2_147_483_647] {
            assert_eq!(
                is_probable_prime(&BigUint::from(n)),
                naive_is_prime(n),
                "{n}"
            );
        }
    }

    #[test]
    fn rejects_carmichael_numbers_and_strong_pseudoprimes() {
        // Strong pseudoprimes to every prime base up to 13..23 (some have a factor below the
        // sieve bound and are caught there; the others must be caught by Miller–Rabin).
        for n in [
            3_215_031_751u64,          // spsp to bases 2, 3, 5, 7
            2_152_302_898_747,         // spsp to bases 2..11
            3_474_749_660_383,         // spsp to bases 2..13
            341_550_071_728_321,       // spsp to bases 2..17
            3_825_123_056_546_413_051, // spsp to bases 2..23
        ] {
            assert!(!is_probable_prime(&BigUint::from(n)), "{n}");
        }
        // A product of two 128-bit primes is rejected; each prime is accepted.
        let p = (BigUint::one() << 127u32) + 29u32; // smallest prime above 2^127
        let q = (BigUint::one() << 127u32) - 1u32; // Mersenne prime M127
        assert!(is_probable_prime(&p));
        assert!(is_probable_prime(&q));
        assert!(!is_probable_prime(&(&p * &q)));
    }

    #[test]
    fn fast_and_generic_paths_agree_on_256_bit_numbers() {
        // Random odd 256-bit numbers, products of two 128-bit primes, and known primes.
        let mut agree_prime = 0;
        for i in 0u32..3000 {
            let mut h: [u8; 32] = Sha256::digest(i.to_be_bytes()).into();
            h[0] |= 0x80;
            h[31] |= 1;
            let n = BigUint::from_bytes_be(&h);
            let fast = is_probable_prime_256(&U256::from_be(&h));
            assert_eq!(fast, generic(&n), "{n}");
            agree_prime += fast as u32;
        }
        // About 3000 · 2 / ln(2^256) ≈ 34 primes expected.
        assert!((15..60).contains(&agree_prime), "{agree_prime}");
        let p = (BigUint::one() << 127u32) + 29u32;
        let q = (BigUint::one() << 128u32) + 51u32; // smallest prime above 2^128
        assert!(is_probable_prime(&q) && generic(&q));
        let pq = &p * &q;
        assert_eq!(pq.bits(), 256);
        assert!(!is_probable_prime(&pq));
        assert!(!generic(&pq));
        let big_p = (BigUint::one() << 255u32) + 95u32; // smallest prime above 2^255
        assert!(is_probable_prime(&big_p));
        assert!(generic(&big_p));
        let r = U256::from_be(&{
            let mut b = [0u8; 32];
            let v = big_p.to_bytes_be();
            b.copy_from_slice(&v);
            b
        });
        assert_eq!(BigUint::from_bytes_be(&r.to_be()), big_p);
    }

    /// The generic path, forced (is_probable_prime dispatches 256-bit inputs to the fast one).
    fn generic(n: &BigUint) -> bool {
        let wider = n.clone();
        // Same decision procedure as is_probable_prime's generic branch.
        let n = &wider;
        for &p in small_primes() {
            if (n % p).is_zero() {
                return n == &BigUint::from(p);
            }
        }
        let n_minus_one = n - 1u32;
        let s = n_minus_one.trailing_zeros().unwrap();
        let d = &n_minus_one >> s;
        let spp = |b: &BigUint| {
            let mut x = b.modpow(&d, n);
            if x.is_one() || x == n_minus_one {
                return true;
            }
            for _ in 1..s {
                x = (&x * &x) % n;
                if x == n_minus_one {
                    return true;
                }
            }
            false
        };
        let range = n - 3u32;
        spp(&BigUint::from(2u32))
            && (0..MILLER_RABIN_ROUNDS as u32).all(|round| {
                spp(
                    &((BigUint::from_bytes_be(&base_hash(&n.to_bytes_be(), round)) % &range)
                        + 2u32),
                )
            })
    }

    #[test]
    fn hash_to_prime_is_deterministic_sized_and_input_sensitive() {
        let a = hash_to_prime(b"tag", b"input");
        assert_eq!(a, hash_to_prime(b"tag", b"input"));
        assert_eq!(a.bits(), CHALLENGE_PRIME_BITS);
        assert!(is_probable_prime(&a));
        assert_ne!(a, hash_to_prime(b"tag", b"input2"));
        assert_ne!(a, hash_to_prime(b"tag2", b"input"));
    }
}
