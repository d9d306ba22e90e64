//! Scalar Montgomery squaring with `MULX` (BMI2) and the two independent carry chains of
//! `ADCX`/`ADOX` (ADX), in inline assembly.
//!
//! The square is computed as in the portable path — off-diagonal triangle, doubled, plus the
//! diagonal, then word-by-word Montgomery reduction — but every row operation
//! `r[0..n] += u[0..n]·v` runs in an assembly loop where the low halves are added with the
//! carry flag chain (`ADCX`) and the previous row's limbs with the overflow flag chain
//! (`ADOX`), so the two additions per product do not serialise on one flag. This is the
//! technique of Intel's white paper "New Instructions Supporting Large Integer Arithmetic on
//! Intel Architecture Processors" (Gopal et al., 2012). Only `rdx`, `rcx` and a few scratch
//! registers are used; no instruction depends on limb values for its timing or control flow
//! (the loop counts depend on the public limb count only).

use core::arch::asm;

use crate::limbs::{MAX_LIMBS, adc, cond_sub};

/// Whether the CPU has BMI2 (`MULX`) and ADX (`ADCX`/`ADOX`).
pub(crate) fn detected() -> bool {
    std::is_x86_feature_detected!("bmi2") && std::is_x86_feature_detected!("adx")
}

/// `r[0..n] += u[0..n]·v`, returning the carry limb.
///
/// # Safety
/// The CPU supports BMI2 and ADX; `r` and `u` are valid for `n` limbs (reads of both,
/// writes of `r`) and may not overlap unless equal.
#[inline(always)]
unsafe fn addmul_1(r: *mut u64, u: *const u64, n: usize, v: u64) -> u64 {
    let carry: u64;
    // SAFETY: the caller guarantees the pointers cover `n` limbs and the CPU features; the
    // loops read u[0..n], read and write r[0..n], and touch no other memory or the stack.
    unsafe {
        asm!(
            "mov r11, rcx",
            "shr r11, 2",
            "and ecx, 3",
            // r10 = carry limb = 0; xor also clears CF and OF for the two chains.
            "xor r10d, r10d",
            // n mod 4 single steps (jrcxz/lea/mov/jmp leave CF and OF alone).
            "2:",
            "jrcxz 3f",
            "mulx r9, r8, qword ptr [rsi]",
            "adcx r8, r10",
            "adox r8, qword ptr [rdi]",
            "mov qword ptr [rdi], r8",
            "mov r10, r9",
            "lea rsi, [rsi + 8]",
            "lea rdi, [rdi + 8]",
            "lea rcx, [rcx - 1]",
            "jmp 2b",
            "3:",
            "mov rcx, r11",
            // floor(n / 4) steps of four limbs.
            "4:",
            "jrcxz 5f",
            "mulx r9, r8, qword ptr [rsi]",
            "adcx r8, r10",
            "adox r8, qword ptr [rdi]",
            "mov qword ptr [rdi], r8",
            "mulx r10, r8, qword ptr [rsi + 8]",
            "adcx r8, r9",
            "adox r8, qword ptr [rdi + 8]",
            "mov qword ptr [rdi + 8], r8",
            "mulx r9, r8, qword ptr [rsi + 16]",
            "adcx r8, r10",
            "adox r8, qword ptr [rdi + 16]",
            "mov qword ptr [rdi + 16], r8",
            "mulx r10, r8, qword ptr [rsi + 24]",
            "adcx r8, r9",
            "adox r8, qword ptr [rdi + 24]",
            "mov qword ptr [rdi + 24], r8",
            "lea rsi, [rsi + 32]",
            "lea rdi, [rdi + 32]",
            "lea rcx, [rcx - 1]",
            "jmp 4b",
            "5:",
            // Fold both pending carries into the top limb (cannot overflow: the full value
            // r + u·v < 2^(64(n+1))).
            "mov r8d, 0",
            "adcx r10, r8",
            "adox r10, r8",
            inout("rcx") n => _,
            inout("rsi") u => _,
            inout("rdi") r => _,
            in("rdx") v,
            out("r8") _,
            out("r9") _,
            inout("r10") 0u64 => carry,
            out("r11") _,
            options(nostack),
        );
    }
    carry
}

