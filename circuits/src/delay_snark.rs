//! The SNARK half of a verifiable delay ciphertext: a Groth16 proof (BLS12-381) that the
//! square root of a public RSA-group element keys the payload's MAC.
//!
//! # Relation
//!
//! For a fixed modulus `N` (a constant of the circuit, so every modulus has its own keys)
//! and one public input `X`, the prover knows `k`, `P`, a sign `s` and the context
//! (`params`, `label`, `puzzle`: 248-bit digests) and the payload digest `H` such that
//!
//! 1. `1 ≤ k ≤ (N − 1)/2` — `k` is the canonical representative of its class `{k, N − k}`,
//!    so the sign ambiguity of the puzzle solution is resolved the same way as everywhere
//!    else in Veil, and `N − k` is *not* a valid witness;
//! 2. `k² ≡ (−1)^s · P (mod N)` — one non-native squaring;
//! 3. `K = Poseidon(POSEIDON_KDF; k, params, label, puzzle)` and
//!    `tag = Poseidon(POSEIDON_MAC; K, H)`;
//! 4. `X = Poseidon(SNARK_STATEMENT; params, label, puzzle, P, H, tag)`.
//!
//! The verifier computes `X` itself from the ciphertext (`P`, `tag`), the payload digest
//! `H = SHA-256(PAYLOAD_DIGEST ‖ len ‖ body)`, the parameter id, the label digest and the
//! puzzle digest, so the Groth16 check has exactly one public input (one G1 scalar
//! multiplication) whatever the payload size.
//!
//! # Why the payload is outside the circuit
//!
//! The circuit does not see the payload at all: it MACs the payload's collision-resistant
//! digest (hash-then-MAC: `Poseidon(K, ·)` is a PRF, SHA-256 collision resistant, so
//! `tag = PRF_K(H(body))` is a secure MAC). The payload itself is encrypted with a stream
//! cipher keyed by `K` (veil-timelock's `dem`), whose decryption is total: *every* body is
//! the encryption of some message of its length under `K`, so what the proof must guarantee
//! is only that the opener's MAC check under the solution's key succeeds. Consequences:
//! one circuit (one key pair) serves every payload size from 0 B to the format's limit,
//! the constraint count does not grow with the payload, and there are no size classes.
//!
//! # The non-native squaring
//!
//! `k`, `P`, the quotient `q` and `e = (N−1)/2 − k` are witnessed as `n = ⌈|N|/64⌉` 64-bit
//! limbs, each range-checked by bit decomposition. Then
//!
//! - the limb polynomial `A(X) = k(X)²` is witnessed by its `2n − 1` coefficients and
//!   checked at the `2n − 1` points `X = 0, 1, …, 2n − 2` (one constraint per point instead
//!   of `n(n+1)/2` limb products): two polynomials of degree `≤ 2n − 2` that agree on
//!   `2n − 1` points are equal, so each coefficient is the integer `Σ k_i k_j < n·2^128`;
//! - `A(2^64) = q(2^64)·N + P(2^64) − 2s·P(2^64)` is checked column by column with signed
//!   carries: two columns per carry, every carry range-checked to `|c| < 2^(66 + log₂ n + 1)`,
//!   so no intermediate value comes near the field size (`2^(200)` against `r ≈ 2^255`) and
//!   the field equations hold over the integers;
//! - `k + e = (N−1)/2` with boolean carries and no final carry gives `k ≤ (N−1)/2`.
//!
//! `q·N` costs nothing (N is a constant: its products are linear combinations); `s·P` costs
//! one constraint per limb.
//!
//! # Soundness and the other square roots
//!
//! Pair this with [`crate::rsa_eq`], which proves `o = ±g^a` and `P = ±(h²)^a`. With
//! `k* = h^a` (what the solver computes: `o^(2^T) = ±g^(a·2^T) = ±h^a`), `P = ±k*²`, and
//! the circuit's witness satisfies `k² = ±P`, hence `k² ≡ ±k*² (mod N)`. Three cases:
//!
//! - `k ≡ ±k*`: with condition 1, `k = canon(k*)`, the value the solver derives — the
//!   sound case.
//! - `k² ≡ k*²` but `k ≢ ±k*`: then `gcd(k − k*, N)` is a non-trivial factor of `N`. An
//!   extractor that runs the SNARK extractor (for `k`) and the Sigma extractor (for `a`,
//!   hence `k*`) factors `N`; so a prover who cannot factor `N` cannot produce such a proof.
//!   Someone who *does* know the factors (a test modulus; nobody for RSA-2048) can, and the
//!   ciphertext is then unopenable — the system guarantees soundness only against provers
//!   that cannot factor `N`, and the tests check exactly that (the non-trivial root passes
//!   the circuit and yields a factor).
//! - `k² ≡ −k*²`: then `(k/k*)² ≡ −1`, so the prover knows a square root of `−1` mod `N`.
//!   One exists only if every prime factor of `N` is `≡ 1 (mod 4)`; for `N ≡ 3 (mod 4)` this
//!   case is impossible. RSA-2048 is `≡ 1 (mod 4)`, so the case cannot be excluded by
//!   arithmetic alone, and soundness additionally **assumes that computing a square root of
//!   `−1` modulo `N` is infeasible without its factorisation**. No such algorithm is known: a
//!   root of `−1` yields a representation `N = u² + v²` (Hermite–Serret / Cornacchia), and
//!   the only known ways to find one go through factoring (two independent ones factor `N`,
//!   Euler's method).
//!
//! Pinning the root without any assumption (e.g. witnessing `s` with `k = s²`, so that for a
//! Blum modulus `k` is the unique quadratic-residue root) would double the non-native work
//! and only helps for Blum moduli, which RSA-2048 is not known to be; we do not do it.
//!
//! # Trusted setup
//!
//! Groth16 needs a structured reference string per circuit. [`insecure_setup`] derives one
//! reproducibly from `SHA-256(INSECURE_SNARK_SETUP ‖ N)`: fine for tests and devnets, **not
//! for production** — the toxic waste is public, so anyone can forge proofs. A forged proof
//! re-opens the junk-puzzle denial of service the proof exists to stop; it never weakens
//! confidentiality (the time-lock and the Sigma protocol do not depend on the SRS, and
//! Groth16 proofs are zero-knowledge even under a malicious SRS when the verifier checks
//! the key's well-formedness — Fuchsbauer, PKC 2018). For production, run a phase-2 MPC
//! (Bowe, Gabizon, Miers, "Scalable multi-party computation for zk-SNARK parameters in the
//! random beacon model", 2017) for this circuit over a public powers-of-tau transcript of
//! at least `2^15` powers; one honest participant suffices. The resulting verifying key is
//! what [`DelayVerifyingKey::from_bytes`] loads.
//!
//! # Side channels (residual, documented)
//!
//! The prover's witness computation works on the secret `k` with `num-bigint` (variable
//! time, heap buffers that are not zeroized) and arkworks' constraint synthesis and
//! Groth16 prover (variable-time field and curve arithmetic over the witness). The limb
//! vectors and field assignments Veil owns are zeroized on drop. This is the sender's own
//! machine and `k` is revealed by the puzzle after `T` squarings anyway; a local timing
//! attacker during encryption could learn it early. The verifier touches no secrets.
//!
//! # Batch verification
//!
//! Not implemented: each Groth16 check is three Miller loops plus one final exponentiation
//! with one public input; a random-linear-combination batch would share the `γ`, `δ` and
//! `e(α, β)` terms (about a third of the pairings) but the Sigma half, which is about half of
//! a ciphertext's verification time, does not batch as simply.
//!
//! # Sizes
//!
//! For RSA-2048 (`n = 32` limbs) the circuit has [`constraint_count`] ≈ 14 000 constraints
//! (printed by the benchmark `circuits/constraints`); the proof is 192 bytes compressed.
//!
//! ```no_run
//! // Proving needs a proving key from `insecure_setup` (seconds) — see the crate tests.
//! ```

