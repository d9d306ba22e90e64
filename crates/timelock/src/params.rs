//! Delay parameters `(N, g, T, h = g^(2^T))` with a Wesolowski proof, and the choice of `T`.
//!
//! # What a parameter set is
//!
//! - `N`: the modulus (RSA-2048 by default, see [`crate::group`]);
//! - `seed`: public bytes from which `g` is derived nothing-up-my-sleeve:
//!   `g = HashToGroup(GENERATOR, seed)` ([`RsaGroup::hash_to_group`]), so nobody chose `g`
//!   with a known structure;
//! - `T`: the number of sequential squarings a puzzle costs;
//! - `h = g^(2^T)`, computed once by whoever publishes the parameters (it takes the full
//!   `T` squarings), and a Wesolowski proof `π` that it is correct, so that every wallet and
//!   node can check it in about a millisecond instead of redoing the work.
//!
//! Loading parameters — [`DelayParams::from_bytes`] and [`DelayParams::from_json`] —
//! re-derives `g` and verifies the proof; there is no way to obtain a `DelayParams` with an
//! unchecked `h`. The parameter id is `SHA-256(PARAMS_ID ‖ N ‖ seed ‖ T ‖ h ‖ vk)`;
//! puzzles, proofs and key derivations bind it.
//!
//! - `vk`: the Groth16 verifying key of the delay-ciphertext circuit for `N`
//!   ([`veil_circuits::delay_snark`]). [`DelayParams::generate`] uses the reproducible,
//!   **insecure** setup (public toxic waste: anyone can forge delay proofs, which re-opens the
//!   junk-puzzle denial of service but never affects confidentiality); production parameters
//!   carry the key of a phase-2 ceremony ([`DelayParams::from_parts`]). Whoever publishes the
//!   parameters is trusted for `vk` exactly as for the choice of `N`: the key cannot be
//!   checked against the circuit without the setup's secrets.
//!
//! # Choosing `T`
//!
//! Anyone may start solving the moment a ciphertext is public, so `T` must exceed the
//! privacy window *at the adversary's speed*: `T = ⌈seconds / t_sq(bits)⌉`, where
//! `t_sq(bits)` is the adversary's latency per squaring. The configuration states the
//! latency of a 1024-bit squaring (default 25 ns, the order of what FPGA designs from the
//! VDF Alliance competitions reached, cited in the design brief) and we scale it to other
//! sizes by **`t_sq(bits) = t_sq(1024) · log2(bits) / 10`**, i.e. ×1.1 for 2048 bits. This
//! is deliberately optimistic for the adversary: a fully parallel multiplier-reducer has
//! logarithmic depth in the operand width, so doubling the width adds about one level of
//! ten; software and realistic hardware are slower (quadratic or linear scaling), which only
//! lengthens the real delay. Twelve seconds against 25 ns/1024-bit gives
//! `T ≈ 4.4·10^8` at 2048 bits.
//!
//! # Encoding (version 2)
//!
//! `0x01 (kind) ‖ 0x02 (version) ‖ len(N) (u16 BE) ‖ N ‖ len(seed) (u8) ‖ seed ‖ T (u64 BE)
//! ‖ h ‖ π ‖ len(vk) (u16 BE) ‖ vk`, with `h` and `π` canonical group elements of `len(N)`
//! bytes and `vk` a compressed Groth16 verifying key. The JSON form carries the same fields
//! in hex plus the id (checked when present). Version 1 (no `vk`) is refused with
//! [`ParamsError::Unsupported`]: its ciphertexts carry no delay proof.

use std::ops::ControlFlow;
use std::sync::{Arc, OnceLock};

use sha2::{Digest, Sha256};
use thiserror::Error;
use veil_circuits::delay_snark::{self, DelayProvingKey, DelayVerifyingKey, SnarkError};
use veil_squaring::{Backend, Element, FixedBase};

use crate::group::{GroupError, RsaGroup};
use crate::wesolowski::{self, ProverTuning, WesolowskiProof};

/// Kind byte of an encoded parameter set.
pub const PARAMS_KIND: u8 = 0x01;
/// Version byte of the current parameter encoding.
pub const PARAMS_VERSION: u8 = 2;
/// Longest accepted encoded verifying key.
pub const MAX_VK_LEN: usize = 4096;
/// Seed used by Veil's default parameters.
pub const DEFAULT_SEED: &[u8] = b"Veil delay parameters v1";
/// Longest accepted seed.
pub const MAX_SEED_LEN: usize = 255;
/// Largest accepted `T` (2^48 squarings is decades at any known speed).
pub const MAX_SQUARINGS: u64 = 1 << 48;
/// Statistical hiding margin of puzzle exponents: `a < 2^(|N| + EXPONENT_MARGIN_BITS)`.
pub const EXPONENT_MARGIN_BITS: usize = 128;

