//! Shared pieces of the wire formats: a bounds-checked reader, tagged hashing, and the hex
//! forms used by the JSON encodings.
//!
//! Every binary encoding in this crate is `version (u8) ‖ fields`, big-endian integers,
//! fixed-size fields as raw bytes, variable-size fields as `u32 BE length ‖ bytes`. Decoders
//! check every length against the remaining input and a maximum, validate every group
//! element (the threshold crate's decoders do on-curve and subgroup checks), and refuse
//! trailing bytes.

use sha2::{Digest, Sha256};
use thiserror::Error;

/// Why a binary or JSON encoding was refused.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum CodecError {
    /// The input ended before a field was complete.
    #[error("truncated {what}")]
    Truncated {
        /// What was being read.
        what: &'static str,
    },
    /// The version byte is not one this build reads.
    #[error("unsupported {what} version {found}")]
    UnsupportedVersion {
        /// What was being decoded.
        what: &'static str,
        /// The version byte found.
        found: u8,
    },
    /// A field is invalid (point validation, enum tag, range).
    #[error("malformed {what}")]
    Malformed {
        /// Which field.
        what: &'static str,
    },
    /// A length exceeds its limit.
    #[error("{what} too large: {len}, limit {max}")]
    TooLarge {
        /// Which field or object.
        what: &'static str,
        /// Length found.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Bytes were left after a complete object.
    #[error("{len} trailing bytes after {what}")]
    TrailingBytes {
        /// What was decoded.
        what: &'static str,
        /// How many bytes were left.
        len: usize,
    },
}

/// `SHA-256(len(tag) (u64 BE) ‖ tag ‖ parts…)`. Callers make the parts unambiguous (fixed
/// sizes or length prefixes).
pub(crate) fn tagged_hash(tag: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update((tag.len() as u64).to_be_bytes());
    h.update(tag);
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// Appends `u32 BE length ‖ bytes`. Every caller bounds the length far below 2³².
pub(crate) fn put_var(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    out.extend_from_slice(bytes);
}

/// A bounds-checked cursor over untrusted bytes.
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
    what: &'static str,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8], what: &'static str) -> Self {
        Self { rest: bytes, what }
    }

    pub(crate) fn version(&mut self, expected: u8) -> Result<(), CodecError> {
        let v = self.u8()?;
        if v != expected {
            return Err(CodecError::UnsupportedVersion {
                what: self.what,
                found: v,
            });
        }
        Ok(())
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], CodecError> {
        if self.rest.len() < n {
            return Err(CodecError::Truncated { what: self.what });
        }
        let (a, b) = self.rest.split_at(n);
        self.rest = b;
        Ok(a)
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], CodecError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, CodecError> {
        Ok(self.take(1)?[0])
    }

    pub(crate) fn u32(&mut self) -> Result<u32, CodecError> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    pub(crate) fn u64(&mut self) -> Result<u64, CodecError> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    /// A `u32 BE length ‖ bytes` field of at most `max` bytes.
    pub(crate) fn var(&mut self, what: &'static str, max: usize) -> Result<&'a [u8], CodecError> {
        let len = self.u32()? as usize;
        if len > max {
            return Err(CodecError::TooLarge { what, len, max });
        }
        self.take(len)
    }

    /// A `u32 BE count` of at most `max` items each at least `min_item` bytes long (so a
    /// hostile count cannot make the decoder allocate more than the input justifies).
    pub(crate) fn count(
        &mut self,
        what: &'static str,
        max: usize,
        min_item: usize,
    ) -> Result<usize, CodecError> {
        let n = self.u32()? as usize;
        if n > max {
            return Err(CodecError::TooLarge { what, len: n, max });
        }
        if n.saturating_mul(min_item) > self.rest.len() {
            return Err(CodecError::Truncated { what });
        }
        Ok(n)
    }

    pub(crate) fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.rest)
    }

    pub(crate) fn finish(self) -> Result<(), CodecError> {
        if !self.rest.is_empty() {
            return Err(CodecError::TrailingBytes {
                what: self.what,
                len: self.rest.len(),
            });
        }
        Ok(())
    }
}

/// A value with a canonical binary encoding, carried in JSON as a lowercase hex string.
pub trait HexForm: Sized {
    /// The canonical bytes.
    fn hex_bytes(&self) -> Vec<u8>;
    /// Decodes (validating) from the canonical bytes.
    fn from_hex_bytes(bytes: &[u8]) -> Result<Self, String>;
}

impl HexForm for Vec<u8> {
    fn hex_bytes(&self) -> Vec<u8> {
        self.clone()
    }
    fn from_hex_bytes(bytes: &[u8]) -> Result<Self, String> {
        Ok(bytes.to_vec())
    }
}

impl HexForm for [u8; 32] {
    fn hex_bytes(&self) -> Vec<u8> {
        self.to_vec()
    }
    fn from_hex_bytes(bytes: &[u8]) -> Result<Self, String> {
        bytes
            .try_into()
            .map_err(|_| format!("expected 32 bytes, got {}", bytes.len()))
    }
}

impl HexForm for veil_threshold::Signature {
    fn hex_bytes(&self) -> Vec<u8> {
        self.to_bytes().to_vec()
    }
    fn from_hex_bytes(bytes: &[u8]) -> Result<Self, String> {
        Self::from_bytes(bytes).map_err(|e| e.to_string())
    }
}

impl HexForm for veil_threshold::AggregateSignature {
    fn hex_bytes(&self) -> Vec<u8> {
        self.to_bytes()
    }
    fn from_hex_bytes(bytes: &[u8]) -> Result<Self, String> {
        Self::from_bytes(bytes).map_err(|e| e.to_string())
    }
}

impl HexForm for veil_threshold::ShareBatch {
    fn hex_bytes(&self) -> Vec<u8> {
        self.to_bytes()
    }
    fn from_hex_bytes(bytes: &[u8]) -> Result<Self, String> {
        Self::from_bytes(bytes).map_err(|e| e.to_string())
    }
}

/// `#[serde(with = "hex_form")]` for any [`HexForm`] field.
pub mod hex_form {
    use super::HexForm;
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    /// Serializes as a lowercase hex string.
    pub fn serialize<T: HexForm, S: Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(v.hex_bytes()))
    }

    /// Deserializes from a hex string, validating the decoded value.
    pub fn deserialize<'de, T: HexForm, D: Deserializer<'de>>(d: D) -> Result<T, D::Error> {
        let s = String::deserialize(d)?;
        let bytes = hex::decode(s.trim_start_matches("0x")).map_err(D::Error::custom)?;
        T::from_hex_bytes(&bytes).map_err(D::Error::custom)
    }
}

/// Implements `Serialize`/`Deserialize` as the hex string of the canonical encoding, for a
/// type with `to_bytes()` and `from_bytes(&[u8]) -> Result<Self, impl Display>`.
macro_rules! serde_as_hex {
    ($ty:ty) => {
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&hex::encode(self.to_bytes()))
            }
        }
        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                use serde::de::Error;
                let s = <String as serde::Deserialize>::deserialize(d)?;
                let bytes = hex::decode(s.trim_start_matches("0x")).map_err(D::Error::custom)?;
                Self::from_bytes(&bytes).map_err(D::Error::custom)
            }
        }
    };
}
pub(crate) use serde_as_hex;
