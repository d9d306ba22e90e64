//! The public outcome of a ceremony: `committee.json`, which wallets and nodes load.
//!
//! A [`Committee`] lists, for one epoch, the threshold `t`, the threshold public key `PK`,
//! and for every member `j` (1-based, the Shamir evaluation point) its public record (BLS key
//! with proof of possession, encryption key with proof) and its verification key
//! `VK_j = s_j·G`, plus the hash of the transcript that produced it.
//!
//! [`Committee::load_and_verify`] checks, from the file alone: the canonical encoding (the
//! file must be byte-for-byte what [`Committee::to_json`] writes), every member's proofs,
//! distinct keys, `1 ≤ t ≤ n`, and that the verification keys lie on one polynomial of degree
//! `t − 1` whose constant term is `PK`: with basis points `{PK, VK_1, …, VK_{t−1}}`, every
//! other `VK_x` must equal its Lagrange interpolation. All `n − t + 1` equations are checked
//! at once with random 128-bit weights in a single multi-scalar multiplication (the
//! small-exponents test of Bellare, Garay and Rabin, EUROCRYPT '98). A committee file that
//! passes is internally consistent; whether it is *the* outcome of a given transcript is
//! [`crate::dkg::verify_transcript`]'s job (`keygen verify`).
use ark_bls12_381::{Fr, G1Affine, G1Projective};
use ark_ec::VariableBaseMSM;
use ark_ff::{Field, One, Zero};
use serde::{Deserialize, Serialize};
use veil_circuits::dleq;
use veil_circuits::pop::ProofOfPossession;
use veil_circuits::pvss::KnowledgeProof;
use veil_domain::keygen as tags;

use crate::codec::{CodecError, Reader, Writer, tagged_hash};
use crate::identity::{IdentityError, MemberPublic};

/// Format version of `committee.json` and of the committee's binary encoding.
pub const COMMITTEE_VERSION: u32 = 1;
/// Largest committee the ceremony supports.
pub const MAX_MEMBERS: u32 = 1024;

