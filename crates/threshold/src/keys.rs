//! Keys of the threshold scheme: the committee key, members' verification keys and key
//! shares, Shamir sharing over the scalar field, and Lagrange coefficients.
//!
//! # Sharing
//!
//! The committee secret `s ∈ F_r` is the constant term of a polynomial `f` of degree `t − 1`;
//! member `i ∈ {1, …, n}` holds `sᵢ = f(i)` (Shamir, "How to share a secret", CACM 1979). The
//! committee key is `PK = s·G` and member `i`'s verification key is `VKᵢ = sᵢ·G`, so anyone can
//! check a member's decryption shares against `VKᵢ`. Any `t` shares determine `s` by Lagrange
//! interpolation at zero, `s = Σ λᵢ sᵢ` with `λᵢ = Πⱼ≠ᵢ xⱼ / (xⱼ − xᵢ)`; fewer than `t` shares are
//! independent of `s`.
//!
//! [`lagrange_at_zero`] computes all `λᵢ` of a responder set with one field inversion (batch
//! inversion, Montgomery's trick), once per responder set; combining then costs one small
//! multi-scalar multiplication per ciphertext.
//!
//! In production the shares come from the distributed key generation in `veil-keygen`; the
//! trusted dealer in [`hazmat`] exists for tests and single-machine devnets.
//!
//! # Encodings (version 1)
//!
//! - [`PublicKey`], [`VerificationKey`]: the 48-byte compressed G1 point (validated: on the
//!   curve, in the subgroup, not the identity).
//! - [`KeyShare`]: `0x01 ‖ index (u32 BE) ‖ secret (32 bytes, little-endian, < r, ≠ 0)`.
//! - [`ThresholdKey`]: `0x01 ‖ t (u32 BE) ‖ n (u32 BE) ‖ PK ‖ VK₁ ‖ … ‖ VKₙ`.

use ark_bls12_381::{Fr, G1Affine, G1Projective};
use ark_ec::{AffineRepr, CurveGroup, PrimeGroup, VariableBaseMSM};
use ark_ff::{One, UniformRand, Zero, batch_inversion};
use rand_core::{CryptoRng, RngCore};
use subtle::ConstantTimeEq;
use thiserror::Error;
use veil_circuits::dleq::{G1_LEN, ct, fr_from_bytes, fr_to_bytes, g1_from_bytes, g1_to_bytes};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// Largest committee the scheme accepts. Tested up to 128; nothing in the arithmetic depends
/// on the bound, it only caps the work an adversarial encoding can cause.
pub const MAX_MEMBERS: u32 = 4096;

/// Version byte of the key encodings.
pub const KEY_VERSION: u8 = 1;

/// Why a key, share set or index set was refused.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum KeyError {
    /// A point is not a valid, non-identity element of the prime-order subgroup.
    #[error("invalid group element")]
    InvalidPoint,
    /// An index is outside `1..=MAX_MEMBERS` (or outside the committee).
    #[error("member index {index} out of range 1..={max}")]
    IndexOutOfRange {
        /// Index given.
        index: u32,
        /// Largest allowed.
        max: u32,
    },
    /// An index appears twice.
    #[error("duplicate member index {0}")]
    DuplicateIndex(u32),
    /// Threshold and committee size are inconsistent.
    #[error("invalid threshold {t} for {n} members")]
    InvalidThreshold {
        /// Threshold.
        t: u32,
        /// Committee size.
        n: u32,
    },
    /// The secret of a share is zero or not a canonical scalar.
    #[error("invalid secret scalar")]
    InvalidSecret,
    /// An encoding has the wrong length.
    #[error("key encoding has wrong length: {len} bytes, expected {expected}")]
    BadLength {
        /// Length given.
        len: usize,
        /// Length required.
        expected: usize,
    },
    /// Unknown encoding version.
    #[error("unsupported key encoding version {0}")]
    UnsupportedVersion(u8),
    /// No indices were given.
    #[error("empty index set")]
    Empty,
}

/// The committee's public key `PK = s·G`, never the identity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PublicKey(G1Affine);

/// Member `i`'s verification key `VKᵢ = sᵢ·G`, never the identity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct VerificationKey(G1Affine);

