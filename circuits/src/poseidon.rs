//! Poseidon over the BLS12-381 scalar field: one parameter set, a native hash and the same
//! hash as an R1CS gadget.
//!
//! # Parameters
//!
//! Poseidon (Grassi, Khovratovich, Rechberger, Roy, Schofnegger, "Poseidon: a new hash
//! function for zero-knowledge proof systems", USENIX Security 2021) with S-box `x^5`
//! (`gcd(5, r − 1) = 1` for the BLS12-381 scalar field), state width `t = 5` (rate 4,
//! capacity 1), `R_F = 8` full and `R_P = 60` partial rounds: the paper's recommended
//! 128-bit instance for `t = 5` over a ~255-bit prime field (its Table 2 / the reference
//! parameter script, which adds the security margin of §5). Round constants and the MDS
//! matrix come from the paper's Grain LFSR procedure as implemented by
//! `ark-crypto-primitives` (`find_poseidon_ark_and_mds`), so anyone can regenerate them.
//!
//! # Hash
//!
//! `hash(tag, x₁..x_n)` is the duplex sponge of `ark-crypto-primitives` absorbing
//! `τ, n, x₁, …, x_n` and squeezing one element, where `τ` is the Veil domain tag mapped to a
//! field element (the first 31 bytes of `SHA-256(tag)`, little-endian). The length prefix
//! makes inputs of different lengths distinct; the tag separates every use. A capacity of
//! one element (255 bits) gives the sponge's 127-bit generic security bound.
//!
//! ```
//! use ark_bls12_381::Fr;
//! use veil_circuits::poseidon;
//! let a = poseidon::hash(b"VEIL-V1-DOC", &[Fr::from(1u64), Fr::from(2u64)]);
//! let b = poseidon::hash(b"VEIL-V1-DOC", &[Fr::from(2u64), Fr::from(1u64)]);
//! assert_ne!(a, b);
//! ```

use std::sync::OnceLock;

use ark_bls12_381::Fr;
use ark_crypto_primitives::sponge::{
    CryptographicSponge, FieldBasedCryptographicSponge,
    constraints::CryptographicSpongeVar,
    poseidon::{PoseidonConfig, PoseidonSponge, constraints::PoseidonSpongeVar},
};
use ark_ff::{PrimeField, Zero};
use ark_r1cs_std::fields::fp::FpVar;
use ark_relations::gr1cs::{ConstraintSystemRef, SynthesisError};
use sha2::{Digest, Sha256};

/// Sponge rate, in field elements.
pub const RATE: usize = 4;
/// Full rounds `R_F`.
pub const FULL_ROUNDS: usize = 8;
/// Partial rounds `R_P`.
pub const PARTIAL_ROUNDS: usize = 60;
/// S-box exponent.
pub const ALPHA: u64 = 5;

/// The Poseidon parameter set (computed once).
pub fn config() -> &'static PoseidonConfig<Fr> {
    static CONFIG: OnceLock<PoseidonConfig<Fr>> = OnceLock::new();
    CONFIG.get_or_init(|| {
        let (ark, mds) = ark_crypto_primitives::sponge::poseidon::find_poseidon_ark_and_mds::<Fr>(
            Fr::MODULUS_BIT_SIZE as u64,
            RATE,
            FULL_ROUNDS as u64,
            PARTIAL_ROUNDS as u64,
            0,
        );
        PoseidonConfig::new(FULL_ROUNDS, PARTIAL_ROUNDS, ALPHA, mds, ark, RATE, 1)
    })
}

/// A domain tag as a field element: the first 31 bytes of `SHA-256(tag)`, little-endian.
pub fn tag_element(tag: &[u8]) -> Fr {
    let d = Sha256::digest(tag);
    Fr::from_le_bytes_mod_order(&d[..31])
}

/// A 32-byte digest as a field element: its first 31 bytes, little-endian (248 bits, so the
/// map is injective on the part it keeps; collisions cost `2^124`).
pub fn digest_element(digest: &[u8; 32]) -> Fr {
    Fr::from_le_bytes_mod_order(&digest[..31])
}

/// `Poseidon(τ, n, inputs…)` natively.
pub fn hash(tag: &[u8], inputs: &[Fr]) -> Fr {
    let mut sponge = PoseidonSponge::new(config());
    sponge.absorb(&tag_element(tag));
    sponge.absorb(&Fr::from(inputs.len() as u64));
    for x in inputs {
        sponge.absorb(x);
    }
    sponge
        .squeeze_native_field_elements(1)
        .pop()
        .unwrap_or_else(Fr::zero)
}

/// The same hash inside a constraint system.
pub fn hash_gadget(
    cs: ConstraintSystemRef<Fr>,
    tag: &[u8],
    inputs: &[FpVar<Fr>],
) -> Result<FpVar<Fr>, SynthesisError> {
    let mut sponge = PoseidonSpongeVar::new(cs, config());
    sponge.absorb(&FpVar::Constant(tag_element(tag)))?;
    sponge.absorb(&FpVar::Constant(Fr::from(inputs.len() as u64)))?;
    for x in inputs {
        sponge.absorb(x)?;
    }
    sponge
        .squeeze_field_elements(1)?
        .pop()
        .ok_or(SynthesisError::Unsatisfiable)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_r1cs_std::{GR1CSVar, alloc::AllocVar};
    use ark_relations::gr1cs::ConstraintSystem;

    #[test]
    fn gadget_matches_native_hash_for_several_lengths() {
        for len in [0usize, 1, 3, 4, 5, 9] {
            let inputs: Vec<Fr> = (0..len as u64).map(|i| Fr::from(i * 7 + 1)).collect();
            let cs = ConstraintSystem::<Fr>::new_ref();
            let vars: Vec<FpVar<Fr>> = inputs
                .iter()
                .map(|x| FpVar::new_witness(cs.clone(), || Ok(*x)).unwrap())
                .collect();
            let out = hash_gadget(cs.clone(), b"VEIL-V1-TEST", &vars).unwrap();
            assert_eq!(out.value().unwrap(), hash(b"VEIL-V1-TEST", &inputs));
            assert!(cs.is_satisfied().unwrap());
        }
    }

    #[test]
    fn tag_and_length_separate_inputs() {
        let x = [Fr::from(5u64)];
        assert_ne!(hash(b"VEIL-V1-A", &x), hash(b"VEIL-V1-B", &x));
        assert_ne!(
            hash(b"VEIL-V1-A", &x),
            hash(b"VEIL-V1-A", &[x[0], Fr::zero()])
        );
        assert_ne!(hash(b"VEIL-V1-A", &[]), hash(b"VEIL-V1-A", &[Fr::zero()]));
    }

    #[test]
    fn parameters_are_frozen() {
        // A known answer: a change of constants, rounds or absorption order fails here.
        let h = hash(b"VEIL-V1-KAT", &[Fr::from(1u64), Fr::from(2u64)]);
        let mut bytes = Vec::new();
        ark_serialize::CanonicalSerialize::serialize_compressed(&h, &mut bytes).unwrap();
        assert_eq!(hex_encode(&bytes), KAT);
    }

    fn hex_encode(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    const KAT: &str = "761996d9fd2d490010d264a2f4881b51e67de28726305d094a789667a88e264d";
}
