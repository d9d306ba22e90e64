//! Distributed key generation and resharing with publicly verifiable transcripts.
//!
//! # Protocol
//!
//! A ceremony is fixed by its [`CeremonyParams`]: epoch, threshold `t`, the roster of
//! recipients (member `j` is the `j`-th entry, 1-based, and `j` is its Shamir point), how
//! many qualified dealings to combine, and — for resharing — the previous committee.
//! Its identifier `id` (a hash of all of it) is bound into every proof and signature.
//!
//! 1. **Deal.** Dealer `i` draws a polynomial `f_i` of degree `t − 1` (for a fresh key a
//!    random constant; for resharing its old share `s_i` as the constant), publishes Feldman
//!    commitments `C_ik = a_ik·G` (Feldman, FOCS '87), an ephemeral key `R_i = r_i·G`, for
//!    every recipient `j` the hashed-ElGamal ciphertext `e_ij = f_i(j) + H(id, i, j, R_i,
//!    r_i·Y_j)` ([`veil_circuits::pvss::share_pad`]), a Schnorr proof of knowledge of
//!    `a_i0`, and a BLS signature over all of it.
//! 2. **Check and complain.** Any party checks a dealing's shape, signature and proof
//!    ([`verify_dealing`]). Each recipient decrypts its shares and checks `s_ij·G = Σ_k
//!    j^k·C_ik` (all dealings at once, [`veil_circuits::pvss::verify_shares_batch`]); for a
//!    share that fails, it publishes a signed [`Complaint`] revealing the pairwise key
//!    `K = x_j·R_i` with a DLEQ proof. A complaint is *self-proving*: anyone decrypts the one
//!    share and sees the mismatch, so no dealer response round exists and a valid complaint
//!    disqualifies the dealer outright; a complaint against a correct share is provably false
//!    and ignored.
//! 3. **Qualify.** From the ordered transcript (the bulletin board's order, or dealer order
//!    offline) the qualified set `Q` is the first `k` dealings that are valid, not from an
//!    equivocating dealer (two different dealings), and not validly complained about, where
//!    `k` is the configured quorum (fresh, `t ≤ k ≤ n`) or the old threshold (resharing).
//!    Laggards cannot stall the ceremony: dealers beyond the first `k` qualified are simply
//!    not needed.
//! 4. **Aggregate.** With weights `λ_i = 1` (fresh) or the Lagrange coefficients of `Q` at 0
//!    (resharing): `C_k = Σ_{i∈Q} λ_i C_ik`, `PK = C_0`, `VK_j = Σ_k j^k·C_k`, and member `j`'s
//!    secret `s_j = Σ_{i∈Q} λ_i s_ij`, which it checks against `VK_j`.
//!
//! # Security argument
//!
//! *Secrecy.* With at most `t − 1` corrupt parties and `k ≥ t` qualified dealings, `Q` holds
//! at least one honest dealing, whose polynomial is uniform given the adversary's `t − 1`
//! evaluations; the joint secret `Σ f_i(0)` is therefore hidden (Gennaro, Jarecki, Krawczyk
//! and Rabin, "Secure distributed key generation for discrete-log based cryptosystems",
//! J. Cryptology 2007). Like Joint-Feldman, the adversary can bias the distribution of `PK`
//! by choosing which of its dealings qualify. Gennaro et al. ("Secure applications of
//! Pedersen's distributed key generation protocol", CT-RSA 2003) show that such a biased key
//! is still safe for schemes whose reduction can absorb the bias (their case is threshold
//! Schnorr); we rely on the same argument for the TDH2-style KEM, whose security reduces to
//! CDH under the key. A deployment that needs an unbiased key must add a commit-then-reveal
//! round or Pedersen-VSS commitments (GJKR 2007), which this module does not implement.
//! For resharing, `C_i0` must equal the old `VK_i` (checked publicly), so
//! `PK' = Σ λ_i VK_i = PK` (Herzberg et al., "Proactive secret sharing", CRYPTO '95;
//! Desmedt and Jajodia 1997).
//!
//! *Robustness and public verifiability.* Every rule above is a function of the transcript
//! alone; [`verify_transcript`] recomputes `Q`, `PK` and all `VK_j` from public data, and
//! `keygen verify` runs it. Every honest member computes the same outcome from the same
//! transcript. A recipient that misses the complaint window may end up with a share that does
//! not match its `VK_j`; it detects this when aggregating (the module
//! [`veil_circuits::pvss`] explains why full non-interactive PVSS with scalar shares needs
//! range proofs, which we do not implement).
//!
//! # Deviations and residual risks
//!
//! * No dealer response round (unlike Pedersen/GJKR complaints): a complaint proves itself,
//!   so the accused dealer has nothing to answer. A complaint reveals one share of the
//!   accused dealer, whose polynomial is then discarded.
//! * A forged dealing (bad signature) is ignored and never counts against the named dealer;
//!   a dealer's signed but invalid dealing, two different signed dealings, or a proven bad
//!   share excludes it.
//! * Signatures of all dealings are checked with one multi-pairing (falling back to one by
//!   one if the batch fails); members batch-check their own shares with weights from their
//!   own randomness, so colluding dealers cannot make bad shares cancel.
//! * Secret scalars are multiplied only in constant time (`veil_circuits::dleq::ct`);
//!   whether a received share matches its commitment is learned from a point comparison
//!   whose timing is not hardened (its outcome becomes public through the complaint anyway).
//!
//! # Example
//!
//! ```
//! use rand_core::OsRng;
//! use veil_keygen::dkg::{self, CeremonyParams};
//! use veil_keygen::identity::MemberSecret;
//!
//! let mut rng = OsRng;
//! let secrets: Vec<MemberSecret> =
//!     (0..3).map(|i| MemberSecret::generate(&format!("m{i}"), &mut rng).unwrap()).collect();
//! let roster = secrets.iter().map(|s| s.public(&mut rng)).collect();
//! let params = CeremonyParams::fresh(1, 2, 2, roster).unwrap();
//! let dealings = (1..=3)
//!     .map(|i| dkg::deal(&params, i, &secrets[i as usize - 1], None, &mut rng).unwrap())
//!     .collect();
//! let transcript = dkg::Transcript { params, dealings, complaints: vec![] };
//! let outcome = dkg::verify_transcript(&transcript).unwrap();
//! let share = dkg::member_share(&transcript, &outcome, 2, &secrets[1]).unwrap();
//! assert_eq!(share.index, 2);
//! assert_eq!(outcome.committee.members.len(), 3);
//! ```
use std::collections::{BTreeMap, HashSet};