macro_rules! g1_key {
    ($t:ident) => {
        impl $t {
            /// Length of the encoding.
            pub const ENCODED_LEN: usize = G1_LEN;

            /// Wraps a point, refusing the identity (points of `G1Affine` are on the curve
            /// and in the subgroup when they come from validated decoding or arithmetic).
            pub fn from_point(p: G1Affine) -> Result<Self, KeyError> {
                if p.is_zero() || !p.is_on_curve() || !p.is_in_correct_subgroup_assuming_on_curve()
                {
                    return Err(KeyError::InvalidPoint);
                }
                Ok(Self(p))
            }

            /// The group element.
            pub fn point(&self) -> G1Affine {
                self.0
            }

            /// The compressed encoding.
            pub fn to_bytes(&self) -> [u8; G1_LEN] {
                g1_to_bytes(&self.0)
            }

            /// Decodes with full validation.
            pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
                if bytes.len() != G1_LEN {
                    return Err(KeyError::BadLength {
                        len: bytes.len(),
                        expected: G1_LEN,
                    });
                }
                g1_from_bytes(bytes).map(Self).ok_or(KeyError::InvalidPoint)
            }
        }
    };
}
g1_key!(PublicKey);
g1_key!(VerificationKey);

/// Member `index`'s share `sᵢ` of the committee secret. Zeroized on drop; its secret is only
/// ever multiplied in constant time. `Debug` prints the index only.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct KeyShare {
    index: u32,
    secret: Fr,
}

impl std::fmt::Debug for KeyShare {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyShare")
            .field("index", &self.index)
            .finish_non_exhaustive()
    }
}

impl PartialEq for KeyShare {
    /// Constant-time in the secret.
    fn eq(&self, other: &Self) -> bool {
        self.index == other.index
            && bool::from(fr_to_bytes(&self.secret).ct_eq(&fr_to_bytes(&other.secret)))
    }
}
impl Eq for KeyShare {}

impl KeyShare {
    /// Length of [`KeyShare::to_bytes`].
    pub const ENCODED_LEN: usize = 1 + 4 + 32;

    /// A share, checked: `1 ≤ index ≤ MAX_MEMBERS`, secret nonzero.
    pub fn new(index: u32, secret: Fr) -> Result<Self, KeyError> {
        check_index(index)?;
        if secret.is_zero() {
            return Err(KeyError::InvalidSecret);
        }
        Ok(Self { index, secret })
    }

    /// The member index `i` (the evaluation point of the sharing polynomial).
    pub fn index(&self) -> u32 {
        self.index
    }

    /// The secret scalar. Handle with care: never branch on it, never log it.
    pub fn secret(&self) -> &Fr {
        &self.secret
    }

    /// `VKᵢ = sᵢ·G`, computed in constant time.
    pub fn verification_key(&self) -> VerificationKey {
        let g = G1Projective::generator().into_affine();
        VerificationKey(ct::mul(&g, &self.secret).into_affine())
    }

    /// The encoding (see the module documentation), in a buffer zeroized on drop.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::with_capacity(Self::ENCODED_LEN));
        out.push(KEY_VERSION);
        out.extend_from_slice(&self.index.to_be_bytes());
        let mut s = fr_to_bytes(&self.secret);
        out.extend_from_slice(&s);
        s.zeroize();
        out
    }

    /// Decodes and validates.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        if bytes.len() != Self::ENCODED_LEN {
            return Err(KeyError::BadLength {
                len: bytes.len(),
                expected: Self::ENCODED_LEN,
            });
        }
        if bytes[0] != KEY_VERSION {
            return Err(KeyError::UnsupportedVersion(bytes[0]));
        }
        let index = u32::from_be_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]);
        let secret = fr_from_bytes(&bytes[5..]).ok_or(KeyError::InvalidSecret)?;
        Self::new(index, secret)
    }
}

/// The public side of a threshold key: threshold `t`, committee key and every member's
/// verification key (member `i` at position `i − 1`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThresholdKey {
    threshold: u32,
    public_key: PublicKey,
    verification_keys: Vec<VerificationKey>,
}

impl ThresholdKey {
    /// Assembles and checks `1 ≤ t ≤ n ≤ MAX_MEMBERS`. Does not check that the keys lie on
    /// one polynomial; see [`ThresholdKey::check_consistency`].
    pub fn new(
        threshold: u32,
        public_key: PublicKey,
        verification_keys: Vec<VerificationKey>,
    ) -> Result<Self, KeyError> {
        let n = u32::try_from(verification_keys.len()).unwrap_or(u32::MAX);
        if threshold == 0 || threshold > n || n > MAX_MEMBERS {
            return Err(KeyError::InvalidThreshold { t: threshold, n });
        }
        Ok(Self {
            threshold,
            public_key,
            verification_keys,
        })
    }

