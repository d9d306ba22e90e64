//! One chain, low latency: the limbs of one value spread across AVX-512 IFMA lanes.
//!
//! A value is `L'` limbs of 52 bits (`R'' = 2^(52L') > 4N`, the same domain as the
//! multi-lane IFMA kernel), eight limbs per 512-bit vector, `NV = ceil(L'/8)` vectors (5 for
//! 2048 bits). A Montgomery product is word-serial in the multiplier: for each limb `b_i`,
//! the whole accumulator takes `a·b_i` (low halves, `vpmadd52luq`), the digit
//! `m_i = (acc_0·(−N^{-1})) mod 2^52` is computed in a general-purpose register, the
//! accumulator takes `m_i·N`, shifts down one limb (`valignq`; the carry of the zeroed limb is
//! added back in), and then takes the high halves of both products (`vpmadd52huq`), which
//! after the shift sit at the same index. This is the "almost Montgomery multiplication"
//! structure of Gueron and Drucker ("Fast modular squaring with AVX512IFMA", ITNG 2019) and
//! of OpenSSL's RSAZ-AVX512 code, written here from the description.
//!
//! Limbs accumulate without intermediate carries (at most about `4L'` terms below `2^52`:
//! below `2^61` for `L' ≤ 80`). At the end two vector carry passes leave every limb at most
//! `2^52`, and a carry-lookahead on bitmaps (`generate` = limb equal to `2^52`, `propagate` =
//! limb equal to `2^52 − 1`; carries = `((g << 1) + p) ⊕ p`) finishes the normalisation
//! without branches. Inputs below `2N` give outputs below `2N`, as in every lazy kernel here.

// Limb-and-lane kernels read most clearly with explicit indices.
#![allow(clippy::needless_range_loop)]

use core::arch::x86_64::*;

use zeroize::Zeroize;

use super::ifma::{MAX_L, W};
use super::simd::{join, split};
use crate::limbs::{self, MAX_LIMBS};
use crate::modulus::{Element, Modulus};
use crate::solver::Engine;

const MASK: u64 = (1 << W) - 1;
/// Vectors for the largest supported limb count.
const MAX_NV: usize = MAX_L / 8;

/// Fixed-size limb storage (52-bit limbs, zero beyond `len`).
type Digits = [u64; MAX_L];

/// Montgomery product `a·b·2^(-52·len) mod N` (lazy: below `2N`), normalised limbs.
///
/// # Safety
/// The CPU supports AVX-512F and AVX-512 IFMA; `len ≤ 8·NV ≤ MAX_L`; limbs of `a`, `b`, `n`
/// below `2^52`, beyond `len` zero.
#[inline(always)]
unsafe fn amm<const NV: usize>(
    a: &[__m512i; NV],
    b: &Digits,
    n: &[__m512i; NV],
    n_0: u64,
    k0: u64,
    len: usize,
) -> [__m512i; NV] {
    // SAFETY: the intrinsics need only the CPU features (the contract); `i < len ≤ MAX_L`.
    unsafe {
        let zero = _mm512_setzero_si512();
        let mut r = [zero; NV];
        let a0 = _mm_cvtsi128_si64(_mm512_castsi512_si128(a[0])) as u64;
        // Carry out of the limb shifted away last time, kept on the scalar side: the vector
        // copy of that limb is discarded, so the carry only ever enters through `r0`.
        let mut c = 0u64;
        for i in 0..len {
            let bs = *b.get_unchecked(i);
            let bi = _mm512_set1_epi64(bs as i64);
            // Lowest limb of acc + a·b_i, on the scalar side (shortest dependency chain).
            let r0 = (_mm_cvtsi128_si64(_mm512_castsi512_si128(r[0])) as u64)
                + (a0.wrapping_mul(bs) & MASK)
                + c;
            let mut hs = [zero; NV];
            for j in 0..NV {
                r[j] = _mm512_madd52lo_epu64(r[j], a[j], bi);
                hs[j] = _mm512_madd52hi_epu64(zero, a[j], bi);
            }
            let m = r0.wrapping_mul(k0) & MASK;
            let mi = _mm512_set1_epi64(m as i64);
            c = (r0 + (m.wrapping_mul(n_0) & MASK)) >> W;
            for j in 0..NV {
                r[j] = _mm512_madd52lo_epu64(r[j], n[j], mi);
                hs[j] = _mm512_madd52hi_epu64(hs[j], n[j], mi);
            }
            // Drop limb 0 (divisible by 2^52 once `c` is accounted for); the high halves
            // belong one limb up, i.e. at the same index after the shift.
            for j in 0..NV - 1 {
                r[j] = _mm512_add_epi64(_mm512_alignr_epi64::<1>(r[j + 1], r[j]), hs[j]);
            }
            r[NV - 1] = _mm512_add_epi64(_mm512_alignr_epi64::<1>(zero, r[NV - 1]), hs[NV - 1]);
        }
        r[0] = _mm512_add_epi64(r[0], _mm512_zextsi128_si512(_mm_cvtsi64_si128(c as i64)));
        normalize(r)
    }
}