use ark_bls12_381::{Fr, G1Affine, G1Projective, G2Affine};
use ark_ec::{AffineRepr, CurveGroup, VariableBaseMSM};
use ark_ff::{UniformRand, Zero};
use rand_core::{CryptoRng, RngCore};
use veil_circuits::dleq::FixedBaseTable;
use veil_circuits::pvss::{self, KnowledgeProof, PairwiseKeyProof};
use veil_domain::keygen as tags;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::codec::{CodecError, Reader, Writer, tagged_hash};
use crate::committee::{
    Committee, CommitteeError, CommitteeMember, MAX_MEMBERS, check_distinct_members, lagrange_at,
};
use crate::identity::{MemberPublic, MemberSecret, verify_signature, verify_signatures_batch};

const PARAMS_VERSION: u8 = 1;
const DEALING_VERSION: u8 = 1;
const COMPLAINT_VERSION: u8 = 1;
const TRANSCRIPT_VERSION: u8 = 1;
/// Largest transcript accepted (bytes), so decoding cannot be made to allocate without bound.
pub const MAX_TRANSCRIPT_LEN: u32 = 64 << 20;

/// Errors of the ceremony.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DkgError {
    /// Malformed bytes.
    #[error("ceremony encoding: {0}")]
    Codec(#[from] CodecError),
    /// Bad parameters (threshold, quorum, roster, previous committee).
    #[error("bad ceremony parameters: {0}")]
    Params(String),
    /// A roster member or committee failed verification.
    #[error(transparent)]
    Committee(#[from] CommitteeError),
    /// The dealing belongs to another ceremony.
    #[error("message is for another ceremony")]
    WrongCeremony,
    /// The dealer index is not a dealer of this ceremony.
    #[error("unknown dealer {0}")]
    UnknownDealer(u32),
    /// The member index is not a recipient of this ceremony.
    #[error("unknown member {0}")]
    UnknownMember(u32),
    /// Wrong number of commitments or ciphertexts.
    #[error("dealing has {commitments} commitments and {shares} shares, expected {t} and {n}")]
    DealingShape {
        /// Commitments present.
        commitments: usize,
        /// Encrypted shares present.
        shares: usize,
        /// Expected commitments (threshold).
        t: u32,
        /// Expected shares (members).
        n: u32,
    },
    /// Signature did not verify.
    #[error("bad signature")]
    BadSignature,
    /// The proof of knowledge of the constant coefficient failed.
    #[error("bad proof of knowledge of the constant term")]
    BadProof,
    /// A resharing dealing's constant commitment is not the dealer's old verification key.
    #[error("resharing dealer {0} does not deal its own share")]
    NotOwnShare(u32),
    /// A complaint that does not verify, or accuses a correct share.
    #[error("invalid complaint by {accuser} against {dealer}")]
    BadComplaint {
        /// Accusing member.
        accuser: u32,
        /// Accused dealer.
        dealer: u32,
    },
    /// Too few qualified dealings.
    #[error("not enough qualified dealings: {have} of {need}")]
    NotEnoughDealings {
        /// Qualified dealings found.
        have: usize,
        /// Needed.
        need: usize,
    },
    /// The member's aggregated share does not match its verification key (it received a
    /// bad share it did not complain about).
    #[error("member {0}: aggregated share does not match its verification key")]
    ShareMismatch(u32),
    /// The committee file does not match the transcript.
    #[error("committee does not match the transcript")]
    CommitteeMismatch,
}

/// Public parameters of one ceremony.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CeremonyParams {
    /// Epoch of the committee being created.
    pub epoch: u64,
    /// Threshold `t` of the new committee.
    pub threshold: u32,
    /// Qualified dealings to combine (fresh: `t ≤ quorum ≤ n`; resharing: the old threshold).
    pub quorum: u32,
    /// The new committee's members, in index order.
    pub members: Vec<MemberPublic>,
    /// For resharing: the committee whose key is being reshared.
    pub previous: Option<Committee>,
}

impl CeremonyParams {
    /// Parameters of a fresh key generation (dealers are the members themselves).
    pub fn fresh(
        epoch: u64,
        threshold: u32,
        quorum: u32,
        members: Vec<MemberPublic>,
    ) -> Result<Self, DkgError> {
        let p = CeremonyParams {
            epoch,
            threshold,
            quorum,
            members,
            previous: None,
        };
        p.validate()?;
        Ok(p)
    }

