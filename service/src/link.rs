//! Member-link authentication: pairwise MAC keys for bulk member messages.
//!
//! # Why
//!
//! Every member message is a [`veil_protocol::SignedMessage`]: checking its BLS signature
//! costs a G2 decoding with a subgroup check, a hash to G2 and a two-pairing product (about
//! 1.5–2 ms). Envelopes are gossiped every 20 ms by every member and shares once per slot by
//! every member, so a member checks on the order of a hundred signatures a second under load —
//! the largest cost after the per-item cryptography. These two kinds need no third-party
//! verifiability: envelopes validate themselves like any submission, and shares carry their
//! DLEQ proofs (a published plaintext batch includes the share messages it used). The
//! receiver only needs to know which member sent them (the first shares message per member
//! and slot is the one stored). A MAC under a key that only the two members know gives that
//! for one HMAC. Proposals, votes and certificates keep their signatures: certificates and
//! equivocation evidence must convince third parties.
//!
//! # Handshake: signed ephemeral Diffie–Hellman
//!
//! Member `i`, the sender on the directed link `i → j`, draws a fresh scalar `a` and posts
//! `Offer = (i, j, A = a·G)` with its BLS signature over `LINK_OFFER ‖ i ‖ j ‖ A` to `j`'s
//! `POST /internal/v1/link`. Member `j` checks the signature against the committee, draws `b`,
//! and answers `(j, i, B = b·G)` signed over `LINK_ANSWER ‖ j ‖ i ‖ A ‖ B`. Both compute
//! `Z = a·B = b·A` (constant-time scalar multiplication, `B` and `A` fully validated) and
//!
//! - `k = HKDF-SHA256(salt = LINK_KDF, ikm = Z, info = i ‖ j ‖ A ‖ B)`,
//! - `id = SHA-256(LINK_KEY_ID ‖ i ‖ j ‖ A ‖ B)[..16]`.
//!
//! This is the signed Diffie–Hellman exchange (ISO/IEC 9798-3 style; see Krawczyk, "SIGMA:
//! the 'SIGn-and-MAc' approach to authenticated Diffie–Hellman", CRYPTO 2003, §3) with both
//! identities inside each signature, so neither side can be impersonated (EUF-CMA of BLS)
//! and no one else learns `k` (CDH in G1, HKDF as a random oracle). The answer signs the
//! offer's `A`, so a replayed or re-used answer never fits a new offer. The offer does not sign
//! `B`: a replayed offer makes `j` derive a key from an `A` whose `a` the attacker does not
//! know, so no one can produce a valid MAC under it. `a` and `b` are erased after use, so
//! compromising a long-term BLS key later reveals no past link key. The static BLS keys are
//! used only to sign, never as Diffie–Hellman keys.
//!
//! A link key is directional and per process: `i` seals only messages to `j` with it, `j`
//! keeps the latest key per sender in memory. After a restart of `j` its MACs no longer
//! verify (`401`), and `i` re-sends signed and runs a new handshake.
//!
//! # Sealed messages (wire version 2)
//!
//! `0x02 ‖ from (u32) ‖ to (u32) ‖ kind (u8) ‖ key id (16) ‖ len (u32) ‖ body ‖ tag (32)`,
//! `tag = HMAC-SHA256(k, LINK_MAC ‖ from ‖ to ‖ kind ‖ id ‖ SHA-256(body))`, compared in
//! constant time. Only `Ciphertexts` and `Shares` may be sealed. A replayed sealed message is
//! accepted again, exactly as a replayed signed message is; every handler is idempotent.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use ark_bls12_381::{Fr, G1Affine};
use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::UniformRand;
use hkdf::Hkdf;
use rand_core::{CryptoRng, RngCore};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use thiserror::Error;
use veil_circuits::dleq::{G1_LEN, ct, g1_from_bytes, g1_to_bytes};
use veil_domain::protocol as tags;
use veil_protocol::MessageKind;
use veil_threshold::{BlsPublicKey, Signature, SigningKey};
use zeroize::{Zeroize, Zeroizing};

