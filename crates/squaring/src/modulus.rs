//! The modulus `N`, elements of `Z/NZ` in Montgomery form, and exponentiation.
//!
//! An [`Element`] stores `x·R mod N` with `R = 2^(64L)` and `L = ceil(bits(N)/64)`, always
//! fully reduced (`< N`), so equality is limb equality and every encoding is canonical.
//! Portable products use CIOS Montgomery multiplication; on x86-64 with BMI2/ADX the full
//! product is computed row by row with `MULX`/`ADCX`/`ADOX` and then reduced word by word.
//! Squares use a dedicated squaring (each off-diagonal product once, doubled, plus the
//! diagonal) followed by word-by-word Montgomery reduction (Montgomery 1985; Koç, Acar,
//! Kaliski 1996).
//!
//! Exponentiation comes in two flavours, named for what they leak:
//! - [`Modulus::pow_ct`] for secret exponents: fixed 4-bit windows over every bit of the
//!   exponent *encoding* (its byte length is public, its value is not), a square-and-multiply
//!   schedule that never depends on the digits, and a table lookup that reads every entry
//!   and selects with masks.
//! - [`Modulus::pow_vartime`] for public exponents: sliding windows, skips zero digits.

use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::limbs::{self, MAX_LIMBS};

/// Errors from building a modulus or decoding an element.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArithError {
    /// The modulus is even (Montgomery arithmetic needs an odd modulus).
    #[error("modulus is even")]
    EvenModulus,
    /// The modulus is smaller than 3.
    #[error("modulus too small: must be at least 3")]
    ModulusTooSmall,
    /// The modulus has more than 4096 bits.
    #[error("modulus too large: {bits} bits, at most 4096")]
    ModulusTooLarge {
        /// Bit length of the rejected modulus.
        bits: u32,
    },
    /// The encoded value is not below the modulus.
    #[error("value out of range: not below the modulus")]
    OutOfRange,
    /// The encoding is longer than the modulus encoding.
    #[error("encoding too long: {len} bytes, at most {max}")]
    TooLong {
        /// Length of the rejected encoding.
        len: usize,
        /// The modulus' byte length.
        max: usize,
    },
}

/// An element of `Z/NZ` in Montgomery form (`x·R mod N`, fully reduced).
///
/// Elements are only meaningful together with the [`Modulus`] that produced them; passing
/// an element of one modulus to another of a different limb count panics, and one of the
/// same size silently computes garbage (as with any modular arithmetic library).
/// Zeroized on drop: elements derived from secret exponents are key material.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Element {
    pub(crate) limbs: Vec<u64>,
}

impl core::fmt::Debug for Element {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // Elements may be secret (h^a); never print their value.
        write!(f, "Element({} limbs)", self.limbs.len())
    }
}

impl PartialEq for Element {
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other).into()
    }
}
impl Eq for Element {}

impl ConstantTimeEq for Element {
    fn ct_eq(&self, other: &Self) -> Choice {
        if self.limbs.len() != other.limbs.len() {
            return Choice::from(0);
        }
        self.limbs.as_slice().ct_eq(other.limbs.as_slice())
    }
}

/// An odd modulus `N` (3 ≤ N < 2^4096) with its Montgomery constants.
#[derive(Clone, PartialEq, Eq)]
pub struct Modulus {
    /// `N`, little-endian limbs, exactly `L` of them.
    pub(crate) n: Vec<u64>,
    /// `-N^{-1} mod 2^64`.
    pub(crate) n0: u64,
    /// `R mod N` (Montgomery form of 1).
    pub(crate) r1: Vec<u64>,
    /// `R^2 mod N` (converts into Montgomery form).
    pub(crate) r2: Vec<u64>,
    pub(crate) bits: u32,
}

impl core::fmt::Debug for Modulus {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Modulus({} bits)", self.bits)
    }
}

/// Montgomery product on limbs with the fastest scalar kernel this CPU has (MULX/ADX on
/// x86-64 when detected, else portable). Both are free of value-dependent branches.
#[inline]
pub(crate) fn mont_mul(out: &mut [u64], a: &[u64], b: &[u64], n: &[u64], n0: u64) {
    #[cfg(target_arch = "x86_64")]
    if crate::x86::mulx::detected() {
        crate::x86::mulx::mont_mul(out, a, b, n, n0);
        return;
    }
    limbs::mont_mul(out, a, b, n, n0)
}

