//! The label: public data a ciphertext is bound to.
//!
//! A label travels in the clear beside every Veil ciphertext (threshold, delay or dual mode)
//! and is bound into its validity proof and its key derivation. Changing any field of the
//! label makes the ciphertext invalid, so a ciphertext cannot be replayed for another chain,
//! under another sender, or for other slots, and copying a victim's ciphertext under one's own
//! label yields a ciphertext that fails verification (CCA security with labels, as in TDH2).
//!
//! | field | meaning |
//! | --- | --- |
//! | `chain_id` | the rollup (EIP-155 chain id) the transaction is meant for |
//! | `sender` | the sender's identity as the rollup sees it: an address left-padded with zeros, or a hash commitment to it when the sender should stay hidden until decryption |
//! | `slots` | the inclusive range of slots in which the ciphertext may be ordered; outside it, members refuse to vote for a batch containing it |
//! | `max_fee` | the most the sender agrees to pay for inclusion, in the rollup's smallest unit, charged in the clear even when the ciphertext fails to decrypt |
//! | `extra` | up to [`MAX_LABEL_EXTRA`] bytes the rollup defines (e.g. a bundle binding) |
//!
//! # Encoding (version 1)
//!
//! `0x01 ‖ chain_id (u64 BE) ‖ sender (32) ‖ first_slot (u64 BE) ‖ last_slot (u64 BE) ‖
//! max_fee (u128 BE) ‖ extra_len (u16 BE) ‖ extra`.

use sha2::{Digest, Sha256};
use thiserror::Error;

/// Largest number of rollup-defined bytes a label may carry.
pub const MAX_LABEL_EXTRA: usize = 256;

/// Version byte of the current label encoding.
pub const LABEL_VERSION: u8 = 1;

/// Length of an encoded label without its `extra` bytes.
pub const LABEL_FIXED_LEN: usize = 1 + 8 + 32 + 8 + 8 + 16 + 2;

/// An inclusive range of slots in which a ciphertext may be ordered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SlotRange {
    /// First slot (inclusive).
    pub first: u64,
    /// Last slot (inclusive).
    pub last: u64,
}

impl SlotRange {
    /// A range, checked: `first ≤ last`.
    pub fn new(first: u64, last: u64) -> Result<Self, LabelError> {
        if first > last {
            return Err(LabelError::EmptySlotRange { first, last });
        }
        Ok(Self { first, last })
    }

    /// Whether `slot` lies in the range.
    pub fn contains(&self, slot: u64) -> bool {
        self.first <= slot && slot <= self.last
    }
}

/// Public data a ciphertext is bound to. See the module documentation.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Label {
    /// The rollup's chain id.
    pub chain_id: u64,
    /// The sender's identity (address left-padded, or a commitment to it).
    pub sender: [u8; 32],
    /// Slots in which the ciphertext may be ordered.
    pub slots: SlotRange,
    /// Most the sender pays for inclusion, in the rollup's smallest unit.
    pub max_fee: u128,
    /// Rollup-defined bytes, at most [`MAX_LABEL_EXTRA`].
    extra: Vec<u8>,
}

/// Why a label was refused.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum LabelError {
    /// The slot range is empty.
    #[error("empty slot range: first {first} > last {last}")]
    EmptySlotRange {
        /// First slot given.
        first: u64,
        /// Last slot given.
        last: u64,
    },
    /// Too many rollup-defined bytes.
    #[error("label extra too long: {len} bytes, limit {MAX_LABEL_EXTRA}")]
    ExtraTooLong {
        /// Length given.
        len: usize,
    },
    /// The encoding is shorter or longer than its fields say.
    #[error("label encoding has wrong length: {len} bytes")]
    BadLength {
        /// Length given.
        len: usize,
    },
    /// The encoding's version byte is not one this build reads.
    #[error("unsupported label version {0}")]
    UnsupportedVersion(u8),
}

impl Label {
    /// A label, checked.
    pub fn new(
        chain_id: u64,
        sender: [u8; 32],
        slots: SlotRange,
        max_fee: u128,
        extra: Vec<u8>,
    ) -> Result<Self, LabelError> {
        if extra.len() > MAX_LABEL_EXTRA {
            return Err(LabelError::ExtraTooLong { len: extra.len() });
        }
        SlotRange::new(slots.first, slots.last)?;
        Ok(Self {
            chain_id,
            sender,
            slots,
            max_fee,
            extra,
        })
    }

    /// The rollup-defined bytes.
    pub fn extra(&self) -> &[u8] {
        &self.extra
    }

    /// Length of [`Label::to_bytes`].
    pub fn encoded_len(&self) -> usize {
        LABEL_FIXED_LEN + self.extra.len()
    }

