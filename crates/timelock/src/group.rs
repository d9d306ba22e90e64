//! The RSA group Veil's puzzles live in: `Z_N^* / {±1}` for a modulus nobody can factor.
//!
//! # Choice of modulus
//!
//! The default modulus is **RSA-2048**, the 2048-bit (617-decimal-digit) number RSA
//! Laboratories published in 1991 for the RSA Factoring Challenge. The challenge's factors
//! were never published (RSA Laboratories generated the number on a machine whose storage
//! was destroyed, and the challenge closed in 2007 unsolved), so using it needs no trusted
//! setup: nobody knows the group order, which is all sequentiality needs. The value below was
//! taken from the public challenge list (reproduced e.g. by the Wikipedia article "RSA
//! numbers", section RSA-2048) and is cross-checked in this module's tests by its decimal
//! digit count (617), bit length (2048) and the published decimal expansion.
//!
//! Any other odd modulus of at least [`MIN_MODULUS_BITS`] bits can be used through
//! [`RsaGroup::new`]; the squaring arithmetic has fast paths for 1024, 2048 and 3072 bits.
//!
//! # Why the quotient by `{±1}`
//!
//! `Z_N^*` has a known element of order two, `−1`. In Wesolowski's protocol that lets a
//! cheating prover answer `−h` instead of `h` with a proof that still satisfies the
//! verification equation up to sign, and in the proof of knowledge it lets a prover flip
//! signs. Boneh, Bünz and Fisch ("A survey of two verifiable delay functions", 2018, §6)
//! recommend working in `Z_N^* / {±1}`, where no element of known low order remains unless
//! one can factor `N`. We do exactly that: every element is represented by
//! `min(x, N − x)`, every encoding is that canonical representative (decoders refuse the
//! other one), and equality is equality up to sign. Squaring is a well-defined operation on
//! classes, so puzzles and proofs carry over unchanged. (The alternative, `QR_N^+`, gives
//! the same guarantee but needs a Jacobi-symbol check on every decoded element.)
//!
//! The canonicalisation of secret values (the puzzle key `h^a`) uses a constant-time
//! comparison and selection.
//!
//! ```
//! use veil_timelock::group::RsaGroup;
//! let group = RsaGroup::rsa2048();
//! assert_eq!(group.bits(), 2048);
//! let x = group.hash_to_group(b"VEIL-V1-TIMELOCK-GENERATOR", b"doc");
//! // x and −x are the same element of the quotient group.
//! assert!(group.eq(&x, &group.neg(&x)));
//! let bytes = group.encode(&x);
//! assert!(group.eq(&group.decode(&bytes).unwrap(), &x));
//! ```

use sha2::{Digest, Sha256};
use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};
use thiserror::Error;
use veil_squaring::{ArithError, Element, Modulus};

/// Smallest modulus this crate accepts, in bits. Smaller moduli can be factored.
pub const MIN_MODULUS_BITS: u32 = 1024;

/// Largest modulus this crate accepts, in bits (the squaring arithmetic's limit).
pub const MAX_MODULUS_BITS: u32 = 4096;

