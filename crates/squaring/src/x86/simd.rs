//! Multi-lane Montgomery squaring: one independent chain per 64-bit SIMD lane.
//!
//! **Representation.** A value is split into `L'` limbs of 28 bits (`R' = 2^(28·L')`, with
//! `28·L' ≥ bits(N) + 2`, i.e. `R' > 4N`); limb `j` of the chains in one vector sits in the
//! 64-bit lanes of vector `j` (8 chains per AVX-512 vector, 4 per AVX2 vector). Two vectors
//! may be interleaved ("V = 2") so that two independent instruction streams share every
//! broadcast of a limb of `N` and hide the multiplier latency: 16 chains for AVX-512, 8 for
//! AVX2. Products are 32×32→64-bit (`vpmuludq`, `_mm512_mul_epu32`/`_mm256_mul_epu32`).
//!
//! **Reduction.** Montgomery multiplication in product-scanning (column-wise) form, the
//! "FIPS" method of Koç, Acar and Kaliski (1996): column `k` of `a·b` and of `m·N` is summed
//! in one 64-bit accumulator per lane, the digit `m_k = t·(−N^{-1}) mod 2^28` is chosen so
//! that the column becomes divisible by `2^28`, and only the column's carry (`t >> 28`,
//! below `2^36`) moves on. Because limbs are 28-bit, a column holds at most `2·L'` products
//! below `2^56` (for squaring, `L'/2` doubled products below `2^57`, the diagonal and `L'`
//! reduction products): `2·L'·2^56 + 2^36 < 2^64` for `L' ≤ 127`, so no intermediate
//! carry handling is needed — the 28-bit radix trades a few more limbs for carry-free
//! accumulation, the trade-off Gueron and Krasnov made for AVX2 RSA ("Software
//! Implementation of Modular Exponentiation, Using Advanced Vector Instructions
//! Architectures", WAIFI 2012; "Speeding up big-numbers squaring", ITNG 2012). Squaring
//! computes each off-diagonal product once against a pre-doubled copy of the operand.
//!
//! **Lazy reduction.** With `R' > 4N`, inputs below `2N` give outputs
//! `(a² + mN)/R' < 2N`, so the hot loop never subtracts `N`. Values enter through a
//! multiplication by `R'² mod N` and leave through a multiplication by 1 (giving a value
//! `≤ N`), followed by one constant-time conditional subtraction: the result is the
//! canonical value, bit-identical to every other backend.
//!
//! Moduli above 3554 bits (`L' > 127`) would overflow the accumulators; the engine then
//! declines and the caller uses the scalar backend.

// Limb-and-lane kernels read most clearly with explicit indices.
#![allow(clippy::needless_range_loop)]

use core::arch::x86_64::*;

use zeroize::Zeroize;

use crate::limbs::{self, MAX_LIMBS};
use crate::modulus::{Element, Modulus};
use crate::solver::Engine;

/// Limb radix: 28 bits.
const W: u32 = 28;
const MASK: u64 = (1 << W) - 1;
/// Largest limb count whose column sums fit in 64 bits (see the module docs).
const MAX_L: usize = 127;

/// Whether the CPU can run the AVX2 kernels.
pub(crate) fn avx2_detected() -> bool {
    std::is_x86_feature_detected!("avx2")
}

/// Whether the CPU can run the AVX-512F kernels.
pub(crate) fn avx512_detected() -> bool {
    std::is_x86_feature_detected!("avx512f")
}

/// One SIMD register of 64-bit lanes. Every method requires the CPU feature of its
/// implementation (the safety contract of each `unsafe fn`).
trait Lanes: Copy {
    const LANES: usize;
    unsafe fn splat(x: u64) -> Self;
    unsafe fn loadu(p: *const u64) -> Self;
    unsafe fn storeu(self, p: *mut u64);
    unsafe fn add(self, o: Self) -> Self;
    /// Low 32 bits × low 32 bits → 64 bits, per lane.
    unsafe fn mul(self, o: Self) -> Self;
    unsafe fn and(self, o: Self) -> Self;
    /// `>> 28` per lane.
    unsafe fn shr_w(self) -> Self;
    /// `<< 1` per lane.
    unsafe fn dbl(self) -> Self;
}