/// Why parameters could not be generated, loaded or verified.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ParamsError {
    /// The encoding is too short, too long or has inconsistent lengths.
    #[error("malformed delay parameters: {0}")]
    Malformed(&'static str),
    /// Unknown kind or version.
    #[error("unsupported delay-parameter encoding: kind {kind}, version {version}")]
    Unsupported {
        /// Kind byte found.
        kind: u8,
        /// Version byte found.
        version: u8,
    },
    /// The modulus or an element is invalid.
    #[error("invalid delay parameters: {0}")]
    Group(#[from] GroupError),
    /// `T` is zero or above [`MAX_SQUARINGS`].
    #[error("squarings out of range: {0} (need 1..=2^48)")]
    Squarings(u64),
    /// The seed is longer than [`MAX_SEED_LEN`].
    #[error("seed too long: {0} bytes, limit 255")]
    SeedTooLong(usize),
    /// The Wesolowski proof for `h` does not verify.
    #[error("delay parameters refused: proof does not verify")]
    BadProof,
    /// The stated id does not match the parameters.
    #[error("delay parameters refused: id mismatch")]
    IdMismatch,
    /// The configuration is not usable (non-positive or non-finite numbers).
    #[error("bad delay configuration: {0}")]
    Config(&'static str),
    /// Generation was cancelled.
    #[error("parameter generation cancelled")]
    Cancelled,
    /// The delay-proof keys are malformed or unavailable.
    #[error("delay-proof keys: {0}")]
    Snark(#[from] SnarkError),
    /// The insecure devnet proving key does not match these parameters' verifying key (they
    /// come from a real ceremony: load its proving key instead).
    #[error(
        "no devnet proving key for these parameters: their verifying key is not the insecure setup's"
    )]
    NotDevnet,
}

/// How long puzzles must stay closed, and how fast the adversary is assumed to be.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DelayConfig {
    /// The privacy window in seconds: submission to certificate, with margin.
    pub privacy_seconds: f64,
    /// The adversary's latency per 1024-bit modular squaring, in nanoseconds.
    pub adversary_ns_per_1024_bit_squaring: f64,
}

impl Default for DelayConfig {
    fn default() -> Self {
        Self {
            privacy_seconds: 12.0,
            adversary_ns_per_1024_bit_squaring: 25.0,
        }
    }
}

impl DelayConfig {
    /// The adversary's assumed latency per squaring at `bits`, in nanoseconds (see the
    /// module documentation for the scaling).
    pub fn adversary_ns(&self, bits: u32) -> f64 {
        self.adversary_ns_per_1024_bit_squaring * (bits.max(2) as f64).log2() / 10.0
    }

    /// `T` for a modulus of `bits` bits.
    pub fn squarings(&self, bits: u32) -> Result<u64, ParamsError> {
        let (s, ns) = (
            self.privacy_seconds,
            self.adversary_ns_per_1024_bit_squaring,
        );
        if !(s.is_finite() && s > 0.0) {
            return Err(ParamsError::Config("privacy seconds must be positive"));
        }
        if !(ns.is_finite() && ns > 0.0) {
            return Err(ParamsError::Config("adversary ns must be positive"));
        }
        let t = (s * 1e9 / self.adversary_ns(bits)).ceil();
        if !(1.0..=MAX_SQUARINGS as f64).contains(&t) {
            return Err(ParamsError::Squarings(t as u64));
        }
        Ok(t as u64)
    }
}

/// A verified delay-parameter set. See the module documentation.
pub struct DelayParams {
    group: RsaGroup,
    seed: Vec<u8>,
    t: u64,
    g: Element,
    h: Element,
    proof: WesolowskiProof,
    h2: Element,
    snark: DelayVerifyingKey,
    id: [u8; 32],
    tables: OnceLock<(FixedBase, FixedBase, FixedBase)>,
}

impl Clone for DelayParams {
    fn clone(&self) -> Self {
        Self {
            group: self.group.clone(),
            seed: self.seed.clone(),
            t: self.t,
            g: self.g.clone(),
            h: self.h.clone(),
            proof: self.proof.clone(),
            h2: self.h2.clone(),
            snark: self.snark.clone(),
            id: self.id,
            tables: self.tables.clone(),
        }
    }
}