use std::sync::{Arc, Mutex, OnceLock};

use ark_bls12_381::{Bls12_381, Fr};
use ark_ff::{Field, PrimeField, Zero};
use ark_groth16::{Groth16, PreparedVerifyingKey, Proof, ProvingKey, VerifyingKey};
use ark_r1cs_std::{
    alloc::AllocVar, boolean::Boolean, eq::EqGadget, fields::FieldVar, fields::fp::FpVar,
};
use ark_relations::gr1cs::{
    ConstraintSynthesizer, ConstraintSystem, ConstraintSystemRef, SynthesisError,
};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize, Compress, Validate};
use num_bigint::{BigInt, BigUint, Sign};
use rand_core::{CryptoRng, RngCore, SeedableRng};
use sha2::{Digest, Sha256};
use thiserror::Error;
use zeroize::{Zeroize, Zeroizing};

use crate::poseidon;

/// The BLS12-381 scalar field, in which keys and MAC tags live.
pub use ark_bls12_381::Fr as Scalar;

/// Bits per limb of the non-native arithmetic.
pub const LIMB_BITS: usize = 64;
/// Limbs packed into one field element when `k` or `P` enter a Poseidon hash (192 bits).
pub const LIMBS_PER_ELEMENT: usize = 3;
/// Bytes of a compressed Groth16 proof on BLS12-381.
pub const PROOF_LEN: usize = 192;
/// Bytes of an encoded field element (tags).
pub const FIELD_LEN: usize = 32;

/// Why a SNARK operation failed. Verification failures are opaque.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum SnarkError {
    /// The modulus is not odd or not at least 512 bits.
    #[error("unsupported modulus: {bits} bits")]
    Modulus {
        /// Bits of the modulus given.
        bits: u64,
    },
    /// The witness does not satisfy the relation (a caller bug: wrong `k` for `P`).
    #[error("witness does not satisfy the delay relation: {0}")]
    Witness(&'static str),
    /// A key or proof encoding is malformed (length, point not on curve or not in the
    /// subgroup, key for another modulus).
    #[error("malformed {0}")]
    Malformed(&'static str),
    /// The proof does not verify.
    #[error("invalid delay proof")]
    Invalid,
    /// The proving system failed (should not happen for a satisfied witness).
    #[error("proving failed")]
    Proving,
}

/// The circuit's constants for one modulus `N`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DelayRelation {
    modulus_be: Vec<u8>,
    n: BigUint,
    n_limbs: Vec<u64>,
    half_limbs: Vec<u64>,
    limbs: usize,
}

impl DelayRelation {
    /// The relation for the odd modulus `N` (big-endian), at least 512 bits.
    pub fn new(modulus_be: &[u8]) -> Result<Self, SnarkError> {
        let n = BigUint::from_bytes_be(modulus_be);
        let bits = n.bits();
        if bits < 512 || !n.bit(0) {
            return Err(SnarkError::Modulus { bits });
        }
        let limbs = (bits as usize).div_ceil(LIMB_BITS);
        let half: BigUint = (&n - 1u32) >> 1;
        Ok(Self {
            modulus_be: n.to_bytes_be(),
            n_limbs: to_limbs(&n, limbs),
            half_limbs: to_limbs(&half, limbs),
            n,
            limbs,
        })
    }

