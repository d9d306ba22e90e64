//! Server-side conveniences on GMP (through `rug`): a reference evaluator used to
//! cross-check the solver and the Wesolowski prover. Not available in client builds
//! (`--no-default-features`), and nothing else in the crate depends on it.

use rug::Integer;
use rug::integer::Order;
use veil_squaring::Element;

use crate::group::RsaGroup;

/// `x^(2^t) mod N` by `t` GMP squarings, returned as the canonical encoding of its class.
pub fn square_repeated_reference(group: &RsaGroup, x: &Element, t: u64) -> Vec<u8> {
    let n = Integer::from_digits(group.modulus_bytes(), Order::Msf);
    let mut y = Integer::from_digits(&group.modulus().to_be_bytes_of(x), Order::Msf);
    for _ in 0..t {
        y.square_mut();
        y %= &n;
    }
    let minus = Integer::from(&n - &y);
    let canonical = if minus < y { minus } else { y };
    let digits = canonical.to_digits::<u8>(Order::Msf);
    let mut out = vec![0u8; group.element_len() - digits.len()];
    out.extend_from_slice(&digits);
    out
}

/// `x^e mod N` with GMP, canonical encoding (for cross-checks of exponentiation).
pub fn pow_reference(group: &RsaGroup, x: &Element, e: &[u8]) -> Vec<u8> {
    let n = Integer::from_digits(group.modulus_bytes(), Order::Msf);
    let x = Integer::from_digits(&group.modulus().to_be_bytes_of(x), Order::Msf);
    let e = Integer::from_digits(e, Order::Msf);
    // x < N and N > 1, so pow_mod with a non-negative exponent cannot fail.
    let y = x.pow_mod(&e, &n).unwrap_or_default();
    let minus = Integer::from(&n - &y);
    let canonical = if minus < y { minus } else { y };
    let digits = canonical.to_digits::<u8>(Order::Msf);
    let mut out = vec![0u8; group.element_len() - digits.len()];
    out.extend_from_slice(&digits);
    out
}
