//! Delay-mode encryption: a payload locked under an RSW time-lock puzzle.
//!
//! # Construction (version 2: verifiable delay ciphertexts)
//!
//! For parameters `(N, g, T, h = g^(2^T))` and a label (the public data the ciphertext is
//! bound to, [`veil_threshold::Label`]):
//!
//! 1. draw `a` uniform in `[0, 2^(|N| + 128))`; the puzzle is `o = g^a`, the key material
//!    `k = canon(h^a) = canon(o^(2^T))`, and the sender also publishes `P = canon(k²)`
//!    (publishing `P` leaks nothing usable: computing a square root mod `N` is as hard as
//!    factoring, and anyone could compute `P` from `o` with `T + 1` squarings anyway);
//! 2. payload key `K = Poseidon(POSEIDON_KDF; k, params id, label digest, puzzle digest)`;
//!    the payload is encrypted with a stream cipher under `K` and authenticated by the
//!    Poseidon MAC `tag` over its digest ([`crate::dem`]'s `proven` part);
//! 3. a proof that `o = g^a` and `P = (h²)^a` share one exponent
//!    ([`veil_circuits::rsa_eq`], statistical zero knowledge, bound to the parameter id, the
//!    label digest and the ciphertext kind) and a Groth16 proof that some canonical `k` with
//!    `k² = ±P` keys `tag` ([`veil_circuits::delay_snark`], which also holds the security
//!    argument: together they show that the solver's `o^(2^T)` opens the payload, unless
//!    the sender can factor `N`).
//!
//! A node checks both proofs at admission ([`DelayCiphertext::verify`]): a junk puzzle — one
//! whose solution does not open the payload — is refused before anyone spends `T`
//! squarings on it. Version 1 ciphertexts (AES-GCM under an HKDF key, no delay proof) are
//! refused with [`DelayError::Unsupported`].
//!
//! This is Rivest, Shamir and Wagner's time-lock puzzle ("Time-lock puzzles and
//! timed-release crypto", 1996) in the form with public parameters `h = g^(2^T)` (as in
//! Malavolta and Thyagarajan, "Homomorphic time-lock puzzles", CRYPTO 2019). Where they
//! compute `h` with the factorisation as a trapdoor, we use a modulus nobody can factor and
//! compute `h` the slow way once, publishing a Wesolowski proof ([`crate::params`]); a
//! sender then needs only two fixed-base exponentiations.
//!
//! # Why `a` has `|N| + 128` bits
//!
//! `g` has unknown order `ord(g) < N`. With `a` uniform in `[0, 2^(|N|+128))`, `a mod
//! ord(g)` is within statistical distance `ord(g)/2^(|N|+128) < 2^-128` of uniform, so `o` is
//! statistically close to a uniform element of `⟨g⟩`, and `h^a` is hidden exactly as well as
//! the time-lock assumption allows (nothing about it leaks beyond `o`).
//!
//! # Opening
//!
//! - **Solving**: anyone computes `o^(2^T)` with `T` sequential squarings
//!   ([`Puzzle::solve`]), optionally proving the result with Wesolowski so others verify it
//!   instead of recomputing ([`Puzzle::solve_and_prove`], [`PuzzleSolution::verify`]).
//! - **Reveal**: the sender publishes `a` after the ciphertext is committed
//!   ([`PuzzleSecret::reveal`]); anyone checks `g^a = ±o` and derives `h^a` in one
//!   fixed-base exponentiation ([`PuzzleReveal::open`]).
//!
//! Both give the same `h^a`, hence the same key and plaintext.
//!
//! # Side channels
//!
//! `g^a` and `h^a` use veil-squaring's constant-time fixed-base exponentiation (its running
//! time depends only on the exponent's byte length, which is public); `h^a` is
//! canonicalised with a constant-time comparison and selection; the proof's `z = k + c·a`
//! is fixed-width limb arithmetic ([`veil_circuits::rsa_pok`]); `a`, `h^a` and the derived
//! keys are zeroized on drop. `num-bigint` never sees a secret. Residual: the AES-GCM and
//! HKDF implementations are the RustCrypto ones (constant time with AES-NI; the software
//! AES fallback is bitsliced).
//!
//! # Non-malleability
//!
//! The proof of knowledge makes a valid ciphertext impossible to produce without knowing its
//! `a`: re-using a victim's puzzle `o` under another label needs a fresh proof bound to the
//! new label digest, and the key derivation binds the label too. Decryption verifies the
//! proof first; every failure on the decryption path returns the same opaque error.
//!
//! ```
//! use std::ops::ControlFlow;
//! use rand_core::OsRng;
//! use veil_squaring::Backend;
//! use veil_threshold::{Label, SlotRange};
//! use veil_timelock::{DelayCiphertext, DelayParams, group::RsaGroup};
//! let params = DelayParams::generate(
//!     RsaGroup::rsa2048(), b"doc", 256, Backend::Portable, &mut |_| ControlFlow::Continue(()),
//! ).unwrap();
//! let label = Label::new(1, [7; 32], SlotRange::new(10, 20).unwrap(), 0, vec![]).unwrap();
//! let pk = params.insecure_proving_key().unwrap(); // devnet keys: see params docs
//! let (ct, secret) = DelayCiphertext::encrypt(&params, &pk, &label, b"tx", &mut OsRng).unwrap();
//! assert!(ct.verify(&params, &label).is_ok());
//! // Fast path: the sender reveals a.
//! let key = secret.reveal().open(&params, ct.puzzle()).unwrap();
//! assert_eq!(ct.decrypt(&params, &label, &key).unwrap(), b"tx");
//! // Slow path: anyone solves the puzzle.
//! let solved = ct.puzzle().solve(&params, Backend::Portable, &mut |_| ControlFlow::Continue(())).unwrap();
//! assert_eq!(ct.decrypt(&params, &label, &solved).unwrap(), b"tx");
//! ```