/// Version byte of a sealed (MAC'd) member message; signed messages are version 1.
pub const SEALED_VERSION: u8 = 2;
/// Version byte of a handshake half.
pub const HANDSHAKE_VERSION: u8 = 1;
/// Length of a key id.
pub const KEY_ID_LEN: usize = 16;
/// Length of a MAC tag.
pub const TAG_LEN: usize = 32;
/// Length of an encoded handshake half: version, from, to, point, signature.
pub const HANDSHAKE_LEN: usize = 1 + 4 + 4 + G1_LEN + 96;
const SEALED_HEADER: usize = 1 + 4 + 4 + 1 + KEY_ID_LEN + 4;

/// Why a handshake or a sealed message was refused.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum LinkError {
    /// Malformed encoding.
    #[error("malformed link message: {0}")]
    Malformed(&'static str),
    /// A sender or recipient outside the committee, or not this member.
    #[error("link between {from} and {to} not for this member")]
    WrongParties {
        /// Claimed sender.
        from: u32,
        /// Claimed recipient.
        to: u32,
    },
    /// A handshake signature does not verify.
    #[error("invalid handshake signature")]
    BadSignature,
    /// No link key with this id from this sender, or the tag does not verify.
    #[error("unknown link key or bad tag")]
    BadTag,
    /// A kind that must stay signed.
    #[error("{0:?} messages must be signed")]
    MustBeSigned(MessageKind),
}

/// A directional link key.
#[derive(Clone)]
pub struct LinkKey {
    id: [u8; KEY_ID_LEN],
    key: Zeroizing<[u8; 32]>,
}

fn be(x: u32) -> [u8; 4] {
    x.to_be_bytes()
}

fn offer_signed(from: u32, to: u32, a: &[u8; G1_LEN]) -> Vec<u8> {
    [tags::LINK_OFFER, &be(from), &be(to), a].concat()
}

fn answer_signed(from: u32, to: u32, a: &[u8; G1_LEN], b: &[u8; G1_LEN]) -> Vec<u8> {
    [tags::LINK_ANSWER, &be(from), &be(to), a, b].concat()
}

/// Derives the key of link `sender → receiver` from the shared point and the ephemerals.
fn derive(sender: u32, receiver: u32, z: &G1Affine, a: &[u8; G1_LEN], b: &[u8; G1_LEN]) -> LinkKey {
    let transcript = [&be(sender)[..], &be(receiver), a, b].concat();
    let ikm = Zeroizing::new(g1_to_bytes(z));
    let mut key = Zeroizing::new([0u8; 32]);
    // Infallible: 32 bytes is far below HKDF-SHA256's 255·32-byte output limit.
    Hkdf::<Sha256>::new(Some(tags::LINK_KDF), &ikm[..])
        .expand(&transcript, &mut key[..])
        .expect("32-byte HKDF output");
    let digest = Sha256::new()
        .chain_update(tags::LINK_KEY_ID)
        .chain_update(&transcript)
        .finalize();
    let mut id = [0u8; KEY_ID_LEN];
    id.copy_from_slice(&digest[..KEY_ID_LEN]);
    LinkKey { id, key }
}

fn encode_half(from: u32, to: u32, point: &[u8; G1_LEN], sig: &Signature) -> Vec<u8> {
    let mut out = Vec::with_capacity(HANDSHAKE_LEN);
    out.push(HANDSHAKE_VERSION);
    out.extend_from_slice(&be(from));
    out.extend_from_slice(&be(to));
    out.extend_from_slice(point);
    out.extend_from_slice(&sig.to_bytes());
    out
}

/// A decoded handshake half: parties, the validated point and its encoding, the signature.
struct Half {
    from: u32,
    to: u32,
    point: G1Affine,
    encoded: [u8; G1_LEN],
    signature: Signature,
}