    /// Parameters of a resharing of `previous` to `members` with threshold `threshold`;
    /// the epoch is `previous.epoch + 1` and the quorum the old threshold.
    pub fn reshare(
        previous: Committee,
        threshold: u32,
        members: Vec<MemberPublic>,
    ) -> Result<Self, DkgError> {
        let p = CeremonyParams {
            epoch: previous.epoch + 1,
            threshold,
            quorum: previous.threshold,
            members,
            previous: Some(previous),
        };
        p.validate()?;
        Ok(p)
    }

    /// Number of recipients `n`.
    pub fn n(&self) -> u32 {
        self.members.len() as u32
    }

    /// Checks thresholds, the roster's proofs and distinctness, and the previous committee.
    pub fn validate(&self) -> Result<(), DkgError> {
        let n = self.n();
        if n == 0 || n > MAX_MEMBERS {
            return Err(DkgError::Params(format!(
                "committee size {n} outside 1..={MAX_MEMBERS}"
            )));
        }
        if self.threshold == 0 || self.threshold > n {
            return Err(DkgError::Params(format!(
                "threshold {} outside 1..={n}",
                self.threshold
            )));
        }
        check_distinct_members(self.members.iter())?;
        crate::identity::verify_members(&self.members).map_err(CommitteeError::from)?;
        match &self.previous {
            None => {
                if self.quorum < self.threshold || self.quorum > n {
                    return Err(DkgError::Params(format!(
                        "quorum {} outside {}..={n}",
                        self.quorum, self.threshold
                    )));
                }
            }
            Some(prev) => {
                prev.verify()?;
                if self.quorum != prev.threshold {
                    return Err(DkgError::Params(format!(
                        "resharing quorum {} must equal the old threshold {}",
                        self.quorum, prev.threshold
                    )));
                }
                if self.epoch != prev.epoch + 1 {
                    return Err(DkgError::Params(format!(
                        "resharing epoch {} must follow {}",
                        self.epoch, prev.epoch
                    )));
                }
            }
        }
        Ok(())
    }

    /// Canonical encoding (versioned).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::default();
        w.u8(PARAMS_VERSION)
            .u64(self.epoch)
            .u32(self.threshold)
            .u32(self.quorum)
            .u32(self.n());
        for m in &self.members {
            m.write(&mut w);
        }
        match &self.previous {
            None => {
                w.u8(0);
            }
            Some(p) => {
                w.u8(1).var(&p.to_bytes());
            }
        }
        w.0
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, DkgError> {
        r.version("ceremony parameters", PARAMS_VERSION)?;
        let epoch = r.u64()?;
        let threshold = r.u32()?;
        let quorum = r.u32()?;
        let n = r.count("committee size", MAX_MEMBERS)?;
        let mut members = Vec::with_capacity(n);
        for _ in 0..n {
            members.push(MemberPublic::read(r).map_err(CommitteeError::from)?);
        }
        let previous = match r.u8()? {
            0 => None,
            1 => {
                let bytes = r.var("previous committee", MAX_TRANSCRIPT_LEN)?;
                let mut pr = Reader::new(bytes);
                let c = Committee::read(&mut pr)?;
                pr.finish()?;
                Some(c)
            }
            v => {
                return Err(CodecError::Range {
                    what: "previous flag",
                    value: v.into(),
                    max: 1,
                }
                .into());
            }
        };
        Ok(CeremonyParams {
            epoch,
            threshold,
            quorum,
            members,
            previous,
        })
    }

    /// Decodes and validates.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DkgError> {
        let mut r = Reader::new(bytes);
        let p = Self::read(&mut r)?;
        r.finish()?;
        p.validate()?;
        Ok(p)
    }

    /// The ceremony identifier, bound into every proof and signature.
    pub fn id(&self) -> [u8; 32] {
        tagged_hash(tags::PARAMS_ID, &self.to_bytes())
    }

    /// The dealers: `(index, public record)` — the members (fresh) or the previous
    /// committee's members (resharing).
    pub fn dealers(&self) -> Vec<(u32, &MemberPublic)> {
        match &self.previous {
            None => self
                .members
                .iter()
                .enumerate()
                .map(|(i, m)| (i as u32 + 1, m))
                .collect(),
            Some(p) => p
                .members
                .iter()
                .enumerate()
                .map(|(i, m)| (i as u32 + 1, &m.public))
                .collect(),
        }
    }

    fn dealer(&self, index: u32) -> Option<&MemberPublic> {
        let i = index.checked_sub(1)? as usize;
        match &self.previous {
            None => self.members.get(i),
            Some(p) => p.members.get(i).map(|m| &m.public),
        }
    }

    fn member(&self, index: u32) -> Option<&MemberPublic> {
        self.members.get(index.checked_sub(1)? as usize)
    }

    /// Finds a member's index by its signing key.
    pub fn member_index(&self, signing_key: &G1Affine) -> Option<u32> {
        self.members
            .iter()
            .position(|m| &m.signing_key == signing_key)
            .map(|i| i as u32 + 1)
    }

    /// Finds a dealer's index by its signing key.
    pub fn dealer_index(&self, signing_key: &G1Affine) -> Option<u32> {
        self.dealers()
            .into_iter()
            .find(|(_, m)| &m.signing_key == signing_key)
            .map(|(i, _)| i)
    }
}

/// One dealer's public, signed contribution.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dealing {
    /// The ceremony identifier.
    pub ceremony: [u8; 32],
    /// The dealer's index.
    pub dealer: u32,
    /// Feldman commitments `C_k = a_k·G`, `k = 0..t`.
    pub commitments: Vec<G1Affine>,
    /// Ephemeral key `R = r·G`.
    pub ephemeral: G1Affine,
    /// Encrypted shares `e_j`, `j = 1..=n`.
    pub shares: Vec<Fr>,
    /// Proof of knowledge of `a_0`.
    pub proof: KnowledgeProof,
    /// BLS signature over everything above.
    pub signature: G2Affine,
}

