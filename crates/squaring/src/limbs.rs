//! Portable multi-precision kernels on little-endian `u64` limbs (u128 products).
//!
//! Every function takes its length from the slices it is given and is `#[inline(always)]`,
//! so a caller that passes fixed-size arrays (`[u64; 32]`) gets a fully specialised,
//! unrollable copy: that is how the 1024/2048/3072-bit paths are monomorphised without
//! duplicating source. None of these functions branches on limb values.

/// Largest supported modulus, in 64-bit limbs (4096 bits).
pub(crate) const MAX_LIMBS: usize = 64;

/// `(lo, hi) = a * b + c + d` — never overflows: (2^64-1)^2 + 2(2^64-1) = 2^128 - 1.
#[inline(always)]
pub(crate) fn mac(a: u64, b: u64, c: u64, d: u64) -> (u64, u64) {
    let t = (a as u128) * (b as u128) + (c as u128) + (d as u128);
    (t as u64, (t >> 64) as u64)
}

/// `(sum, carry) = a + b + carry_in` with `carry_in` ∈ {0, 1}.
#[inline(always)]
pub(crate) fn adc(a: u64, b: u64, carry: u64) -> (u64, u64) {
    let t = (a as u128) + (b as u128) + (carry as u128);
    (t as u64, (t >> 64) as u64)
}

/// `(diff, borrow) = a - b - borrow_in` with `borrow_in` ∈ {0, 1}; borrow out ∈ {0, 1}.
#[inline(always)]
pub(crate) fn sbb(a: u64, b: u64, borrow: u64) -> (u64, u64) {
    let t = (a as u128).wrapping_sub((b as u128) + (borrow as u128));
    (t as u64, ((t >> 64) as u64) & 1)
}

/// `-n0^{-1} mod 2^64` for odd `n0` (Newton iteration, 6 steps double 1 → 64 correct bits).
pub(crate) fn neg_inv_u64(n0: u64) -> u64 {
    debug_assert!(n0 & 1 == 1);
    let mut inv: u64 = 1;
    for _ in 0..6 {
        inv = inv.wrapping_mul(2u64.wrapping_sub(n0.wrapping_mul(inv)));
    }
    inv.wrapping_neg()
}

/// Constant-time `a >= b` (same length), as 0/1.
#[inline(always)]
pub(crate) fn geq(a: &[u64], b: &[u64]) -> u64 {
    let mut borrow = 0;
    for (x, y) in a.iter().zip(b) {
        borrow = sbb(*x, *y, borrow).1;
    }
    borrow ^ 1
}

/// `r = r - n` if `(top != 0) || r >= n`, without branching: the final step of every
/// Montgomery product (whose value is `top·2^(64L) + r < 2n`).
#[inline(always)]
pub(crate) fn cond_sub(r: &mut [u64], top: u64, n: &[u64]) {
    let len = r.len();
    let mut d = [0u64; MAX_LIMBS];
    let mut borrow = 0;
    for i in 0..len {
        let (v, b) = sbb(r[i], n[i], borrow);
        d[i] = v;
        borrow = b;
    }
    // Subtract iff the full value (with `top`) did not underflow: top - borrow >= 0.
    let (_, under) = sbb(top, 0, borrow);
    let keep_mask = under.wrapping_neg(); // all ones: keep r; zero: take d
    for i in 0..len {
        r[i] = (r[i] & keep_mask) | (d[i] & !keep_mask);
    }
}

/// Montgomery product `out = a·b·2^(-64L) mod n` (CIOS, Koç–Acar–Kaliski 1996), with
/// `a, b < n` (or more generally `a·b < 2^(64L)·n`), output fully reduced below `n`.
#[inline(always)]
pub(crate) fn mont_mul(out: &mut [u64], a: &[u64], b: &[u64], n: &[u64], n0: u64) {
    let len = n.len();
    let (a, b, out) = (&a[..len], &b[..len], &mut out[..len]);
    let mut t = [0u64; MAX_LIMBS];
    let t = &mut t[..len];
    let mut t_hi = 0u64; // limb L of the running sum (limb L+1 folds into it below)
    for &ai in a {
        let mut c = 0;
        for j in 0..len {
            let (lo, hi) = mac(ai, b[j], t[j], c);
            t[j] = lo;
            c = hi;
        }
        let (s, c2) = adc(t_hi, c, 0);
        let m = t[0].wrapping_mul(n0);
        let (_, mut c) = mac(m, n[0], t[0], 0);
        for j in 1..len {
            let (lo, hi) = mac(m, n[j], t[j], c);
            t[j - 1] = lo;
            c = hi;
        }
        let (lo, c3) = adc(s, c, 0);
        t[len - 1] = lo;
        t_hi = c2 + c3;
    }
    cond_sub(t, t_hi, n);
    out.copy_from_slice(t);
}