fn decode_half(bytes: &[u8]) -> Result<Half, LinkError> {
    if bytes.len() != HANDSHAKE_LEN {
        return Err(LinkError::Malformed("handshake length"));
    }
    if bytes[0] != HANDSHAKE_VERSION {
        return Err(LinkError::Malformed("handshake version"));
    }
    let from = u32::from_be_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]);
    let to = u32::from_be_bytes([bytes[5], bytes[6], bytes[7], bytes[8]]);
    let mut encoded = [0u8; G1_LEN];
    encoded.copy_from_slice(&bytes[9..9 + G1_LEN]);
    let point = g1_from_bytes(&encoded).ok_or(LinkError::Malformed("ephemeral point"))?;
    let signature = Signature::from_bytes(&bytes[9 + G1_LEN..])
        .map_err(|_| LinkError::Malformed("signature"))?;
    Ok(Half {
        from,
        to,
        point,
        encoded,
        signature,
    })
}

fn member_key(committee: &[BlsPublicKey], index: u32) -> Option<&BlsPublicKey> {
    (index as usize)
        .checked_sub(1)
        .and_then(|i| committee.get(i))
}

/// The initiator's side of a handshake in progress: its ephemeral secret (erased on drop).
pub struct Pending {
    me: u32,
    peer: u32,
    secret: Fr,
    encoded: [u8; G1_LEN],
}

impl Drop for Pending {
    fn drop(&mut self) {
        self.secret.zeroize();
    }
}

/// Starts a handshake for the link `me → peer`: the offer bytes to post, and the state to
/// finish it with.
pub fn offer<R: RngCore + CryptoRng>(
    rng: &mut R,
    signing_key: &SigningKey,
    me: u32,
    peer: u32,
) -> (Vec<u8>, Pending) {
    let secret = Fr::rand(rng);
    let encoded = g1_to_bytes(&ct::mul(&G1Affine::generator(), &secret).into_affine());
    let sig = signing_key.sign(&offer_signed(me, peer, &encoded));
    let bytes = encode_half(me, peer, &encoded, &sig);
    let pending = Pending {
        me,
        peer,
        secret,
        encoded,
    };
    (bytes, pending)
}

/// The responder's side: checks an offer addressed to `me`, answers it, and returns the key
/// of the link `sender → me` with the sender's index.
pub fn answer<R: RngCore + CryptoRng>(
    rng: &mut R,
    signing_key: &SigningKey,
    committee: &[BlsPublicKey],
    me: u32,
    offer: &[u8],
) -> Result<(Vec<u8>, u32, LinkKey), LinkError> {
    let h = decode_half(offer)?;
    let key = member_key(committee, h.from).filter(|_| h.to == me && h.from != me);
    let Some(key) = key else {
        return Err(LinkError::WrongParties {
            from: h.from,
            to: h.to,
        });
    };
    key.verify(&offer_signed(h.from, h.to, &h.encoded), &h.signature)
        .map_err(|_| LinkError::BadSignature)?;
    let mut secret = Fr::rand(rng);
    let b = g1_to_bytes(&ct::mul(&G1Affine::generator(), &secret).into_affine());
    let z = ct::mul(&h.point, &secret).into_affine();
    secret.zeroize();
    let sig = signing_key.sign(&answer_signed(me, h.from, &h.encoded, &b));
    let link = derive(h.from, me, &z, &h.encoded, &b);
    Ok((encode_half(me, h.from, &b, &sig), h.from, link))
}

impl Pending {
    /// Finishes the handshake with the peer's answer: the key of the link `me → peer`.
    pub fn finish(self, committee: &[BlsPublicKey], answer: &[u8]) -> Result<LinkKey, LinkError> {
        let h = decode_half(answer)?;
        if h.from != self.peer || h.to != self.me {
            return Err(LinkError::WrongParties {
                from: h.from,
                to: h.to,
            });
        }
        let key = member_key(committee, h.from).ok_or(LinkError::WrongParties {
            from: h.from,
            to: h.to,
        })?;
        key.verify(
            &answer_signed(h.from, h.to, &self.encoded, &h.encoded),
            &h.signature,
        )
        .map_err(|_| LinkError::BadSignature)?;
        let z = ct::mul(&h.point, &self.secret).into_affine();
        Ok(derive(self.me, self.peer, &z, &self.encoded, &h.encoded))
    }
}