    /// The modulus, big-endian, without leading zeros.
    pub fn modulus(&self) -> &[u8] {
        &self.modulus_be
    }

    /// Number of 64-bit limbs.
    pub fn limbs(&self) -> usize {
        self.limbs
    }

    /// Bits of a carry of the squaring check (two columns per carry): the carry is below
    /// `2^(66 + ⌈log₂ n⌉ + 1)` in absolute value.
    fn carry_bits(&self) -> usize {
        let log_n = usize::BITS as usize - (self.limbs - 1).leading_zeros() as usize;
        LIMB_BITS + 2 + log_n + 1
    }

    fn packed(&self, x: &BigUint) -> Vec<Fr> {
        pack(&to_limbs(x, self.limbs))
    }
}

/// The public context a delay proof binds: 32-byte digests of the parameter set, the label
/// and the puzzle element.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DelayContext {
    /// The delay-parameter id.
    pub params_id: [u8; 32],
    /// The label digest.
    pub label_digest: [u8; 32],
    /// `SHA-256(PUZZLE_DIGEST ‖ canonical o)`.
    pub puzzle_digest: [u8; 32],
}

impl DelayContext {
    fn elements(&self) -> [Fr; 3] {
        [
            poseidon::digest_element(&self.params_id),
            poseidon::digest_element(&self.label_digest),
            poseidon::digest_element(&self.puzzle_digest),
        ]
    }
}

/// The payload key `K = Poseidon(POSEIDON_KDF; k, context)` for the canonical solution `k`
/// (big-endian, any length up to the modulus). Zeroize the result after use.
pub fn derive_key(rel: &DelayRelation, k_be: &[u8], ctx: &DelayContext) -> Fr {
    let k = BigUint::from_bytes_be(k_be);
    let mut inputs = rel.packed(&k);
    inputs.extend_from_slice(&ctx.elements());
    let key = poseidon::hash(veil_domain::timelock::POSEIDON_KDF, &inputs);
    inputs.zeroize();
    key
}

/// The MAC `Poseidon(POSEIDON_MAC; K, H)` of a payload digest.
pub fn mac(key: &Fr, payload_digest: &[u8; 32]) -> Fr {
    poseidon::hash(
        veil_domain::timelock::POSEIDON_MAC,
        &[*key, poseidon::digest_element(payload_digest)],
    )
}

/// The single public input `X` of the proof.
pub fn statement(
    rel: &DelayRelation,
    ctx: &DelayContext,
    p_be: &[u8],
    payload_digest: &[u8; 32],
    tag: &Fr,
) -> Fr {
    let mut inputs = ctx.elements().to_vec();
    inputs.extend(rel.packed(&BigUint::from_bytes_be(p_be)));
    inputs.push(poseidon::digest_element(payload_digest));
    inputs.push(*tag);
    poseidon::hash(veil_domain::timelock::SNARK_STATEMENT, &inputs)
}

/// Encodes a field element (MAC tag) as 32 little-endian bytes.
pub fn field_to_bytes(x: &Fr) -> [u8; FIELD_LEN] {
    let mut out = [0u8; FIELD_LEN];
    // A field element always serialises to 32 bytes.
    let _ = x.serialize_compressed(&mut out[..]);
    out
}

/// Decodes a canonical field element (refuses values `≥ r`).
pub fn field_from_bytes(bytes: &[u8]) -> Option<Fr> {
    if bytes.len() != FIELD_LEN {
        return None;
    }
    Fr::deserialize_compressed(bytes).ok()
}

/// A Groth16 proving key for one modulus.
#[derive(Clone)]
pub struct DelayProvingKey {
    rel: DelayRelation,
    pk: ProvingKey<Bls12_381>,
}

impl std::fmt::Debug for DelayProvingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DelayProvingKey({} limbs)", self.rel.limbs)
    }
}

/// A Groth16 verifying key for one modulus, with its pairing-prepared form.
#[derive(Clone)]
pub struct DelayVerifyingKey {
    rel: DelayRelation,
    vk: VerifyingKey<Bls12_381>,
    pvk: PreparedVerifyingKey<Bls12_381>,
}

impl std::fmt::Debug for DelayVerifyingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DelayVerifyingKey({} limbs)", self.rel.limbs)
    }
}

impl PartialEq for DelayVerifyingKey {
    fn eq(&self, other: &Self) -> bool {
        self.rel == other.rel && self.vk == other.vk
    }
}

impl Eq for DelayVerifyingKey {}

/// A Groth16 proof (compressed: 192 bytes).
#[derive(Clone, Debug, PartialEq)]
pub struct DelayProof(Proof<Bls12_381>);

impl DelayProof {
    /// Compressed encoding, [`PROOF_LEN`] bytes.
    pub fn to_bytes(&self) -> [u8; PROOF_LEN] {
        let mut out = [0u8; PROOF_LEN];
        // A compressed Groth16 proof on BLS12-381 is exactly PROOF_LEN bytes.
        let _ = self.0.serialize_compressed(&mut out[..]);
        out
    }

    /// Decodes a compressed proof, checking that every point is on its curve and in the
    /// prime-order subgroup.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SnarkError> {
        if bytes.len() != PROOF_LEN {
            return Err(SnarkError::Malformed("delay proof"));
        }
        Proof::deserialize_with_mode(bytes, Compress::Yes, Validate::Yes)
            .map(Self)
            .map_err(|_| SnarkError::Malformed("delay proof"))
    }
}