/// Why a committee file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommitteeError {
    /// Not valid JSON of the expected shape.
    #[error("committee json: {0}")]
    Json(String),
    /// The file is valid JSON but not the canonical encoding.
    #[error("committee json is not canonical")]
    NotCanonical,
    /// Wrong format version.
    #[error("unsupported committee version {0}, expected {COMMITTEE_VERSION}")]
    Version(u32),
    /// A hex field did not decode to a valid value.
    #[error("committee field {0} is invalid")]
    Field(&'static str),
    /// Inconsistent sizes or threshold.
    #[error("bad committee shape: n = {n}, t = {t}, {members} member entries")]
    Shape {
        /// Declared size.
        n: u32,
        /// Declared threshold.
        t: u32,
        /// Member entries present.
        members: usize,
    },
    /// Member indices must be 1..=n in order.
    #[error("member entry {position} has index {index}")]
    Index {
        /// Position in the list.
        position: usize,
        /// Index found.
        index: u32,
    },
    /// A member record failed its proofs.
    #[error(transparent)]
    Member(#[from] IdentityError),
    /// Two members share a signing or encryption key.
    #[error("members {0} and {1} share a key")]
    DuplicateKey(u32, u32),
    /// The verification keys are not a degree-(t−1) sharing of the public key.
    #[error("verification keys are inconsistent with the public key and threshold")]
    InconsistentKeys,
    /// Binary encoding error.
    #[error("committee encoding: {0}")]
    Codec(#[from] CodecError),
}

/// One member of a committee.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommitteeMember {
    /// The member's public record.
    pub public: MemberPublic,
    /// `VK_j = s_j·G`.
    pub verification_key: G1Affine,
}

/// A committee's public parameters for one epoch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Committee {
    /// Epoch (bumped by every resharing).
    pub epoch: u64,
    /// Decryption threshold `t`.
    pub threshold: u32,
    /// Threshold public key `PK`.
    pub public_key: G1Affine,
    /// Members in index order (member `j` is at position `j − 1`).
    pub members: Vec<CommitteeMember>,
    /// Hash of the ceremony transcript that produced this committee.
    pub transcript_hash: [u8; 32],
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CommitteeJson {
    version: u32,
    epoch: u64,
    n: u32,
    threshold: u32,
    public_key: String,
    transcript_hash: String,
    members: Vec<MemberJson>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct MemberJson {
    index: u32,
    name: String,
    signing_key: String,
    possession: String,
    encryption_key: String,
    encryption_proof: String,
    verification_key: String,
}

fn unhex<const N: usize>(s: &str, what: &'static str) -> Result<[u8; N], CommitteeError> {
    let v = hex::decode(s).map_err(|_| CommitteeError::Field(what))?;
    v.try_into().map_err(|_| CommitteeError::Field(what))
}

fn g1_field(s: &str, what: &'static str) -> Result<G1Affine, CommitteeError> {
    dleq::g1_from_bytes(&unhex::<48>(s, what)?).ok_or(CommitteeError::Field(what))
}

/// Lagrange coefficients `λ_b(x)` for basis points `basis` (distinct field elements).
pub(crate) fn lagrange_at(basis: &[Fr], x: Fr) -> Vec<Fr> {
    let mut out = Vec::with_capacity(basis.len());
    for (b, xb) in basis.iter().enumerate() {
        let mut num = Fr::one();
        let mut den = Fr::one();
        for (m, xm) in basis.iter().enumerate() {
            if m != b {
                num *= x - xm;
                den *= *xb - xm;
            }
        }
        // Distinct basis points: the denominator is a product of non-zero differences.
        out.push(num * den.inverse().unwrap_or_else(Fr::zero));
    }
    out
}

impl Committee {
    /// Number of members `n`.
    pub fn n(&self) -> u32 {
        self.members.len() as u32
    }

    /// The verification key of member `index` (1-based).
    pub fn verification_key(&self, index: u32) -> Option<G1Affine> {
        index
            .checked_sub(1)
            .and_then(|i| self.members.get(i as usize))
            .map(|m| m.verification_key)
    }

    /// The threshold crate's view of this committee's key, so that `veil-threshold`
    /// encrypts to it and verifies and combines decryption shares under it.
    pub fn threshold_key(&self) -> Result<veil_threshold::ThresholdKey, veil_threshold::KeyError> {
        let pk = veil_threshold::PublicKey::from_point(self.public_key)?;
        let vks = self
            .members
            .iter()
            .map(|m| veil_threshold::VerificationKey::from_point(m.verification_key))
            .collect::<Result<Vec<_>, _>>()?;
        veil_threshold::ThresholdKey::new(self.threshold, pk, vks)
    }

    /// The members' BLS keys as the threshold crate's certificate keys, in index order.
    pub fn bls_keys(
        &self,
    ) -> Result<Vec<veil_threshold::BlsPublicKey>, veil_threshold::CertificateError> {
        self.members
            .iter()
            .map(|m| {
                veil_threshold::BlsPublicKey::from_bytes(&dleq::g1_to_bytes(&m.public.signing_key))
            })
            .collect()
    }

    /// Canonical binary encoding (hashed into resharing parameters).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::default();
        w.u32(COMMITTEE_VERSION)
            .u64(self.epoch)
            .u32(self.threshold)
            .g1(&self.public_key);
        w.bytes(&self.transcript_hash).u32(self.n());
        for m in &self.members {
            m.public.write(&mut w);
            w.g1(&m.verification_key);
        }
        w.0
    }

    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Self, CommitteeError> {
        let v = r.u32()?;
        if v != COMMITTEE_VERSION {
            return Err(CommitteeError::Version(v));
        }
        let epoch = r.u64()?;
        let threshold = r.u32()?;
        let public_key = r.g1()?;
        let transcript_hash = r.array32()?;
        let n = r.count("committee size", MAX_MEMBERS)?;
        let mut members = Vec::with_capacity(n);
        for _ in 0..n {
            let public = MemberPublic::read(r)?;
            let verification_key = r.g1()?;
            members.push(CommitteeMember {
                public,
                verification_key,
            });
        }
        Ok(Committee {
            epoch,
            threshold,
            public_key,
            members,
            transcript_hash,
        })
    }

    /// The canonical `committee.json` (pretty-printed, fixed field order, trailing newline).
    pub fn to_json(&self) -> String {
        let j = CommitteeJson {
            version: COMMITTEE_VERSION,
            epoch: self.epoch,
            n: self.n(),
            threshold: self.threshold,
            public_key: hex::encode(dleq::g1_to_bytes(&self.public_key)),
            transcript_hash: hex::encode(self.transcript_hash),
            members: self
                .members
                .iter()
                .enumerate()
                .map(|(i, m)| MemberJson {
                    index: i as u32 + 1,
                    name: m.public.name.clone(),
                    signing_key: hex::encode(dleq::g1_to_bytes(&m.public.signing_key)),
                    possession: hex::encode(m.public.possession.to_bytes()),
                    encryption_key: hex::encode(dleq::g1_to_bytes(&m.public.encryption_key)),
                    encryption_proof: hex::encode(m.public.encryption_proof.to_bytes()),
                    verification_key: hex::encode(dleq::g1_to_bytes(&m.verification_key)),
                })
                .collect(),
        };
        // Serializing plain strings and integers cannot fail.
        let mut s = serde_json::to_string_pretty(&j).unwrap_or_default();
        s.push('\n');
        s
    }

    /// Parses `committee.json` and runs every check of [`Committee::verify`].
    pub fn load_and_verify(json: &[u8]) -> Result<Committee, CommitteeError> {
        let j: CommitteeJson =
            serde_json::from_slice(json).map_err(|e| CommitteeError::Json(e.to_string()))?;
        if j.version != COMMITTEE_VERSION {
            return Err(CommitteeError::Version(j.version));
        }
        let shape = CommitteeError::Shape {
            n: j.n,
            t: j.threshold,
            members: j.members.len(),
        };
        if j.n as usize != j.members.len() || j.n > MAX_MEMBERS {
            return Err(shape);
        }
        let mut members = Vec::with_capacity(j.members.len());
        for (pos, m) in j.members.iter().enumerate() {
            if m.index as usize != pos + 1 {
                return Err(CommitteeError::Index {
                    position: pos,
                    index: m.index,
                });
            }
            let possession =
                ProofOfPossession::from_bytes(&unhex::<96>(&m.possession, "possession")?)
                    .map_err(|_| CommitteeError::Field("possession"))?;
            let encryption_proof = KnowledgeProof::from_bytes(
                &hex::decode(&m.encryption_proof)
                    .map_err(|_| CommitteeError::Field("encryption_proof"))?,
            )
            .map_err(|_| CommitteeError::Field("encryption_proof"))?;
            members.push(CommitteeMember {
                public: MemberPublic {
                    name: m.name.clone(),
                    signing_key: g1_field(&m.signing_key, "signing_key")?,
                    possession,
                    encryption_key: g1_field(&m.encryption_key, "encryption_key")?,
                    encryption_proof,
                },
                verification_key: g1_field(&m.verification_key, "verification_key")?,
            });
        }
        let c = Committee {
            epoch: j.epoch,
            threshold: j.threshold,
            public_key: g1_field(&j.public_key, "public_key")?,
            members,
            transcript_hash: unhex::<32>(&j.transcript_hash, "transcript_hash")?,
        };
        if c.to_json().as_bytes() != json {
            return Err(CommitteeError::NotCanonical);
        }
        c.verify()?;
        Ok(c)
    }

    /// Checks shape, member proofs, distinct keys and the consistency of the verification
    /// keys with `PK` and `t`.
    pub fn verify(&self) -> Result<(), CommitteeError> {
        let n = self.n();
        if self.threshold == 0 || self.threshold > n || n > MAX_MEMBERS {
            return Err(CommitteeError::Shape {
                n,
                t: self.threshold,
                members: self.members.len(),
            });
        }
        check_distinct_members(self.members.iter().map(|m| &m.public))?;
        crate::identity::verify_members(self.members.iter().map(|m| &m.public))?;
        self.verify_key_consistency()
    }

    fn verify_key_consistency(&self) -> Result<(), CommitteeError> {
        let t = self.threshold as usize;
        let n = self.members.len();
        let mut basis_points = vec![self.public_key];
        basis_points.extend(self.members[..t - 1].iter().map(|m| m.verification_key));
        let basis: Vec<Fr> = (0..t as u64).map(Fr::from).collect();
        if n < t {
            return Err(CommitteeError::InconsistentKeys);
        }
        let rest = n + 1 - t; // members t..=n
        let rho = dleq::weights(
            tags::BATCH_WEIGHTS,
            &tagged_hash(tags::BATCH_WEIGHTS, &self.to_bytes()),
            rest,
        );
        let mut coeff = vec![Fr::zero(); t];
        let mut bases = basis_points.clone();
        let mut scalars = Vec::with_capacity(t + rest);
        for (k, x) in (t as u64..=n as u64).enumerate() {
            let l = lagrange_at(&basis, Fr::from(x));
            for (c, lb) in coeff.iter_mut().zip(&l) {
                *c += rho[k] * lb;
            }
            bases.push(self.members[x as usize - 1].verification_key);
        }
        scalars.extend(coeff);
        scalars.extend(rho.iter().map(|r| -*r));
        if G1Projective::msm_unchecked(&bases, &scalars).is_zero() {
            Ok(())
        } else {
            Err(CommitteeError::InconsistentKeys)
        }
    }
}

/// Rejects rosters in which two members share a signing or an encryption key.
pub(crate) fn check_distinct_members<'a>(
    members: impl Iterator<Item = &'a MemberPublic>,
) -> Result<(), CommitteeError> {
    let mut seen = std::collections::HashMap::new();
    for (i, m) in members.enumerate() {
        for key in [m.signing_key, m.encryption_key] {
            if let Some(j) = seen.insert(dleq::g1_to_bytes(&key), i as u32 + 1) {
                return Err(CommitteeError::DuplicateKey(j, i as u32 + 1));
            }
        }
    }
    Ok(())
}