    /// The threshold `t`: the number of members whose shares decrypt.
    pub fn threshold(&self) -> u32 {
        self.threshold
    }

    /// The committee size `n`.
    pub fn members(&self) -> u32 {
        // Bounded by MAX_MEMBERS at construction.
        self.verification_keys.len() as u32
    }

    /// The committee key.
    pub fn public_key(&self) -> &PublicKey {
        &self.public_key
    }

    /// Member `index`'s verification key (`1 ≤ index ≤ n`).
    pub fn verification_key(&self, index: u32) -> Result<&VerificationKey, KeyError> {
        if index == 0 || index > self.members() {
            return Err(KeyError::IndexOutOfRange {
                index,
                max: self.members(),
            });
        }
        Ok(&self.verification_keys[(index - 1) as usize])
    }

    /// All verification keys, member 1 first.
    pub fn verification_keys(&self) -> &[VerificationKey] {
        &self.verification_keys
    }

    /// Checks that `PK` and every `VKᵢ` lie on one polynomial of degree `t − 1` in the exponent:
    /// interpolates from members `1..=t` and compares `PK` and every other `VKⱼ` (one MSM of
    /// size `t` per key). Returns the first inconsistent index (0 for `PK`).
    pub fn check_consistency(&self) -> Result<(), u32> {
        let t = self.threshold as usize;
        let base: Vec<u32> = (1..=self.threshold).collect();
        let pts: Vec<G1Affine> = self.verification_keys[..t].iter().map(|v| v.0).collect();
        for target in std::iter::once(0).chain(self.threshold + 1..=self.members()) {
            // Indices are distinct and in range, so the coefficients exist.
            let lambda = lagrange_at(&base, Fr::from(target)).map_err(|_| target)?;
            let got = G1Projective::msm_unchecked(&pts, &lambda);
            let want = if target == 0 {
                self.public_key.0
            } else {
                self.verification_keys[(target - 1) as usize].0
            };
            if got != want.into_group() {
                return Err(target);
            }
        }
        Ok(())
    }

    /// The encoding (see the module documentation).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(9 + G1_LEN * (1 + self.verification_keys.len()));
        out.push(KEY_VERSION);
        out.extend_from_slice(&self.threshold.to_be_bytes());
        out.extend_from_slice(&self.members().to_be_bytes());
        out.extend_from_slice(&self.public_key.to_bytes());
        for vk in &self.verification_keys {
            out.extend_from_slice(&vk.to_bytes());
        }
        out
    }

    /// Decodes and validates every point and the threshold bounds.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        if bytes.len() < 9 + G1_LEN {
            return Err(KeyError::BadLength {
                len: bytes.len(),
                expected: 9 + G1_LEN,
            });
        }
        if bytes[0] != KEY_VERSION {
            return Err(KeyError::UnsupportedVersion(bytes[0]));
        }
        let t = u32::from_be_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]);
        let n = u32::from_be_bytes([bytes[5], bytes[6], bytes[7], bytes[8]]);
        if t == 0 || t > n || n > MAX_MEMBERS {
            return Err(KeyError::InvalidThreshold { t, n });
        }
        let expected = 9 + G1_LEN * (1 + n as usize);
        if bytes.len() != expected {
            return Err(KeyError::BadLength {
                len: bytes.len(),
                expected,
            });
        }
        let pk = PublicKey::from_bytes(&bytes[9..9 + G1_LEN])?;
        let vks = bytes[9 + G1_LEN..]
            .chunks_exact(G1_LEN)
            .map(VerificationKey::from_bytes)
            .collect::<Result<Vec<_>, _>>()?;
        Self::new(t, pk, vks)
    }
}

fn check_index(index: u32) -> Result<(), KeyError> {
    if index == 0 || index > MAX_MEMBERS {
        return Err(KeyError::IndexOutOfRange {
            index,
            max: MAX_MEMBERS,
        });
    }
    Ok(())
}

fn check_indices(indices: &[u32]) -> Result<(), KeyError> {
    if indices.is_empty() {
        return Err(KeyError::Empty);
    }
    let mut seen = std::collections::HashSet::with_capacity(indices.len());
    for &i in indices {
        check_index(i)?;
        if !seen.insert(i) {
            return Err(KeyError::DuplicateIndex(i));
        }
    }
    Ok(())
}

