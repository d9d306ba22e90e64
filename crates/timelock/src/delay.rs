//! Delay-mode encryption: a payload locked under an RSW time-lock puzzle.
//!
//! # Construction
//!
//! For parameters `(N, g, T, h = g^(2^T))` and a label (the public data the ciphertext is
//! bound to, [`veil_threshold::Label`]):
//!
//! 1. draw `a` uniform in `[0, 2^(|N| + 128))`; the puzzle is `o = g^a`, the key material
//!    `h^a = g^(a·2^T) = o^(2^T)`;
//! 2. data key `K = HKDF-SHA256(salt = label digest, ikm = h^a, info = PUZZLE_KDF ‖ params
//!    id ‖ o)`; payload sealed with AES-256-GCM under `K` with a key commitment
//!    ([`crate::dem`]);
//! 3. a proof of knowledge of `a` ([`veil_circuits::rsa_pok`]) bound to the parameter id, the
//!    label digest and `o`.
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
//! let (ct, secret) = DelayCiphertext::encrypt(&params, &label, b"tx", &mut OsRng).unwrap();
//! // Fast path: the sender reveals a.
//! let key = secret.reveal().open(&params, ct.puzzle()).unwrap();
//! assert_eq!(ct.decrypt(&params, &label, &key).unwrap(), b"tx");
//! // Slow path: anyone solves the puzzle.
//! let solved = ct.puzzle().solve(&params, Backend::Portable, &mut |_| ControlFlow::Continue(())).unwrap();
//! assert_eq!(ct.decrypt(&params, &label, &solved).unwrap(), b"tx");
//! ```

use std::ops::ControlFlow;

use rand_core::{CryptoRng, RngCore};
use thiserror::Error;
use veil_circuits::rsa_pok::{self, ExponentPok, ExponentRelation};
use veil_squaring::{Backend, Cancelled, Element};
use veil_threshold::Label;
use zeroize::{Zeroize, Zeroizing};

use crate::dem::{self, AEAD_TAG_LEN, COMMITMENT_LEN};
use crate::params::{DelayParams, Reader};
use crate::wesolowski::{self, ProverTuning, WesolowskiProof};

/// Kind byte of an encoded delay ciphertext.
pub const DELAY_CIPHERTEXT_KIND: u8 = 0x02;
/// Kind byte of an encoded puzzle solution.
pub const SOLUTION_KIND: u8 = 0x03;
/// Kind byte of an encoded reveal.
pub const REVEAL_KIND: u8 = 0x04;
/// Version byte of the current delay-mode encodings.
pub const DELAY_VERSION: u8 = 1;
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
    /// The ciphertext's proof of knowledge does not verify for this label.
    #[error("invalid delay ciphertext")]
    Invalid,
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

/// A time-lock puzzle `o = g^a` with a proof of knowledge of `a`.
#[derive(Clone, Debug)]
pub struct Puzzle {
    o: Element,
    pok: ExponentPok,
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
    commitment: [u8; COMMITMENT_LEN],
    body: Vec<u8>,
}

fn relation(params: &DelayParams) -> ExponentRelation<'_> {
    ExponentRelation::new(params.group().modulus(), params.g(), params.exponent_bits())
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
        let rel = relation(params);
        let (g_table, h_table) = params.tables();
        let m = params.group().modulus();
        let len = rel.exponent_len();
        let mut a = Zeroizing::new(vec![0u8; len]);
        rng.fill_bytes(&mut a);
        // Clear the bits above exponent_bits (a public count).
        a[0] &= 0xffu8 >> (len * 8 - params.exponent_bits());
        let o = g_table.pow_ct(m, &a);
        let mut ha = h_table.pow_ct(m, &a);
        let key = PuzzleKey(Zeroizing::new(params.group().encode(&ha)));
        ha.zeroize();
        let ctx = pok_context(kind, params, label_digest);
        // `a` has exactly exponent_len bytes with its excess bits cleared: prove cannot fail.
        let pok =
            rsa_pok::prove(&rel, g_table, &a, &o, &ctx, rng).unwrap_or_else(|_| unreachable!());
        let secret = PuzzleSecret {
            a,
            params_id: *params.id(),
        };
        (Puzzle { o, pok }, secret, key)
    }

    /// The puzzle element `o`.
    pub fn element(&self) -> &Element {
        &self.o
    }

    /// Checks the proof of knowledge for `(kind, params, label)`.
    pub(crate) fn verify(
        &self,
        kind: u8,
        params: &DelayParams,
        label_digest: &[u8; 32],
    ) -> Result<(), DelayError> {
        let ctx = pok_context(kind, params, label_digest);
        rsa_pok::verify(
            &relation(params),
            params.tables().0,
            &self.o,
            &ctx,
            &self.pok,
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
        out.extend_from_slice(&self.pok.to_bytes(&relation(params)));
    }

    pub(crate) fn encoded_len(params: &DelayParams) -> usize {
        params.group().element_len() + relation(params).proof_len()
    }

    pub(crate) fn read(params: &DelayParams, r: &mut Reader<'_>) -> Result<Self, DelayError> {
        let group = params.group();
        let o = group
            .decode(r.take(group.element_len()).ok_or(TRUNCATED)?)
            .map_err(|_| DelayError::Malformed("puzzle element"))?;
        let rel = relation(params);
        let pok = ExponentPok::from_bytes(&rel, r.take(rel.proof_len()).ok_or(TRUNCATED)?)
            .map_err(|_| DelayError::Malformed("proof of knowledge"))?;
        Ok(Self { o, pok })
    }
}

