//! Cross-checks of every backend against GMP (`rug`): arithmetic, exponentiation, the
//! sequential-squaring solver (single, checkpointed, batched), cancellation, and decoding.

use std::ops::ControlFlow;

use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use rug::Integer;
use rug::integer::Order;
use veil_squaring::{
    ArithError, Backend, Cancelled, Element, FixedBase, Modulus, PROGRESS_EVERY, square_repeated,
    square_repeated_batch, square_repeated_checkpointed,
};

/// The RSA Factoring Challenge's RSA-2048 modulus (RSA Laboratories, 1991).
const RSA2048: &str = "25195908475657893494027183240048398571429282126204032027777137836043662020707595556264018525880784406918290641249515082189298559149176184502808489120072844992687392807287776735971418347270261896375014971824691165077613379859095700097330459748808428401797429100642458691817195118746121515172654632282216869987549182422433637259085141865462043576798423387184774447920739934236584823824281198163815010674810451660377306056201619676256133844143603833904414952634432190114657544454178424020924616515723350778707749817125772467962926386356373289912154831438167899885040445364023527381951378636564391212010397122822120720357";

fn rsa2048() -> Integer {
    RSA2048.parse().unwrap()
}

fn bytes(x: &Integer) -> Vec<u8> {
    x.to_digits::<u8>(Order::Msf)
}

fn int(b: &[u8]) -> Integer {
    Integer::from_digits(b, Order::Msf)
}

fn modulus(n: &Integer) -> Modulus {
    Modulus::from_be_bytes(&bytes(n)).unwrap()
}

fn elem(m: &Modulus, x: &Integer) -> Element {
    m.element(&bytes(x)).unwrap()
}

fn val(m: &Modulus, e: &Element) -> Integer {
    let b = m.to_be_bytes_of(e);
    assert_eq!(b.len(), m.byte_len());
    int(&b)
}

/// A random integer of exactly `bits` bits (top bit set).
fn rand_bits(rng: &mut ChaCha20Rng, bits: u32) -> Integer {
    let nbytes = bits.div_ceil(8) as usize;
    let mut b = vec![0u8; nbytes];
    rng.fill(&mut b[..]);
    let mut x = int(&b);
    x.keep_bits_mut(bits);
    x.set_bit(bits - 1, true);
    x
}

fn rand_odd_modulus(rng: &mut ChaCha20Rng, bits: u32) -> Integer {
    let mut n = rand_bits(rng, bits);
    n.set_bit(0, true);
    n
}

/// A random value below `n`.
fn rand_below(rng: &mut ChaCha20Rng, n: &Integer) -> Integer {
    let mut b = vec![0u8; n.significant_bits() as usize / 8 + 8];
    rng.fill(&mut b[..]);
    int(&b) % n
}

fn gmp_square_repeated(x: &Integer, t: u64, n: &Integer) -> Integer {
    let e = Integer::from(1) << (t as u32);
    x.clone().pow_mod(&e, n).unwrap()
}

fn no_progress() -> impl FnMut(u64) -> ControlFlow<()> {
    |_| ControlFlow::Continue(())
}