impl Lanes for __m256i {
    const LANES: usize = 4;
    #[inline(always)]
    unsafe fn splat(x: u64) -> Self {
        // SAFETY: AVX2 is the caller's guarantee (as for every method below).
        unsafe { _mm256_set1_epi64x(x as i64) }
    }
    #[inline(always)]
    unsafe fn loadu(p: *const u64) -> Self {
        // SAFETY: the caller guarantees 4 readable u64 at p; unaligned load.
        unsafe { _mm256_loadu_si256(p.cast()) }
    }
    #[inline(always)]
    unsafe fn storeu(self, p: *mut u64) {
        // SAFETY: the caller guarantees 4 writable u64 at p; unaligned store.
        unsafe { _mm256_storeu_si256(p.cast(), self) }
    }
    #[inline(always)]
    unsafe fn add(self, o: Self) -> Self {
        // SAFETY: AVX2.
        unsafe { _mm256_add_epi64(self, o) }
    }
    #[inline(always)]
    unsafe fn mul(self, o: Self) -> Self {
        // SAFETY: AVX2.
        unsafe { _mm256_mul_epu32(self, o) }
    }
    #[inline(always)]
    unsafe fn and(self, o: Self) -> Self {
        // SAFETY: AVX2.
        unsafe { _mm256_and_si256(self, o) }
    }
    #[inline(always)]
    unsafe fn shr_w(self) -> Self {
        // SAFETY: AVX2.
        unsafe { _mm256_srli_epi64::<28>(self) }
    }
    #[inline(always)]
    unsafe fn dbl(self) -> Self {
        // SAFETY: AVX2.
        unsafe { _mm256_slli_epi64::<1>(self) }
    }
}

impl Lanes for __m512i {
    const LANES: usize = 8;
    #[inline(always)]
    unsafe fn splat(x: u64) -> Self {
        // SAFETY: AVX-512F is the caller's guarantee (as for every method below).
        unsafe { _mm512_set1_epi64(x as i64) }
    }
    #[inline(always)]
    unsafe fn loadu(p: *const u64) -> Self {
        // SAFETY: the caller guarantees 8 readable u64 at p; unaligned load.
        unsafe { _mm512_loadu_si512(p.cast()) }
    }
    #[inline(always)]
    unsafe fn storeu(self, p: *mut u64) {
        // SAFETY: the caller guarantees 8 writable u64 at p; unaligned store.
        unsafe { _mm512_storeu_si512(p.cast(), self) }
    }
    #[inline(always)]
    unsafe fn add(self, o: Self) -> Self {
        // SAFETY: AVX-512F.
        unsafe { _mm512_add_epi64(self, o) }
    }
    #[inline(always)]
    unsafe fn mul(self, o: Self) -> Self {
        // SAFETY: AVX-512F.
        unsafe { _mm512_mul_epu32(self, o) }
    }
    #[inline(always)]
    unsafe fn and(self, o: Self) -> Self {
        // SAFETY: AVX-512F.
        unsafe { _mm512_and_si512(self, o) }
    }
    #[inline(always)]
    unsafe fn shr_w(self) -> Self {
        // SAFETY: AVX-512F.
        unsafe { _mm512_srli_epi64::<28>(self) }
    }
    #[inline(always)]
    unsafe fn dbl(self) -> Self {
        // SAFETY: AVX-512F.
        unsafe { _mm512_slli_epi64::<1>(self) }
    }
}

/// Working storage for one group of `V` vectors of chains.
type Limbs<T, const V: usize> = [[T; V]; MAX_L];