impl std::fmt::Debug for DelayParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DelayParams")
            .field("bits", &self.group.bits())
            .field("squarings", &self.t)
            .field("id", &hex_string(&self.id))
            .finish()
    }
}

/// The generator `g` for `seed`.
pub fn derive_generator(group: &RsaGroup, seed: &[u8]) -> Element {
    group.hash_to_group(veil_domain::timelock::GENERATOR, seed)
}

impl DelayParams {
    /// Generates parameters: derives `g` from `seed`, computes `h = g^(2^t)` with `backend`
    /// (this is the slow part: `t` sequential squarings) and proves it. The delay-proof keys
    /// come from the **insecure** reproducible setup (tests and devnets; a few seconds the
    /// first time per modulus and process).
    pub fn generate(
        group: RsaGroup,
        seed: &[u8],
        t: u64,
        backend: Backend,
        progress: &mut dyn FnMut(u64) -> ControlFlow<()>,
    ) -> Result<Self, ParamsError> {
        check_shape(seed, t)?;
        let g = derive_generator(&group, seed);
        if group.is_one(&g) {
            // Probability ~2^-2040; refuse rather than publish a useless generator.
            return Err(ParamsError::Group(GroupError::Degenerate));
        }
        let (h, proof) = wesolowski::prove(
            &group,
            &g,
            t,
            ProverTuning::for_squarings(t),
            backend,
            progress,
        )
        .map_err(|_| ParamsError::Cancelled)?;
        let (_, vk) = delay_snark::insecure_setup(group.modulus_bytes())?;
        Self::assemble(group, seed.to_vec(), t, h, proof, vk)
    }

    /// Builds and verifies a parameter set from its parts; `vk` is the delay-proof verifying
    /// key for this modulus (from a ceremony, or [`delay_snark::insecure_setup`]).
    pub fn from_parts(
        group: RsaGroup,
        seed: &[u8],
        t: u64,
        h: Element,
        proof: WesolowskiProof,
        vk: DelayVerifyingKey,
    ) -> Result<Self, ParamsError> {
        check_shape(seed, t)?;
        Self::assemble(group, seed.to_vec(), t, h, proof, vk)
    }

    fn assemble(
        group: RsaGroup,
        seed: Vec<u8>,
        t: u64,
        h: Element,
        proof: WesolowskiProof,
        snark: DelayVerifyingKey,
    ) -> Result<Self, ParamsError> {
        if snark.relation().modulus() != group.modulus_bytes() {
            return Err(ParamsError::Snark(SnarkError::Malformed(
                "verifying key for another modulus",
            )));
        }
        let g = derive_generator(&group, &seed);
        wesolowski::verify(&group, &g, &h, t, &proof).map_err(|_| ParamsError::BadProof)?;
        let id = params_id(&group, &seed, t, &h, &snark.to_bytes());
        let h2 = group.modulus().square(&h);
        Ok(Self {
            group,
            seed,
            t,
            g,
            h,
            proof,
            h2,
            snark,
            id,
            tables: OnceLock::new(),
        })
    }

    /// The group.
    pub fn group(&self) -> &RsaGroup {
        &self.group
    }
    /// The seed `g` was derived from.
    pub fn seed(&self) -> &[u8] {
        &self.seed
    }
    /// `T`, the number of squarings per puzzle.
    pub fn squarings(&self) -> u64 {
        self.t
    }
    /// The generator `g`.
    pub fn g(&self) -> &Element {
        &self.g
    }
    /// `h = g^(2^T)`.
    pub fn h(&self) -> &Element {
        &self.h
    }
    /// The Wesolowski proof of `h`.
    pub fn proof(&self) -> &WesolowskiProof {
        &self.proof
    }
    /// The parameter id.
    pub fn id(&self) -> &[u8; 32] {
        &self.id
    }
    /// Bits of puzzle exponents: `|N| + 128`.
    pub fn exponent_bits(&self) -> usize {
        self.group.bits() as usize + EXPONENT_MARGIN_BITS
    }

    /// `h^2`, the second base of the exponent-equality proof.
    pub fn h2(&self) -> &Element {
        &self.h2
    }

    /// The delay-proof verifying key.
    pub fn snark_key(&self) -> &DelayVerifyingKey {
        &self.snark
    }

    /// The proving key of the insecure reproducible setup, if these parameters use it
    /// (tests and devnets); [`ParamsError::NotDevnet`] for ceremony parameters.
    pub fn insecure_proving_key(&self) -> Result<Arc<DelayProvingKey>, ParamsError> {
        let (pk, vk) = delay_snark::insecure_setup(self.group.modulus_bytes())?;
        if vk != self.snark {
            return Err(ParamsError::NotDevnet);
        }
        Ok(pk)
    }