fn dealer_context(ceremony: &[u8; 32], dealer: u32) -> Vec<u8> {
    let mut c = ceremony.to_vec();
    c.extend_from_slice(&dealer.to_be_bytes());
    c
}

impl Dealing {
    fn signed_bytes(&self) -> Vec<u8> {
        let mut w = Writer::default();
        w.u8(DEALING_VERSION)
            .bytes(&self.ceremony)
            .u32(self.dealer)
            .u32(self.commitments.len() as u32);
        for c in &self.commitments {
            w.g1(c);
        }
        w.g1(&self.ephemeral).u32(self.shares.len() as u32);
        for s in &self.shares {
            w.fr(s);
        }
        w.bytes(&self.proof.to_bytes());
        w.0
    }

    /// Canonical encoding (versioned).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer(self.signed_bytes());
        w.g2(&self.signature);
        w.0
    }

    /// Decodes, validating every point and scalar (not the signature or proofs; see
    /// [`verify_dealing`]).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DkgError> {
        let mut r = Reader::new(bytes);
        r.version("dealing", DEALING_VERSION)?;
        let ceremony = r.array32()?;
        let dealer = r.u32()?;
        let t = r.count("commitments", MAX_MEMBERS)?;
        let commitments = (0..t).map(|_| r.g1()).collect::<Result<Vec<_>, _>>()?;
        let ephemeral = r.g1()?;
        let n = r.count("shares", MAX_MEMBERS)?;
        let shares = (0..n).map(|_| r.fr()).collect::<Result<Vec<_>, _>>()?;
        let a = r.g1()?;
        let z = r.fr()?;
        let signature = r.g2()?;
        r.finish()?;
        Ok(Dealing {
            ceremony,
            dealer,
            commitments,
            ephemeral,
            shares,
            proof: KnowledgeProof { a, z },
            signature,
        })
    }

    /// The dealing's identifier (hash of its encoding).
    pub fn id(&self) -> [u8; 32] {
        tagged_hash(tags::DEALING_ID, &self.to_bytes())
    }
}

struct Polynomial(Vec<Fr>);

impl Drop for Polynomial {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

/// Deals as dealer `dealer`. For resharing, `constant` is the dealer's old share (it must
/// match its old verification key); for a fresh key it is `None` and drawn at random.
pub fn deal(
    params: &CeremonyParams,
    dealer: u32,
    identity: &MemberSecret,
    constant: Option<&Fr>,
    rng: &mut (impl RngCore + CryptoRng),
) -> Result<Dealing, DkgError> {
    let me = params
        .dealer(dealer)
        .ok_or(DkgError::UnknownDealer(dealer))?;
    if me.signing_key != identity.signing_key() {
        return Err(DkgError::UnknownDealer(dealer));
    }
    let t = params.threshold as usize;
    let mut poly = Polynomial((0..t).map(|_| Fr::rand(rng)).collect());
    match (constant, &params.previous) {
        (Some(c), Some(_)) => poly.0[0] = *c,
        (None, None) => {}
        _ => {
            return Err(DkgError::Params(
                "resharing needs the old share, a fresh key must not have one".into(),
            ));
        }
    }
    let g = FixedBaseTable::new(&G1Affine::generator());
    let commitments =
        G1Projective::normalize_batch(&poly.0.iter().map(|a| g.mul(a)).collect::<Vec<_>>());
    if let Some(prev) = &params.previous
        && prev.verification_key(dealer) != Some(commitments[0])
    {
        return Err(DkgError::NotOwnShare(dealer));
    }
    let mut r = Fr::rand(rng);
    let ephemeral = g.mul(&r).into_affine();
    let ceremony = params.id();
    let ctx = ceremony.to_vec();
    let shares = params
        .members
        .iter()
        .enumerate()
        .map(|(j, m)| {
            let j = j as u32 + 1;
            let key = pvss::pairwise_key(&r, &m.encryption_key);
            pvss::poly_eval(&poly.0, j.into())
                + pvss::share_pad(tags::SHARE_PAD, &ctx, dealer, j, &ephemeral, &key)
        })
        .collect();
    r.zeroize();
    let proof = pvss::prove_knowledge(
        rng,
        tags::DEALER_POK,
        &dealer_context(&ceremony, dealer),
        &poly.0[0],
    );
    let mut d = Dealing {
        ceremony,
        dealer,
        commitments,
        ephemeral,
        shares,
        proof,
        signature: G2Affine::zero(),
    };
    d.signature = identity.sign(&d.signed_bytes());
    tracing::debug!(dealer, epoch = params.epoch, "dealt");
    Ok(d)
}

/// Public checks of one dealing: ceremony, dealer, shape, signature, proof of knowledge, and
/// for resharing that it deals the dealer's own share.
pub fn verify_dealing(
    params: &CeremonyParams,
    ceremony: &[u8; 32],
    d: &Dealing,
) -> Result<(), DkgError> {
    verify_dealing_with(params, ceremony, d, false)
}

/// [`verify_dealing`], skipping the signature when the caller has already batch-verified it.
fn verify_dealing_with(
    params: &CeremonyParams,
    ceremony: &[u8; 32],
    d: &Dealing,
    signature_checked: bool,
) -> Result<(), DkgError> {
    if &d.ceremony != ceremony {
        return Err(DkgError::WrongCeremony);
    }
    let dealer = params
        .dealer(d.dealer)
        .ok_or(DkgError::UnknownDealer(d.dealer))?;
    // The signature first: only a dealing the dealer really signed can count against it.
    if !signature_checked && !verify_signature(&dealer.signing_key, &d.signed_bytes(), &d.signature)
    {
        return Err(DkgError::BadSignature);
    }
    if d.commitments.len() != params.threshold as usize || d.shares.len() != params.members.len() {
        return Err(DkgError::DealingShape {
            commitments: d.commitments.len(),
            shares: d.shares.len(),
            t: params.threshold,
            n: params.n(),
        });
    }
    if let Some(prev) = &params.previous
        && prev.verification_key(d.dealer) != Some(d.commitments[0])
    {
        return Err(DkgError::NotOwnShare(d.dealer));
    }
    pvss::verify_knowledge(
        tags::DEALER_POK,
        &dealer_context(ceremony, d.dealer),
        &d.commitments[0],
        &d.proof,
    )
    .map_err(|_| DkgError::BadProof)?;
    Ok(())
}

fn decrypt_share(ceremony: &[u8; 32], d: &Dealing, member: u32, key: &G1Affine) -> Fr {
    d.shares[member as usize - 1]
        - pvss::share_pad(
            tags::SHARE_PAD,
            ceremony,
            d.dealer,
            member,
            &d.ephemeral,
            key,
        )
}

/// A member's signed, self-proving accusation that a dealer sent it a bad share.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Complaint {
    /// The ceremony identifier.
    pub ceremony: [u8; 32],
    /// The accusing member.
    pub accuser: u32,
    /// The accused dealing's identifier.
    pub dealing: [u8; 32],
    /// The revealed pairwise key with its DLEQ proof.
    pub revealed: PairwiseKeyProof,
    /// The accuser's BLS signature.
    pub signature: G2Affine,
}