/// Column `k` of `a·b` (or of `a²` when `b` is `None`, using `a2 = 2a`) for
/// `i ∈ lo..`, plus column `k` of `m·N` for `i ∈ lo..mhi`.
///
/// # Safety
/// The CPU supports `T`'s instruction set; `k < 2·len − 1`, `lo = max(0, k + 1 − len)`,
/// `mhi ≤ len ≤ MAX_L`, so every index below is `< len`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn column<T: Lanes, const V: usize>(
    k: usize,
    lo: usize,
    mhi: usize,
    a: &Limbs<T, V>,
    a2: &Limbs<T, V>,
    b: Option<&Limbs<T, V>>,
    m: &Limbs<T, V>,
    nn: &[u64; MAX_L],
    len: usize,
) -> [T; V] {
    debug_assert!(k < 2 * len - 1 && mhi <= len && len <= MAX_L && lo + len > k);
    // SAFETY: the feature is the caller's contract; indices: i < len and k − i < len
    // (because i ≥ lo ≥ k + 1 − len), as stated in the contract.
    unsafe {
        let zero = T::splat(0);
        let mut s = [zero; V];
        let mut u = [zero; V];
        match b {
            None => {
                // i < k − i: each off-diagonal pair once, against the doubled copy.
                for i in lo..k.div_ceil(2) {
                    let (x, y) = (a2.get_unchecked(i), a.get_unchecked(k - i));
                    for v in 0..V {
                        s[v] = s[v].add(x[v].mul(y[v]));
                    }
                }
                if k.is_multiple_of(2) {
                    let x = a.get_unchecked(k / 2);
                    for v in 0..V {
                        s[v] = s[v].add(x[v].mul(x[v]));
                    }
                }
            }
            Some(b) => {
                for i in lo..(k + 1).min(len) {
                    let (x, y) = (a.get_unchecked(i), b.get_unchecked(k - i));
                    for v in 0..V {
                        s[v] = s[v].add(x[v].mul(y[v]));
                    }
                }
            }
        }
        for i in lo..mhi {
            let nb = T::splat(*nn.get_unchecked(k - i));
            let x = m.get_unchecked(i);
            for v in 0..V {
                u[v] = u[v].add(x[v].mul(nb));
            }
        }
        for v in 0..V {
            s[v] = s[v].add(u[v]);
        }
        s
    }
}

/// Adds the carry into column `k`'s sum `t` and either picks the Montgomery digit `m_k`
/// (`k < len`, the column then divisible by 2^28) or emits result limb `k − len`.
///
/// # Safety
/// The CPU supports `T`'s instruction set; `k < 2·len − 1`, `len ≤ MAX_L`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn finish<T: Lanes, const V: usize>(
    k: usize,
    len: usize,
    t: [T; V],
    carry: &mut [T; V],
    m: &mut Limbs<T, V>,
    r: &mut Limbs<T, V>,
    n0v: T,
    mask: T,
    n_lo: T,
) {
    // SAFETY: the feature is the caller's contract; k < len ≤ MAX_L or k − len < len.
    unsafe {
        for v in 0..V {
            let t = t[v].add(carry[v]);
            if k < len {
                let mk = t.mul(n0v).and(mask);
                m[k][v] = mk;
                carry[v] = t.add(mk.mul(n_lo)).shr_w();
            } else {
                r[k - len][v] = t.and(mask);
                carry[v] = t.shr_w();
            }
        }
    }
}