impl DelayVerifyingKey {
    /// The relation (modulus) this key verifies.
    pub fn relation(&self) -> &DelayRelation {
        &self.rel
    }

    /// Encoding: the compressed Groth16 verifying key.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        // Serialising into a Vec cannot fail.
        let _ = self.vk.serialize_compressed(&mut out);
        out
    }

    /// Decodes a verifying key for modulus `N`, validating every point; refuses a key with
    /// a number of public inputs other than one.
    pub fn from_bytes(modulus_be: &[u8], bytes: &[u8]) -> Result<Self, SnarkError> {
        let rel = DelayRelation::new(modulus_be)?;
        let mut reader = bytes;
        let vk = VerifyingKey::<Bls12_381>::deserialize_with_mode(
            &mut reader,
            Compress::Yes,
            Validate::Yes,
        )
        .map_err(|_| SnarkError::Malformed("verifying key"))?;
        if !reader.is_empty() || vk.gamma_abc_g1.len() != 2 {
            return Err(SnarkError::Malformed("verifying key"));
        }
        let pvk = ark_groth16::prepare_verifying_key(&vk);
        Ok(Self { rel, vk, pvk })
    }

    /// Verifies `proof` for the public input [`statement`]`(ctx, P, H, tag)`. Opaque.
    pub fn verify(
        &self,
        ctx: &DelayContext,
        p_be: &[u8],
        payload_digest: &[u8; 32],
        tag: &Fr,
        proof: &DelayProof,
    ) -> Result<(), SnarkError> {
        let x = statement(&self.rel, ctx, p_be, payload_digest, tag);
        match Groth16::<Bls12_381>::verify_proof(&self.pvk, &proof.0, &[x]) {
            Ok(true) => Ok(()),
            _ => Err(SnarkError::Invalid),
        }
    }
}

/// Everything a prover knows: the canonical solution `k`, `P`, the context, the payload
/// digest. The tag is recomputed.
pub struct DelayWitness<'a> {
    /// `k = canon(h^a)`, big-endian.
    pub k_be: &'a [u8],
    /// `P = canon(k²)`, big-endian.
    pub p_be: &'a [u8],
    /// The bound context.
    pub ctx: DelayContext,
    /// The payload digest `H`.
    pub payload_digest: [u8; 32],
}

impl DelayProvingKey {
    /// The relation (modulus) this key proves.
    pub fn relation(&self) -> &DelayRelation {
        &self.rel
    }

    /// Whether this proving key belongs to `vk` (same modulus, same setup).
    pub fn matches(&self, vk: &DelayVerifyingKey) -> bool {
        self.rel == vk.rel && self.pk.vk == vk.vk
    }

    /// Proves the relation for `witness`. Fails only if the witness does not satisfy it.
    pub fn prove(
        &self,
        witness: &DelayWitness<'_>,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<DelayProof, SnarkError> {
        let assignment = Assignment::new(&self.rel, witness)?;
        let circuit = DelayCircuit {
            rel: &self.rel,
            w: Some(&assignment),
        };
        let mut seed = [0u8; 32];
        rng.fill_bytes(&mut seed);
        let mut ark_rng = rand_chacha::ChaCha20Rng::from_seed(seed);
        seed.zeroize();
        Groth16::<Bls12_381>::create_random_proof_with_reduction(circuit, &self.pk, &mut ark_rng)
            .map(DelayProof)
            .map_err(|_| SnarkError::Proving)
    }

    /// Encoding for a local cache: the uncompressed proving key.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        // Serialising into a Vec cannot fail.
        let _ = self.pk.serialize_uncompressed(&mut out);
        out
    }

    /// Decodes a proving key for `N` written by [`DelayProvingKey::to_bytes`]. The points are
    /// checked to be on their curves, not for subgroup membership: load only files you
    /// wrote (a bad proving key can only make your own proofs fail).
    pub fn from_bytes(modulus_be: &[u8], bytes: &[u8]) -> Result<Self, SnarkError> {
        let rel = DelayRelation::new(modulus_be)?;
        let mut reader = bytes;
        let pk =
            ProvingKey::<Bls12_381>::deserialize_with_mode(&mut reader, Compress::No, Validate::No)
                .map_err(|_| SnarkError::Malformed("proving key"))?;
        if !reader.is_empty() || pk.vk.gamma_abc_g1.len() != 2 {
            return Err(SnarkError::Malformed("proving key"));
        }
        Ok(Self { rel, pk })
    }

    /// The matching verifying key.
    pub fn verifying_key(&self) -> DelayVerifyingKey {
        DelayVerifyingKey {
            rel: self.rel.clone(),
            vk: self.pk.vk.clone(),
            pvk: ark_groth16::prepare_verifying_key(&self.pk.vk),
        }
    }
}