    /// Fixed-base tables for `g` (covering proof-of-knowledge responses) and `h`, built on
    /// first use.
    pub fn tables(&self) -> (&FixedBase, &FixedBase) {
        let (g, h, _) = self.all_tables();
        (g, h)
    }

    /// Fixed-base tables for `g`, `h` and `h^2` (the first and last covering proof
    /// responses), built on first use.
    pub fn all_tables(&self) -> (&FixedBase, &FixedBase, &FixedBase) {
        let (g, h, h2) = self.tables.get_or_init(|| {
            let m = self.group.modulus();
            let response_bits = self.exponent_bits()
                + veil_circuits::rsa_pok::CHALLENGE_BITS
                + veil_circuits::rsa_pok::STATISTICAL_MARGIN_BITS
                + 1;
            (
                FixedBase::new(m, &self.g, response_bits),
                FixedBase::new(m, &self.h, self.exponent_bits()),
                FixedBase::new(m, &self.h2, response_bits),
            )
        });
        (g, h, h2)
    }

    /// Re-verifies the proof (loading already did; this is for callers that want to show it).
    pub fn verify(&self) -> Result<(), ParamsError> {
        wesolowski::verify(&self.group, &self.g, &self.h, self.t, &self.proof)
            .map_err(|_| ParamsError::BadProof)
    }

    /// The canonical encoding (see the module documentation).
    pub fn to_bytes(&self) -> Vec<u8> {
        let n = self.group.modulus_bytes();
        let mut out = Vec::with_capacity(4 + 3 * n.len() + self.seed.len() + 9);
        out.push(PARAMS_KIND);
        out.push(PARAMS_VERSION);
        // The modulus is at most 4096 bits = 512 bytes, so its length fits a u16.
        out.extend_from_slice(&(n.len() as u16).to_be_bytes());
        out.extend_from_slice(n);
        // Seeds are at most MAX_SEED_LEN = 255 bytes.
        out.push(self.seed.len() as u8);
        out.extend_from_slice(&self.seed);
        out.extend_from_slice(&self.t.to_be_bytes());
        out.extend_from_slice(&self.group.encode(&self.h));
        out.extend_from_slice(&self.proof.to_bytes(&self.group));
        let vk = self.snark.to_bytes();
        // Verifying keys are a few hundred bytes (MAX_VK_LEN bounds them).
        out.extend_from_slice(&(vk.len() as u16).to_be_bytes());
        out.extend_from_slice(&vk);
        out
    }

