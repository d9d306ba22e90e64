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
//! what a prover grinding through inputs could exploit. Everything here is on public values
//! and uses `num-bigint`, so it builds without GMP.

use std::sync::OnceLock;

use num_bigint::BigUint;
use num_integer::Integer;
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

/// The first [`CHALLENGE_PRIME_BITS`]-bit prime in the hash sequence of `(tag, input)`.
pub fn hash_to_prime(tag: &[u8], input: &[u8]) -> BigUint {
    let mut counter = 0u64;
    loop {
        let mut h = Sha256::new();
        h.update((tag.len() as u64).to_be_bytes());
        h.update(tag);
        h.update((input.len() as u64).to_be_bytes());
        h.update(input);
        h.update(counter.to_be_bytes());
        let mut bytes: [u8; 32] = h.finalize().into();
        bytes[0] |= 0x80;
        bytes[31] |= 1;
        let candidate = BigUint::from_bytes_be(&bytes);
        if is_probable_prime(&candidate) {
            return candidate;
        }
        counter += 1;
    }
}

/// Trial division, then Miller–Rabin (base 2 and hash-derived bases). See the module docs.
pub fn is_probable_prime(n: &BigUint) -> bool {
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
            if x == one {
                return false;
            }
        }
        false
    };
    if !strong_probable_prime(&BigUint::from(2u32)) {
        return false;
    }
    let n_bytes = n.to_bytes_be();
    let three = BigUint::from(3u32);
    let range = n - &three; // bases in [2, n − 2]
    for round in 0..MILLER_RABIN_ROUNDS as u32 {
        let mut h = Sha256::new();
        h.update(b"miller-rabin base");
        h.update(&n_bytes);
        h.update(round.to_be_bytes());
        let mut wide = h.finalize().to_vec();
        let mut h2 = Sha256::new();
        h2.update(&wide);
        wide.extend_from_slice(&h2.finalize());
        let base = BigUint::from_bytes_be(&wide).mod_floor(&range) + 2u32;
        if !strong_probable_prime(&base) {
            return false;
        }
    }
    true
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
    fn hash_to_prime_is_deterministic_sized_and_input_sensitive() {
        let a = hash_to_prime(b"tag", b"input");
        assert_eq!(a, hash_to_prime(b"tag", b"input"));
        assert_eq!(a.bits(), CHALLENGE_PRIME_BITS);
        assert!(is_probable_prime(&a));
        assert_ne!(a, hash_to_prime(b"tag", b"input2"));
        assert_ne!(a, hash_to_prime(b"tag2", b"input"));
    }
}