/// Columns `k` and `k + 1` of `a²` (from `a2 = 2a`) and of `m·N`, in one pass that loads
/// each operand once for both columns. Column `k + 1`'s term `m_k·n_1` (for `k < len`) is
/// left to the caller, since `m_k` depends on column `k`.
///
/// # Safety
/// The CPU supports `T`'s instruction set; `k + 1 < 2·len − 1`, `len ≤ MAX_L`; all indices
/// below are then `< len` (`i ≥ lo1 = max(0, k + 2 − len)` bounds `k + 1 − i`).
#[inline(always)]
unsafe fn column2<T: Lanes, const V: usize>(
    k: usize,
    a: &Limbs<T, V>,
    a2: &Limbs<T, V>,
    m: &Limbs<T, V>,
    nn: &[u64; MAX_L],
    len: usize,
) -> ([T; V], [T; V]) {
    debug_assert!(k + 2 < 2 * len && len <= MAX_L);
    // SAFETY: see the contract.
    unsafe {
        let zero = T::splat(0);
        let (mut s0, mut s1, mut u0, mut u1) = ([zero; V], [zero; V], [zero; V], [zero; V]);
        let (lo0, lo1) = ((k + 1).saturating_sub(len), (k + 2).saturating_sub(len));
        let half0 = k.div_ceil(2);
        let mhi0 = k.min(len);
        // Column k's term below column k+1's range (only when k + 1 ≥ len).
        if lo1 > lo0 && lo0 < half0 {
            let (x, y) = (a2.get_unchecked(lo0), a.get_unchecked(k - lo0));
            for v in 0..V {
                s0[v] = s0[v].add(x[v].mul(y[v]));
            }
        }
        if lo1 < half0 {
            let mut y1 = *a.get_unchecked(k + 1 - lo1);
            for i in lo1..half0 {
                let x = a2.get_unchecked(i);
                let y0 = *a.get_unchecked(k - i);
                for v in 0..V {
                    s0[v] = s0[v].add(x[v].mul(y0[v]));
                    s1[v] = s1[v].add(x[v].mul(y1[v]));
                }
                y1 = y0;
            }
        }
        if k.is_multiple_of(2) {
            // Column k+1 has one more off-diagonal pair; column k has the diagonal.
            if half0 >= lo1 {
                let (x, y) = (a2.get_unchecked(half0), a.get_unchecked(k + 1 - half0));
                for v in 0..V {
                    s1[v] = s1[v].add(x[v].mul(y[v]));
                }
            }
            let x = a.get_unchecked(k / 2);
            for v in 0..V {
                s0[v] = s0[v].add(x[v].mul(x[v]));
            }
        } else {
            let x = a.get_unchecked(k.div_ceil(2));
            for v in 0..V {
                s1[v] = s1[v].add(x[v].mul(x[v]));
            }
        }
        // m·N: column k's extra low term, then the shared range.
        if lo1 > lo0 && lo0 < mhi0 {
            let nb = T::splat(*nn.get_unchecked(k - lo0));
            let x = m.get_unchecked(lo0);
            for v in 0..V {
                u0[v] = u0[v].add(x[v].mul(nb));
            }
        }
        if lo1 < mhi0 {
            let mut nb1 = T::splat(*nn.get_unchecked(k + 1 - lo1));
            for i in lo1..mhi0 {
                let nb0 = T::splat(*nn.get_unchecked(k - i));
                let x = m.get_unchecked(i);
                for v in 0..V {
                    u0[v] = u0[v].add(x[v].mul(nb0));
                    u1[v] = u1[v].add(x[v].mul(nb1));
                }
                nb1 = nb0;
            }
        }
        for v in 0..V {
            s0[v] = s0[v].add(u0[v]);
            s1[v] = s1[v].add(u1[v]);
        }
        (s0, s1)
    }
}