/// The RSA-2048 factoring-challenge number (RSA Laboratories, 1991), big-endian.
pub const RSA2048_MODULUS: [u8; 256] = [
    0xc7, 0x97, 0x0c, 0xee, 0xdc, 0xc3, 0xb0, 0x75, 0x44, 0x90, 0x20, 0x1a, 0x7a, 0xa6, 0x13, 0xcd,
    0x73, 0x91, 0x10, 0x81, 0xc7, 0x90, 0xf5, 0xf1, 0xa8, 0x72, 0x6f, 0x46, 0x35, 0x50, 0xbb, 0x5b,
    0x7f, 0xf0, 0xdb, 0x8e, 0x1e, 0xa1, 0x18, 0x9e, 0xc7, 0x2f, 0x93, 0xd1, 0x65, 0x00, 0x11, 0xbd,
    0x72, 0x1a, 0xee, 0xac, 0xc2, 0xac, 0xde, 0x32, 0xa0, 0x41, 0x07, 0xf0, 0x64, 0x8c, 0x28, 0x13,
    0xa3, 0x1f, 0x5b, 0x0b, 0x77, 0x65, 0xff, 0x8b, 0x44, 0xb4, 0xb6, 0xff, 0xc9, 0x33, 0x84, 0xb6,
    0x46, 0xeb, 0x09, 0xc7, 0xcf, 0x5e, 0x85, 0x92, 0xd4, 0x0e, 0xa3, 0x3c, 0x80, 0x03, 0x9f, 0x35,
    0xb4, 0xf1, 0x4a, 0x04, 0xb5, 0x1f, 0x7b, 0xfd, 0x78, 0x1b, 0xe4, 0xd1, 0x67, 0x31, 0x64, 0xba,
    0x8e, 0xb9, 0x91, 0xc2, 0xc4, 0xd7, 0x30, 0xbb, 0xbe, 0x35, 0xf5, 0x92, 0xbd, 0xef, 0x52, 0x4a,
    0xf7, 0xe8, 0xda, 0xef, 0xd2, 0x6c, 0x66, 0xfc, 0x02, 0xc4, 0x79, 0xaf, 0x89, 0xd6, 0x4d, 0x37,
    0x3f, 0x44, 0x27, 0x09, 0x43, 0x9d, 0xe6, 0x6c, 0xeb, 0x95, 0x5f, 0x3e, 0xa3, 0x7d, 0x51, 0x59,
    0xf6, 0x13, 0x58, 0x09, 0xf8, 0x53, 0x34, 0xb5, 0xcb, 0x18, 0x13, 0xad, 0xdc, 0x80, 0xcd, 0x05,
    0x60, 0x9f, 0x10, 0xac, 0x6a, 0x95, 0xad, 0x65, 0x87, 0x2c, 0x90, 0x95, 0x25, 0xbd, 0xad, 0x32,
    0xbc, 0x72, 0x95, 0x92, 0x64, 0x29, 0x20, 0xf2, 0x4c, 0x61, 0xdc, 0x5b, 0x3c, 0x3b, 0x79, 0x23,
    0xe5, 0x6b, 0x16, 0xa4, 0xd9, 0xd3, 0x73, 0xd8, 0x72, 0x1f, 0x24, 0xa3, 0xfc, 0x0f, 0x1b, 0x31,
    0x31, 0xf5, 0x56, 0x15, 0x17, 0x28, 0x66, 0xbc, 0xcc, 0x30, 0xf9, 0x50, 0x54, 0xc8, 0x24, 0xe7,
    0x33, 0xa5, 0xeb, 0x68, 0x17, 0xf7, 0xbc, 0x16, 0x39, 0x9d, 0x48, 0xc6, 0x36, 0x1c, 0xc7, 0xe5,
];

/// The decimal expansion of RSA-2048 as published in the challenge list, for cross-checks.
pub const RSA2048_DECIMAL: &str = concat!(
    "2519590847565789349402718324004839857142928212620403202777713783604366202070",
    "7595556264018525880784406918290641249515082189298559149176184502808489120072",
    "8449926873928072877767359714183472702618963750149718246911650776133798590957",
    "0009733045974880842840179742910064245869181719511874612151517265463228221686",
    "9987549182422433637259085141865462043576798423387184774447920739934236584823",
    "8242811981638150106748104516603773060562016196762561338441436038339044149526",
    "3443219011465754445417842402092461651572335077870774981712577246796292638635",
    "6373289912154831438167899885040445364023527381951378636564391212010397122822",
    "120720357",
);

/// Why a modulus or a group element was refused.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum GroupError {
    /// The modulus is too small, too large or even.
    #[error("unsupported modulus: {bits} bits (need odd, {MIN_MODULUS_BITS}..={MAX_MODULUS_BITS})")]
    BadModulus {
        /// Bit length of the rejected modulus.
        bits: u32,
    },
    /// An element encoding has the wrong length.
    #[error("group element must be {expected} bytes, got {got}")]
    BadLength {
        /// Required length.
        expected: usize,
        /// Length given.
        got: usize,
    },
    /// An element is not below the modulus.
    #[error("group element out of range")]
    OutOfRange,
    /// An element is the larger of its pair `{x, N − x}`.
    #[error("group element not in canonical form")]
    NotCanonical,
    /// An element is `0` or `±1`.
    #[error("group element is degenerate (0 or ±1)")]
    Degenerate,
}