fn complaint_context(ceremony: &[u8; 32], dealing: &[u8; 32], accuser: u32) -> Vec<u8> {
    let mut c = ceremony.to_vec();
    c.extend_from_slice(dealing);
    c.extend_from_slice(&accuser.to_be_bytes());
    c
}

impl Complaint {
    fn signed_bytes(&self) -> Vec<u8> {
        let mut w = Writer::default();
        w.u8(COMPLAINT_VERSION)
            .bytes(&self.ceremony)
            .u32(self.accuser)
            .bytes(&self.dealing)
            .bytes(&self.revealed.to_bytes());
        w.0
    }

    /// Canonical encoding (versioned).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer(self.signed_bytes());
        w.g2(&self.signature);
        w.0
    }

    /// Decodes, validating points and scalars.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DkgError> {
        let mut r = Reader::new(bytes);
        r.version("complaint", COMPLAINT_VERSION)?;
        let ceremony = r.array32()?;
        let accuser = r.u32()?;
        let dealing = r.array32()?;
        let revealed = PairwiseKeyProof::from_bytes(r.take(PairwiseKeyProof::ENCODED_LEN)?)
            .map_err(|_| CodecError::BadPoint(0))?;
        let signature = r.g2()?;
        r.finish()?;
        Ok(Complaint {
            ceremony,
            accuser,
            dealing,
            revealed,
            signature,
        })
    }
}

/// Verifies a complaint against the dealing it accuses: it is valid only if the revealed key
/// is proven correct and the share it decrypts contradicts the dealer's commitments.
pub fn verify_complaint(
    params: &CeremonyParams,
    ceremony: &[u8; 32],
    d: &Dealing,
    c: &Complaint,
) -> Result<(), DkgError> {
    let bad = DkgError::BadComplaint {
        accuser: c.accuser,
        dealer: d.dealer,
    };
    if &c.ceremony != ceremony || c.dealing != d.id() {
        return Err(bad);
    }
    let accuser = params
        .member(c.accuser)
        .ok_or(DkgError::UnknownMember(c.accuser))?;
    if !verify_signature(&accuser.signing_key, &c.signed_bytes(), &c.signature) {
        return Err(bad);
    }
    pvss::verify_pairwise_key(
        tags::COMPLAINT_DLEQ,
        &complaint_context(ceremony, &c.dealing, c.accuser),
        &accuser.encryption_key,
        &d.ephemeral,
        &c.revealed,
    )
    .map_err(|_| bad.clone())?;
    let s = decrypt_share(ceremony, d, c.accuser, &c.revealed.key);
    if pvss::public_mul(&s) == pvss::feldman_eval(&d.commitments, c.accuser.into()) {
        return Err(bad);
    }
    Ok(())
}