/// Column-wise Montgomery product or square of `V` vectors of chains.
///
/// `b = None` squares `a`; otherwise multiplies `a` by `b`. `len ≤ MAX_L` limbs; inputs
/// below `2N` with 28-bit limbs; output below `2N` with 28-bit limbs.
///
/// # Safety
/// The CPU supports `T`'s instruction set.
#[inline(always)]
unsafe fn mont<T: Lanes, const V: usize>(
    a: &Limbs<T, V>,
    b: Option<&Limbs<T, V>>,
    r: &mut Limbs<T, V>,
    scratch: &mut (Limbs<T, V>, Limbs<T, V>),
    nn: &[u64; MAX_L],
    n0: u64,
    len: usize,
) {
    // SAFETY (whole body): every intrinsic wrapper needs only the CPU feature, which is this
    // function's contract; indices stay below `len ≤ MAX_L` as argued per loop.
    unsafe {
        let zero = T::splat(0);
        let mask = T::splat(MASK);
        let n0v = T::splat(n0 & MASK);
        let (m, a2) = (&mut scratch.0, &mut scratch.1);
        if b.is_none() {
            for i in 0..len {
                for v in 0..V {
                    a2[i][v] = a[i][v].dbl();
                }
            }
        }
        let mut carry = [zero; V];
        let n_lo = T::splat(nn[0]);
        let n_1 = T::splat(nn[1 % len]);
        let mut k = 0;
        if b.is_none() {
            // Squaring: two columns per pass, sharing every operand load (register
            // blocking); column k+1's term m_k·n_1 waits for column k's digit.
            while k + 2 < 2 * len {
                let (t0, mut t1) = column2::<T, V>(k, a, a2, m, nn, len);
                finish::<T, V>(k, len, t0, &mut carry, m, r, n0v, mask, n_lo);
                if k < len {
                    for v in 0..V {
                        t1[v] = t1[v].add(m[k][v].mul(n_1));
                    }
                }
                finish::<T, V>(k + 1, len, t1, &mut carry, m, r, n0v, mask, n_lo);
                k += 2;
            }
        }
        // Remaining columns one at a time: for k < len choose the digit m_k that makes the
        // column divisible by 2^28; from k = len on, emit result limbs.
        while k < 2 * len - 1 {
            let (lo, mhi) = ((k + 1).saturating_sub(len), k.min(len));
            let t = column::<T, V>(k, lo, mhi, a, a2, b, m, nn, len);
            finish::<T, V>(k, len, t, &mut carry, m, r, n0v, mask, n_lo);
            k += 1;
        }
        r[len - 1] = carry;
    }
}

/// `k` squarings of one group, state in and out through `buf` (`len·V·LANES` u64,
/// limb-major).
///
/// # Safety
/// The CPU supports `T`'s instruction set.
#[inline(always)]
unsafe fn run_group<T: Lanes, const V: usize>(
    buf: &mut [u64],
    nn: &[u64; MAX_L],
    n0: u64,
    len: usize,
    k: u64,
) {
    assert!(len <= MAX_L && buf.len() >= len * V * T::LANES);
    // SAFETY: the CPU feature is this function's contract; loads and stores stay inside
    // `buf`, whose length was just checked.
    unsafe {
        let zero = T::splat(0);
        let mut a: Limbs<T, V> = [[zero; V]; MAX_L];
        let mut r: Limbs<T, V> = [[zero; V]; MAX_L];
        let mut scratch = ([[zero; V]; MAX_L], [[zero; V]; MAX_L]);
        for i in 0..len {
            for v in 0..V {
                a[i][v] = T::loadu(buf.as_ptr().add((i * V + v) * T::LANES));
            }
        }
        for _ in 0..k / 2 {
            mont::<T, V>(&a, None, &mut r, &mut scratch, nn, n0, len);
            mont::<T, V>(&r, None, &mut a, &mut scratch, nn, n0, len);
        }
        if !k.is_multiple_of(2) {
            mont::<T, V>(&a, None, &mut r, &mut scratch, nn, n0, len);
            a = r;
        }
        for i in 0..len {
            for v in 0..V {
                a[i][v].storeu(buf.as_mut_ptr().add((i * V + v) * T::LANES));
            }
        }
    }
}