/// Reproducible Groth16 keys for modulus `N`, from the public seed
/// `SHA-256(INSECURE_SNARK_SETUP ‖ N)`. **Insecure**: the toxic waste is public, so anyone
/// can forge proofs (see the module docs). For tests and devnets. Results are cached per
/// modulus for the life of the process.
pub fn insecure_setup(
    modulus_be: &[u8],
) -> Result<(Arc<DelayProvingKey>, DelayVerifyingKey), SnarkError> {
    type Cache = Mutex<Vec<(Vec<u8>, Arc<DelayProvingKey>)>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let rel = DelayRelation::new(modulus_be)?;
    let cache = CACHE.get_or_init(|| Mutex::new(Vec::new()));
    // A poisoned lock only means another thread panicked mid-setup; the cache is still a
    // plain list of finished keys.
    let mut guard = cache.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, pk)) = guard.iter().find(|(m, _)| m == rel.modulus()) {
        let vk = pk.verifying_key();
        return Ok((pk.clone(), vk));
    }
    let mut h = Sha256::new();
    h.update(veil_domain::timelock::INSECURE_SNARK_SETUP);
    h.update(rel.modulus());
    let mut rng = rand_chacha::ChaCha20Rng::from_seed(h.finalize().into());
    let circuit = DelayCircuit { rel: &rel, w: None };
    let pk = Groth16::<Bls12_381>::generate_random_parameters_with_reduction(circuit, &mut rng)
        .map_err(|_| SnarkError::Proving)?;
    let pk = Arc::new(DelayProvingKey {
        rel: rel.clone(),
        pk,
    });
    guard.push((rel.modulus().to_vec(), pk.clone()));
    let vk = pk.verifying_key();
    Ok((pk, vk))
}

/// Number of constraints of the circuit for modulus `N`.
pub fn constraint_count(modulus_be: &[u8]) -> Result<usize, SnarkError> {
    let rel = DelayRelation::new(modulus_be)?;
    let cs = ConstraintSystem::<Fr>::new_ref();
    cs.set_mode(ark_relations::gr1cs::SynthesisMode::Setup);
    DelayCircuit { rel: &rel, w: None }
        .generate_constraints(cs.clone())
        .map_err(|_| SnarkError::Proving)?;
    Ok(cs.num_constraints())
}

// ---------------------------------------------------------------------------------------
// Witness computation.

/// The full assignment of the circuit's witnesses, computed natively.
struct Assignment {
    k: Vec<u64>,
    e: Vec<u64>,
    q: Vec<u64>,
    p: Vec<u64>,
    sign: bool,
    order_carries: Vec<bool>,
    square: Vec<Fr>,
    /// Square-check carries, offset by `2^carry_bits` (so non-negative).
    carries: Vec<u128>,
    ctx: [Fr; 3],
    payload: Fr,
    statement: Fr,
}

impl Drop for Assignment {
    fn drop(&mut self) {
        self.k.zeroize();
        self.e.zeroize();
        self.q.zeroize();
        self.order_carries.zeroize();
        self.square.zeroize();
        self.carries.zeroize();
    }
}

impl Assignment {
    fn new(rel: &DelayRelation, w: &DelayWitness<'_>) -> Result<Self, SnarkError> {
        let n = rel.limbs;
        let k = BigUint::from_bytes_be(w.k_be);
        let p = BigUint::from_bytes_be(w.p_be);
        let half: BigUint = (&rel.n - 1u32) >> 1;
        if k.bits() == 0 || k > half {
            return Err(SnarkError::Witness("k not canonical"));
        }
        if p.bits() == 0 || p > half {
            return Err(SnarkError::Witness("P not canonical"));
        }
        let k2 = &k * &k;
        let r = &k2 % &rel.n;
        let (sign, q) = if r == p {
            (false, (&k2 - &p) / &rel.n)
        } else if r == &rel.n - &p {
            (true, (&k2 + &p) / &rel.n)
        } else {
            return Err(SnarkError::Witness("k² ≠ ±P"));
        };
        let e = &half - &k;
        let k_l = to_limbs(&k, n);
        let e_l = to_limbs(&e, n);
        let q_l = to_limbs(&q, n);
        let p_l = to_limbs(&p, n);
        // k + e = half: boolean carries.
        let mut order_carries = Vec::with_capacity(n);
        let mut carry = 0u128;
        for i in 0..n {
            let s = k_l[i] as u128 + e_l[i] as u128 + carry;
            carry = s >> 64;
            order_carries.push(carry == 1);
        }
        // Square coefficients and signed carries.
        let mut square = Vec::with_capacity(2 * n - 1);
        let mut cols = Vec::with_capacity(2 * n);
        for t in 0..2 * n - 1 {
            let mut a = BigInt::from(0);
            let mut b = BigInt::from(0);
            for i in t.saturating_sub(n - 1)..=t.min(n - 1) {
                a += BigInt::from(k_l[i]) * BigInt::from(k_l[t - i]);
                b += BigInt::from(q_l[i]) * BigInt::from(rel.n_limbs[t - i]);
            }
            let p_t = if t < n {
                BigInt::from(p_l[t])
            } else {
                0.into()
            };
            if sign {
                b -= p_t;
            } else {
                b += p_t;
            }
            square.push(fr_from_bigint(&a));
            cols.push(a - b);
        }
        cols.push(BigInt::from(0));
        let offset = BigInt::from(1u8) << rel.carry_bits();
        let mut carries = Vec::with_capacity(n - 1);
        let mut c = BigInt::from(0);
        for g in 0..n {
            let d = &cols[2 * g] + (&cols[2 * g + 1] << 64) + &c;
            let low_mask = (BigInt::from(1u8) << 128) - 1;
            if (&d & &low_mask) != BigInt::from(0) {
                return Err(SnarkError::Witness("square carry"));
            }
            c = d >> 128;
            if g < n - 1 {
                let shifted = &c + &offset;
                let (sign_c, digits) = shifted.to_u64_digits();
                if sign_c == Sign::Minus || digits.len() > 2 {
                    return Err(SnarkError::Witness("square carry range"));
                }
                let v = digits.first().copied().unwrap_or(0) as u128
                    | (digits.get(1).copied().unwrap_or(0) as u128) << 64;
                carries.push(v);
            }
        }
        if c != BigInt::from(0) {
            return Err(SnarkError::Witness("square final carry"));
        }
        let key = Zeroizing::new(derive_key(rel, w.k_be, &w.ctx));
        let tag = mac(&key, &w.payload_digest);
        Ok(Self {
            k: k_l,
            e: e_l,
            q: q_l,
            p: p_l,
            sign,
            order_carries,
            square,
            carries,
            ctx: w.ctx.elements(),
            payload: poseidon::digest_element(&w.payload_digest),
            statement: statement(rel, &w.ctx, w.p_be, &w.payload_digest, &tag),
        })
    }
}

