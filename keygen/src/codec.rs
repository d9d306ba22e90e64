//! Canonical binary encoding shared by every ceremony message: big-endian integers,
//! compressed points validated on decode (on curve, in the subgroup, not the identity),
//! canonical scalars, and length limits on everything variable.
use ark_bls12_381::{Fr, G1Affine, G2Affine};
use veil_circuits::dleq::{self, FR_LEN, G1_LEN};
use veil_circuits::pop::{self, G2_LEN};

/// Why bytes did not decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    /// Input ended early.
    #[error("truncated: needed {needed} more bytes at offset {offset}")]
    Truncated {
        /// Offset of the read.
        offset: usize,
        /// Bytes needed.
        needed: usize,
    },
    /// Bytes left over after a complete value.
    #[error("{0} trailing bytes")]
    Trailing(usize),
    /// An unknown encoding version.
    #[error("unsupported {what} version {found}, expected {expected}")]
    Version {
        /// Which type.
        what: &'static str,
        /// Version found.
        found: u8,
        /// Version supported.
        expected: u8,
    },
    /// A G1 or G2 point failed validation.
    #[error("invalid group element at offset {0}")]
    BadPoint(usize),
    /// A scalar was not canonical.
    #[error("non-canonical scalar at offset {0}")]
    BadScalar(usize),
    /// A count or length out of its range.
    #[error("{what} out of range: {value} (max {max})")]
    Range {
        /// Which field.
        what: &'static str,
        /// Value found.
        value: u64,
        /// Maximum allowed.
        max: u64,
    },
    /// A string was not UTF-8.
    #[error("invalid utf-8 in {0}")]
    Utf8(&'static str),
}

/// Appends canonical encodings to a buffer.
#[derive(Default)]
pub(crate) struct Writer(pub Vec<u8>);

impl Writer {
    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.0.push(v);
        self
    }
    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub fn bytes(&mut self, b: &[u8]) -> &mut Self {
        self.0.extend_from_slice(b);
        self
    }
    /// Length-prefixed (u32) bytes.
    pub fn var(&mut self, b: &[u8]) -> &mut Self {
        self.u32(b.len() as u32);
        self.bytes(b)
    }
    pub fn g1(&mut self, p: &G1Affine) -> &mut Self {
        self.bytes(&dleq::g1_to_bytes(p))
    }
    pub fn g2(&mut self, p: &G2Affine) -> &mut Self {
        self.bytes(&pop::g2_to_bytes(p))
    }
    pub fn fr(&mut self, s: &Fr) -> &mut Self {
        self.bytes(&dleq::fr_to_bytes(s))
    }
}

/// Reads canonical encodings, validating as it goes.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], CodecError> {
        if self.buf.len() - self.pos < n {
            return Err(CodecError::Truncated {
                offset: self.pos,
                needed: n - (self.buf.len() - self.pos),
            });
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    pub fn u8(&mut self) -> Result<u8, CodecError> {
        Ok(self.take(1)?[0])
    }
    pub fn u32(&mut self) -> Result<u32, CodecError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    pub fn u64(&mut self) -> Result<u64, CodecError> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8)?);
        Ok(u64::from_be_bytes(a))
    }
    pub fn array32(&mut self) -> Result<[u8; 32], CodecError> {
        let mut a = [0u8; 32];
        a.copy_from_slice(self.take(32)?);
        Ok(a)
    }
    /// A u32 count checked against `max`.
    pub fn count(&mut self, what: &'static str, max: u32) -> Result<usize, CodecError> {
        let v = self.u32()?;
        if v > max {
            return Err(CodecError::Range {
                what,
                value: v.into(),
                max: max.into(),
            });
        }
        Ok(v as usize)
    }
    pub fn var(&mut self, what: &'static str, max: u32) -> Result<&'a [u8], CodecError> {
        let n = self.count(what, max)?;
        self.take(n)
    }
    pub fn g1(&mut self) -> Result<G1Affine, CodecError> {
        let at = self.pos;
        dleq::g1_from_bytes(self.take(G1_LEN)?).ok_or(CodecError::BadPoint(at))
    }
    pub fn g2(&mut self) -> Result<G2Affine, CodecError> {
        let at = self.pos;
        pop::g2_from_bytes(self.take(G2_LEN)?).ok_or(CodecError::BadPoint(at))
    }
    pub fn fr(&mut self) -> Result<Fr, CodecError> {
        let at = self.pos;
        dleq::fr_from_bytes(self.take(FR_LEN)?).ok_or(CodecError::BadScalar(at))
    }
    pub fn version(&mut self, what: &'static str, expected: u8) -> Result<(), CodecError> {
        let found = self.u8()?;
        if found != expected {
            return Err(CodecError::Version {
                what,
                found,
                expected,
            });
        }
        Ok(())
    }
    pub fn finish(self) -> Result<(), CodecError> {
        let left = self.buf.len() - self.pos;
        if left != 0 {
            Err(CodecError::Trailing(left))
        } else {
            Ok(())
        }
    }
}

/// Hash of `parts` under a domain tag: SHA-256 over the length-prefixed tag and the data.
pub(crate) fn tagged_hash(tag: &[u8], data: &[u8]) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update((tag.len() as u64).to_be_bytes());
    h.update(tag);
    h.update(data);
    h.finalize().into()
}