fn tag(key: &LinkKey, from: u32, to: u32, kind: MessageKind, body: &[u8]) -> [u8; TAG_LEN] {
    let msg = [
        tags::LINK_MAC,
        &be(from),
        &be(to),
        &[kind as u8],
        &key.id,
        &Sha256::digest(body),
    ]
    .concat();
    // HMAC-SHA256(k, msg): HKDF-Extract is exactly HMAC with the salt as key (RFC 5869 §2.2).
    let (prk, _) = Hkdf::<Sha256>::extract(Some(&key.key[..]), &msg);
    prk.into()
}

fn sealable(kind: MessageKind) -> bool {
    matches!(kind, MessageKind::Ciphertexts | MessageKind::Shares)
}

/// Seals `body` of `kind` from `from` to `to` under the link key.
pub fn seal(
    key: &LinkKey,
    from: u32,
    to: u32,
    kind: MessageKind,
    body: &[u8],
) -> Result<Vec<u8>, LinkError> {
    if !sealable(kind) {
        return Err(LinkError::MustBeSigned(kind));
    }
    let len = u32::try_from(body.len()).map_err(|_| LinkError::Malformed("body length"))?;
    let mut out = Vec::with_capacity(SEALED_HEADER + body.len() + TAG_LEN);
    out.push(SEALED_VERSION);
    out.extend_from_slice(&be(from));
    out.extend_from_slice(&be(to));
    out.push(kind as u8);
    out.extend_from_slice(&key.id);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(body);
    out.extend_from_slice(&tag(key, from, to, kind, body));
    Ok(out)
}

/// A sealed message's parts, before the tag is checked.
pub struct Sealed<'a> {
    /// Sender.
    pub from: u32,
    /// Recipient.
    pub to: u32,
    /// Kind.
    pub kind: MessageKind,
    /// Key id.
    pub key_id: [u8; KEY_ID_LEN],
    /// Body.
    pub body: &'a [u8],
    tag: [u8; TAG_LEN],
}

/// Decodes a sealed message (without checking the tag: see [`Links::open`]).
pub fn decode_sealed(bytes: &[u8]) -> Result<Sealed<'_>, LinkError> {
    if bytes.len() < SEALED_HEADER + TAG_LEN {
        return Err(LinkError::Malformed("sealed length"));
    }
    if bytes[0] != SEALED_VERSION {
        return Err(LinkError::Malformed("sealed version"));
    }
    let from = u32::from_be_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]);
    let to = u32::from_be_bytes([bytes[5], bytes[6], bytes[7], bytes[8]]);
    let kind = match bytes[9] {
        1 => MessageKind::Ciphertexts,
        5 => MessageKind::Shares,
        2 => return Err(LinkError::MustBeSigned(MessageKind::Proposal)),
        3 => return Err(LinkError::MustBeSigned(MessageKind::Vote)),
        4 => return Err(LinkError::MustBeSigned(MessageKind::Certificate)),
        _ => return Err(LinkError::Malformed("message kind")),
    };
    let mut key_id = [0u8; KEY_ID_LEN];
    key_id.copy_from_slice(&bytes[10..10 + KEY_ID_LEN]);
    let l = &bytes[10 + KEY_ID_LEN..SEALED_HEADER];
    let len = u32::from_be_bytes([l[0], l[1], l[2], l[3]]) as usize;
    if bytes.len() != SEALED_HEADER + len + TAG_LEN {
        return Err(LinkError::Malformed("sealed length"));
    }
    let body = &bytes[SEALED_HEADER..SEALED_HEADER + len];
    let mut t = [0u8; TAG_LEN];
    t.copy_from_slice(&bytes[SEALED_HEADER + len..]);
    Ok(Sealed {
        from,
        to,
        kind,
        key_id,
        body,
        tag: t,
    })
}

/// A member's link keys: outgoing (to each peer) and incoming (from each peer, the latest).
#[derive(Default)]
pub struct Links {
    outgoing: Mutex<HashMap<u32, LinkKey>>,
    incoming: Mutex<HashMap<u32, LinkKey>>,
    handshaking: Mutex<HashSet<u32>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // The maps hold whole keys, inserted and removed in single calls: still sound after a
    // panic elsewhere.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Links {
    /// The key for sending to `peer`, if a handshake completed.
    pub fn outgoing(&self, peer: u32) -> Option<LinkKey> {
        lock(&self.outgoing).get(&peer).cloned()
    }