/// `r[0..8q] += u[0..8q]·v` (eight limbs per loop iteration), returning the carry limb.
///
/// # Safety
/// As for [`addmul_1`], with `n = 8q`, `q ≥ 1`.
#[inline(always)]
unsafe fn addmul_1_x8(r: *mut u64, u: *const u64, q: usize, v: u64) -> u64 {
    let carry: u64;
    // SAFETY: as in `addmul_1`: reads u[0..8q], reads and writes r[0..8q], nothing else.
    unsafe {
        asm!(
            "xor r10d, r10d",
            "2:",
            "mulx r9, r8, qword ptr [rsi]",
            "adcx r8, r10",
            "adox r8, qword ptr [rdi]",
            "mov qword ptr [rdi], r8",
            "mulx r10, r8, qword ptr [rsi + 8]",
            "adcx r8, r9",
            "adox r8, qword ptr [rdi + 8]",
            "mov qword ptr [rdi + 8], r8",
            "mulx r9, r8, qword ptr [rsi + 16]",
            "adcx r8, r10",
            "adox r8, qword ptr [rdi + 16]",
            "mov qword ptr [rdi + 16], r8",
            "mulx r10, r8, qword ptr [rsi + 24]",
            "adcx r8, r9",
            "adox r8, qword ptr [rdi + 24]",
            "mov qword ptr [rdi + 24], r8",
            "mulx r9, r8, qword ptr [rsi + 32]",
            "adcx r8, r10",
            "adox r8, qword ptr [rdi + 32]",
            "mov qword ptr [rdi + 32], r8",
            "mulx r10, r8, qword ptr [rsi + 40]",
            "adcx r8, r9",
            "adox r8, qword ptr [rdi + 40]",
            "mov qword ptr [rdi + 40], r8",
            "mulx r9, r8, qword ptr [rsi + 48]",
            "adcx r8, r10",
            "adox r8, qword ptr [rdi + 48]",
            "mov qword ptr [rdi + 48], r8",
            "mulx r10, r8, qword ptr [rsi + 56]",
            "adcx r8, r9",
            "adox r8, qword ptr [rdi + 56]",
            "mov qword ptr [rdi + 56], r8",
            "lea rsi, [rsi + 64]",
            "lea rdi, [rdi + 64]",
            "lea rcx, [rcx - 1]",
            "jrcxz 3f",
            "jmp 2b",
            "3:",
            "mov r8d, 0",
            "adcx r10, r8",
            "adox r10, r8",
            inout("rcx") q => _,
            inout("rsi") u => _,
            inout("rdi") r => _,
            in("rdx") v,
            out("r8") _,
            out("r9") _,
            inout("r10") 0u64 => carry,
            options(nostack),
        );
    }
    carry
}