use std::ops::ControlFlow;

use rand_core::{CryptoRng, RngCore};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use thiserror::Error;
use veil_circuits::delay_snark::{
    self, DelayContext, DelayProof, DelayProvingKey, DelayWitness, Scalar,
};
use veil_circuits::rsa_eq::{self, EqualityProof, EqualityRelation};
use veil_circuits::rsa_pok::ExponentRelation;
use veil_squaring::{Backend, Cancelled, Element};
use veil_threshold::Label;
use zeroize::{Zeroize, Zeroizing};

use crate::dem::proven;
use crate::params::{DelayParams, Reader};
use crate::wesolowski::{self, ProverTuning, WesolowskiProof};

/// Kind byte of an encoded delay ciphertext.
pub const DELAY_CIPHERTEXT_KIND: u8 = 0x02;
/// Kind byte of an encoded puzzle solution.
pub const SOLUTION_KIND: u8 = 0x03;
/// Kind byte of an encoded reveal.
pub const REVEAL_KIND: u8 = 0x04;
/// Version byte of the encodings of solutions and reveals.
pub const DELAY_VERSION: u8 = 1;
/// Version byte of delay and dual ciphertexts (2: with the delay proof).
pub const CIPHERTEXT_VERSION: u8 = 2;
/// Largest payload a delay or dual ciphertext may carry.
pub const MAX_PAYLOAD: usize = 64 * 1024;

/// Why a delay-mode operation failed. Decryption failures are deliberately opaque.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum DelayError {
    /// The encoding is truncated, too long or has an invalid field.
    #[error("malformed delay-mode encoding: {0}")]
    Malformed(&'static str),
    /// Unknown kind or version byte.
    #[error("unsupported delay-mode encoding: kind {kind}, version {version}")]
    Unsupported {
        /// Kind byte found.
        kind: u8,
        /// Version byte found.
        version: u8,
    },
    /// The payload exceeds [`MAX_PAYLOAD`].
    #[error("payload too large: {len} bytes, limit {MAX_PAYLOAD}")]
    PayloadTooLarge {
        /// Length given.
        len: usize,
    },
    /// The object refers to another parameter set.
    #[error("encoded for other delay parameters")]
    WrongParams,
    /// The ciphertext's proofs do not verify for this label.
    #[error("invalid delay ciphertext")]
    Invalid,
    /// The proving key is for another modulus or another setup than the parameters.
    #[error("proving key does not match the delay parameters")]
    WrongProvingKey,
    /// Decryption failed (wrong key, tampered ciphertext or label).
    #[error("decryption failed")]
    Decrypt,
    /// A revealed exponent does not open the puzzle.
    #[error("reveal does not open the puzzle")]
    BadReveal,
    /// A puzzle solution's proof does not verify.
    #[error("invalid puzzle solution")]
    BadSolution,
}