/// Full square `p[..2L] = a^2` (off-diagonal products once, doubled, plus the diagonal).
#[inline(always)]
pub(crate) fn square_wide(p: &mut [u64], a: &[u64]) {
    let len = a.len();
    let p = &mut p[..2 * len];
    p.fill(0);
    for i in 0..len {
        let mut c = 0;
        for j in (i + 1)..len {
            let (lo, hi) = mac(a[i], a[j], p[i + j], c);
            p[i + j] = lo;
            c = hi;
        }
        p[i + len] = c;
    }
    // Double (shift left by one bit), then add the diagonal a_i^2.
    let mut top = 0;
    for x in p.iter_mut() {
        let v = *x;
        *x = (v << 1) | top;
        top = v >> 63;
    }
    let mut c = 0;
    for i in 0..len {
        let sq = (a[i] as u128) * (a[i] as u128);
        let (lo, c1) = adc(p[2 * i], sq as u64, c);
        let (hi, c2) = adc(p[2 * i + 1], (sq >> 64) as u64, c1);
        p[2 * i] = lo;
        p[2 * i + 1] = hi;
        c = c2;
    }
}

/// Montgomery reduction `out = p·2^(-64L) mod n` of a `2L`-limb `p < 2^(64L)·n`, fully
/// reduced. `p` is clobbered.
#[inline(always)]
pub(crate) fn redc(out: &mut [u64], p: &mut [u64], n: &[u64], n0: u64) {
    let len = n.len();
    let mut extra = 0u64;
    for i in 0..len {
        let m = p[i].wrapping_mul(n0);
        let mut c = 0;
        for j in 0..len {
            let (lo, hi) = mac(m, n[j], p[i + j], c);
            p[i + j] = lo;
            c = hi;
        }
        let (s, c1) = adc(p[i + len], c, extra);
        p[i + len] = s;
        extra = c1;
    }
    let r = &mut p[len..2 * len];
    cond_sub(r, extra, n);
    out[..len].copy_from_slice(r);
}

/// `r = (a + b) mod n` for `a, b < n`, constant time.
#[inline(always)]
pub(crate) fn mod_add(r: &mut [u64], a: &[u64], b: &[u64], n: &[u64]) {
    let len = n.len();
    let mut c = 0;
    for i in 0..len {
        let (s, c1) = adc(a[i], b[i], c);
        r[i] = s;
        c = c1;
    }
    cond_sub(&mut r[..len], c, n);
}

/// `r = 2r mod n` for `r < n`.
pub(crate) fn mod_double(r: &mut [u64], n: &[u64]) {
    let mut top = 0;
    for x in r.iter_mut() {
        let v = *x;
        *x = (v << 1) | top;
        top = v >> 63;
    }
    cond_sub(r, top, n);
}

/// Repeated Montgomery squaring for a fixed limb count `L` (monomorphised hot loop).
#[inline(never)]
pub(crate) fn sqr_repeat_fixed<const L: usize>(x: &mut [u64; L], n: &[u64; L], n0: u64, k: u64) {
    let mut a = *x;
    for _ in 0..k {
        let mut p = [0u64; 2 * MAX_LIMBS];
        square_wide(&mut p[..2 * L], &a);
        redc(&mut a, &mut p[..2 * L], n, n0);
    }
    *x = a;
}

/// Repeated Montgomery squaring, any limb count (runtime length).
#[inline(never)]
pub(crate) fn sqr_repeat_dyn(x: &mut [u64], n: &[u64], n0: u64, k: u64) {
    let mut a = [0u64; MAX_LIMBS];
    let a = &mut a[..n.len()];
    a.copy_from_slice(x);
    for _ in 0..k {
        let mut p = [0u64; 2 * MAX_LIMBS];
        square_wide(&mut p, a);
        let mut r = [0u64; MAX_LIMBS];
        redc(&mut r, &mut p[..2 * n.len()], n, n0);
        a.copy_from_slice(&r[..n.len()]);
    }
    x.copy_from_slice(a);
}