/// `buf ← buf · b` (Montgomery, `b` the same for every lane), for conversions.
///
/// # Safety
/// The CPU supports `T`'s instruction set.
#[inline(always)]
unsafe fn mul_group<T: Lanes, const V: usize>(
    buf: &mut [u64],
    b: &[u64],
    nn: &[u64; MAX_L],
    n0: u64,
    len: usize,
) {
    assert!(len <= MAX_L && buf.len() >= len * V * T::LANES && b.len() >= len);
    // SAFETY: as in `run_group`.
    unsafe {
        let zero = T::splat(0);
        let mut a: Limbs<T, V> = [[zero; V]; MAX_L];
        let mut bv: Limbs<T, V> = [[zero; V]; MAX_L];
        let mut r: Limbs<T, V> = [[zero; V]; MAX_L];
        for i in 0..len {
            for v in 0..V {
                a[i][v] = T::loadu(buf.as_ptr().add((i * V + v) * T::LANES));
                bv[i][v] = T::splat(b[i]);
            }
        }
        let mut scratch = ([[zero; V]; MAX_L], [[zero; V]; MAX_L]);
        mont::<T, V>(&a, Some(&bv), &mut r, &mut scratch, nn, n0, len);
        for i in 0..len {
            for v in 0..V {
                r[i][v].storeu(buf.as_mut_ptr().add((i * V + v) * T::LANES));
            }
        }
    }
}

/// Monomorphised entry points: each `#[target_feature]` function instantiates the generic
/// kernels for its instruction set, its `V`, and the 1024/2048/3072-bit limb counts.
macro_rules! entry {
    ($run:ident, $mul:ident, $t:ty, $v:literal, $feat:literal) => {
        /// # Safety
        /// The CPU supports the named target feature.
        #[target_feature(enable = $feat)]
        unsafe fn $run(buf: &mut [u64], nn: &[u64; MAX_L], n0: u64, len: usize, k: u64) {
            // SAFETY: the feature is this function's contract; literal lengths let the
            // compiler specialise the loops for the common modulus sizes.
            unsafe {
                match len {
                    37 => run_group::<$t, $v>(buf, nn, n0, 37, k),
                    74 => run_group::<$t, $v>(buf, nn, n0, 74, k),
                    110 => run_group::<$t, $v>(buf, nn, n0, 110, k),
                    _ => run_group::<$t, $v>(buf, nn, n0, len, k),
                }
            }
        }
        /// # Safety
        /// The CPU supports the named target feature.
        #[target_feature(enable = $feat)]
        unsafe fn $mul(buf: &mut [u64], b: &[u64], nn: &[u64; MAX_L], n0: u64, len: usize) {
            // SAFETY: the feature is this function's contract.
            unsafe { mul_group::<$t, $v>(buf, b, nn, n0, len) }
        }
    };
}
entry!(run_avx2_v1, mul_avx2_v1, __m256i, 1, "avx2");
entry!(run_avx2_v2, mul_avx2_v2, __m256i, 2, "avx2");
entry!(run_avx512_v1, mul_avx512_v1, __m512i, 1, "avx512f");
entry!(run_avx512_v2, mul_avx512_v2, __m512i, 2, "avx512f");

/// A group of chains sharing the vector registers: `v` interleaved vectors.
struct Group {
    /// Limb-major lane data: `buf[(i·v + j)·lanes + lane]` is limb `i` of chain
    /// `j·lanes + lane` of this group.
    buf: Vec<u64>,
    v: usize,
    /// How many of the group's lanes hold real chains (the rest is padding).
    chains: usize,
}

/// Which vector kernel an engine runs.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Kind {
    /// AVX2, 4 lanes, 28-bit limbs.
    Avx2,
    /// AVX-512F, 8 lanes, 28-bit limbs.
    Avx512F,
    /// AVX-512 IFMA, 8 lanes, 52-bit limbs.
    Ifma,
}