/// The group `Z_N^* / {±1}` for one modulus. See the module documentation.
#[derive(Clone)]
pub struct RsaGroup {
    modulus: Modulus,
    n_bytes: Vec<u8>,
    minus_one: Element,
    /// `(N − 1) / 2`, big-endian, `byte_len` bytes: the largest canonical representative.
    half: Vec<u8>,
}

impl std::fmt::Debug for RsaGroup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RsaGroup")
            .field("bits", &self.bits())
            .finish()
    }
}

impl RsaGroup {
    /// The group modulo the RSA-2048 challenge number.
    pub fn rsa2048() -> Self {
        // RSA2048_MODULUS is odd and 2048 bits: accepted (checked by a test).
        Self::from_be_bytes(&RSA2048_MODULUS).unwrap_or_else(|_| unreachable!())
    }

    /// The group modulo a big-endian modulus (leading zero bytes are ignored).
    pub fn from_be_bytes(n: &[u8]) -> Result<Self, GroupError> {
        let start = n.iter().position(|&b| b != 0).unwrap_or(n.len());
        let n = &n[start..];
        let bits = if n.is_empty() {
            0
        } else {
            (n.len() as u32 - 1) * 8 + (8 - n[0].leading_zeros())
        };
        if !(MIN_MODULUS_BITS..=MAX_MODULUS_BITS).contains(&bits) || n[n.len() - 1] & 1 == 0 {
            return Err(GroupError::BadModulus { bits });
        }
        let modulus = Modulus::from_be_bytes(n).map_err(|_| GroupError::BadModulus { bits })?;
        Self::new(modulus)
    }

    /// The group modulo `modulus`.
    pub fn new(modulus: Modulus) -> Result<Self, GroupError> {
        let bits = modulus.bits();
        if !(MIN_MODULUS_BITS..=MAX_MODULUS_BITS).contains(&bits) {
            return Err(GroupError::BadModulus { bits });
        }
        let n_bytes = modulus.to_be_bytes();
        let mut n_minus_one = n_bytes.clone();
        // N is odd, so subtracting one only clears the lowest bit.
        let last = n_minus_one.len() - 1;
        n_minus_one[last] &= 0xfe;
        let minus_one = modulus
            .element(&n_minus_one)
            .map_err(|_: ArithError| GroupError::BadModulus { bits })?;
        // (N − 1) / 2: shift N − 1 right by one bit.
        let mut half = vec![0u8; n_minus_one.len()];
        let mut carry = 0u8;
        for (out, &b) in half.iter_mut().zip(&n_minus_one) {
            *out = (b >> 1) | carry;
            carry = b << 7;
        }
        Ok(Self {
            modulus,
            n_bytes,
            minus_one,
            half,
        })
    }

    /// The modulus.
    pub fn modulus(&self) -> &Modulus {
        &self.modulus
    }

    /// The modulus, big-endian, [`RsaGroup::element_len`] bytes.
    pub fn modulus_bytes(&self) -> &[u8] {
        &self.n_bytes
    }

    /// Bit length of the modulus.
    pub fn bits(&self) -> u32 {
        self.modulus.bits()
    }

    /// Length of every element encoding: the modulus's byte length.
    pub fn element_len(&self) -> usize {
        self.modulus.byte_len()
    }

    /// `−x`.
    pub fn neg(&self, x: &Element) -> Element {
        self.modulus.mul(x, &self.minus_one)
    }

    /// The canonical encoding of the class of `x`: `min(x, N − x)`, big-endian,
    /// [`RsaGroup::element_len`] bytes. Constant time in `x`.
    pub fn encode(&self, x: &Element) -> Vec<u8> {
        let a = self.modulus.to_be_bytes_of(x);
        let b = self.modulus.to_be_bytes_of(&self.neg(x));
        let b_smaller = ct_lt_be(&b, &a);
        a.iter()
            .zip(&b)
            .map(|(&x, &y)| u8::conditional_select(&x, &y, b_smaller))
            .collect()
    }