/// Lagrange coefficients at `x` for the evaluation points `indices`:
/// `λᵢ(x) = Πⱼ≠ᵢ (x − xⱼ) / (xᵢ − xⱼ)`, with one inversion for the whole set.
pub fn lagrange_at(indices: &[u32], x: Fr) -> Result<Vec<Fr>, KeyError> {
    check_indices(indices)?;
    let xs: Vec<Fr> = indices.iter().map(|&i| Fr::from(i)).collect();
    if xs.contains(&x) {
        // x is one of the points: the coefficient vector is the unit vector.
        return Ok(xs
            .iter()
            .map(|xi| if *xi == x { Fr::one() } else { Fr::zero() })
            .collect());
    }
    // λᵢ = [Πⱼ (x − xⱼ)] / [(x − xᵢ) · Πⱼ≠ᵢ (xᵢ − xⱼ)].
    let numerator: Fr = xs.iter().map(|xj| x - xj).product();
    let mut denominators: Vec<Fr> = xs
        .iter()
        .enumerate()
        .map(|(i, xi)| {
            let mut d = x - xi;
            for (j, xj) in xs.iter().enumerate() {
                if i != j {
                    d *= *xi - xj;
                }
            }
            d
        })
        .collect();
    batch_inversion(&mut denominators);
    Ok(denominators.into_iter().map(|d| d * numerator).collect())
}

/// Lagrange coefficients at zero for the responder set `indices` (distinct, in
/// `1..=MAX_MEMBERS`): `s = Σ λᵢ sᵢ`.
pub fn lagrange_at_zero(indices: &[u32]) -> Result<Vec<Fr>, KeyError> {
    lagrange_at(indices, Fr::zero())
}

/// The Lagrange coefficients at zero for `indices` as small signed integers, when every one
/// is an integer of magnitude below `2⁶³` (`None` otherwise, or for an invalid set).
///
/// `λᵢ = Πⱼ≠ᵢ xⱼ / (xⱼ − xᵢ)` is a rational with small numerator and denominator; for many
/// responder sets it is an integer (for `n = 4, t = 3`: `{1,2,3} → (3, −3, 1)`,
/// `{1,3,4} → (2, −2, 1)`, `{2,3,4} → (6, −8, 3)`; only `{1,2,4}` has thirds). Then
/// `Σ λᵢ·Dᵢ` costs a few doublings and additions instead of a multi-scalar multiplication
/// with full-size scalars (see [`crate::combine`]). The values equal [`lagrange_at_zero`]'s
/// (as elements of `F_r`), which the tests check.
pub fn small_lagrange_at_zero(indices: &[u32]) -> Option<Vec<i64>> {
    check_indices(indices).ok()?;
    indices
        .iter()
        .map(|&i| {
            let (mut num, mut den) = (1i128, 1i128);
            for &j in indices {
                if j != i {
                    num = num.checked_mul(i128::from(j))?;
                    den = den.checked_mul(i128::from(j) - i128::from(i))?;
                }
            }
            // den ≠ 0: the indices are distinct.
            if num % den != 0 {
                return None;
            }
            i64::try_from(num / den).ok().filter(|v| *v != i64::MIN)
        })
        .collect()
}

/// Trusted-dealer key generation, for tests and devnets only. The real committee runs the
/// distributed key generation of `veil-keygen`, in which no party ever learns `s`.
pub mod hazmat {
    use super::*;

    /// Evaluates a fresh random polynomial of degree `t − 1` with constant term `secret` at
    /// `1..=n`. The caller learns everything; use only where a trusted dealer is acceptable.
    pub fn share_secret<R: RngCore + CryptoRng>(
        rng: &mut R,
        secret: &Fr,
        t: u32,
        n: u32,
    ) -> Result<Vec<KeyShare>, KeyError> {
        if t == 0 || t > n || n > MAX_MEMBERS {
            return Err(KeyError::InvalidThreshold { t, n });
        }
        let mut coeffs: Vec<Fr> = std::iter::once(*secret)
            .chain((1..t).map(|_| Fr::rand(rng)))
            .collect();
        let mut shares = Vec::with_capacity(n as usize);
        for i in 1..=n {
            let x = Fr::from(i);
            // Horner evaluation.
            let mut y = Fr::zero();
            for c in coeffs.iter().rev() {
                y = y * x + c;
            }
            // A zero share happens with probability n/r; redraw would bias nothing, but it
            // is simpler to refuse and let the caller retry.
            shares.push(KeyShare::new(i, y)?);
            y.zeroize();
        }
        coeffs.zeroize();
        Ok(shares)
    }