/// A time-lock puzzle `o = g^a`, the square `P` of its solution, and the proof that both
/// share the exponent `a`.
#[derive(Clone, Debug)]
pub struct Puzzle {
    o: Element,
    p: Element,
    proof: EqualityProof,
}

/// The sender's secret exponent `a`; reveal it to open the puzzle early. Zeroized on drop.
pub struct PuzzleSecret {
    a: Zeroizing<Vec<u8>>,
    params_id: [u8; 32],
}

impl std::fmt::Debug for PuzzleSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PuzzleSecret(..)")
    }
}

/// A revealed exponent: public once published.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PuzzleReveal {
    params_id: [u8; 32],
    a: Vec<u8>,
}

/// The opened puzzle: the canonical encoding of `h^a = o^(2^T)`. Zeroized on drop.
pub struct PuzzleKey(Zeroizing<Vec<u8>>);

impl std::fmt::Debug for PuzzleKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PuzzleKey(..)")
    }
}

/// A solved puzzle with a Wesolowski proof that `output = puzzle^(2^T)`.
#[derive(Clone, Debug)]
pub struct PuzzleSolution {
    params_id: [u8; 32],
    puzzle: Element,
    output: Element,
    proof: WesolowskiProof,
}

/// A payload locked under a time-lock puzzle. See the module documentation.
#[derive(Clone, Debug)]
pub struct DelayCiphertext {
    params_id: [u8; 32],
    puzzle: Puzzle,
    sealed: ProvenSeal,
}

/// A payload encrypted under the Poseidon key of a puzzle, with its MAC tag and the Groth16
/// proof that the puzzle's solution keys the tag (shared by delay and dual ciphertexts).
#[derive(Clone, Debug)]
pub(crate) struct ProvenSeal {
    pub(crate) snark: DelayProof,
    pub(crate) tag: Scalar,
    pub(crate) body: Vec<u8>,
}

fn relation(params: &DelayParams) -> ExponentRelation<'_> {
    ExponentRelation::new(params.group().modulus(), params.g(), params.exponent_bits())
}

fn eq_relation(params: &DelayParams) -> EqualityRelation<'_> {
    EqualityRelation::new(
        params.group().modulus(),
        params.g(),
        params.h2(),
        params.exponent_bits(),
    )
}

/// The context the delay proof binds: parameter id, label digest, and
/// `SHA-256(PUZZLE_DIGEST ‖ kind ‖ canonical o)`.
fn snark_context(
    kind: u8,
    params: &DelayParams,
    label_digest: &[u8; 32],
    puzzle: &Puzzle,
) -> DelayContext {
    let puzzle_digest = Sha256::new()
        .chain_update(veil_domain::timelock::PUZZLE_DIGEST)
        .chain_update([kind])
        .chain_update(params.group().encode(&puzzle.o))
        .finalize()
        .into();
    DelayContext {
        params_id: *params.id(),
        label_digest: *label_digest,
        puzzle_digest,
    }
}

impl ProvenSeal {
    /// Encrypts `plaintext` under the puzzle's key and proves it.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn seal(
        kind: u8,
        params: &DelayParams,
        pk: &DelayProvingKey,
        label_digest: &[u8; 32],
        puzzle: &Puzzle,
        key: &PuzzleKey,
        plaintext: &[u8],
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<Self, DelayError> {
        if !pk.matches(params.snark_key()) {
            return Err(DelayError::WrongProvingKey);
        }
        let ctx = snark_context(kind, params, label_digest, puzzle);
        let k = Zeroizing::new(delay_snark::derive_key(pk.relation(), key.material(), &ctx));
        let mut body = plaintext.to_vec();
        proven::apply_keystream(&k, &mut body);
        let digest = proven::payload_digest(&body);
        let tag = delay_snark::mac(&k, &digest);
        let p = params.group().encode(&puzzle.p);
        let witness = DelayWitness {
            k_be: key.material(),
            p_be: &p,
            ctx,
            payload_digest: digest,
        };
        // The witness is honest by construction (k, P from the same a): proving can fail
        // only on a caller bug, reported as an invalid ciphertext.
        let snark = pk.prove(&witness, rng).map_err(|_| DelayError::Invalid)?;
        Ok(Self { snark, tag, body })
    }