    /// Decodes a canonical element: exactly [`RsaGroup::element_len`] bytes, below `N`, the
    /// smaller of its pair, not `0` or `±1`.
    pub fn decode(&self, bytes: &[u8]) -> Result<Element, GroupError> {
        let expected = self.element_len();
        if bytes.len() != expected {
            return Err(GroupError::BadLength {
                expected,
                got: bytes.len(),
            });
        }
        if bytes > self.half.as_slice() {
            // Above (N − 1)/2: either ≥ N or the non-canonical twin.
            return Err(if bytes >= self.n_bytes.as_slice() {
                GroupError::OutOfRange
            } else {
                GroupError::NotCanonical
            });
        }
        let x = self
            .modulus
            .element(bytes)
            .map_err(|_| GroupError::OutOfRange)?;
        let (last, rest) = bytes.split_last().ok_or(GroupError::Degenerate)?;
        if rest.iter().all(|&b| b == 0) && *last <= 1 {
            return Err(GroupError::Degenerate);
        }
        Ok(x)
    }

    /// Equality in the quotient group: `a = ±b`. Not constant time; for public values.
    pub fn eq(&self, a: &Element, b: &Element) -> bool {
        self.encode(a) == self.encode(b)
    }

    /// Whether `x` is `±1`.
    pub fn is_one(&self, x: &Element) -> bool {
        self.eq(x, &self.modulus.one())
    }

    /// Hashes `input` into the group under the domain tag `tag`: SHA-256 in counter mode
    /// expanded to 128 bits more than the modulus and reduced, so the result is within
    /// statistical distance 2^-128 of uniform modulo `N`.
    pub fn hash_to_group(&self, tag: &[u8], input: &[u8]) -> Element {
        let want = self.element_len() + 16;
        let mut wide = Vec::with_capacity(want + 32);
        let mut counter = 0u32;
        while wide.len() < want {
            let mut h = Sha256::new();
            h.update((tag.len() as u64).to_be_bytes());
            h.update(tag);
            h.update(self.modulus_bytes());
            h.update((input.len() as u64).to_be_bytes());
            h.update(input);
            h.update(counter.to_be_bytes());
            wide.extend_from_slice(&h.finalize());
            counter += 1;
        }
        wide.truncate(want);
        self.modulus.element_reduced(&wide)
    }

    /// `base^exp` for a public exponent.
    pub fn pow_vartime(&self, base: &Element, exp_be: &[u8]) -> Element {
        self.modulus.pow_vartime(base, exp_be)
    }

    /// `Π bases[i]^exps[i]` for public exponents, by simultaneous 4-bit-window
    /// exponentiation (one shared chain of squarings).
    pub fn multi_pow_vartime(&self, terms: &[(&Element, &[u8])]) -> Element {
        let m = &self.modulus;
        const W: usize = 4;
        // tables[i][d] = bases[i]^d for d in 0..16 (index 0 unused).
        let tables: Vec<Vec<Element>> = terms
            .iter()
            .map(|(base, _)| {
                let mut t = Vec::with_capacity(1 << W);
                t.push(m.one());
                t.push((*base).clone());
                for d in 2..(1 << W) {
                    let next = m.mul(&t[d - 1], base);
                    t.push(next);
                }
                t
            })
            .collect();
        let max_len = terms.iter().map(|(_, e)| e.len()).max().unwrap_or(0);
        let mut acc: Option<Element> = None;
        for byte_idx in 0..max_len {
            for half in [4u32, 0] {
                if let Some(a) = acc.as_mut() {
                    for _ in 0..W {
                        *a = m.square(a);
                    }
                }
                for (i, (_, exp)) in terms.iter().enumerate() {
                    // Exponents are right-aligned to the longest one.
                    let pad = max_len - exp.len();
                    if byte_idx < pad {
                        continue;
                    }
                    let d = ((exp[byte_idx - pad] >> half) & 0x0f) as usize;
                    if d != 0 {
                        acc = Some(match acc {
                            Some(a) => m.mul(&a, &tables[i][d]),
                            None => tables[i][d].clone(),
                        });
                    }
                }
            }
        }
        acc.unwrap_or_else(|| m.one())
    }
}