/// Big-endian bytes → little-endian limbs (`out.len()` limbs; caller checked the length).
fn be_to_limbs(be: &[u8], out: &mut [u64]) {
    out.fill(0);
    for (k, &byte) in be.iter().rev().enumerate() {
        out[k / 8] |= (byte as u64) << (8 * (k % 8));
    }
}

impl Modulus {
    /// Parses `N` from big-endian bytes (leading zero bytes allowed).
    ///
    /// Rejects even moduli, `N < 3`, and moduli longer than 4096 bits.
    pub fn from_be_bytes(n: &[u8]) -> Result<Modulus, ArithError> {
        let start = n.iter().position(|&b| b != 0).unwrap_or(n.len());
        let n = &n[start..];
        if n.is_empty() {
            return Err(ArithError::ModulusTooSmall);
        }
        let bits = (n.len() as u32 - 1) * 8 + (8 - n[0].leading_zeros());
        if bits > 4096 {
            return Err(ArithError::ModulusTooLarge { bits });
        }
        if n[n.len() - 1] & 1 == 0 {
            return Err(ArithError::EvenModulus);
        }
        if bits < 2 {
            // N = 1.
            return Err(ArithError::ModulusTooSmall);
        }
        let len = (bits as usize).div_ceil(64);
        let mut limbs = vec![0u64; len];
        be_to_limbs(n, &mut limbs);
        let n0 = limbs::neg_inv_u64(limbs[0]);
        // R mod N and R^2 mod N by doubling from 1 (public values; time is irrelevant).
        let mut r = vec![0u64; len];
        r[0] = 1; // 1 < N since N >= 3
        for _ in 0..64 * len {
            limbs::mod_double(&mut r, &limbs);
        }
        let r1 = r.clone();
        for _ in 0..64 * len {
            limbs::mod_double(&mut r, &limbs);
        }
        Ok(Modulus {
            n: limbs,
            n0,
            r1,
            r2: r,
            bits,
        })
    }

    /// Bit length of `N`.
    pub fn bits(&self) -> u32 {
        self.bits
    }

    /// `ceil(bits/8)`: the length of every encoding under this modulus.
    pub fn byte_len(&self) -> usize {
        (self.bits as usize).div_ceil(8)
    }

    /// Number of 64-bit limbs `L` (`R = 2^(64L)`).
    pub fn limbs(&self) -> usize {
        self.n.len()
    }

    /// `N` as `byte_len()` big-endian bytes.
    pub fn to_be_bytes(&self) -> Vec<u8> {
        limbs_to_be(&self.n, self.byte_len())
    }

    /// Decodes a value `< N` from big-endian bytes (at most `byte_len()` of them; shorter
    /// encodings are zero-extended). Values `≥ N` are rejected with
    /// [`ArithError::OutOfRange`]. The range check is constant time.
    pub fn element(&self, be: &[u8]) -> Result<Element, ArithError> {
        if be.len() > self.byte_len() {
            return Err(ArithError::TooLong {
                len: be.len(),
                max: self.byte_len(),
            });
        }
        let mut x = vec![0u64; self.limbs()];
        be_to_limbs(be, &mut x);
        let in_range = limbs::geq(&x, &self.n) ^ 1;
        if in_range == 0 {
            x.zeroize();
            return Err(ArithError::OutOfRange);
        }
        let e = self.to_mont(&x);
        x.zeroize();
        Ok(e)
    }

