//! Multi-lane Montgomery squaring with AVX-512 IFMA (`vpmadd52luq`/`vpmadd52huq`).
//!
//! Same lane layout as the AVX-512F kernel (one chain per 64-bit lane, limb `j` of eight
//! chains in one vector, `V` interleaved vectors), but with **52-bit limbs**: IFMA multiplies
//! the low 52 bits of two lanes into a 104-bit product and adds either its low or its high
//! 52 bits to a 64-bit accumulator in one instruction (the instruction set that Gueron and
//! Drucker use in "Fast modular squaring with AVX512IFMA", ITNG 2019, and that OpenSSL's
//! RSAZ-AVX512 code uses for one chain). A 2048-bit value takes 40 limbs instead of 74, and
//! each product costs two fused multiply-adds instead of a multiply and an add for half as
//! many bits: roughly a third of the instructions of the 28-bit AVX-512F kernel.
//!
//! **Columns.** The product `a·b + m·N` is gathered by pair sum `s = i + j`: the low halves
//! of the pairs with sum `s` go to column `s`, their high halves to column `s + 1`. For a
//! square, off-diagonal pairs are taken once and their column contributions doubled (the
//! doubled operand would have 53 bits, which IFMA would truncate), plus the diagonal. For
//! `s < L'` the digit `m_s = (t_s·(−N^{-1})) mod 2^52` is one `vpmadd52luq`, chosen so that
//! column `s` becomes divisible by `2^52`; from `s = L'` on the columns are the result limbs.
//! A column holds at most about `4L'` terms below `2^52` plus a carry below `2^12`: below
//! `2^61` for every `L' ≤ 80` (4096-bit moduli), so no intermediate carries are needed.
//! With `R'' = 2^(52L') > 4N`, inputs below `2N` give outputs below `2N` (lazy reduction, as
//! in the 28-bit kernel); conversion in and out is shared with it.

// Limb-and-lane kernels read most clearly with explicit indices.
#![allow(clippy::needless_range_loop)]

use core::arch::x86_64::*;

/// Limb radix: 52 bits.
pub(crate) const W: u32 = 52;
const MASK: u64 = (1 << W) - 1;
/// Largest limb count (4096-bit moduli need 79; column sums stay below 2^61).
pub(crate) const MAX_L: usize = 80;

/// Whether the CPU can run the IFMA kernels.
pub(crate) fn detected() -> bool {
    std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("avx512ifma")
}

type Limbs<const V: usize> = [[__m512i; V]; MAX_L];

/// Montgomery square (`b = None`) or product of `V` vectors of chains, 52-bit limbs.
///
/// # Safety
/// The CPU supports AVX-512F and AVX-512 IFMA; `1 ≤ len ≤ MAX_L`; `nn` holds `len` limbs.
#[inline(always)]
unsafe fn mont<const V: usize>(
    a: &Limbs<V>,
    b: Option<&Limbs<V>>,
    r: &mut Limbs<V>,
    m: &mut Limbs<V>,
    nn: &[u64],
    n0: u64,
    len: usize,
) {
    debug_assert!((1..=MAX_L).contains(&len) && nn.len() >= len);
    // SAFETY (whole body): the intrinsics need only the CPU features (the contract);
    // indices: i < len and s − i < len by the loop bounds (i ≥ s + 1 − len), and
    // s − len < len for the result limbs.
    unsafe {
        let zero = _mm512_setzero_si512();
        let mask = _mm512_set1_epi64(MASK as i64);
        let n0v = _mm512_set1_epi64((n0 & MASK) as i64);
        let n_lo = _mm512_set1_epi64(*nn.get_unchecked(0) as i64);
        let mut carry = [zero; V];
        // High halves destined for the current column, from the previous pair sum:
        // doubled (off-diagonal) and plain (diagonal, reduction).
        let mut prev_dbl = [zero; V];
        let mut prev_one = [zero; V];
        for s in 0..2 * len {
            let lo = (s + 1).saturating_sub(len);
            let (mut dbl_lo, mut dbl_hi) = ([zero; V], [zero; V]);
            let (mut one_lo, mut one_hi) = ([zero; V], [zero; V]);
            match b {
                None => {
                    for i in lo..s.div_ceil(2) {
                        let (x, y) = (a.get_unchecked(i), a.get_unchecked(s - i));
                        for v in 0..V {
                            dbl_lo[v] = _mm512_madd52lo_epu64(dbl_lo[v], x[v], y[v]);
                            dbl_hi[v] = _mm512_madd52hi_epu64(dbl_hi[v], x[v], y[v]);
                        }
                    }
                    if s.is_multiple_of(2) && s / 2 < len {
                        let x = a.get_unchecked(s / 2);
                        for v in 0..V {
                            one_lo[v] = _mm512_madd52lo_epu64(one_lo[v], x[v], x[v]);
                            one_hi[v] = _mm512_madd52hi_epu64(one_hi[v], x[v], x[v]);
                        }
                    }
                }
                Some(b) => {
                    for i in lo..(s + 1).min(len) {
                        let (x, y) = (a.get_unchecked(i), b.get_unchecked(s - i));
                        for v in 0..V {
                            one_lo[v] = _mm512_madd52lo_epu64(one_lo[v], x[v], y[v]);
                            one_hi[v] = _mm512_madd52hi_epu64(one_hi[v], x[v], y[v]);
                        }
                    }
                }
            }
            // m·N pairs whose digit is already known (i < s).
            for i in lo..s.min(len) {
                let nb = _mm512_set1_epi64(*nn.get_unchecked(s - i) as i64);
                let x = m.get_unchecked(i);
                for v in 0..V {
                    one_lo[v] = _mm512_madd52lo_epu64(one_lo[v], x[v], nb);
                    one_hi[v] = _mm512_madd52hi_epu64(one_hi[v], x[v], nb);
                }
            }
            for v in 0..V {
                let d = _mm512_add_epi64(dbl_lo[v], prev_dbl[v]);
                let mut t = _mm512_add_epi64(carry[v], _mm512_add_epi64(d, d));
                t = _mm512_add_epi64(t, _mm512_add_epi64(one_lo[v], prev_one[v]));
                if s < len {
                    let ms = _mm512_madd52lo_epu64(zero, t, n0v);
                    m.get_unchecked_mut(s)[v] = ms;
                    t = _mm512_madd52lo_epu64(t, ms, n_lo);
                    one_hi[v] = _mm512_madd52hi_epu64(one_hi[v], ms, n_lo);
                } else {
                    r.get_unchecked_mut(s - len)[v] = _mm512_and_si512(t, mask);
                }
                carry[v] = _mm512_srli_epi64::<52>(t);
            }
            prev_dbl = dbl_hi;
            prev_one = one_hi;
        }
    }
}