    /// Deals a fresh key: a random secret shared `t`-of-`n`, the public [`ThresholdKey`] and
    /// every member's share (member `i` at position `i − 1`).
    pub fn deal<R: RngCore + CryptoRng>(
        rng: &mut R,
        t: u32,
        n: u32,
    ) -> Result<(ThresholdKey, Vec<KeyShare>), KeyError> {
        let mut s = Fr::rand(rng);
        let shares = share_secret(rng, &s, t, n)?;
        let g = G1Projective::generator().into_affine();
        let pk = PublicKey::from_point(ct::mul(&g, &s).into_affine())?;
        s.zeroize();
        let vks = shares.iter().map(KeyShare::verification_key).collect();
        Ok((ThresholdKey::new(t, pk, vks)?, shares))
    }

    /// Recombines `t` or more shares into the secret (tests only).
    pub fn recover_secret(shares: &[KeyShare]) -> Result<Fr, KeyError> {
        let idx: Vec<u32> = shares.iter().map(KeyShare::index).collect();
        let lambda = lagrange_at_zero(&idx)?;
        Ok(shares.iter().zip(lambda).map(|(s, l)| l * s.secret).sum())
    }
}

#[cfg(test)]
mod tests {
    use super::hazmat::{deal, recover_secret, share_secret};
    use super::*;
    use proptest::prelude::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    fn rng(seed: u64) -> ChaCha20Rng {
        ChaCha20Rng::seed_from_u64(seed)
    }

    fn fr_of(v: i64) -> Fr {
        if v < 0 {
            -Fr::from(v.unsigned_abs())
        } else {
            Fr::from(v as u64)
        }
    }