/// Squaring and multiplication, all backends, one random modulus of `bits` bits.
fn check_size(seed: u64, bits: u32) {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let n = rand_odd_modulus(&mut rng, bits);
    let m = modulus(&n);
    assert_eq!(m.bits(), bits);
    assert_eq!(int(&m.to_be_bytes()), n);
    let x = rand_below(&mut rng, &n);
    let y = rand_below(&mut rng, &n);
    let (ex, ey) = (elem(&m, &x), elem(&m, &y));
    assert_eq!(val(&m, &ex), x);
    assert_eq!(val(&m, &m.mul(&ex, &ey)), Integer::from(&x * &y) % &n);
    assert_eq!(val(&m, &m.square(&ex)), Integer::from(&x * &x) % &n);
    assert_eq!(val(&m, &m.add(&ex, &ey)), Integer::from(&x + &y) % &n);
    let t = rng.gen_range(0..40u64);
    let want = gmp_square_repeated(&x, t, &n);
    for b in Backend::available() {
        let got = square_repeated(&m, &ex, t, b, &mut no_progress()).unwrap();
        assert_eq!(val(&m, &got), want, "backend {b:?}, {bits} bits, t = {t}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn all_backends_match_gmp_1024(seed in any::<u64>()) { check_size(seed, 1024); }

    #[test]
    fn all_backends_match_gmp_2048(seed in any::<u64>()) { check_size(seed, 2048); }

    #[test]
    fn all_backends_match_gmp_3072(seed in any::<u64>()) { check_size(seed, 3072); }

    #[test]
    fn all_backends_match_gmp_odd_sizes(seed in any::<u64>(), bits in 2u32..=4096) {
        check_size(seed, bits.max(2));
    }
}

#[test]
fn rsa2048_all_backends_and_edges() {
    let n = rsa2048();
    assert_eq!(n.significant_bits(), 2048);
    let m = modulus(&n);
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let r = rand_below(&mut rng, &n);
    let edges = [
        Integer::ZERO,
        Integer::from(1),
        Integer::from(2),
        Integer::from(&n - 1),
        r,
    ];
    for x in &edges {
        let ex = elem(&m, x);
        for t in [0u64, 1, 2, 1000] {
            let want = gmp_square_repeated(x, t, &n);
            for b in Backend::available() {
                let got = square_repeated(&m, &ex, t, b, &mut no_progress()).unwrap();
                assert_eq!(val(&m, &got), want, "backend {b:?}, t = {t}");
            }
        }
    }
}

#[test]
fn element_rejects_out_of_range_and_long() {
    let n = rsa2048();
    let m = modulus(&n);
    assert_eq!(m.element(&bytes(&n)).unwrap_err(), ArithError::OutOfRange);
    assert_eq!(
        m.element(&bytes(&Integer::from(&n + 1))).unwrap_err(),
        ArithError::OutOfRange
    );
    assert_eq!(m.element(&[0xff; 256]).unwrap_err(), ArithError::OutOfRange);
    assert_eq!(
        m.element(&[0u8; 257]).unwrap_err(),
        ArithError::TooLong { len: 257, max: 256 }
    );
    // N − 1 and short encodings are fine.
    assert_eq!(
        val(&m, &elem(&m, &Integer::from(&n - 1))),
        Integer::from(&n - 1)
    );
    assert_eq!(val(&m, &m.element(&[5]).unwrap()), 5);
    assert_eq!(val(&m, &m.element(&[]).unwrap()), 0);
}

#[test]
fn modulus_validation() {
    assert_eq!(
        Modulus::from_be_bytes(&[]).unwrap_err(),
        ArithError::ModulusTooSmall
    );
    assert_eq!(
        Modulus::from_be_bytes(&[0, 0]).unwrap_err(),
        ArithError::ModulusTooSmall
    );
    assert_eq!(
        Modulus::from_be_bytes(&[1]).unwrap_err(),
        ArithError::ModulusTooSmall
    );
    assert_eq!(
        Modulus::from_be_bytes(&[2]).unwrap_err(),
        ArithError::EvenModulus
    );
    assert_eq!(
        Modulus::from_be_bytes(&[1, 0]).unwrap_err(),
        ArithError::EvenModulus
    );
    let mut big = vec![0xffu8; 513];
    big[0] = 1;
    assert_eq!(
        Modulus::from_be_bytes(&big).unwrap_err(),
        ArithError::ModulusTooLarge { bits: 4097 }
    );
    let m = Modulus::from_be_bytes(&[0xff; 512]).unwrap();
    assert_eq!((m.bits(), m.byte_len(), m.limbs()), (4096, 512, 64));
    let m = Modulus::from_be_bytes(&[0, 0, 3]).unwrap();
    assert_eq!((m.bits(), m.byte_len()), (2, 1));
    assert_eq!(m.to_be_bytes(), vec![3]);
}

#[test]
fn encoding_fixture() {
    // N = 2^64 + 13 (65 bits, 9 bytes); x = 0x0102 encodes as 9 big-endian bytes.
    let m = Modulus::from_be_bytes(&[1, 0, 0, 0, 0, 0, 0, 0, 13]).unwrap();
    let x = m.element(&[1, 2]).unwrap();
    assert_eq!(m.to_be_bytes_of(&x), vec![0, 0, 0, 0, 0, 0, 0, 1, 2]);
    // 2^64 + 12 = N − 1; squared it is 1.
    let y = m.element(&[1, 0, 0, 0, 0, 0, 0, 0, 12]).unwrap();
    assert_eq!(
        m.to_be_bytes_of(&m.square(&y)),
        vec![0, 0, 0, 0, 0, 0, 0, 0, 1]
    );
    assert_eq!(m.to_be_bytes_of(&m.one()), vec![0, 0, 0, 0, 0, 0, 0, 0, 1]);
}

#[test]
fn element_reduced_matches_gmp() {
    let mut rng = ChaCha20Rng::seed_from_u64(11);
    for bits in [3u32, 64, 65, 1024, 2048, 3000] {
        let n = rand_odd_modulus(&mut rng, bits);
        let m = modulus(&n);
        for len in [
            0usize,
            1,
            7,
            m.byte_len(),
            m.byte_len() + 1,
            3 * m.byte_len() + 5,
        ] {
            let mut b = vec![0u8; len];
            rng.fill(&mut b[..]);
            assert_eq!(
                val(&m, &m.element_reduced(&b)),
                int(&b) % &n,
                "{bits} bits, {len} bytes"
            );
        }
    }
}

#[test]
fn equality_is_by_value() {
    let n = rsa2048();
    let m = modulus(&n);
    let a = m.element(&[9]).unwrap();
    let b = m.mul(&m.element(&[3]).unwrap(), &m.element(&[3]).unwrap());
    assert_eq!(a, b);
    assert!(bool::from(m.ct_eq(&a, &b)));
    assert_ne!(a, m.one());
}

#[test]
fn exponentiation_matches_gmp() {
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    for bits in [256u32, 1024, 2048, 2047, 3072] {
        let n = rand_odd_modulus(&mut rng, bits);
        let m = modulus(&n);
        let g = rand_below(&mut rng, &n);
        let eg = elem(&m, &g);
        let fb = FixedBase::new(&m, &eg, 300);
        for elen in [0usize, 1, 2, 17, 37, 38, 40, 64] {
            let mut e = vec![0u8; elen];
            rng.fill(&mut e[..]);
            let want = g.clone().pow_mod(&int(&e), &n).unwrap();
            assert_eq!(
                val(&m, &m.pow_vartime(&eg, &e)),
                want,
                "vartime {bits}/{elen}"
            );
            assert_eq!(val(&m, &m.pow_ct(&eg, &e)), want, "ct {bits}/{elen}");
            assert_eq!(
                val(&m, &fb.pow_ct(&m, &e)),
                want,
                "fixed base {bits}/{elen}"
            );
        }
        // Zero exponent bytes and all-ones exponents.
        for e in [vec![0u8; 5], vec![0xff; 40]] {
            let want = g.clone().pow_mod(&int(&e), &n).unwrap();
            assert_eq!(val(&m, &m.pow_vartime(&eg, &e)), want);
            assert_eq!(val(&m, &m.pow_ct(&eg, &e)), want);
            assert_eq!(val(&m, &fb.pow_ct(&m, &e)), want);
        }
    }
}

#[test]
fn batch_equals_per_chain_for_ragged_lane_counts() {
    let n = rsa2048();
    let m = modulus(&n);
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let t = 77;
    for count in [1usize, 3, 9, 17] {
        let xs: Vec<Integer> = (0..count).map(|_| rand_below(&mut rng, &n)).collect();
        let es: Vec<Element> = xs.iter().map(|x| elem(&m, x)).collect();
        for b in Backend::available() {
            let got = square_repeated_batch(&m, &es, t, b, &mut no_progress()).unwrap();
            assert_eq!(got.len(), count);
            for (k, x) in xs.iter().enumerate() {
                let single = square_repeated(&m, &es[k], t, Backend::Portable, &mut no_progress());
                assert_eq!(got[k], single.unwrap(), "{b:?}, {count} chains, chain {k}");
                assert_eq!(val(&m, &got[k]), gmp_square_repeated(x, t, &n));
            }
        }
    }
    for b in Backend::available() {
        assert!(
            square_repeated_batch(&m, &[], 5, b, &mut no_progress())
                .unwrap()
                .is_empty()
        );
    }
}

#[test]
fn batch_on_small_and_large_moduli() {
    let mut rng = ChaCha20Rng::seed_from_u64(6);
    for bits in [2u32, 53, 64, 416, 1000, 1024, 3072, 3554, 3555, 4096] {
        let n = rand_odd_modulus(&mut rng, bits);
        let m = modulus(&n);
        let xs: Vec<Integer> = (0..10).map(|_| rand_below(&mut rng, &n)).collect();
        let es: Vec<Element> = xs.iter().map(|x| elem(&m, x)).collect();
        for b in Backend::available() {
            let got = square_repeated_batch(&m, &es, 20, b, &mut no_progress()).unwrap();
            for (k, x) in xs.iter().enumerate() {
                assert_eq!(
                    val(&m, &got[k]),
                    gmp_square_repeated(x, 20, &n),
                    "{b:?} {bits}"
                );
            }
        }
    }
}

#[test]
fn progress_reports_and_cancellation() {
    let n = rsa2048();
    let m = modulus(&n);
    let x = m.element(&[3]).unwrap();
    let t = 2 * PROGRESS_EVERY + 5;
    for b in Backend::available() {
        // Full run: reports at every PROGRESS_EVERY and at the end.
        let mut seen = Vec::new();
        let got = square_repeated(&m, &x, t, b, &mut |d| {
            seen.push(d);
            ControlFlow::Continue(())
        })
        .unwrap();
        assert_eq!(seen, vec![PROGRESS_EVERY, 2 * PROGRESS_EVERY, t], "{b:?}");
        assert_eq!(val(&m, &got), gmp_square_repeated(&Integer::from(3), t, &n));
        // Cancel at the first report.
        let mut calls = 0;
        let r = square_repeated(&m, &x, t, b, &mut |_| {
            calls += 1;
            ControlFlow::Break(())
        });
        assert_eq!(r.unwrap_err(), Cancelled);
        assert_eq!(calls, 1);
        let r = square_repeated_batch(&m, &[x.clone(), x.clone()], t, b, &mut |d| {
            if d >= PROGRESS_EVERY {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        });
        assert_eq!(r.unwrap_err(), Cancelled);
    }
}

#[test]
fn checkpoints_are_the_right_powers() {
    let n = rsa2048();
    let m = modulus(&n);
    let mut rng = ChaCha20Rng::seed_from_u64(9);
    let x = rand_below(&mut rng, &n);
    let ex = elem(&m, &x);
    for b in Backend::available() {
        for (t, every) in [(100u64, 7u64), (98, 7), (5, 10), (0, 3), (12, 1)] {
            let (y, cps) =
                square_repeated_checkpointed(&m, &ex, t, every, b, &mut no_progress()).unwrap();
            assert_eq!(val(&m, &y), gmp_square_repeated(&x, t, &n));
            assert_eq!(cps.len() as u64, t / every + 1, "{b:?} t={t} every={every}");
            for (k, cp) in cps.iter().enumerate() {
                assert_eq!(val(&m, cp), gmp_square_repeated(&x, k as u64 * every, &n));
            }
        }
        let (_, cps) = square_repeated_checkpointed(&m, &ex, 10, 0, b, &mut no_progress()).unwrap();
        assert_eq!(cps, vec![ex.clone()]);
    }
}

#[test]
fn all_backends_match_gmp_at_limb_boundaries() {
    // Sizes around every radix boundary: 28-bit and 52-bit lane limbs, 64-bit words, the
    // 8-limb vector width of the IFMA single-chain kernel, and the 28-bit kernels' limit.
    let sizes = [
        2u32, 3, 8, 26, 27, 28, 50, 51, 52, 53, 63, 64, 65, 102, 414, 415, 416, 417, 510, 512,
        1024, 1026, 1027, 2046, 2047, 2048, 2049, 3072, 3554, 3555, 4094, 4095, 4096,
    ];
    for (k, bits) in sizes.into_iter().enumerate() {
        check_size(1000 + k as u64, bits);
    }
}