/// The SIMD engine: chains in groups of `lanes·V`, lazy Montgomery form in radix `2^w`.
pub(crate) struct SimdEngine<'m> {
    m: &'m Modulus,
    kind: Kind,
    /// Limb radix in bits (28, or 52 for IFMA).
    w: u32,
    lanes: usize,
    len: usize,
    nn: Box<[u64; MAX_L]>,
    n0: u64,
    /// `R'^2 mod N` in 28-bit limbs (into the lane domain).
    r2: Vec<u64>,
    groups: Vec<Group>,
}

/// 64-bit limbs → `out.len()` limbs of `w` bits.
pub(crate) fn split(x: &[u64], out: &mut [u64], w: u32) {
    let mask = (1u64 << w) - 1;
    for (i, o) in out.iter_mut().enumerate() {
        let bit = i * w as usize;
        let (q, s) = (bit / 64, bit % 64);
        let lo = x.get(q).copied().unwrap_or(0) >> s;
        let hi = if s + w as usize > 64 && q + 1 < x.len() {
            x[q + 1] << (64 - s)
        } else {
            0
        };
        *o = (lo | hi) & mask;
    }
}

/// Limbs of `w` bits → 64-bit limbs (`out.len()` of them; the value must fit).
pub(crate) fn join(x: &[u64], out: &mut [u64], w: u32) {
    out.fill(0);
    for (i, &d) in x.iter().enumerate() {
        let bit = i * w as usize;
        let (q, s) = (bit / 64, bit % 64);
        if q < out.len() {
            out[q] |= d << s;
        }
        if s + w as usize > 64 && q + 1 < out.len() {
            out[q + 1] |= d >> (64 - s);
        }
    }
}

/// Builds the SIMD engine for `xs`, or `None` if the modulus is too large for the radix or
/// the CPU lacks the features of `kind`.
pub(crate) fn engine<'m>(
    m: &'m Modulus,
    xs: &[Element],
    kind: Kind,
) -> Option<Box<dyn Engine + 'm>> {
    let (w, max) = match kind {
        Kind::Ifma => (super::ifma::W, super::ifma::MAX_L),
        _ => (W, MAX_L),
    };
    let detected = match kind {
        Kind::Avx2 => avx2_detected(),
        Kind::Avx512F => avx512_detected(),
        Kind::Ifma => super::ifma::detected(),
    };
    let len = (m.bits() as usize + 2).div_ceil(w as usize);
    if len > max || !detected {
        return None;
    }
    let mut nn = Box::new([0u64; MAX_L]);
    split(&m.n, &mut nn[..len], w);
    // R'^2 mod N = 2^(2·w·len) mod N, by doubling (public values).
    let mut r2_64 = vec![0u64; m.limbs()];
    r2_64[0] = 1;
    for _ in 0..2 * w as usize * len {
        limbs::mod_double(&mut r2_64, &m.n);
    }
    let mut r2 = vec![0u64; len];
    split(&r2_64, &mut r2, w);
    let lanes = if kind == Kind::Avx2 { 4 } else { 8 };
    let mut e = SimdEngine {
        m,
        kind,
        w,
        lanes,
        len,
        nn,
        n0: m.n0 & ((1u64 << w) - 1),
        r2,
        groups: Vec::new(),
    };
    let mut rest = xs;
    while !rest.is_empty() {
        let v = if rest.len() > lanes { 2 } else { 1 };
        let take = rest.len().min(v * lanes);
        let (now, later) = rest.split_at(take);
        rest = later;
        e.groups.push(e.load(now, v));
    }
    Some(Box::new(e))
}