    /// Checks the delay proof (the Sigma proof is the puzzle's).
    pub(crate) fn verify(
        &self,
        kind: u8,
        params: &DelayParams,
        label_digest: &[u8; 32],
        puzzle: &Puzzle,
    ) -> Result<(), DelayError> {
        let ctx = snark_context(kind, params, label_digest, puzzle);
        params
            .snark_key()
            .verify(
                &ctx,
                &params.group().encode(&puzzle.p),
                &proven::payload_digest(&self.body),
                &self.tag,
                &self.snark,
            )
            .map_err(|_| DelayError::Invalid)
    }

    /// Decrypts with the opened puzzle: derives `K`, checks the MAC, strips the keystream.
    pub(crate) fn open(
        &self,
        kind: u8,
        params: &DelayParams,
        label_digest: &[u8; 32],
        puzzle: &Puzzle,
        key: &PuzzleKey,
    ) -> Option<Zeroizing<Vec<u8>>> {
        let ctx = snark_context(kind, params, label_digest, puzzle);
        let k = Zeroizing::new(delay_snark::derive_key(
            params.snark_key().relation(),
            key.material(),
            &ctx,
        ));
        let expected = delay_snark::mac(&k, &proven::payload_digest(&self.body));
        if !bool::from(
            delay_snark::field_to_bytes(&expected).ct_eq(&delay_snark::field_to_bytes(&self.tag)),
        ) {
            return None;
        }
        let mut out = Zeroizing::new(self.body.clone());
        proven::apply_keystream(&k, &mut out);
        Some(out)
    }

    /// `π (192) ‖ tag (32) ‖ len (u32 BE) ‖ body`.
    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.snark.to_bytes());
        out.extend_from_slice(&delay_snark::field_to_bytes(&self.tag));
        // Bodies are at most MAX_PAYLOAD bytes: fits a u32.
        out.extend_from_slice(&(self.body.len() as u32).to_be_bytes());
        out.extend_from_slice(&self.body);
    }

    /// Decodes: the proof's points on their curves and in the subgroup, the tag canonical,
    /// the body within [`MAX_PAYLOAD`] (or exactly `fixed_len` bytes when given).
    pub(crate) fn read(r: &mut Reader<'_>, fixed_len: Option<usize>) -> Result<Self, DelayError> {
        let snark = DelayProof::from_bytes(r.take(delay_snark::PROOF_LEN).ok_or(TRUNCATED)?)
            .map_err(|_| DelayError::Malformed("delay proof"))?;
        let tag = delay_snark::field_from_bytes(r.take(delay_snark::FIELD_LEN).ok_or(TRUNCATED)?)
            .ok_or(DelayError::Malformed("payload tag"))?;
        let len = u32::from_be_bytes(r.array().ok_or(TRUNCATED)?) as usize;
        if len > MAX_PAYLOAD {
            return Err(DelayError::PayloadTooLarge { len });
        }
        if fixed_len.is_some_and(|f| f != len) {
            return Err(DelayError::Malformed("body length"));
        }
        let body = r.take(len).ok_or(TRUNCATED)?.to_vec();
        Ok(Self { snark, tag, body })
    }

    /// Bytes of the proof material: Groth16 proof and tag.
    pub(crate) const OVERHEAD: usize = delay_snark::PROOF_LEN + delay_snark::FIELD_LEN + 4;
}

/// Proof-of-knowledge context: the kind of object, the parameter id, the label digest.
fn pok_context(kind: u8, params: &DelayParams, label_digest: &[u8; 32]) -> Vec<u8> {
    let mut ctx = Vec::with_capacity(65);
    ctx.push(kind);
    ctx.extend_from_slice(params.id());
    ctx.extend_from_slice(label_digest);
    ctx
}