    #[test]
    fn small_lagrange_coefficients_of_four_members() {
        assert_eq!(small_lagrange_at_zero(&[1, 2, 3]), Some(vec![3, -3, 1]));
        assert_eq!(small_lagrange_at_zero(&[1, 3, 4]), Some(vec![2, -2, 1]));
        assert_eq!(small_lagrange_at_zero(&[2, 3, 4]), Some(vec![6, -8, 3]));
        assert_eq!(small_lagrange_at_zero(&[4, 2, 3]), Some(vec![3, 6, -8]));
        // 8/3, −2, 1/3: not integers.
        assert_eq!(small_lagrange_at_zero(&[1, 2, 4]), None);
        assert_eq!(small_lagrange_at_zero(&[7]), Some(vec![1]));
        // Invalid sets.
        assert_eq!(small_lagrange_at_zero(&[1, 1]), None);
        assert_eq!(small_lagrange_at_zero(&[0, 1]), None);
        assert_eq!(small_lagrange_at_zero(&[]), None);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Whenever the coefficients are small integers, they are exactly the field ones.
        #[test]
        fn small_lagrange_coefficients_equal_the_field_ones(
            set in proptest::collection::btree_set(1u32..=64, 1..=12)
        ) {
            let idx: Vec<u32> = set.into_iter().collect();
            let field = lagrange_at_zero(&idx).unwrap();
            if let Some(small) = small_lagrange_at_zero(&idx) {
                let as_field: Vec<Fr> = small.iter().map(|&v| fr_of(v)).collect();
                prop_assert_eq!(as_field, field);
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]
        /// Any t of n shares recover the secret; any t − 1 do not.
        #[test]
        fn any_t_shares_recover_and_fewer_do_not(
            n in 1u32..=24, t_frac in 0.0f64..1.0, seed in any::<u64>()
        ) {
            let t = 1 + ((n as f64 - 1.0) * t_frac) as u32;
            let mut r = rng(seed);
            let s = Fr::rand(&mut r);
            let shares = share_secret(&mut r, &s, t, n).unwrap();
            // A random t-subset, via a seeded shuffle.
            let mut order: Vec<usize> = (0..n as usize).collect();
            for i in (1..order.len()).rev() {
                let j = (rand_core::RngCore::next_u64(&mut r) % (i as u64 + 1)) as usize;
                order.swap(i, j);
            }
            let subset: Vec<KeyShare> =
                order[..t as usize].iter().map(|&i| shares[i].clone()).collect();
            prop_assert_eq!(recover_secret(&subset).unwrap(), s);
            if t > 1 {
                prop_assert_ne!(recover_secret(&subset[..t as usize - 1]).unwrap(), s);
            }
        }

        #[test]
        fn share_encoding_round_trips(index in 1u32..=MAX_MEMBERS, seed in any::<u64>()) {
            let share = KeyShare::new(index, Fr::rand(&mut rng(seed))).unwrap();
            prop_assert_eq!(KeyShare::from_bytes(&share.to_bytes()).unwrap(), share);
        }
    }

    #[test]
    fn dealt_keys_are_consistent_and_round_trip() {
        let mut r = rng(3);
        let (key, shares) = deal(&mut r, 3, 5).unwrap();
        assert_eq!(key.check_consistency(), Ok(()));
        for s in &shares {
            assert_eq!(
                key.verification_key(s.index()).unwrap(),
                &s.verification_key()
            );
        }
        assert_eq!(ThresholdKey::from_bytes(&key.to_bytes()).unwrap(), key);
        // A swapped verification key is caught, and named.
        let mut vks = key.verification_keys().to_vec();
        vks.swap(3, 4);
        let bad = ThresholdKey::new(3, *key.public_key(), vks).unwrap();
        assert_eq!(bad.check_consistency(), Err(4));
        let (other, _) = deal(&mut r, 3, 5).unwrap();
        let bad = ThresholdKey::new(3, *other.public_key(), key.verification_keys().to_vec());
        assert_eq!(bad.unwrap().check_consistency(), Err(0));
    }

    #[test]
    fn lagrange_rejects_bad_index_sets() {
        assert_eq!(lagrange_at_zero(&[]), Err(KeyError::Empty));
        assert_eq!(
            lagrange_at_zero(&[1, 2, 1]),
            Err(KeyError::DuplicateIndex(1))
        );
        assert!(matches!(
            lagrange_at_zero(&[0, 1]),
            Err(KeyError::IndexOutOfRange { index: 0, .. })
        ));
        assert!(matches!(
            lagrange_at_zero(&[MAX_MEMBERS + 1]),
            Err(KeyError::IndexOutOfRange { .. })
        ));
        // Interpolating at one of the points gives the unit vector.
        assert_eq!(
            lagrange_at(&[1, 2, 3], Fr::from(2u64)).unwrap(),
            vec![Fr::zero(), Fr::one(), Fr::zero()]
        );
        // Coefficients at zero sum to one (they interpolate the constant polynomial 1).
        let l = lagrange_at_zero(&[3, 7, 11, 128]).unwrap();
        assert_eq!(l.iter().sum::<Fr>(), Fr::one());
    }

    #[test]
    fn threshold_bounds_and_encodings_are_checked() {
        let mut r = rng(4);
        assert_eq!(
            deal(&mut r, 0, 3).unwrap_err(),
            KeyError::InvalidThreshold { t: 0, n: 3 }
        );
        assert_eq!(
            deal(&mut r, 4, 3).unwrap_err(),
            KeyError::InvalidThreshold { t: 4, n: 3 }
        );
        assert_eq!(KeyShare::new(1, Fr::zero()), Err(KeyError::InvalidSecret));
        let (key, shares) = deal(&mut r, 2, 3).unwrap();
        let bytes = key.to_bytes();
        assert!(matches!(
            ThresholdKey::from_bytes(&bytes[..bytes.len() - 1]),
            Err(KeyError::BadLength { .. })
        ));
        let mut v = bytes.clone();
        v[0] = 9;
        assert_eq!(
            ThresholdKey::from_bytes(&v),
            Err(KeyError::UnsupportedVersion(9))
        );
        let mut v = bytes.clone();
        v[4] = 4; // t = 4 > n = 3
        assert_eq!(
            ThresholdKey::from_bytes(&v),
            Err(KeyError::InvalidThreshold { t: 4, n: 3 })
        );
        let mut v = bytes.clone();
        v[9..9 + G1_LEN].copy_from_slice(&{
            let mut z = [0u8; G1_LEN];
            ark_serialize::CanonicalSerialize::serialize_compressed(&G1Affine::zero(), &mut z[..])
                .unwrap();
            z
        });
        assert_eq!(ThresholdKey::from_bytes(&v), Err(KeyError::InvalidPoint));
        let sb = shares[0].to_bytes();
        let mut v = sb.to_vec();
        v[5..].copy_from_slice(&[0xff; 32]);
        assert_eq!(KeyShare::from_bytes(&v), Err(KeyError::InvalidSecret));
        let mut v = sb.to_vec();
        v[1..5].copy_from_slice(&0u32.to_be_bytes());
        assert!(matches!(
            KeyShare::from_bytes(&v),
            Err(KeyError::IndexOutOfRange { .. })
        ));
        assert!(!format!("{:?}", shares[0]).contains("secret"));
    }
}