    /// Stores the key for sending to `peer`.
    pub fn set_outgoing(&self, peer: u32, key: LinkKey) {
        lock(&self.outgoing).insert(peer, key);
    }

    /// Drops the key for `peer` (it refused a sealed message: it restarted).
    pub fn forget_outgoing(&self, peer: u32) {
        lock(&self.outgoing).remove(&peer);
    }

    /// Stores the latest key for messages from `peer`.
    pub fn set_incoming(&self, peer: u32, key: LinkKey) {
        lock(&self.incoming).insert(peer, key);
    }

    /// Marks a handshake with `peer` as running; false if one already is.
    pub fn begin_handshake(&self, peer: u32) -> bool {
        lock(&self.handshaking).insert(peer)
    }

    /// Marks the handshake with `peer` as over.
    pub fn end_handshake(&self, peer: u32) {
        lock(&self.handshaking).remove(&peer);
    }

    /// Checks a sealed message addressed to `me`: `(from, kind, body)`.
    pub fn open<'a>(
        &self,
        me: u32,
        bytes: &'a [u8],
    ) -> Result<(u32, MessageKind, &'a [u8]), LinkError> {
        let s = decode_sealed(bytes)?;
        if s.to != me {
            return Err(LinkError::WrongParties {
                from: s.from,
                to: s.to,
            });
        }
        let key = lock(&self.incoming)
            .get(&s.from)
            .cloned()
            .ok_or(LinkError::BadTag)?;
        let expected = tag(&key, s.from, s.to, s.kind, s.body);
        let ok = key.id.ct_eq(&s.key_id) & expected.ct_eq(&s.tag);
        if !bool::from(ok) {
            return Err(LinkError::BadTag);
        }
        Ok((s.from, s.kind, s.body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    fn committee(n: usize, rng: &mut ChaCha20Rng) -> (Vec<SigningKey>, Vec<BlsPublicKey>) {
        let keys: Vec<SigningKey> = (0..n).map(|_| SigningKey::generate(rng)).collect();
        let pks = keys.iter().map(SigningKey::public_key).collect();
        (keys, pks)
    }

    fn linked(rng: &mut ChaCha20Rng) -> (Vec<SigningKey>, Vec<BlsPublicKey>, LinkKey, LinkKey) {
        let (sk, pk) = committee(4, rng);
        let (o, pending) = offer(rng, &sk[0], 1, 3);
        let (a, from, k_in) = answer(rng, &sk[2], &pk, 3, &o).unwrap();
        assert_eq!(from, 1);
        let k_out = pending.finish(&pk, &a).unwrap();
        (sk, pk, k_out, k_in)
    }

    #[test]
    fn handshake_gives_both_sides_the_same_key_and_sealed_messages_open() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let (_, _, k_out, k_in) = linked(&mut rng);
        assert_eq!(k_out.id, k_in.id);
        assert_eq!(*k_out.key, *k_in.key);
        let links = Links::default();
        links.set_incoming(1, k_in);
        for kind in [MessageKind::Ciphertexts, MessageKind::Shares] {
            let bytes = seal(&k_out, 1, 3, kind, b"body").unwrap();
            assert_eq!(links.open(3, &bytes), Ok((1, kind, &b"body"[..])));
        }
        let empty = seal(&k_out, 1, 3, MessageKind::Shares, b"").unwrap();
        assert_eq!(
            links.open(3, &empty),
            Ok((1, MessageKind::Shares, &b""[..]))
        );
    }

    #[test]
    fn any_change_to_a_sealed_message_is_refused() {
        let mut rng = ChaCha20Rng::seed_from_u64(2);
        let (_, _, k_out, k_in) = linked(&mut rng);
        let links = Links::default();
        links.set_incoming(1, k_in);
        let bytes = seal(&k_out, 1, 3, MessageKind::Ciphertexts, b"abcdef").unwrap();
        for i in 0..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 0x01;
            assert!(links.open(3, &b).is_err(), "byte {i}");
        }
        assert!(links.open(3, &bytes[..bytes.len() - 1]).is_err());
        // Addressed to another member, or from a member without a key here.
        assert!(matches!(
            links.open(2, &bytes),
            Err(LinkError::WrongParties { .. })
        ));
        let other = seal(&k_out, 2, 3, MessageKind::Ciphertexts, b"abcdef").unwrap();
        assert_eq!(links.open(3, &other), Err(LinkError::BadTag));
        // Kinds that must stay signed are never sealed nor opened.
        assert_eq!(
            seal(&k_out, 1, 3, MessageKind::Vote, b"v").err(),
            Some(LinkError::MustBeSigned(MessageKind::Vote))
        );
        let mut vote = bytes.clone();
        vote[9] = MessageKind::Certificate as u8;
        assert_eq!(
            links.open(3, &vote),
            Err(LinkError::MustBeSigned(MessageKind::Certificate))
        );
    }

    #[test]
    fn forged_or_misdirected_handshakes_are_refused() {
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        let (sk, pk) = committee(4, &mut rng);
        // Member 2 signs an offer claiming to be member 1.
        let (mut forged, _) = offer(&mut rng, &sk[1], 1, 3);
        assert_eq!(
            answer(&mut rng, &sk[2], &pk, 3, &forged).err(),
            Some(LinkError::BadSignature)
        );
        forged[9] ^= 1;
        assert!(answer(&mut rng, &sk[2], &pk, 3, &forged).is_err());
        // An offer for member 4 presented to member 3; one from outside the committee.
        let (to4, _) = offer(&mut rng, &sk[0], 1, 4);
        assert!(matches!(
            answer(&mut rng, &sk[2], &pk, 3, &to4),
            Err(LinkError::WrongParties { from: 1, to: 4 })
        ));
        let (outsider, _) = offer(&mut rng, &sk[0], 9, 3);
        assert!(matches!(
            answer(&mut rng, &sk[2], &pk, 3, &outsider),
            Err(LinkError::WrongParties { .. })
        ));
        // An answer to another offer does not finish this one.
        let (o1, p1) = offer(&mut rng, &sk[0], 1, 3);
        let (o2, _p2) = offer(&mut rng, &sk[0], 1, 3);
        let (_a1, _, _) = answer(&mut rng, &sk[2], &pk, 3, &o1).unwrap();
        let (a2, _, _) = answer(&mut rng, &sk[2], &pk, 3, &o2).unwrap();
        assert_eq!(p1.finish(&pk, &a2).err(), Some(LinkError::BadSignature));
        // An answer from the wrong member.
        let (_o3, p3) = offer(&mut rng, &sk[0], 1, 3);
        let (o4, _p4) = offer(&mut rng, &sk[0], 1, 4);
        let (a3, _, _) = answer(&mut rng, &sk[3], &pk, 4, &o4).unwrap();
        assert!(matches!(
            p3.finish(&pk, &a3),
            Err(LinkError::WrongParties { from: 4, to: 1 })
        ));
        assert!(decode_half(&[1u8; HANDSHAKE_LEN - 1]).is_err());
    }

    #[test]
    fn sealed_encoding_is_frozen() {
        let key = LinkKey {
            id: [7; KEY_ID_LEN],
            key: Zeroizing::new([9; 32]),
        };
        let bytes = seal(&key, 1, 2, MessageKind::Shares, b"xyz").unwrap();
        assert_eq!(
            hex::encode(&bytes[..SEALED_HEADER + 3]),
            "0200000001000000020507070707070707070707070707070707000000037879 7a".replace(' ', "")
        );
        assert_eq!(bytes.len(), SEALED_HEADER + 3 + TAG_LEN);
        // HMAC-SHA256([9; 32], LINK_MAC ‖ 1 ‖ 2 ‖ 5 ‖ [7; 16] ‖ SHA-256("xyz")), computed
        // independently (Python's hmac module).
        assert_eq!(
            hex::encode(&bytes[SEALED_HEADER + 3..]),
            "b4dbe0aedad98b1270d474b56b10781f5f7afb9ae7e2476acbe74d210f40842c"
        );
    }
}