impl Puzzle {
    /// Creates a puzzle bound to `(kind, params, label)`; returns it, the secret exponent and
    /// the key `h^a`.
    pub(crate) fn create(
        kind: u8,
        params: &DelayParams,
        label_digest: &[u8; 32],
        rng: &mut (impl RngCore + CryptoRng),
    ) -> (Puzzle, PuzzleSecret, PuzzleKey) {
        let rel = eq_relation(params);
        let (g_table, h_table, h2_table) = params.all_tables();
        let m = params.group().modulus();
        let len = rel.exponent_len();
        let mut a = Zeroizing::new(vec![0u8; len]);
        rng.fill_bytes(&mut a);
        // Clear the bits above exponent_bits (a public count).
        a[0] &= 0xffu8 >> (len * 8 - params.exponent_bits());
        let o = g_table.pow_ct(m, &a);
        let mut ha = h_table.pow_ct(m, &a);
        let key = PuzzleKey(Zeroizing::new(params.group().encode(&ha)));
        // P = k² = (h²)^a: public.
        let p = m.square(&ha);
        ha.zeroize();
        let ctx = pok_context(kind, params, label_digest);
        // `a` has exactly exponent_len bytes with its excess bits cleared: prove cannot fail.
        let proof = rsa_eq::prove(&rel, g_table, h2_table, &a, &o, &p, &ctx, rng)
            .unwrap_or_else(|_| unreachable!());
        let secret = PuzzleSecret {
            a,
            params_id: *params.id(),
        };
        (Puzzle { o, p, proof }, secret, key)
    }

    /// The puzzle element `o`.
    pub fn element(&self) -> &Element {
        &self.o
    }

    /// `P = k²`, the square of the puzzle's solution.
    pub fn square(&self) -> &Element {
        &self.p
    }

    /// Checks the exponent-equality proof for `(kind, params, label)`.
    pub(crate) fn verify(
        &self,
        kind: u8,
        params: &DelayParams,
        label_digest: &[u8; 32],
    ) -> Result<(), DelayError> {
        let ctx = pok_context(kind, params, label_digest);
        let (g_table, _, h2_table) = params.all_tables();
        rsa_eq::verify(
            &eq_relation(params),
            g_table,
            h2_table,
            &self.o,
            &self.p,
            &ctx,
            &self.proof,
        )
        .map_err(|_| DelayError::Invalid)
    }

    /// Opens the puzzle by `T` sequential squarings. `progress` sees the squarings done and
    /// may cancel.
    pub fn solve(
        &self,
        params: &DelayParams,
        backend: Backend,
        progress: &mut dyn FnMut(u64) -> ControlFlow<()>,
    ) -> Result<PuzzleKey, Cancelled> {
        let y = veil_squaring::square_repeated(
            params.group().modulus(),
            &self.o,
            params.squarings(),
            backend,
            progress,
        )?;
        Ok(PuzzleKey(Zeroizing::new(params.group().encode(&y))))
    }

    /// Opens the puzzle and proves the result (Wesolowski), so that others can check the
    /// solution instead of solving again.
    pub fn solve_and_prove(
        &self,
        params: &DelayParams,
        backend: Backend,
        progress: &mut dyn FnMut(u64) -> ControlFlow<()>,
    ) -> Result<PuzzleSolution, Cancelled> {
        PuzzleSolution::compute(params, &self.o, backend, progress)
    }

    pub(crate) fn write(&self, params: &DelayParams, out: &mut Vec<u8>) {
        out.extend_from_slice(&params.group().encode(&self.o));
        out.extend_from_slice(&params.group().encode(&self.p));
        out.extend_from_slice(&self.proof.to_bytes());
    }

    pub(crate) fn encoded_len(params: &DelayParams) -> usize {
        2 * params.group().element_len() + eq_relation(params).proof_len()
    }

    pub(crate) fn read(params: &DelayParams, r: &mut Reader<'_>) -> Result<Self, DelayError> {
        let group = params.group();
        let o = group
            .decode(r.take(group.element_len()).ok_or(TRUNCATED)?)
            .map_err(|_| DelayError::Malformed("puzzle element"))?;
        let p = group
            .decode(r.take(group.element_len()).ok_or(TRUNCATED)?)
            .map_err(|_| DelayError::Malformed("puzzle square"))?;
        let rel = eq_relation(params);
        let proof = EqualityProof::from_bytes(&rel, r.take(rel.proof_len()).ok_or(TRUNCATED)?)
            .map_err(|_| DelayError::Malformed("exponent-equality proof"))?;
        Ok(Self { o, p, proof })
    }
}