/// One Montgomery squaring `a ← a^2·2^(-64L) mod n`, fully reduced.
///
/// # Safety
/// The CPU supports BMI2 and ADX.
#[inline(always)]
unsafe fn mont_sqr(a: &mut [u64], n: &[u64], n0: u64) {
    let len = n.len();
    let mut p = [0u64; 2 * MAX_LIMBS];
    let pp = p.as_mut_ptr();
    // Off-diagonal triangle: p[2i+1 .. i+L] += a_i · a[i+1 .. L], carry to p[i+L].
    for i in 0..len.saturating_sub(1) {
        // SAFETY: 2i+1 + (L-1-i) = i+L ≤ 2L-1 < 2·MAX_LIMBS and i+1 + (L-1-i) = L: both
        // ranges are in bounds; the CPU features are the caller's guarantee.
        let c = unsafe { addmul_1(pp.add(2 * i + 1), a.as_ptr().add(i + 1), len - 1 - i, a[i]) };
        p[i + len] = c;
    }
    // Double, then add the diagonal.
    let mut top = 0;
    for x in p[..2 * len].iter_mut() {
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
    // SAFETY: the CPU features are this function's contract.
    unsafe { redc(&mut p, a, n, n0) };
}

/// Word-by-word Montgomery reduction `out = p·2^(-64L) mod n` of `p[..2L] < 2^(64L)·n`,
/// fully reduced; `p` is clobbered.
///
/// # Safety
/// The CPU supports BMI2 and ADX.
#[inline(always)]
unsafe fn redc(p: &mut [u64; 2 * MAX_LIMBS], out: &mut [u64], n: &[u64], n0: u64) {
    let len = n.len();
    let pp = p.as_mut_ptr();
    let mut extra = 0;
    for i in 0..len {
        let m = p[i].wrapping_mul(n0);
        // SAFETY: p[i .. i+L] and n[0 .. L] are in bounds (L ≤ MAX_LIMBS); features as
        // above.
        let c = unsafe {
            if len.is_multiple_of(8) {
                addmul_1_x8(pp.add(i), n.as_ptr(), len / 8, m)
            } else {
                addmul_1(pp.add(i), n.as_ptr(), len, m)
            }
        };
        let (s, c1) = adc(p[i + len], c, extra);
        p[i + len] = s;
        extra = c1;
    }
    cond_sub(&mut p[len..2 * len], extra, n);
    out[..len].copy_from_slice(&p[len..2 * len]);
}

/// Montgomery product `out = a·b·2^(-64L) mod n` (`a·b < 2^(64L)·n`), fully reduced: the
/// full product by `MULX`/`ADX` rows, then [`redc`].
///
/// # Safety
/// The CPU supports BMI2 and ADX; `a`, `b`, `out` have at least `n.len()` limbs.
#[target_feature(enable = "bmi2,adx")]
unsafe fn mont_mul_raw(out: &mut [u64], a: &[u64], b: &[u64], n: &[u64], n0: u64) {
    let len = n.len();
    assert!(len <= MAX_LIMBS && a.len() >= len && b.len() >= len && out.len() >= len);
    let mut p = [0u64; 2 * MAX_LIMBS];
    let pp = p.as_mut_ptr();
    for i in 0..len {
        // SAFETY: p[i .. i+L] and b[0 .. L] are in bounds (checked above); row i's carry
        // lands in p[i+L], which no earlier row wrote.
        let c = unsafe {
            if len.is_multiple_of(8) {
                addmul_1_x8(pp.add(i), b.as_ptr(), len / 8, a[i])
            } else {
                addmul_1(pp.add(i), b.as_ptr(), len, a[i])
            }
        };
        p[i + len] = c;
    }
    // SAFETY: features as above.
    unsafe { redc(&mut p, out, n, n0) };
}

/// Montgomery product with the MULX/ADX kernels; panics if the CPU lacks BMI2 or ADX
/// (callers check [`detected`]).
pub(crate) fn mont_mul(out: &mut [u64], a: &[u64], b: &[u64], n: &[u64], n0: u64) {
    assert!(
        detected(),
        "MULX/ADX backend used on a CPU without BMI2/ADX"
    );
    // SAFETY: BMI2 and ADX were detected above; lengths are checked inside.
    unsafe { mont_mul_raw(out, a, b, n, n0) }
}

/// `k` Montgomery squarings of `a` (length `L`), monomorphised by the caller through `L`.
///
/// # Safety
/// The CPU supports BMI2 and ADX.
#[target_feature(enable = "bmi2,adx")]
unsafe fn repeat_fixed<const L: usize>(a: &mut [u64; L], n: &[u64; L], n0: u64, k: u64) {
    for _ in 0..k {
        // SAFETY: forwarded from this function's contract.
        unsafe { mont_sqr(a, n, n0) };
    }
}

/// `k` Montgomery squarings of `a`, any length.
///
/// # Safety
/// The CPU supports BMI2 and ADX.
#[target_feature(enable = "bmi2,adx")]
unsafe fn repeat_dyn(a: &mut [u64], n: &[u64], n0: u64, k: u64) {
    for _ in 0..k {
        // SAFETY: forwarded from this function's contract.
        unsafe { mont_sqr(a, n, n0) };
    }
}

/// `x ← x^(2^k)` in Montgomery form (`x.len() == n.len()`), MULX/ADX kernels; panics if
/// the CPU lacks BMI2 or ADX (callers check [`detected`]).
pub(crate) fn square_repeat(x: &mut [u64], n: &[u64], n0: u64, k: u64) {
    assert!(
        detected(),
        "MULX/ADX backend used on a CPU without BMI2/ADX"
    );
    assert_eq!(x.len(), n.len());
    macro_rules! fixed {
        ($l:literal) => {{
            // The lengths were just matched, so the conversions cannot fail.
            let xa: &mut [u64; $l] = x.try_into().expect("length matched");
            let na: &[u64; $l] = n.try_into().expect("length matched");
            // SAFETY: BMI2 and ADX were detected above.
            unsafe { repeat_fixed::<$l>(xa, na, n0, k) }
        }};
    }
    match x.len() {
        16 => fixed!(16),
        32 => fixed!(32),
        48 => fixed!(48),
        // SAFETY: BMI2 and ADX were detected above.
        _ => unsafe { repeat_dyn(x, n, n0, k) },
    }
}