/// `k` squarings of one group (`buf`: `len·V·8` u64, limb-major).
///
/// # Safety
/// The CPU supports AVX-512F and AVX-512 IFMA.
#[inline(always)]
unsafe fn run_group<const V: usize>(buf: &mut [u64], nn: &[u64], n0: u64, len: usize, k: u64) {
    assert!((1..=MAX_L).contains(&len) && buf.len() >= len * V * 8 && nn.len() >= len);
    // SAFETY: features are the contract; loads/stores stay inside `buf` (checked above).
    unsafe {
        let zero = _mm512_setzero_si512();
        let mut a: Limbs<V> = [[zero; V]; MAX_L];
        let mut r: Limbs<V> = [[zero; V]; MAX_L];
        let mut m: Limbs<V> = [[zero; V]; MAX_L];
        for i in 0..len {
            for v in 0..V {
                a[i][v] = _mm512_loadu_si512(buf.as_ptr().add((i * V + v) * 8).cast());
            }
        }
        for _ in 0..k / 2 {
            mont::<V>(&a, None, &mut r, &mut m, nn, n0, len);
            mont::<V>(&r, None, &mut a, &mut m, nn, n0, len);
        }
        if !k.is_multiple_of(2) {
            mont::<V>(&a, None, &mut r, &mut m, nn, n0, len);
            a = r;
        }
        for i in 0..len {
            for v in 0..V {
                _mm512_storeu_si512(buf.as_mut_ptr().add((i * V + v) * 8).cast(), a[i][v]);
            }
        }
    }
}

/// `buf ← buf·b` (Montgomery; `b` the same for every lane), for conversions.
///
/// # Safety
/// The CPU supports AVX-512F and AVX-512 IFMA.
#[inline(always)]
unsafe fn mul_group<const V: usize>(buf: &mut [u64], b: &[u64], nn: &[u64], n0: u64, len: usize) {
    assert!((1..=MAX_L).contains(&len) && buf.len() >= len * V * 8 && nn.len() >= len);
    assert!(b.len() >= len);
    // SAFETY: as in `run_group`.
    unsafe {
        let zero = _mm512_setzero_si512();
        let mut a: Limbs<V> = [[zero; V]; MAX_L];
        let mut bv: Limbs<V> = [[zero; V]; MAX_L];
        let mut r: Limbs<V> = [[zero; V]; MAX_L];
        let mut m: Limbs<V> = [[zero; V]; MAX_L];
        for i in 0..len {
            for v in 0..V {
                a[i][v] = _mm512_loadu_si512(buf.as_ptr().add((i * V + v) * 8).cast());
                bv[i][v] = _mm512_set1_epi64(b[i] as i64);
            }
        }
        mont::<V>(&a, Some(&bv), &mut r, &mut m, nn, n0, len);
        for i in 0..len {
            for v in 0..V {
                _mm512_storeu_si512(buf.as_mut_ptr().add((i * V + v) * 8).cast(), r[i][v]);
            }
        }
    }
}

macro_rules! entry {
    ($run:ident, $mul:ident, $v:literal) => {
        /// # Safety
        /// The CPU supports AVX-512F and AVX-512 IFMA.
        #[target_feature(enable = "avx512f,avx512ifma")]
        pub(crate) unsafe fn $run(buf: &mut [u64], nn: &[u64], n0: u64, len: usize, k: u64) {
            // SAFETY: the features are this function's contract; the literal lengths
            // specialise the loops for 1024/2048/3072-bit moduli.
            unsafe {
                match len {
                    20 => run_group::<$v>(buf, nn, n0, 20, k),
                    40 => run_group::<$v>(buf, nn, n0, 40, k),
                    60 => run_group::<$v>(buf, nn, n0, 60, k),
                    _ => run_group::<$v>(buf, nn, n0, len, k),
                }
            }
        }
        /// # Safety
        /// The CPU supports AVX-512F and AVX-512 IFMA.
        #[target_feature(enable = "avx512f,avx512ifma")]
        pub(crate) unsafe fn $mul(buf: &mut [u64], b: &[u64], nn: &[u64], n0: u64, len: usize) {
            // SAFETY: the features are this function's contract.
            unsafe { mul_group::<$v>(buf, b, nn, n0, len) }
        }
    };
}
entry!(run_v1, mul_v1, 1);
entry!(run_v2, mul_v2, 2);