const TRUNCATED: DelayError = DelayError::Malformed("truncated");

pub(crate) fn read_header(r: &mut Reader<'_>, kind: u8, version: u8) -> Result<(), DelayError> {
    let k = r.take(1).ok_or(TRUNCATED)?[0];
    let v = r.take(1).ok_or(TRUNCATED)?[0];
    if k != kind || v != version {
        return Err(DelayError::Unsupported {
            kind: k,
            version: v,
        });
    }
    Ok(())
}

pub(crate) fn read_params_id(r: &mut Reader<'_>, params: &DelayParams) -> Result<(), DelayError> {
    let id: [u8; 32] = r.array().ok_or(TRUNCATED)?;
    if &id != params.id() {
        return Err(DelayError::WrongParams);
    }
    Ok(())
}

impl PuzzleSecret {
    /// The exponent `a`, to be published once revealing is safe (after commitment).
    pub fn reveal(&self) -> PuzzleReveal {
        PuzzleReveal {
            params_id: self.params_id,
            a: self.a.to_vec(),
        }
    }
}

impl PuzzleReveal {
    /// The revealed exponent, big-endian.
    pub fn exponent(&self) -> &[u8] {
        &self.a
    }

    /// Checks `g^a = ±o` (and the range of `a`) and derives the key `h^a`.
    pub fn open(&self, params: &DelayParams, puzzle: &Puzzle) -> Result<PuzzleKey, DelayError> {
        if &self.params_id != params.id() {
            return Err(DelayError::WrongParams);
        }
        let rel = relation(params);
        let excess = rel.exponent_len() * 8 - params.exponent_bits();
        if self.a.len() != rel.exponent_len() || (excess > 0 && self.a[0] >> (8 - excess) != 0) {
            return Err(DelayError::BadReveal);
        }
        let (g_table, h_table) = params.tables();
        let group = params.group();
        let m = group.modulus();
        if !group.eq(&g_table.pow_ct(m, &self.a), &puzzle.o) {
            return Err(DelayError::BadReveal);
        }
        Ok(PuzzleKey(Zeroizing::new(
            group.encode(&h_table.pow_ct(m, &self.a)),
        )))
    }

    /// Encoding: `0x04 ‖ 0x01 ‖ params id ‖ a` (`a` fixed length, `⌈(|N|+128)/8⌉` bytes).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = vec![REVEAL_KIND, DELAY_VERSION];
        out.extend_from_slice(&self.params_id);
        out.extend_from_slice(&self.a);
        out
    }

    /// Decodes a reveal for `params` (its validity is checked by [`PuzzleReveal::open`]).
    pub fn from_bytes(params: &DelayParams, bytes: &[u8]) -> Result<Self, DelayError> {
        let mut r = Reader(bytes);
        read_header(&mut r, REVEAL_KIND, DELAY_VERSION)?;
        read_params_id(&mut r, params)?;
        let len = relation(params).exponent_len();
        let a = r.take(len).ok_or(TRUNCATED)?.to_vec();
        if !r.0.is_empty() {
            return Err(DelayError::Malformed("trailing bytes"));
        }
        Ok(Self {
            params_id: *params.id(),
            a,
        })
    }
}

impl PuzzleKey {
    pub(crate) fn material(&self) -> &[u8] {
        &self.0
    }
}

impl PuzzleSolution {
    fn compute(
        params: &DelayParams,
        puzzle: &Element,
        backend: Backend,
        progress: &mut dyn FnMut(u64) -> ControlFlow<()>,
    ) -> Result<Self, Cancelled> {
        let t = params.squarings();
        let (output, proof) = wesolowski::prove(
            params.group(),
            puzzle,
            t,
            ProverTuning::for_squarings(t),
            backend,
            progress,
        )?;
        Ok(Self {
            params_id: *params.id(),
            puzzle: puzzle.clone(),
            output,
            proof,
        })
    }

