//! Fixed-base exponentiation with a precomputed table (for `g^a` with one `g`, many `a`).
//!
//! For window width `w = 4` and `k = ceil(max_exp_bits/8)·2` windows the table holds
//! `T[i][d] = g^(d·16^i)` for `d = 0..16`, so `g^e = Π_i T[i][e_i]` over the base-16 digits
//! `e_i` of `e`: `k` multiplications and no squarings (the "fixed-base windowing" method,
//! Handbook of Applied Cryptography §14.6.3). Each lookup scans all 16 entries of its row
//! with masks, and every window is multiplied in (digit 0 selects `g^0 = 1`), so the running
//! time depends only on the exponent's byte length. Exponent bits beyond the table's reach
//! are handled by [`Modulus::pow_ct`] on `g^(16^k)`, equally constant time.

use zeroize::Zeroize;

use crate::modulus::{Element, Modulus, ct_select};

/// Precomputed powers of one base for constant-time fixed-base exponentiation.
#[derive(Clone)]
pub struct FixedBase {
    /// `rows[i][d] = g^(d·16^i)`.
    rows: Vec<Vec<Element>>,
    /// `g^(16^k)`, for exponent digits beyond the table.
    top: Element,
}

impl core::fmt::Debug for FixedBase {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "FixedBase({} windows)", self.rows.len())
    }
}

impl FixedBase {
    /// Precomputes the table for exponents of up to `max_exp_bits` bits (rounded up to
    /// whole bytes). Memory: `16·ceil(max_exp_bits/4)` elements.
    pub fn new(m: &Modulus, base: &Element, max_exp_bits: usize) -> FixedBase {
        let windows = max_exp_bits.div_ceil(8) * 2;
        let mut rows = Vec::with_capacity(windows);
        let mut g = base.clone(); // g^(16^i)
        for _ in 0..windows {
            let mut row = Vec::with_capacity(16);
            row.push(m.one());
            for d in 1..16 {
                let next = m.mul(&row[d - 1], &g);
                row.push(next);
            }
            // g^(16^(i+1)) = (g^(16^i))^16 = row[15]·g.
            g = m.mul(&row[15], &g);
            rows.push(row);
        }
        FixedBase { rows, top: g }
    }

    /// `g^e mod N` for a secret exponent `e` (big-endian bytes); constant time in `e`'s
    /// value (see the module docs).
    pub fn pow_ct(&self, m: &Modulus, exp_be: &[u8]) -> Element {
        let len = m.limbs();
        let table_bytes = self.rows.len() / 2;
        let split = exp_be.len().saturating_sub(table_bytes);
        let (high, low) = exp_be.split_at(split);
        let mut acc = if high.is_empty() {
            m.one()
        } else {
            m.pow_ct(&self.top, high)
        };
        let mut sel = vec![0u64; len];
        let mut out = vec![0u64; len];
        for (k, &byte) in low.iter().rev().enumerate() {
            for (half, digit) in [(0, byte & 15), (1, byte >> 4)] {
                ct_select(&self.rows[2 * k + half], digit, &mut sel);
                crate::modulus::mont_mul(&mut out, &acc.limbs, &sel, &m.n, m.n0);
                acc.limbs.copy_from_slice(&out);
            }
        }
        sel.zeroize();
        out.zeroize();
        acc
    }
}