impl SimdEngine<'_> {
    fn mul(&self, buf: &mut [u64], b: &[u64], v: usize) {
        let (nn, n0, len) = (&*self.nn, self.n0, self.len);
        // SAFETY: `engine` builds a `SimdEngine` only after detecting the features that
        // `kind` names.
        unsafe {
            match (self.kind, v) {
                (Kind::Ifma, 1) => super::ifma::mul_v1(buf, b, &nn[..len], n0, len),
                (Kind::Ifma, _) => super::ifma::mul_v2(buf, b, &nn[..len], n0, len),
                (Kind::Avx512F, 1) => mul_avx512_v1(buf, b, nn, n0, len),
                (Kind::Avx512F, _) => mul_avx512_v2(buf, b, nn, n0, len),
                (Kind::Avx2, 1) => mul_avx2_v1(buf, b, nn, n0, len),
                (Kind::Avx2, _) => mul_avx2_v2(buf, b, nn, n0, len),
            }
        }
    }

    /// Canonical elements → one lane group in the lazy `R'` domain.
    fn load(&self, xs: &[Element], v: usize) -> Group {
        let (len, lanes) = (self.len, self.lanes);
        let mut buf = vec![0u64; len * v * lanes];
        let mut plain = vec![0u64; self.m.limbs()];
        let mut one = vec![0u64; self.m.limbs()];
        one[0] = 1;
        let mut digits = vec![0u64; len];
        for (c, x) in xs.iter().enumerate() {
            // Out of the 64-bit Montgomery domain: x·R·1/R = x.
            limbs::mont_mul(&mut plain, &x.limbs, &one, &self.m.n, self.m.n0);
            split(&plain, &mut digits, self.w);
            for (i, d) in digits.iter().enumerate() {
                buf[i * v * lanes + c] = *d;
            }
        }
        // Into the R' domain: x·R'^2/R' = x·R'.
        self.mul(&mut buf, &self.r2, v);
        plain.zeroize();
        Group {
            buf,
            v,
            chains: xs.len(),
        }
    }
}

impl Drop for SimdEngine<'_> {
    fn drop(&mut self) {
        // Chain values may be key material (a solved puzzle is `h^a`).
        for g in &mut self.groups {
            g.buf.zeroize();
        }
    }
}

impl Engine for SimdEngine<'_> {
    fn run(&mut self, k: u64) {
        let (len, n0) = (self.len, self.n0);
        for g in &mut self.groups {
            let nn = &*self.nn;
            // SAFETY: as in `SimdEngine::mul`.
            unsafe {
                match (self.kind, g.v) {
                    (Kind::Ifma, 1) => super::ifma::run_v1(&mut g.buf, &nn[..len], n0, len, k),
                    (Kind::Ifma, _) => super::ifma::run_v2(&mut g.buf, &nn[..len], n0, len, k),
                    (Kind::Avx512F, 1) => run_avx512_v1(&mut g.buf, nn, n0, len, k),
                    (Kind::Avx512F, _) => run_avx512_v2(&mut g.buf, nn, n0, len, k),
                    (Kind::Avx2, 1) => run_avx2_v1(&mut g.buf, nn, n0, len, k),
                    (Kind::Avx2, _) => run_avx2_v2(&mut g.buf, nn, n0, len, k),
                }
            }
        }
    }

    fn read(&self) -> Vec<Element> {
        let (len, lanes) = (self.len, self.lanes);
        let mut one = vec![0u64; len];
        one[0] = 1;
        let mut out = Vec::new();
        let mut digits = vec![0u64; len];
        let mut plain = vec![0u64; MAX_LIMBS];
        for g in &self.groups {
            let mut buf = g.buf.clone();
            // Out of the R' domain: (x·R')·1/R' = x, a value ≤ N.
            self.mul(&mut buf, &one, g.v);
            for c in 0..g.chains {
                for (i, d) in digits.iter_mut().enumerate() {
                    *d = buf[i * g.v * lanes + c];
                }
                let p = &mut plain[..self.m.limbs()];
                join(&digits, p, self.w);
                limbs::cond_sub(p, 0, &self.m.n);
                out.push(self.m.to_mont(p));
            }
            buf.zeroize();
        }
        plain.zeroize();
        out
    }
}