    /// The canonical encoding (see the module documentation).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        self.write_to(&mut out);
        out
    }

    /// Appends the canonical encoding to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        out.push(LABEL_VERSION);
        out.extend_from_slice(&self.chain_id.to_be_bytes());
        out.extend_from_slice(&self.sender);
        out.extend_from_slice(&self.slots.first.to_be_bytes());
        out.extend_from_slice(&self.slots.last.to_be_bytes());
        out.extend_from_slice(&self.max_fee.to_be_bytes());
        // Cannot truncate: `extra` is at most MAX_LABEL_EXTRA bytes by construction.
        out.extend_from_slice(&(self.extra.len() as u16).to_be_bytes());
        out.extend_from_slice(&self.extra);
    }

    /// Decodes a label that occupies all of `bytes`.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, LabelError> {
        let (label, used) = Self::decode_prefix(bytes)?;
        if used != bytes.len() {
            return Err(LabelError::BadLength { len: bytes.len() });
        }
        Ok(label)
    }

    /// Decodes a label at the start of `bytes`; returns it and the number of bytes it used.
    pub fn decode_prefix(bytes: &[u8]) -> Result<(Self, usize), LabelError> {
        let bad = || LabelError::BadLength { len: bytes.len() };
        if bytes.len() < LABEL_FIXED_LEN {
            return Err(bad());
        }
        if bytes[0] != LABEL_VERSION {
            return Err(LabelError::UnsupportedVersion(bytes[0]));
        }
        let u64_at = |i: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&bytes[i..i + 8]);
            u64::from_be_bytes(b)
        };
        let chain_id = u64_at(1);
        let mut sender = [0u8; 32];
        sender.copy_from_slice(&bytes[9..41]);
        let first = u64_at(41);
        let last = u64_at(49);
        let mut fee = [0u8; 16];
        fee.copy_from_slice(&bytes[57..73]);
        let max_fee = u128::from_be_bytes(fee);
        let extra_len = u16::from_be_bytes([bytes[73], bytes[74]]) as usize;
        if extra_len > MAX_LABEL_EXTRA {
            return Err(LabelError::ExtraTooLong { len: extra_len });
        }
        let end = LABEL_FIXED_LEN + extra_len;
        if bytes.len() < end {
            return Err(bad());
        }
        let label = Self::new(
            chain_id,
            sender,
            SlotRange::new(first, last)?,
            max_fee,
            bytes[LABEL_FIXED_LEN..end].to_vec(),
        )?;
        Ok((label, end))
    }

    /// The label's digest: SHA-256 under Veil's label tag, the value proofs and KDFs bind.
    pub fn digest(&self) -> [u8; 32] {
        let tag = veil_domain::threshold::LABEL;
        let mut h = Sha256::new();
        h.update((tag.len() as u64).to_be_bytes());
        h.update(tag);
        h.update(self.to_bytes());
        h.finalize().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Label {
        Label::new(
            1337,
            [7u8; 32],
            SlotRange::new(10, 20).unwrap(),
            5_000,
            b"bundle".to_vec(),
        )
        .unwrap()
    }

    #[test]
    fn round_trip() {
        let l = sample();
        assert_eq!(Label::from_bytes(&l.to_bytes()).unwrap(), l);
        assert_eq!(l.to_bytes().len(), l.encoded_len());
    }

    #[test]
    fn fixture_bytes() {
        let hex: String = sample()
            .to_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            hex,
            concat!(
                "01",
                "0000000000000539",
                "0707070707070707070707070707070707070707070707070707070707070707",
                "000000000000000a",
                "0000000000000014",
                "00000000000000000000000000001388",
                "0006",
                "62756e646c65"
            )
        );
    }

    #[test]
    fn rejects_bad_encodings() {
        let bytes = sample().to_bytes();
        assert!(matches!(
            Label::from_bytes(&bytes[..bytes.len() - 1]),
            Err(LabelError::BadLength { .. })
        ));
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(matches!(
            Label::from_bytes(&longer),
            Err(LabelError::BadLength { .. })
        ));
        let mut v = bytes.clone();
        v[0] = 2;
        assert_eq!(
            Label::from_bytes(&v),
            Err(LabelError::UnsupportedVersion(2))
        );
        let mut empty = bytes.clone();
        empty[41..49].copy_from_slice(&30u64.to_be_bytes());
        assert!(matches!(
            Label::from_bytes(&empty),
            Err(LabelError::EmptySlotRange { .. })
        ));
        assert!(matches!(
            Label::new(1, [0; 32], SlotRange { first: 0, last: 0 }, 0, vec![0; 257]),
            Err(LabelError::ExtraTooLong { len: 257 })
        ));
    }

    #[test]
    fn every_field_changes_the_digest() {
        let base = sample();
        let d = base.digest();
        let mut l = base.clone();
        l.chain_id += 1;
        assert_ne!(l.digest(), d);
        let mut l = base.clone();
        l.sender[31] ^= 1;
        assert_ne!(l.digest(), d);
        let mut l = base.clone();
        l.slots.last += 1;
        assert_ne!(l.digest(), d);
        let mut l = base.clone();
        l.max_fee += 1;
        assert_ne!(l.digest(), d);
        let l = Label::new(base.chain_id, base.sender, base.slots, base.max_fee, vec![]).unwrap();
        assert_ne!(l.digest(), d);
    }
}