    /// Decodes big-endian bytes of any length and reduces the value mod `N` (for hashing
    /// into the group: feed it comfortably more bytes than `byte_len()` for a near-uniform
    /// result).
    pub fn element_reduced(&self, be: &[u8]) -> Element {
        let len = self.limbs();
        let block_bytes = 8 * len;
        let mut acc = self.zero();
        // Most-significant block first; the first block may be short.
        let first = be.len() % block_bytes;
        let mut blocks: Vec<&[u8]> = Vec::new();
        if first != 0 {
            blocks.push(&be[..first]);
        }
        blocks.extend(be[first..].chunks(block_bytes));
        let mut x = vec![0u64; len];
        let mut tmp = vec![0u64; len];
        for block in blocks {
            // acc ← acc·R (in Montgomery form: mont_mul by R^2), then + block.
            mont_mul(&mut tmp, &acc.limbs, &self.r2, &self.n, self.n0);
            be_to_limbs(block, &mut x);
            // x < R, R^2 mod N < N, so x·R^2 < R·N: mont_mul reduces it fully.
            let xm = self.to_mont(&x);
            limbs::mod_add(&mut acc.limbs, &tmp, &xm.limbs, &self.n);
        }
        x.zeroize();
        tmp.zeroize();
        acc
    }

    /// Converts `x < R` (any, not necessarily `< N`) into Montgomery form, fully reduced.
    pub(crate) fn to_mont(&self, x: &[u64]) -> Element {
        let mut out = vec![0u64; self.limbs()];
        mont_mul(&mut out, x, &self.r2, &self.n, self.n0);
        Element { limbs: out }
    }

    /// The element 0.
    pub fn zero(&self) -> Element {
        Element {
            limbs: vec![0; self.limbs()],
        }
    }

    /// The element 1.
    pub fn one(&self) -> Element {
        Element {
            limbs: self.r1.clone(),
        }
    }

    fn check(&self, a: &Element) {
        assert_eq!(
            a.limbs.len(),
            self.limbs(),
            "element of a different modulus"
        );
    }

    /// `a·b mod N`.
    pub fn mul(&self, a: &Element, b: &Element) -> Element {
        self.check(a);
        self.check(b);
        let mut out = vec![0u64; self.limbs()];
        mont_mul(&mut out, &a.limbs, &b.limbs, &self.n, self.n0);
        Element { limbs: out }
    }

    /// `a^2 mod N`.
    pub fn square(&self, a: &Element) -> Element {
        self.check(a);
        let mut out = a.limbs.clone();
        crate::solver::square_in_place(self, &mut out, 1, true);
        Element { limbs: out }
    }

    /// `a + b mod N`.
    pub fn add(&self, a: &Element, b: &Element) -> Element {
        self.check(a);
        self.check(b);
        let mut out = vec![0u64; self.limbs()];
        limbs::mod_add(&mut out, &a.limbs, &b.limbs, &self.n);
        Element { limbs: out }
    }

    /// Constant-time equality.
    pub fn ct_eq(&self, a: &Element, b: &Element) -> Choice {
        a.ct_eq(b)
    }

    /// Canonical encoding of `x`: its value (fully reduced, `< N`) as `byte_len()`
    /// big-endian bytes.
    pub fn to_be_bytes_of(&self, x: &Element) -> Vec<u8> {
        self.check(x);
        let mut one = vec![0u64; self.limbs()];
        one[0] = 1;
        let mut v = vec![0u64; self.limbs()];
        mont_mul(&mut v, &x.limbs, &one, &self.n, self.n0);
        let out = limbs_to_be(&v, self.byte_len());
        v.zeroize();
        out
    }

    /// `base^e mod N` for a **public** exponent (big-endian bytes): sliding windows; time
    /// depends on the exponent.
    pub fn pow_vartime(&self, base: &Element, exp_be: &[u8]) -> Element {
        self.check(base);
        const W: usize = 5;
        // Odd powers base^1, base^3, ..., base^(2^W - 1).
        let b2 = self.square(base);
        let mut odd = Vec::with_capacity(1 << (W - 1));
        odd.push(base.clone());
        for i in 1..(1 << (W - 1)) {
            let next = self.mul(&odd[i - 1], &b2);
            odd.push(next);
        }
        let bits: Vec<u8> = exp_be
            .iter()
            .flat_map(|&byte| (0..8).rev().map(move |k| (byte >> k) & 1))
            .collect();
        let mut acc = self.one();
        let mut started = false;
        let mut i = 0;
        while i < bits.len() {
            if bits[i] == 0 {
                if started {
                    acc = self.square(&acc);
                }
                i += 1;
                continue;
            }
            // Longest window ≤ W starting at i that ends in a 1 bit.
            let mut end = (i + W).min(bits.len());
            while bits[end - 1] == 0 {
                end -= 1;
            }
            let mut val = 0usize;
            for &b in &bits[i..end] {
                val = (val << 1) | b as usize;
                if started {
                    acc = self.square(&acc);
                }
            }
            if started {
                acc = self.mul(&acc, &odd[val >> 1]);
            } else {
                acc = odd[val >> 1].clone();
                started = true;
            }
            i = end;
        }
        acc
    }