fn to_limbs(x: &BigUint, n: usize) -> Vec<u64> {
    let mut limbs = x.to_u64_digits();
    limbs.resize(n, 0);
    limbs
}

fn fr_from_bigint(x: &BigInt) -> Fr {
    let (sign, mag) = x.to_bytes_le();
    let v = Fr::from_le_bytes_mod_order(&mag);
    if sign == Sign::Minus { -v } else { v }
}

fn pow2(bits: usize) -> Fr {
    Fr::from(2u64).pow([bits as u64])
}

/// Packs 64-bit limbs three at a time into field elements.
fn pack(limbs: &[u64]) -> Vec<Fr> {
    limbs
        .chunks(LIMBS_PER_ELEMENT)
        .map(|chunk| {
            chunk
                .iter()
                .enumerate()
                .fold(Fr::zero(), |acc, (i, &l)| acc + Fr::from(l) * pow2(64 * i))
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// The circuit.

struct DelayCircuit<'a> {
    rel: &'a DelayRelation,
    w: Option<&'a Assignment>,
}

type Cs = ConstraintSystemRef<Fr>;

fn missing() -> SynthesisError {
    SynthesisError::AssignmentMissing
}

/// A witness in `[0, 2^bits)`: `bits` boolean witnesses, returned as their weighted sum.
fn ranged(cs: &Cs, value: Option<u128>, bits: usize) -> Result<FpVar<Fr>, SynthesisError> {
    let mut acc = FpVar::<Fr>::zero();
    let mut weight = Fr::from(1u64);
    for i in 0..bits {
        let bit = Boolean::new_witness(cs.clone(), || {
            value.map(|v| (v >> i) & 1 == 1).ok_or_else(missing)
        })?;
        acc += FpVar::from(bit) * weight;
        weight += weight;
    }
    Ok(acc)
}

fn limbs_var(cs: &Cs, values: Option<&[u64]>, n: usize) -> Result<Vec<FpVar<Fr>>, SynthesisError> {
    (0..n)
        .map(|i| ranged(cs, values.map(|v| v[i] as u128), LIMB_BITS))
        .collect()
}

fn pack_var(limbs: &[FpVar<Fr>]) -> Vec<FpVar<Fr>> {
    limbs
        .chunks(LIMBS_PER_ELEMENT)
        .map(|chunk| {
            chunk
                .iter()
                .enumerate()
                .fold(FpVar::zero(), |acc, (i, l)| acc + l * pow2(64 * i))
        })
        .collect()
}

impl ConstraintSynthesizer<Fr> for DelayCircuit<'_> {
    fn generate_constraints(self, cs: Cs) -> Result<(), SynthesisError> {
        let rel = self.rel;
        let w = self.w;
        let n = rel.limbs;
        let x_pub = FpVar::new_input(cs.clone(), || w.map(|w| w.statement).ok_or_else(missing))?;

        let k = limbs_var(&cs, w.map(|w| w.k.as_slice()), n)?;
        let e = limbs_var(&cs, w.map(|w| w.e.as_slice()), n)?;
        let q = limbs_var(&cs, w.map(|w| w.q.as_slice()), n)?;
        let p = limbs_var(&cs, w.map(|w| w.p.as_slice()), n)?;
        let sign = Boolean::new_witness(cs.clone(), || w.map(|w| w.sign).ok_or_else(missing))?;

        // 1. k + e = (N − 1)/2 with boolean carries and no final carry: k ≤ (N − 1)/2.
        let base = pow2(LIMB_BITS);
        let mut carry_in = FpVar::<Fr>::zero();
        for i in 0..n {
            let lhs = &k[i] + &e[i] + &carry_in;
            let m_i = FpVar::Constant(Fr::from(rel.half_limbs[i]));
            if i + 1 < n {
                let c = Boolean::new_witness(cs.clone(), || {
                    w.map(|w| w.order_carries[i]).ok_or_else(missing)
                })?;
                let c = FpVar::from(c);
                lhs.enforce_equal(&(m_i + &c * base))?;
                carry_in = c;
            } else {
                lhs.enforce_equal(&m_i)?;
            }
        }
        // k ≥ 1: k is invertible mod N only if nonzero; P ≥ 1 is checked by the verifier and
        // k = 0 would force P ≡ 0.

        // 2. A(X) = k(X)², checked at X = 0..2n−2.
        let a: Vec<FpVar<Fr>> = (0..2 * n - 1)
            .map(|t| FpVar::new_witness(cs.clone(), || w.map(|w| w.square[t]).ok_or_else(missing)))
            .collect::<Result<_, _>>()?;
        for x in 0..(2 * n - 1) as u64 {
            let xf = Fr::from(x);
            let mut kx = FpVar::<Fr>::zero();
            let mut pw = Fr::from(1u64);
            for limb in &k {
                kx += limb * pw;
                pw *= xf;
            }
            let mut ax = FpVar::<Fr>::zero();
            let mut pw = Fr::from(1u64);
            for coeff in &a {
                ax += coeff * pw;
                pw *= xf;
            }
            kx.mul_equals(&kx, &ax)?;
        }

        // 3. A(2^64) = q(2^64)·N + (1 − 2s)·P(2^64), column by column, two columns a carry.
        let sp: Vec<FpVar<Fr>> = p
            .iter()
            .map(|p_t| FpVar::from(sign.clone()) * p_t)
            .collect();
        let column = |t: usize| -> FpVar<Fr> {
            if t >= 2 * n - 1 {
                return FpVar::zero();
            }
            let mut col = a[t].clone();
            let lo = t.saturating_sub(n - 1);
            for (i, q_i) in q.iter().enumerate().take(t.min(n - 1) + 1).skip(lo) {
                col -= q_i * Fr::from(rel.n_limbs[t - i]);
            }
            if t < n {
                col = col - &p[t] + &sp[t] * Fr::from(2u64);
            }
            col
        };
        let cb = rel.carry_bits();
        let offset = FpVar::Constant(pow2(cb));
        let mut carry = FpVar::<Fr>::zero();
        for g in 0..n {
            let d = column(2 * g) + column(2 * g + 1) * base + &carry;
            if g + 1 < n {
                let c = ranged(&cs, w.map(|w| w.carries[g]), cb + 1)? - &offset;
                d.enforce_equal(&(&c * pow2(2 * LIMB_BITS)))?;
                carry = c;
            } else {
                d.enforce_equal(&FpVar::zero())?;
            }
        }

        // 4. K, tag, statement.
        let ctx: Vec<FpVar<Fr>> = (0..3)
            .map(|i| FpVar::new_witness(cs.clone(), || w.map(|w| w.ctx[i]).ok_or_else(missing)))
            .collect::<Result<_, _>>()?;
        let payload = FpVar::new_witness(cs.clone(), || w.map(|w| w.payload).ok_or_else(missing))?;
        let mut kdf_in = pack_var(&k);
        kdf_in.extend_from_slice(&ctx);
        let key = poseidon::hash_gadget(cs.clone(), veil_domain::timelock::POSEIDON_KDF, &kdf_in)?;
        let tag = poseidon::hash_gadget(
            cs.clone(),
            veil_domain::timelock::POSEIDON_MAC,
            &[key, payload.clone()],
        )?;
        let mut st_in = ctx;
        st_in.extend(pack_var(&p));
        st_in.push(payload);
        st_in.push(tag);
        let x = poseidon::hash_gadget(cs, veil_domain::timelock::SNARK_STATEMENT, &st_in)?;
        x.enforce_equal(&x_pub)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Satisfiability of the circuit itself (no Groth16) for a given witness.
    fn satisfied(rel: &DelayRelation, w: &DelayWitness<'_>) -> bool {
        let a = Assignment::new(rel, w).unwrap();
        let cs = ConstraintSystem::<Fr>::new_ref();
        DelayCircuit { rel, w: Some(&a) }
            .generate_constraints(cs.clone())
            .unwrap();
        cs.is_satisfied().unwrap()
    }

    fn small_modulus() -> BigUint {
        // Any odd modulus of at least 512 bits serves the circuit's arithmetic.
        (BigUint::from(1u8) << 600) - BigUint::from(1233u32)
    }

    #[test]
    fn honest_witness_satisfies_both_signs() {
        let n = small_modulus();
        let rel = DelayRelation::new(&n.to_bytes_be()).unwrap();
        let half: BigUint = (&n - 1u32) >> 1;
        let ctx = DelayContext {
            params_id: [1; 32],
            label_digest: [2; 32],
            puzzle_digest: [3; 32],
        };
        let mut seen = [false; 2];
        for seed in 1u64..40 {
            let k = (BigUint::from(seed).pow(97u32) + BigUint::from(seed)) % &half + 1u32;
            let sq = (&k * &k) % &n;
            let p = if sq > half { &n - &sq } else { sq.clone() };
            seen[(sq != p) as usize] = true;
            let w = DelayWitness {
                k_be: &k.to_bytes_be(),
                p_be: &p.to_bytes_be(),
                ctx,
                payload_digest: [9; 32],
            };
            assert!(satisfied(&rel, &w));
        }
        assert_eq!(seen, [true, true], "both signs exercised");
    }

    #[test]
    fn inconsistent_witnesses_are_refused_natively() {
        let n = small_modulus();
        let rel = DelayRelation::new(&n.to_bytes_be()).unwrap();
        let half: BigUint = (&n - 1u32) >> 1;
        let k = BigUint::from(123456789u64).pow(9u32) % &half;
        let sq = (&k * &k) % &n;
        let p = if sq > half { &n - &sq } else { sq };
        let ctx = DelayContext {
            params_id: [0; 32],
            label_digest: [0; 32],
            puzzle_digest: [0; 32],
        };
        let (neg, other, p_be) = (
            (&n - &k).to_bytes_be(),
            (&k + 1u32).to_bytes_be(),
            p.to_bytes_be(),
        );
        let w = DelayWitness {
            k_be: &neg,
            p_be: &p_be,
            ctx,
            payload_digest: [0; 32],
        };
        assert_eq!(
            Assignment::new(&rel, &w).err(),
            Some(SnarkError::Witness("k not canonical"))
        );
        let w = DelayWitness { k_be: &other, ..w };
        assert_eq!(
            Assignment::new(&rel, &w).err(),
            Some(SnarkError::Witness("k² ≠ ±P"))
        );
        assert!(DelayRelation::new(&[0x80; 40]).is_err());
    }

    #[test]
    fn forged_assignments_do_not_satisfy_the_circuit() {
        // Bypass the native checks: a non-canonical k (N − k) with its honest-looking
        // limbs, and a wrong square coefficient, must violate constraints.
        let n = small_modulus();
        let rel = DelayRelation::new(&n.to_bytes_be()).unwrap();
        let half: BigUint = (&n - 1u32) >> 1;
        let k = BigUint::from(987654321u64).pow(11u32) % &half;
        let sq = (&k * &k) % &n;
        let p = if sq > half { &n - &sq } else { sq };
        let ctx = DelayContext {
            params_id: [4; 32],
            label_digest: [5; 32],
            puzzle_digest: [6; 32],
        };
        let w = DelayWitness {
            k_be: &k.to_bytes_be(),
            p_be: &p.to_bytes_be(),
            ctx,
            payload_digest: [7; 32],
        };
        let honest = Assignment::new(&rel, &w).unwrap();
        let check = |a: &Assignment| {
            let cs = ConstraintSystem::<Fr>::new_ref();
            DelayCircuit {
                rel: &rel,
                w: Some(a),
            }
            .generate_constraints(cs.clone())
            .unwrap();
            cs.is_satisfied().unwrap()
        };
        assert!(check(&honest));
        // N − k: limbs of the other root; e would have to be negative.
        let neg = &n - &k;
        let mut forged = Assignment::new(&rel, &w).unwrap();
        forged.k = to_limbs(&neg, rel.limbs);
        assert!(!check(&forged));
        let mut forged = Assignment::new(&rel, &w).unwrap();
        forged.square[3] += Fr::from(1u64);
        assert!(!check(&forged));
        let mut forged = Assignment::new(&rel, &w).unwrap();
        forged.sign = !forged.sign;
        assert!(!check(&forged));
        let mut forged = Assignment::new(&rel, &w).unwrap();
        forged.statement += Fr::from(1u64);
        assert!(!check(&forged));
    }

    #[test]
    fn a_non_trivial_root_proves_only_for_whoever_can_factor() {
        // N = p·q with known factors: the prover can build k' ≡ k (mod p), k' ≡ −k (mod q),
        // a square root of k² that is neither k nor N − k. The circuit accepts it (it checks
        // k'² = ±P, nothing more) — which is why soundness rests on N's factorisation being
        // unknown — and the two roots together reveal a factor, the reduction of the
        // security argument. The key derived from k' differs, so such a ciphertext would
        // not open for the solver.
        let pf: BigUint = (BigUint::from(1u8) << 255u32) - 19u32;
        let qf: BigUint = (BigUint::from(1u8) << 521u32) - 1u32;
        let n = &pf * &qf;
        let half: BigUint = (&n - 1u32) >> 1;
        let canon = |x: BigUint| if x > half { &n - &x } else { x };
        let k = canon(BigUint::from(7u8).pow(300u32) % &n);
        // CRT: k' = k·q·(q⁻¹ mod p) − k·p·(p⁻¹ mod q) mod N.
        let qi = qf.modinv(&pf).unwrap();
        let pi = pf.modinv(&qf).unwrap();
        let a = (&k * &qf % &n) * qi % &n;
        let b = (&k * &pf % &n) * pi % &n;
        let k_other = canon((&a + &n - &b) % &n);
        assert!(k_other != k && k_other != &n - &k);
        assert_eq!((&k_other * &k_other) % &n, (&k * &k) % &n);
        let p = canon((&k * &k) % &n);
        let rel_bytes = n.to_bytes_be();
        let (pk, vk) = insecure_setup(&rel_bytes).unwrap();
        let ctx = DelayContext {
            params_id: [1; 32],
            label_digest: [2; 32],
            puzzle_digest: [3; 32],
        };
        let mut rng = <rand_chacha::ChaCha20Rng as SeedableRng>::seed_from_u64(9);
        let (kb, ob, pb) = (k.to_bytes_be(), k_other.to_bytes_be(), p.to_bytes_be());
        for root in [&kb, &ob] {
            let w = DelayWitness {
                k_be: root,
                p_be: &pb,
                ctx,
                payload_digest: [4; 32],
            };
            let proof = pk.prove(&w, &mut rng).unwrap();
            let tag = mac(&derive_key(pk.relation(), root, &ctx), &[4; 32]);
            assert_eq!(vk.verify(&ctx, &pb, &[4; 32], &tag, &proof), Ok(()));
            // The proof is bound to its tag: the other root's tag does not verify with it.
            let other = if root == &kb { &ob } else { &kb };
            let other_tag = mac(&derive_key(pk.relation(), other, &ctx), &[4; 32]);
            assert_eq!(
                vk.verify(&ctx, &pb, &[4; 32], &other_tag, &proof),
                Err(SnarkError::Invalid)
            );
        }
        let g = num_integer_gcd(&(&k + &n - &k_other), &n);
        assert!(g == pf || g == qf);
    }

    fn num_integer_gcd(a: &BigUint, b: &BigUint) -> BigUint {
        let (mut a, mut b) = (a.clone(), b.clone());
        while b.bits() > 0 {
            let r = &a % &b;
            a = b;
            b = r;
        }
        a
    }
}