/// Constant-time `a < b` for equal-length big-endian byte strings.
pub(crate) fn ct_lt_be(a: &[u8], b: &[u8]) -> Choice {
    debug_assert_eq!(a.len(), b.len());
    // Compute a − b from the least significant byte upwards; the final borrow is a < b.
    let mut borrow = 0u16;
    for (&x, &y) in a.iter().rev().zip(b.iter().rev()) {
        let diff = (x as u16).wrapping_sub(y as u16).wrapping_sub(borrow);
        borrow = (diff >> 8) & 1;
    }
    Choice::from(borrow as u8)
}

/// Constant-time equality of byte strings of public length.
pub(crate) fn ct_eq_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use num_bigint::BigUint;

    #[test]
    fn rsa2048_constant_matches_the_published_number() {
        assert_eq!(RSA2048_DECIMAL.len(), 617);
        let n = BigUint::parse_bytes(RSA2048_DECIMAL.as_bytes(), 10).unwrap();
        assert_eq!(n.bits(), 2048);
        assert_eq!(n.to_bytes_be(), RSA2048_MODULUS.to_vec());
        let g = RsaGroup::rsa2048();
        assert_eq!(g.bits(), 2048);
        assert_eq!(g.element_len(), 256);
    }

    #[test]
    fn rejects_bad_moduli() {
        assert_eq!(
            RsaGroup::from_be_bytes(&[0xff; 64]).unwrap_err(),
            GroupError::BadModulus { bits: 512 }
        );
        let mut even = RSA2048_MODULUS;
        even[255] &= 0xfe;
        assert!(matches!(
            RsaGroup::from_be_bytes(&even),
            Err(GroupError::BadModulus { bits: 2048 })
        ));
        assert!(RsaGroup::from_be_bytes(&[]).is_err());
    }

    #[test]
    fn ct_lt_matches_ordering() {
        let cases: [(&[u8], &[u8]); 5] = [
            (&[0, 1], &[0, 2]),
            (&[1, 0], &[0, 255]),
            (&[5, 5], &[5, 5]),
            (&[0, 0], &[255, 255]),
            (&[255, 255], &[0, 0]),
        ];
        for (a, b) in cases {
            assert_eq!(bool::from(ct_lt_be(a, b)), a < b, "{a:?} {b:?}");
        }
    }

    #[test]
    fn encoding_is_canonical_and_validated() {
        let g = RsaGroup::rsa2048();
        let x = g.hash_to_group(b"test", b"x");
        let enc = g.encode(&x);
        assert_eq!(enc, g.encode(&g.neg(&x)));
        assert!(enc.as_slice() <= g.half.as_slice());
        // The twin N − x is refused, as are N, 0, 1, and wrong lengths.
        let twin = g.modulus().to_be_bytes_of(&g.neg(&g.decode(&enc).unwrap()));
        assert_eq!(g.decode(&twin).unwrap_err(), GroupError::NotCanonical);
        assert_eq!(
            g.decode(&RSA2048_MODULUS).unwrap_err(),
            GroupError::OutOfRange
        );
        assert_eq!(g.decode(&[0u8; 256]).unwrap_err(), GroupError::Degenerate);
        let mut one = [0u8; 256];
        one[255] = 1;
        assert_eq!(g.decode(&one).unwrap_err(), GroupError::Degenerate);
        assert_eq!(
            g.decode(&enc[1..]).unwrap_err(),
            GroupError::BadLength {
                expected: 256,
                got: 255
            }
        );
    }

    #[test]
    fn multi_pow_matches_separate_powers() {
        let g = RsaGroup::rsa2048();
        let m = g.modulus();
        let a = g.hash_to_group(b"test", b"a");
        let b = g.hash_to_group(b"test", b"b");
        let ea = [0x12, 0x34, 0x56, 0x78, 0x9a];
        let eb = [0xff, 0x01];
        let expected = m.mul(&g.pow_vartime(&a, &ea), &g.pow_vartime(&b, &eb));
        let got = g.multi_pow_vartime(&[(&a, &ea), (&b, &eb)]);
        assert_eq!(m.to_be_bytes_of(&got), m.to_be_bytes_of(&expected));
        assert!(g.is_one(&g.multi_pow_vartime(&[(&a, &[0, 0])])));
    }
}