/// Member `me` decrypts and checks its shares in `dealings` (which must already pass
/// [`verify_dealing`]) and returns a complaint for every bad one.
pub fn check_shares(
    params: &CeremonyParams,
    me: u32,
    identity: &MemberSecret,
    dealings: &[&Dealing],
    rng: &mut (impl RngCore + CryptoRng),
) -> Result<Vec<Complaint>, DkgError> {
    let member = params.member(me).ok_or(DkgError::UnknownMember(me))?;
    if member.signing_key != identity.signing_key() {
        return Err(DkgError::UnknownMember(me));
    }
    let ceremony = params.id();
    let mut shares: Vec<Fr> = dealings
        .iter()
        .map(|d| {
            decrypt_share(
                &ceremony,
                d,
                me,
                &pvss::pairwise_key(identity.encryption_secret(), &d.ephemeral),
            )
        })
        .collect();
    let mut items: Vec<(Fr, &[G1Affine])> = shares
        .iter()
        .zip(dealings)
        .map(|(s, d)| (*s, d.commitments.as_slice()))
        .collect();
    let mut complaints = Vec::new();
    if pvss::verify_shares_batch(rng, me.into(), &items).is_err() {
        for (s, d) in shares.iter().zip(dealings) {
            if pvss::secret_mul_g(s) != pvss::feldman_eval(&d.commitments, me.into()) {
                tracing::warn!(
                    dealer = d.dealer,
                    member = me,
                    "bad share received; complaining"
                );
                let dealing = d.id();
                let revealed = pvss::prove_pairwise_key(
                    rng,
                    tags::COMPLAINT_DLEQ,
                    &complaint_context(&ceremony, &dealing, me),
                    identity.encryption_secret(),
                    &member.encryption_key,
                    &d.ephemeral,
                );
                let mut c = Complaint {
                    ceremony,
                    accuser: me,
                    dealing,
                    revealed,
                    signature: G2Affine::zero(),
                };
                c.signature = identity.sign(&c.signed_bytes());
                complaints.push(c);
            }
        }
    }
    for it in items.iter_mut() {
        it.0.zeroize();
    }
    shares.zeroize();
    Ok(complaints)
}

/// A full ceremony transcript: parameters, dealings and complaints in board order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transcript {
    /// The ceremony's parameters.
    pub params: CeremonyParams,
    /// Dealings in the order they were posted.
    pub dealings: Vec<Dealing>,
    /// Complaints in the order they were posted.
    pub complaints: Vec<Complaint>,
}

impl Transcript {
    /// Canonical encoding (versioned).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::default();
        w.u8(TRANSCRIPT_VERSION)
            .var(&self.params.to_bytes())
            .u32(self.dealings.len() as u32);
        for d in &self.dealings {
            w.var(&d.to_bytes());
        }
        w.u32(self.complaints.len() as u32);
        for c in &self.complaints {
            w.var(&c.to_bytes());
        }
        w.0
    }

    /// Decodes (and validates the parameters).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DkgError> {
        if bytes.len() > MAX_TRANSCRIPT_LEN as usize {
            return Err(CodecError::Range {
                what: "transcript length",
                value: bytes.len() as u64,
                max: MAX_TRANSCRIPT_LEN.into(),
            }
            .into());
        }
        let mut r = Reader::new(bytes);
        r.version("transcript", TRANSCRIPT_VERSION)?;
        let params = CeremonyParams::from_bytes(r.var("parameters", MAX_TRANSCRIPT_LEN)?)?;
        let nd = r.count("dealings", 4 * MAX_MEMBERS)?;
        let mut dealings = Vec::with_capacity(nd);
        for _ in 0..nd {
            dealings.push(Dealing::from_bytes(r.var("dealing", MAX_TRANSCRIPT_LEN)?)?);
        }
        let nc = r.count("complaints", MAX_MEMBERS * MAX_MEMBERS)?;
        let mut complaints = Vec::with_capacity(nc.min(4096));
        for _ in 0..nc {
            complaints.push(Complaint::from_bytes(r.var("complaint", 4096)?)?);
        }
        r.finish()?;
        Ok(Transcript {
            params,
            dealings,
            complaints,
        })
    }

    /// The transcript hash recorded in `committee.json`.
    pub fn hash(&self) -> [u8; 32] {
        tagged_hash(tags::TRANSCRIPT, &self.to_bytes())
    }
}

/// Why a dealer was left out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Exclusion {
    /// Its dealing failed a public check.
    Invalid(DkgError),
    /// It posted two different dealings.
    Equivocated,
    /// A member proved that it sent a bad share.
    Complained {
        /// The member that complained.
        accuser: u32,
    },
}

/// The public result of a transcript.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The qualified dealers, in transcript order: dealer index, aggregation weight
    /// (1, or the Lagrange coefficient when resharing) and dealing identifier.
    pub qualified: Vec<(u32, Fr, [u8; 32])>,
    /// Dealers left out and why (dealers that were valid but not needed are not listed).
    pub excluded: Vec<(u32, Exclusion)>,
    /// Complaints that were themselves invalid, with the reason.
    pub rejected_complaints: Vec<DkgError>,
    /// The resulting committee.
    pub committee: Committee,
}

impl Outcome {
    /// Whether `dealer` was excluded for misbehaviour.
    pub fn is_excluded(&self, dealer: u32) -> bool {
        self.excluded.iter().any(|(d, _)| *d == dealer)
    }
}