    /// Solves and proves an arbitrary puzzle element (e.g. decoded from a file).
    pub fn solve(
        params: &DelayParams,
        puzzle: &Element,
        backend: Backend,
        progress: &mut dyn FnMut(u64) -> ControlFlow<()>,
    ) -> Result<Self, Cancelled> {
        Self::compute(params, puzzle, backend, progress)
    }

    /// The puzzle this solves.
    pub fn puzzle(&self) -> &Element {
        &self.puzzle
    }

    /// The output `puzzle^(2^T)`.
    pub fn output(&self) -> &Element {
        &self.output
    }

    /// Verifies the Wesolowski proof and returns the key it opens.
    pub fn verify(&self, params: &DelayParams) -> Result<PuzzleKey, DelayError> {
        if &self.params_id != params.id() {
            return Err(DelayError::WrongParams);
        }
        wesolowski::verify(
            params.group(),
            &self.puzzle,
            &self.output,
            params.squarings(),
            &self.proof,
        )
        .map_err(|_| DelayError::BadSolution)?;
        Ok(PuzzleKey(Zeroizing::new(
            params.group().encode(&self.output),
        )))
    }

    /// Encoding: `0x03 ‖ 0x01 ‖ params id ‖ puzzle ‖ output ‖ π` (canonical elements).
    pub fn to_bytes(&self, params: &DelayParams) -> Vec<u8> {
        let group = params.group();
        let mut out = vec![SOLUTION_KIND, DELAY_VERSION];
        out.extend_from_slice(&self.params_id);
        out.extend_from_slice(&group.encode(&self.puzzle));
        out.extend_from_slice(&group.encode(&self.output));
        out.extend_from_slice(&self.proof.to_bytes(group));
        out
    }

    /// Decodes a solution for `params` (not yet verified: call [`PuzzleSolution::verify`]).
    pub fn from_bytes(params: &DelayParams, bytes: &[u8]) -> Result<Self, DelayError> {
        let group = params.group();
        let n = group.element_len();
        let mut r = Reader(bytes);
        read_header(&mut r, SOLUTION_KIND, DELAY_VERSION)?;
        read_params_id(&mut r, params)?;
        let mut element = |what| {
            group
                .decode(r.take(n).ok_or(TRUNCATED)?)
                .map_err(|_| DelayError::Malformed(what))
        };
        let puzzle = element("puzzle element")?;
        let output = element("output element")?;
        let proof = WesolowskiProof::from_bytes(group, r.take(n).ok_or(TRUNCATED)?)
            .map_err(|_| DelayError::Malformed("proof element"))?;
        if !r.0.is_empty() {
            return Err(DelayError::Malformed("trailing bytes"));
        }
        Ok(Self {
            params_id: *params.id(),
            puzzle,
            output,
            proof,
        })
    }
}