/// Carries every limb into the next, leaving 52-bit limbs (the value must fit in `8·NV`
/// limbs; the final carry out is zero then).
///
/// # Safety
/// The CPU supports AVX-512F; limbs below `2^61`.
#[inline(always)]
unsafe fn normalize<const NV: usize>(mut r: [__m512i; NV]) -> [__m512i; NV] {
    // SAFETY: AVX-512F is the contract.
    unsafe {
        let zero = _mm512_setzero_si512();
        let mask = _mm512_set1_epi64(MASK as i64);
        for _ in 0..2 {
            let mut c = [zero; NV];
            for j in 0..NV {
                c[j] = _mm512_srli_epi64::<52>(r[j]);
                r[j] = _mm512_and_si512(r[j], mask);
            }
            // Shift the carries up one limb across the vector chain.
            r[0] = _mm512_add_epi64(r[0], _mm512_alignr_epi64::<7>(c[0], zero));
            for j in 1..NV {
                r[j] = _mm512_add_epi64(r[j], _mm512_alignr_epi64::<7>(c[j], c[j - 1]));
            }
        }
        // Limbs are now ≤ 2^52: finish with one carry-lookahead over limb bitmaps.
        let (mut g, mut p) = (0u128, 0u128);
        for j in 0..NV {
            g |= (_mm512_cmpgt_epu64_mask(r[j], mask) as u128) << (8 * j);
            p |= (_mm512_cmpeq_epu64_mask(r[j], mask) as u128) << (8 * j);
        }
        let cin = ((g << 1).wrapping_add(p)) ^ p;
        let one = _mm512_set1_epi64(1);
        for j in 0..NV {
            let k = (cin >> (8 * j)) as u8;
            r[j] = _mm512_and_si512(_mm512_mask_add_epi64(r[j], k, r[j], one), mask);
        }
        r
    }
}

/// `x ← x^(2^k)` (or `x ← x·b` when `mul` is given), limbs in and out through `x`.
///
/// # Safety
/// The CPU supports AVX-512F and AVX-512 IFMA; `len ≤ 8·NV ≤ MAX_L`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn run<const NV: usize>(
    x: &mut Digits,
    mul: Option<&Digits>,
    nn: &Digits,
    k0: u64,
    len: usize,
    k: u64,
) {
    assert!(len <= 8 * NV && NV <= MAX_NV);
    // SAFETY: features are the contract; every load/store covers 8 limbs of `Digits`
    // (length MAX_L ≥ 8·NV, checked above).
    unsafe {
        let zero = _mm512_setzero_si512();
        let mut a = [zero; NV];
        let mut n = [zero; NV];
        for j in 0..NV {
            a[j] = _mm512_loadu_si512(x.as_ptr().add(8 * j).cast());
            n[j] = _mm512_loadu_si512(nn.as_ptr().add(8 * j).cast());
        }
        match mul {
            Some(b) => a = amm::<NV>(&a, b, &n, nn[0], k0, len),
            None => {
                let mut b: Digits = [0; MAX_L];
                for _ in 0..k {
                    for j in 0..NV {
                        _mm512_storeu_si512(b.as_mut_ptr().add(8 * j).cast(), a[j]);
                    }
                    a = amm::<NV>(&a, &b, &n, nn[0], k0, len);
                }
            }
        }
        for j in 0..NV {
            _mm512_storeu_si512(x.as_mut_ptr().add(8 * j).cast(), a[j]);
        }
    }
}

/// Dispatch on the vector count, monomorphised per `NV`.
///
/// # Safety
/// The CPU supports AVX-512F and AVX-512 IFMA; `len ≤ MAX_L`.
#[target_feature(enable = "avx512f,avx512ifma")]
unsafe fn run_dyn(x: &mut Digits, mul: Option<&Digits>, nn: &Digits, k0: u64, len: usize, k: u64) {
    // SAFETY: features are the contract; NV = ceil(len/8) ≥ len/8.
    unsafe {
        match len.div_ceil(8) {
            0 | 1 => run::<1>(x, mul, nn, k0, len, k),
            2 => run::<2>(x, mul, nn, k0, len, k),
            3 => run::<3>(x, mul, nn, k0, len, k),
            4 => run::<4>(x, mul, nn, k0, len, k),
            5 => run::<5>(x, mul, nn, k0, len, k),
            6 => run::<6>(x, mul, nn, k0, len, k),
            7 => run::<7>(x, mul, nn, k0, len, k),
            8 => run::<8>(x, mul, nn, k0, len, k),
            9 => run::<9>(x, mul, nn, k0, len, k),
            _ => run::<10>(x, mul, nn, k0, len, k),
        }
    }
}

/// One chain in the IFMA single-chain representation.
pub(crate) struct IfmaSingleEngine<'m> {
    m: &'m Modulus,
    len: usize,
    nn: Box<Digits>,
    k0: u64,
    x: Box<Digits>,
}