/// Re-verifies a whole transcript from public data alone and computes its outcome.
pub fn verify_transcript(transcript: &Transcript) -> Result<Outcome, DkgError> {
    let params = &transcript.params;
    params.validate()?;
    let ceremony = params.id();
    let mut excluded: BTreeMap<u32, Exclusion> = BTreeMap::new();
    // Public validity and equivocation.
    let mut first_valid: BTreeMap<u32, [u8; 32]> = BTreeMap::new();
    let mut valid: Vec<&Dealing> = Vec::new();
    // All signatures in one multi-pairing; if that fails, each dealing is checked alone.
    let signed: Vec<Vec<u8>> = transcript
        .dealings
        .iter()
        .map(|d| d.signed_bytes())
        .collect();
    let batch: Option<Vec<(G1Affine, &[u8], G2Affine)>> = transcript
        .dealings
        .iter()
        .zip(&signed)
        .map(|(d, m)| {
            params
                .dealer(d.dealer)
                .map(|p| (p.signing_key, m.as_slice(), d.signature))
        })
        .collect();
    let all_signed = batch.is_some_and(|b| verify_signatures_batch(&b));
    let mut seen_ids = HashSet::new();
    for d in &transcript.dealings {
        let id = d.id();
        if !seen_ids.insert(id) {
            continue; // the same bytes posted twice: harmless, counted once
        }
        match verify_dealing_with(params, &ceremony, d, all_signed) {
            Err(e) => {
                tracing::info!(dealer = d.dealer, error = %e, "dealing rejected");
                // A forged dealing (bad signature) says nothing about the named dealer.
                if !matches!(
                    e,
                    DkgError::BadSignature | DkgError::UnknownDealer(_) | DkgError::WrongCeremony
                ) {
                    excluded.entry(d.dealer).or_insert(Exclusion::Invalid(e));
                }
            }
            Ok(()) => {
                if let Some(prev) = first_valid.get(&d.dealer) {
                    if *prev != id {
                        excluded.insert(d.dealer, Exclusion::Equivocated);
                    }
                } else {
                    first_valid.insert(d.dealer, id);
                    valid.push(d);
                }
            }
        }
    }
    // Complaints.
    let mut rejected_complaints = Vec::new();
    for c in &transcript.complaints {
        let Some(d) = valid.iter().find(|d| d.id() == c.dealing) else {
            rejected_complaints.push(DkgError::BadComplaint {
                accuser: c.accuser,
                dealer: 0,
            });
            continue;
        };
        match verify_complaint(params, &ceremony, d, c) {
            Ok(()) => {
                excluded
                    .entry(d.dealer)
                    .or_insert(Exclusion::Complained { accuser: c.accuser });
            }
            Err(e) => rejected_complaints.push(e),
        }
    }
    // Qualified set: the first `quorum` clean dealings.
    let need = params.quorum as usize;
    let chosen: Vec<&Dealing> = valid
        .iter()
        .copied()
        .filter(|d| !excluded.contains_key(&d.dealer))
        .take(need)
        .collect();
    if chosen.len() < need {
        return Err(DkgError::NotEnoughDealings {
            have: chosen.len(),
            need,
        });
    }
    let weights: Vec<Fr> = match &params.previous {
        None => vec![Fr::from(1u64); chosen.len()],
        Some(_) => {
            let xs: Vec<Fr> = chosen.iter().map(|d| Fr::from(d.dealer)).collect();
            lagrange_at(&xs, Fr::zero())
        }
    };
    // Aggregate commitments: C_k = Σ λ_i C_ik.
    let t = params.threshold as usize;
    let agg: Vec<G1Projective> = (0..t)
        .map(|k| {
            let column: Vec<G1Affine> = chosen.iter().map(|d| d.commitments[k]).collect();
            match &params.previous {
                // Fresh key: plain sums, no multiplications.
                None => column.iter().fold(G1Projective::zero(), |acc, c| acc + c),
                Some(_) => G1Projective::msm_unchecked(&column, &weights),
            }
        })
        .collect();
    let agg = G1Projective::normalize_batch(&agg);
    let public_key = agg[0];
    if let Some(prev) = &params.previous
        && public_key != prev.public_key
    {
        return Err(DkgError::Params("resharing changed the public key".into()));
    }
    let vks = G1Projective::normalize_batch(
        &(1..=params.n() as u64)
            .map(|j| pvss::feldman_eval(&agg, j))
            .collect::<Vec<_>>(),
    );
    let committee = Committee {
        epoch: params.epoch,
        threshold: params.threshold,
        public_key,
        members: params
            .members
            .iter()
            .zip(vks)
            .map(|(m, vk)| CommitteeMember {
                public: m.clone(),
                verification_key: vk,
            })
            .collect(),
        transcript_hash: transcript.hash(),
    };
    Ok(Outcome {
        qualified: chosen
            .iter()
            .zip(weights)
            .map(|(d, w)| (d.dealer, w, d.id()))
            .collect(),
        excluded: excluded.into_iter().collect(),
        rejected_complaints,
        committee,
    })
}

/// Checks that a committee file is exactly the outcome of a transcript.
pub fn verify_committee(
    transcript: &Transcript,
    committee: &Committee,
) -> Result<Outcome, DkgError> {
    let outcome = verify_transcript(transcript)?;
    if &outcome.committee != committee {
        return Err(DkgError::CommitteeMismatch);
    }
    Ok(outcome)
}

/// A member's secret key share: `s_j` with `VK_j = s_j·G`.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct MemberShare {
    /// The member's index (Shamir point).
    #[zeroize(skip)]
    pub index: u32,
    /// The committee epoch.
    #[zeroize(skip)]
    pub epoch: u64,
    secret: Fr,
}

impl core::fmt::Debug for MemberShare {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "MemberShare(index {}, epoch {}, <redacted>)",
            self.index, self.epoch
        )
    }
}

const SHARE_VERSION: u8 = 1;

impl MemberShare {
    /// Wraps a share (for tests and for loading).
    pub fn new(index: u32, epoch: u64, secret: Fr) -> Self {
        MemberShare {
            index,
            epoch,
            secret,
        }
    }

    /// The secret scalar (hazmat: for the threshold crate's key share and for resharing).
    pub fn secret(&self) -> &Fr {
        &self.secret
    }

    /// Serialization for sealing only.
    pub fn to_sealable_bytes(&self) -> zeroize::Zeroizing<Vec<u8>> {
        let mut w = Writer::default();
        w.u8(SHARE_VERSION)
            .u32(self.index)
            .u64(self.epoch)
            .fr(&self.secret);
        zeroize::Zeroizing::new(w.0)
    }