impl DelayCiphertext {
    /// Encrypts `plaintext` (at most [`MAX_PAYLOAD`] bytes) under a fresh puzzle bound to
    /// `label`, and proves that the puzzle opens it (`pk`: the delay-proof proving key of
    /// `params`, e.g. [`DelayParams::insecure_proving_key`] on a devnet). Returns the
    /// ciphertext and the secret exponent (keep it to reveal later).
    pub fn encrypt(
        params: &DelayParams,
        pk: &DelayProvingKey,
        label: &Label,
        plaintext: &[u8],
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<(Self, PuzzleSecret), DelayError> {
        if plaintext.len() > MAX_PAYLOAD {
            return Err(DelayError::PayloadTooLarge {
                len: plaintext.len(),
            });
        }
        if !pk.matches(params.snark_key()) {
            return Err(DelayError::WrongProvingKey);
        }
        let digest = label.digest();
        let (puzzle, secret, key) = Puzzle::create(DELAY_CIPHERTEXT_KIND, params, &digest, rng);
        let sealed = ProvenSeal::seal(
            DELAY_CIPHERTEXT_KIND,
            params,
            pk,
            &digest,
            &puzzle,
            &key,
            plaintext,
            rng,
        )?;
        Ok((
            Self {
                params_id: *params.id(),
                puzzle,
                sealed,
            },
            secret,
        ))
    }

    /// The puzzle.
    pub fn puzzle(&self) -> &Puzzle {
        &self.puzzle
    }

    /// The encrypted payload's length (equal to the plaintext's).
    pub fn payload_len(&self) -> usize {
        self.sealed.body.len()
    }

    /// Bytes of proof material a v2 ciphertext carries beyond v1's puzzle element: `P`, the
    /// exponent-equality proof `(c, z)`, the Groth16 proof and the MAC tag.
    pub fn proof_len(params: &DelayParams) -> usize {
        Puzzle::encoded_len(params) - params.group().element_len()
            + delay_snark::PROOF_LEN
            + delay_snark::FIELD_LEN
    }

    /// Checks validity for `label` — the exponent-equality proof and the delay proof: what a
    /// node checks before it accepts the ciphertext. Opaque.
    pub fn verify(&self, params: &DelayParams, label: &Label) -> Result<(), DelayError> {
        if &self.params_id != params.id() {
            return Err(DelayError::WrongParams);
        }
        let digest = label.digest();
        self.puzzle.verify(DELAY_CIPHERTEXT_KIND, params, &digest)?;
        self.sealed
            .verify(DELAY_CIPHERTEXT_KIND, params, &digest, &self.puzzle)
    }

    /// Decrypts with the opened puzzle (by solving, by a verified solution or by a reveal).
    /// Checks validity first. Every failure is the same opaque [`DelayError::Decrypt`].
    pub fn decrypt(
        &self,
        params: &DelayParams,
        label: &Label,
        key: &PuzzleKey,
    ) -> Result<Vec<u8>, DelayError> {
        self.verify(params, label)
            .map_err(|_| DelayError::Decrypt)?;
        self.decrypt_unverified(params, label, key)
    }

    /// Decrypts without re-checking the proofs (for callers that verified the ciphertext at
    /// admission): derives the key, checks the MAC, decrypts. Opaque.
    pub fn decrypt_unverified(
        &self,
        params: &DelayParams,
        label: &Label,
        key: &PuzzleKey,
    ) -> Result<Vec<u8>, DelayError> {
        if &self.params_id != params.id() {
            return Err(DelayError::Decrypt);
        }
        self.sealed
            .open(
                DELAY_CIPHERTEXT_KIND,
                params,
                &label.digest(),
                &self.puzzle,
                key,
            )
            .map(|m| m.to_vec())
            .ok_or(DelayError::Decrypt)
    }

    /// Canonical encoding: `0x02 ‖ 0x02 ‖ params id ‖ o ‖ P ‖ c ‖ z ‖ π (192) ‖ tag (32) ‖
    /// len (u32 BE) ‖ body`.
    pub fn to_bytes(&self, params: &DelayParams) -> Vec<u8> {
        let mut out = vec![DELAY_CIPHERTEXT_KIND, CIPHERTEXT_VERSION];
        out.extend_from_slice(&self.params_id);
        self.puzzle.write(params, &mut out);
        self.sealed.write(&mut out);
        out
    }

    /// Decodes a ciphertext for `params`, validating every length, element and curve point
    /// (not the proofs, which need the label: see [`DelayCiphertext::verify`]). Version 1
    /// encodings are refused with [`DelayError::Unsupported`].
    pub fn from_bytes(params: &DelayParams, bytes: &[u8]) -> Result<Self, DelayError> {
        let max = 2 + 32 + Puzzle::encoded_len(params) + ProvenSeal::OVERHEAD + MAX_PAYLOAD;
        if bytes.len() > max {
            return Err(DelayError::PayloadTooLarge { len: bytes.len() });
        }
        let mut r = Reader(bytes);
        read_header(&mut r, DELAY_CIPHERTEXT_KIND, CIPHERTEXT_VERSION)?;
        read_params_id(&mut r, params)?;
        let puzzle = Puzzle::read(params, &mut r)?;
        let sealed = ProvenSeal::read(&mut r, None)?;
        if !r.0.is_empty() {
            return Err(DelayError::Malformed("trailing bytes"));
        }
        Ok(Self {
            params_id: *params.id(),
            puzzle,
            sealed,
        })
    }
}