    /// `base^e mod N` for a **secret** exponent (big-endian bytes). Constant time in the
    /// exponent's value: fixed 4-bit windows over all `8·exp_be.len()` bits, four squarings
    /// and one multiplication per window whatever the digit, and a masked scan of the whole
    /// table for each lookup. The exponent's byte length is not hidden.
    pub fn pow_ct(&self, base: &Element, exp_be: &[u8]) -> Element {
        self.check(base);
        let len = self.limbs();
        // table[d] = base^d, d = 0..16.
        let mut table: Vec<Element> = Vec::with_capacity(16);
        table.push(self.one());
        for d in 1..16 {
            let next = self.mul(&table[d - 1], base);
            table.push(next);
        }
        let mut acc = self.one();
        let mut sel = vec![0u64; len];
        for &byte in exp_be {
            for digit in [byte >> 4, byte & 15] {
                for _ in 0..4 {
                    acc = self.square(&acc);
                }
                ct_select(&table, digit, &mut sel);
                let mut out = vec![0u64; len];
                mont_mul(&mut out, &acc.limbs, &sel, &self.n, self.n0);
                acc.limbs.copy_from_slice(&out);
                out.zeroize();
            }
        }
        sel.zeroize();
        acc
    }
}

/// `out = table[digit]`, reading every entry and selecting with masks (no secret-dependent
/// memory access or branch).
pub(crate) fn ct_select(table: &[Element], digit: u8, out: &mut [u64]) {
    out.fill(0);
    for (k, entry) in table.iter().enumerate() {
        let choice = (k as u8).ct_eq(&digit);
        for (o, &v) in out.iter_mut().zip(&entry.limbs) {
            *o |= u64::conditional_select(&0, &v, choice);
        }
    }
}

/// Little-endian limbs → `len` big-endian bytes (value known to fit).
pub(crate) fn limbs_to_be(x: &[u64], len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len];
    for k in 0..len {
        out[len - 1 - k] = (x[k / 8] >> (8 * (k % 8))) as u8;
    }
    out
}

/// Compile-time guard: the limb buffers in `limbs` cover 4096-bit moduli.
const _: () = assert!(MAX_LIMBS * 64 >= 4096);

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha20Rng;

    use super::*;

    /// The portable product and the dispatched one (MULX/ADX where available) agree on
    /// random moduli of many sizes, including values up to `R − 1` (the `x < R` inputs of
    /// conversions).
    #[test]
    fn portable_and_dispatched_products_agree() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        for len in [1usize, 2, 5, 8, 16, 17, 32, 48, 63, 64] {
            for _ in 0..8 {
                let mut n: Vec<u64> = (0..len).map(|_| rng.r#gen()).collect();
                n[0] |= 1;
                n[len - 1] |= 1 << 63;
                let n0 = limbs::neg_inv_u64(n[0]);
                let mut a: Vec<u64> = (0..len).map(|_| rng.r#gen()).collect();
                a[len - 1] &= !(1 << 63); // a < n
                let b: Vec<u64> = (0..len).map(|_| rng.r#gen()).collect(); // any b < R
                let (mut x, mut y) = (vec![0u64; len], vec![0u64; len]);
                limbs::mont_mul(&mut x, &a, &b, &n, n0);
                mont_mul(&mut y, &a, &b, &n, n0);
                assert_eq!(x, y, "{len} limbs");
                assert_eq!(limbs::geq(&x, &n), 0, "fully reduced");
            }
        }
    }
}