    /// Parses what [`Self::to_sealable_bytes`] produced.
    pub fn from_sealable_bytes(bytes: &[u8]) -> Result<Self, DkgError> {
        let mut r = Reader::new(bytes);
        r.version("member share", SHARE_VERSION)?;
        let index = r.u32()?;
        let epoch = r.u64()?;
        let secret = r.fr()?;
        r.finish()?;
        Ok(MemberShare {
            index,
            epoch,
            secret,
        })
    }

    /// The threshold crate's key share, for producing decryption shares.
    pub fn to_key_share(&self) -> Result<veil_threshold::KeyShare, veil_threshold::KeyError> {
        veil_threshold::KeyShare::new(self.index, self.secret)
    }

    /// Checks the share against a committee's verification key.
    pub fn matches(&self, committee: &Committee) -> bool {
        committee.epoch == self.epoch
            && committee.verification_key(self.index)
                == Some(pvss::secret_mul_g(&self.secret).into_affine())
    }
}

/// Member `me` computes its secret share from a verified transcript's outcome and checks it
/// against its verification key.
pub fn member_share(
    transcript: &Transcript,
    outcome: &Outcome,
    me: u32,
    identity: &MemberSecret,
) -> Result<MemberShare, DkgError> {
    let params = &transcript.params;
    let member = params.member(me).ok_or(DkgError::UnknownMember(me))?;
    if member.signing_key != identity.signing_key() {
        return Err(DkgError::UnknownMember(me));
    }
    let ceremony = params.id();
    let mut secret = Fr::zero();
    for (dealer, w, id) in &outcome.qualified {
        let d = transcript
            .dealings
            .iter()
            .find(|d| d.dealer == *dealer && d.id() == *id)
            .ok_or(DkgError::UnknownDealer(*dealer))?;
        let key = pvss::pairwise_key(identity.encryption_secret(), &d.ephemeral);
        let mut s = decrypt_share(&ceremony, d, me, &key);
        secret += s * w;
        s.zeroize();
    }
    let share = MemberShare {
        index: me,
        epoch: params.epoch,
        secret,
    };
    if !share.matches(&outcome.committee) {
        return Err(DkgError::ShareMismatch(me));
    }
    Ok(share)
}

const RESPONSE_VERSION: u8 = 1;

/// A member's signed statement that it has checked the dealings it saw, carrying its
/// complaints (possibly none). Over HTTP it closes the member's part of the complaint phase.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// The ceremony identifier.
    pub ceremony: [u8; 32],
    /// The responding member.
    pub member: u32,
    /// Its complaints.
    pub complaints: Vec<Complaint>,
    /// The member's BLS signature over everything above.
    pub signature: G2Affine,
}

impl Response {
    fn signed_bytes(&self) -> Vec<u8> {
        let mut w = Writer::default();
        w.u8(RESPONSE_VERSION)
            .bytes(&self.ceremony)
            .u32(self.member)
            .u32(self.complaints.len() as u32);
        for c in &self.complaints {
            w.var(&c.to_bytes());
        }
        w.0
    }

    /// Builds and signs a response.
    pub fn new(
        params: &CeremonyParams,
        member: u32,
        identity: &MemberSecret,
        complaints: Vec<Complaint>,
    ) -> Self {
        let mut r = Response {
            ceremony: params.id(),
            member,
            complaints,
            signature: G2Affine::zero(),
        };
        r.signature = identity.sign(&r.signed_bytes());
        r
    }

    /// Checks the ceremony, the member and the signature (the complaints are checked by
    /// [`verify_transcript`]).
    pub fn verify(&self, params: &CeremonyParams, ceremony: &[u8; 32]) -> Result<(), DkgError> {
        if &self.ceremony != ceremony {
            return Err(DkgError::WrongCeremony);
        }
        let m = params
            .member(self.member)
            .ok_or(DkgError::UnknownMember(self.member))?;
        if self
            .complaints
            .iter()
            .any(|c| c.accuser != self.member || &c.ceremony != ceremony)
        {
            return Err(DkgError::BadComplaint {
                accuser: self.member,
                dealer: 0,
            });
        }
        if !verify_signature(&m.signing_key, &self.signed_bytes(), &self.signature) {
            return Err(DkgError::BadSignature);
        }
        Ok(())
    }

    /// Canonical encoding (versioned).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer(self.signed_bytes());
        w.g2(&self.signature);
        w.0
    }

    /// Decodes, validating points and scalars.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DkgError> {
        let mut r = Reader::new(bytes);
        r.version("response", RESPONSE_VERSION)?;
        let ceremony = r.array32()?;
        let member = r.u32()?;
        let n = r.count("complaints", MAX_MEMBERS)?;
        let mut complaints = Vec::with_capacity(n);
        for _ in 0..n {
            complaints.push(Complaint::from_bytes(r.var("complaint", 4096)?)?);
        }
        let signature = r.g2()?;
        r.finish()?;
        Ok(Response {
            ceremony,
            member,
            complaints,
            signature,
        })
    }
}

/// Encodes a list of dealings (length-prefixed), as the coordinator serves them.
pub fn encode_dealings(dealings: &[Dealing]) -> Vec<u8> {
    let mut w = Writer::default();
    w.u32(dealings.len() as u32);
    for d in dealings {
        w.var(&d.to_bytes());
    }
    w.0
}

/// Decodes what [`encode_dealings`] produced.
pub fn decode_dealings(bytes: &[u8]) -> Result<Vec<Dealing>, DkgError> {
    let mut r = Reader::new(bytes);
    let n = r.count("dealings", 4 * MAX_MEMBERS)?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(Dealing::from_bytes(r.var("dealing", MAX_TRANSCRIPT_LEN)?)?);
    }
    r.finish()?;
    Ok(out)
}