impl<'m> IfmaSingleEngine<'m> {
    /// Builds the engine for one chain, or `None` if the modulus is too large.
    pub(crate) fn new(m: &'m Modulus, x: &Element) -> Option<Self> {
        let len = (m.bits() as usize + 2).div_ceil(W as usize);
        if len > MAX_L || !super::ifma::detected() {
            return None;
        }
        let mut nn = Box::new([0u64; MAX_L]);
        split(&m.n, &mut nn[..len], W);
        let mut r2_64 = vec![0u64; m.limbs()];
        r2_64[0] = 1;
        for _ in 0..2 * W as usize * len {
            limbs::mod_double(&mut r2_64, &m.n);
        }
        let mut r2 = Box::new([0u64; MAX_L]);
        split(&r2_64, &mut r2[..len], W);
        let mut e = IfmaSingleEngine {
            m,
            len,
            nn,
            k0: m.n0 & MASK,
            x: Box::new([0; MAX_L]),
        };
        // Out of the 64-bit Montgomery domain (x·R·1/R), into R'' (x·R''^2/R'').
        let mut one = vec![0u64; m.limbs()];
        one[0] = 1;
        let mut plain = vec![0u64; m.limbs()];
        limbs::mont_mul(&mut plain, &x.limbs, &one, &m.n, m.n0);
        split(&plain, &mut e.x[..len], W);
        plain.zeroize();
        e.apply(Some(&r2), 0);
        Some(e)
    }

    fn apply(&mut self, mul: Option<&Digits>, k: u64) {
        // SAFETY: `new` checked the CPU features and `len ≤ MAX_L`.
        unsafe { run_dyn(&mut self.x, mul, &self.nn, self.k0, self.len, k) }
    }
}

impl Drop for IfmaSingleEngine<'_> {
    fn drop(&mut self) {
        // The chain value may be key material (a solved puzzle is `h^a`).
        self.x.zeroize();
    }
}

impl Engine for IfmaSingleEngine<'_> {
    fn run(&mut self, k: u64) {
        self.apply(None, k);
    }

    fn read(&self) -> Vec<Element> {
        let mut one: Digits = [0; MAX_L];
        one[0] = 1;
        let mut x = *self.x;
        // SAFETY: as in `apply`.
        unsafe { run_dyn(&mut x, Some(&one), &self.nn, self.k0, self.len, 0) };
        // Now x·R''·1/R'' = x, a value ≤ N.
        let mut plain = [0u64; MAX_LIMBS];
        let p = &mut plain[..self.m.limbs()];
        join(&x[..self.len], p, W);
        limbs::cond_sub(p, 0, &self.m.n);
        let out = self.m.to_mont(p);
        plain.zeroize();
        x.zeroize();
        vec![out]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference: sequential carry propagation over 52-bit limbs.
    fn reference(limbs: &[u64]) -> Vec<u64> {
        let mut out = Vec::with_capacity(limbs.len());
        let mut c: u128 = 0;
        for &l in limbs {
            let t = l as u128 + c;
            out.push((t as u64) & MASK);
            c = t >> W;
        }
        out
    }

    fn run_normalize(limbs: &[u64; 40]) -> Vec<u64> {
        // SAFETY: only called after checking the CPU features; loads/stores cover the
        // 40-limb arrays exactly.
        unsafe {
            let mut r = [_mm512_setzero_si512(); 5];
            for j in 0..5 {
                r[j] = _mm512_loadu_si512(limbs.as_ptr().add(8 * j).cast());
            }
            let r = normalize::<5>(r);
            let mut out = [0u64; 40];
            for j in 0..5 {
                _mm512_storeu_si512(out.as_mut_ptr().add(8 * j).cast(), r[j]);
            }
            out.to_vec()
        }
    }

    #[test]
    fn normalize_handles_carry_ripples() {
        if !super::super::ifma::detected() {
            return; // nothing to run on this CPU; the kernel is not selectable either
        }
        let cases: Vec<[u64; 40]> = vec![
            // A carry generated in limb 0 rippling through a run of all-ones limbs that
            // crosses vector boundaries.
            {
                let mut l = [0u64; 40];
                l[0] = MASK + 1;
                for x in &mut l[1..20] {
                    *x = MASK;
                }
                l
            },
            // Large unnormalised limbs whose first-pass carries create new all-ones limbs.
            {
                let mut l = [0u64; 40];
                for (i, x) in l.iter_mut().enumerate().take(39) {
                    *x = if i % 2 == 0 {
                        (1u64 << 60) - 1
                    } else {
                        MASK - 255
                    };
                }
                l
            },
            // Generate next to generate, and propagate runs separated by zeros.
            {
                let mut l = [0u64; 40];
                l[3] = MASK + 1;
                l[4] = MASK + 1;
                l[5] = MASK;
                l[7] = MASK;
                l[8] = (MASK << 1) + 1;
                l[9] = MASK;
                l[10] = MASK;
                l
            },
        ];
        for limbs in &cases {
            assert_eq!(run_normalize(limbs), reference(limbs));
        }
    }
}