    /// Decodes and verifies parameters.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ParamsError> {
        let mut r = Reader(bytes);
        let kind = r.take(1).ok_or(TRUNCATED)?[0];
        let version = r.take(1).ok_or(TRUNCATED)?[0];
        if kind != PARAMS_KIND || version != PARAMS_VERSION {
            return Err(ParamsError::Unsupported { kind, version });
        }
        let n_len = u16::from_be_bytes(r.array().ok_or(TRUNCATED)?) as usize;
        let n = r.take(n_len).ok_or(TRUNCATED)?;
        if n.first() == Some(&0) {
            return Err(ParamsError::Malformed("modulus has a leading zero byte"));
        }
        let group = RsaGroup::from_be_bytes(n)?;
        let seed_len = r.take(1).ok_or(TRUNCATED)?[0] as usize;
        let seed = r.take(seed_len).ok_or(TRUNCATED)?.to_vec();
        let t = u64::from_be_bytes(r.array().ok_or(TRUNCATED)?);
        let h = group.decode(r.take(n_len).ok_or(TRUNCATED)?)?;
        let proof = WesolowskiProof::from_bytes(&group, r.take(n_len).ok_or(TRUNCATED)?)
            .map_err(|_| ParamsError::BadProof)?;
        let vk_len = u16::from_be_bytes(r.array().ok_or(TRUNCATED)?) as usize;
        if vk_len > MAX_VK_LEN {
            return Err(ParamsError::Malformed("verifying key too long"));
        }
        let vk = DelayVerifyingKey::from_bytes(n, r.take(vk_len).ok_or(TRUNCATED)?)?;
        if !r.0.is_empty() {
            return Err(ParamsError::Malformed("trailing bytes"));
        }
        Self::from_parts(group, &seed, t, h, proof, vk)
    }

    /// The JSON form: `{"format","version","bits","modulus","seed","squarings","output",
    /// "proof","snark_vk","id"}` with byte strings in lower-case hex.
    pub fn to_json(&self) -> String {
        let value = serde_json::json!({
            "format": "veil-delay-params",
            "version": PARAMS_VERSION,
            "bits": self.group.bits(),
            "modulus": hex_string(self.group.modulus_bytes()),
            "seed": hex_string(&self.seed),
            "squarings": self.t,
            "output": hex_string(&self.group.encode(&self.h)),
            "proof": hex_string(&self.proof.to_bytes(&self.group)),
            "snark_vk": hex_string(&self.snark.to_bytes()),
            "id": hex_string(&self.id),
        });
        // Serialising a json! value cannot fail.
        serde_json::to_string_pretty(&value).unwrap_or_default()
    }

    /// Parses and verifies the JSON form (the `id`, when present, must match).
    pub fn from_json(text: &str) -> Result<Self, ParamsError> {
        let v: serde_json::Value =
            serde_json::from_str(text).map_err(|_| ParamsError::Malformed("not json"))?;
        let field = |name: &'static str| v.get(name).ok_or(ParamsError::Malformed(name));
        let hex_field = |name: &'static str| -> Result<Vec<u8>, ParamsError> {
            let s = field(name)?.as_str().ok_or(ParamsError::Malformed(name))?;
            hex::decode(s).map_err(|_| ParamsError::Malformed(name))
        };
        if field("format")?.as_str() != Some("veil-delay-params") {
            return Err(ParamsError::Malformed("format"));
        }
        let version = field("version")?
            .as_u64()
            .ok_or(ParamsError::Malformed("version"))?;
        if version != PARAMS_VERSION as u64 {
            return Err(ParamsError::Unsupported {
                kind: PARAMS_KIND,
                version: version.min(255) as u8,
            });
        }
        let n = hex_field("modulus")?;
        if n.first() == Some(&0) {
            return Err(ParamsError::Malformed("modulus has a leading zero byte"));
        }
        let group = RsaGroup::from_be_bytes(&n)?;
        if let Some(bits) = v.get("bits")
            && bits.as_u64() != Some(group.bits() as u64)
        {
            return Err(ParamsError::Malformed("bits"));
        }
        let seed = hex_field("seed")?;
        let t = field("squarings")?
            .as_u64()
            .ok_or(ParamsError::Malformed("squarings"))?;
        let h = group.decode(&hex_field("output")?)?;
        let proof = WesolowskiProof::from_bytes(&group, &hex_field("proof")?)
            .map_err(|_| ParamsError::BadProof)?;
        let vk_bytes = hex_field("snark_vk")?;
        if vk_bytes.len() > MAX_VK_LEN {
            return Err(ParamsError::Malformed("snark_vk"));
        }
        let vk = DelayVerifyingKey::from_bytes(&n, &vk_bytes)?;
        let params = Self::from_parts(group, &seed, t, h, proof, vk)?;
        if v.get("id").is_some() && hex_field("id")? != params.id {
            return Err(ParamsError::IdMismatch);
        }
        Ok(params)
    }
}

const TRUNCATED: ParamsError = ParamsError::Malformed("truncated");

fn check_shape(seed: &[u8], t: u64) -> Result<(), ParamsError> {
    if seed.len() > MAX_SEED_LEN {
        return Err(ParamsError::SeedTooLong(seed.len()));
    }
    if t == 0 || t > MAX_SQUARINGS {
        return Err(ParamsError::Squarings(t));
    }
    Ok(())
}

fn params_id(group: &RsaGroup, seed: &[u8], t: u64, h: &Element, vk: &[u8]) -> [u8; 32] {
    let tag = veil_domain::timelock::PARAMS_ID;
    let mut d = Sha256::new();
    for part in [tag, group.modulus_bytes(), seed] {
        d.update((part.len() as u64).to_be_bytes());
        d.update(part);
    }
    d.update(t.to_be_bytes());
    d.update(group.encode(h));
    d.update((vk.len() as u64).to_be_bytes());
    d.update(vk);
    d.finalize().into()
}

pub(crate) fn hex_string(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

/// A cursor over untrusted bytes.
pub(crate) struct Reader<'a>(pub(crate) &'a [u8]);

impl<'a> Reader<'a> {
    pub(crate) fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Some(head)
    }

    pub(crate) fn array<const L: usize>(&mut self) -> Option<[u8; L]> {
        let mut out = [0u8; L];
        out.copy_from_slice(self.take(L)?);
        Some(out)
    }
}