const TRUNCATED: DelayError = DelayError::Malformed("truncated");

pub(crate) fn read_header(r: &mut Reader<'_>, kind: u8) -> Result<(), DelayError> {
    let k = r.take(1).ok_or(TRUNCATED)?[0];
    let v = r.take(1).ok_or(TRUNCATED)?[0];
    if k != kind || v != DELAY_VERSION {
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
        read_header(&mut r, REVEAL_KIND)?;
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
        read_header(&mut r, SOLUTION_KIND)?;
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
    /// `label`. Returns the ciphertext and the secret exponent (keep it to reveal later).
    pub fn encrypt(
        params: &DelayParams,
        label: &Label,
        plaintext: &[u8],
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<(Self, PuzzleSecret), DelayError> {
        if plaintext.len() > MAX_PAYLOAD {
            return Err(DelayError::PayloadTooLarge {
                len: plaintext.len(),
            });
        }
        let digest = label.digest();
        let (puzzle, secret, key) = Puzzle::create(DELAY_CIPHERTEXT_KIND, params, &digest, rng);
        let mut ct = Self {
            params_id: *params.id(),
            puzzle,
            commitment: [0; COMMITMENT_LEN],
            body: Vec::new(),
        };
        let data_key = ct.data_key(params, &digest, &key);
        let (commitment, body) = dem::seal(
            veil_domain::timelock::KEY_COMMITMENT,
            &data_key,
            &ct.aad(params, &digest),
            plaintext,
        );
        ct.commitment = commitment;
        ct.body = body;
        Ok((ct, secret))
    }

    fn data_key(
        &self,
        params: &DelayParams,
        digest: &[u8; 32],
        key: &PuzzleKey,
    ) -> Zeroizing<[u8; 32]> {
        dem::derive_key(
            key.material(),
            digest,
            veil_domain::timelock::PUZZLE_KDF,
            &[params.id(), &params.group().encode(&self.puzzle.o)],
        )
    }

    fn aad(&self, params: &DelayParams, digest: &[u8; 32]) -> Vec<u8> {
        let mut aad = self.header(params);
        aad.extend_from_slice(digest);
        aad
    }

    fn header(&self, params: &DelayParams) -> Vec<u8> {
        let mut out = vec![DELAY_CIPHERTEXT_KIND, DELAY_VERSION];
        out.extend_from_slice(&self.params_id);
        self.puzzle.write(params, &mut out);
        out
    }

    /// The puzzle.
    pub fn puzzle(&self) -> &Puzzle {
        &self.puzzle
    }

    /// Checks validity for `label` (the proof of knowledge): what a node checks before it
    /// accepts the ciphertext.
    pub fn verify(&self, params: &DelayParams, label: &Label) -> Result<(), DelayError> {
        if &self.params_id != params.id() {
            return Err(DelayError::WrongParams);
        }
        self.puzzle
            .verify(DELAY_CIPHERTEXT_KIND, params, &label.digest())
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
        let digest = label.digest();
        let data_key = self.data_key(params, &digest, key);
        dem::open(
            veil_domain::timelock::KEY_COMMITMENT,
            &data_key,
            &self.aad(params, &digest),
            &self.commitment,
            &self.body,
        )
        .ok_or(DelayError::Decrypt)
    }

    /// Canonical encoding: `0x02 ‖ 0x01 ‖ params id ‖ o ‖ R ‖ z ‖ commitment ‖ len (u32 BE) ‖
    /// AES-GCM body`.
    pub fn to_bytes(&self, params: &DelayParams) -> Vec<u8> {
        let mut out = self.header(params);
        out.extend_from_slice(&self.commitment);
        // Bodies are at most MAX_PAYLOAD + 16 bytes: fits a u32.
        out.extend_from_slice(&(self.body.len() as u32).to_be_bytes());
        out.extend_from_slice(&self.body);
        out
    }

    /// Decodes a ciphertext for `params`, validating every length and element (not the
    /// proof of knowledge, which needs the label: see [`DelayCiphertext::verify`]).
    pub fn from_bytes(params: &DelayParams, bytes: &[u8]) -> Result<Self, DelayError> {
        let max =
            2 + 32 + Puzzle::encoded_len(params) + COMMITMENT_LEN + 4 + MAX_PAYLOAD + AEAD_TAG_LEN;
        if bytes.len() > max {
            return Err(DelayError::PayloadTooLarge { len: bytes.len() });
        }
        let mut r = Reader(bytes);
        read_header(&mut r, DELAY_CIPHERTEXT_KIND)?;
        read_params_id(&mut r, params)?;
        let puzzle = Puzzle::read(params, &mut r)?;
        let commitment: [u8; COMMITMENT_LEN] = r.array().ok_or(TRUNCATED)?;
        let body = read_body(&mut r)?;
        if !r.0.is_empty() {
            return Err(DelayError::Malformed("trailing bytes"));
        }
        Ok(Self {
            params_id: *params.id(),
            puzzle,
            commitment,
            body,
        })
    }
}

pub(crate) fn read_body(r: &mut Reader<'_>) -> Result<Vec<u8>, DelayError> {
    let len = u32::from_be_bytes(r.array().ok_or(TRUNCATED)?) as usize;
    if len < AEAD_TAG_LEN {
        return Err(DelayError::Malformed("body shorter than its tag"));
    }
    if len > MAX_PAYLOAD + AEAD_TAG_LEN {
        return Err(DelayError::PayloadTooLarge {
            len: len - AEAD_TAG_LEN,
        });
    }
    Ok(r.take(len).ok_or(TRUNCATED)?.to_vec())
}
