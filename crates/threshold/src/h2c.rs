//! Hashing to BLS12-381 (RFC 9380) and the scheme's fixed generators.
//!
//! `G` is the standard generator of G1. `Ḡ` is an independent generator: the RFC 9380
//! random-oracle encoding `hash_to_curve` (suite `BLS12381G1_XMD:SHA-256_SSWU_RO_`, §8.8.1)
//! of the empty message under `veil_domain::threshold::GBAR_H2C`. Nobody knows `log_G Ḡ`
//! (computing it would break the discrete-log problem on a random-oracle output), which is
//! what makes `(U, Ū) = (r·G, r·Ḡ)` with a DLEQ proof a proof of knowledge of `r` in TDH2.
//!
//! Both generators have fixed-base tables built once per process
//! ([`veil_circuits::dleq::G1Table`]).

use std::sync::OnceLock;

use ark_bls12_381::{G1Affine, G1Projective, g1};
use ark_ec::{
    CurveGroup, PrimeGroup,
    hashing::{HashToCurve, curve_maps::wb::WBMap, map_to_curve_hasher::MapToCurveBasedHasher},
};
use ark_ff::field_hashers::DefaultFieldHasher;
use sha2::Sha256;
use veil_circuits::dleq::G1Table;

pub use veil_circuits::pop::hash_to_g2;

/// RFC 9380 hash-to-curve into G1 (`BLS12381G1_XMD:SHA-256_SSWU_RO_`) under `dst`.
pub fn hash_to_g1(dst: &[u8], msg: &[u8]) -> G1Affine {
    type H =
        MapToCurveBasedHasher<G1Projective, DefaultFieldHasher<Sha256, 128>, WBMap<g1::Config>>;
    // Infallible for BLS12-381 G1: constructing the hasher only checks the (fixed, valid)
    // curve parameters, and the simplified SWU map with the isogeny is defined on every input.
    H::new(dst)
        .and_then(|h| h.hash(msg))
        .expect("hash to G1 is total")
}

/// The standard generator `G` of G1.
pub fn generator() -> G1Affine {
    G1Projective::generator().into_affine()
}

/// The independent generator `Ḡ` (see the module documentation).
pub fn gbar() -> G1Affine {
    static GBAR: OnceLock<G1Affine> = OnceLock::new();
    *GBAR.get_or_init(|| hash_to_g1(veil_domain::threshold::GBAR_H2C, b""))
}

/// Fixed-base table of `G`, built on first use.
pub fn generator_table() -> &'static G1Table {
    static T: OnceLock<G1Table> = OnceLock::new();
    T.get_or_init(|| G1Table::new(&generator()))
}

/// Fixed-base table of `Ḡ`, built on first use.
pub fn gbar_table() -> &'static G1Table {
    static T: OnceLock<G1Table> = OnceLock::new();
    T.get_or_init(|| G1Table::new(&gbar()))
}
