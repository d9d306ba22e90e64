//! `timelock/square/*`: 2048-bit sequential modular squaring (RSA-2048 modulus), every
//! available backend against GMP in the same run.
//!
//! Each benchmark's reported time is **per squaring** (per chain for the batch benchmarks):
//! an iteration runs `K` squarings of each chain and the measured time is divided by
//! `K·chains` before criterion sees it. `timelock/square/gmp` is the peer: GMP's `pow_mod`
//! with exponent `2^K`, which performs `K` squarings.
//!
//! `timelock/modexp/*` measures the exponentiations around the puzzle (secret-exponent
//! `pow_ct` and `FixedBase::pow_ct`, public-exponent `pow_vartime`) against GMP's `pow_mod`
//! (which is not constant time).
//!
//! `cargo bench -p veil-benches --bench timelock -- timelock/square`

use std::hint::black_box;
use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use rug::Integer;
use rug::integer::Order;
use veil_squaring::{Backend, Element, FixedBase, Modulus, square_repeated, square_repeated_batch};

/// The RSA Factoring Challenge's RSA-2048 modulus.
const RSA2048: &str = "25195908475657893494027183240048398571429282126204032027777137836043662020707595556264018525880784406918290641249515082189298559149176184502808489120072844992687392807287776735971418347270261896375014971824691165077613379859095700097330459748808428401797429100642458691817195118746121515172654632282216869987549182422433637259085141865462043576798423387184774447920739934236584823824281198163815010674810451660377306056201619676256133844143603833904414952634432190114657544454178424020924616515723350778707749817125772467962926386356373289912154831438167899885040445364023527381951378636564391212010397122822120720357";

/// Squarings per iteration.
const K: u64 = 2000;

/// Runs `f` (which performs `per_iter` squarings) `iters` times; returns time per squaring.
fn per_squaring(iters: u64, per_iter: u64, mut f: impl FnMut()) -> Duration {
    let start = Instant::now();
    for _ in 0..iters {
        f();
    }
    start.elapsed() / (per_iter as u32)
}

fn square(c: &mut Criterion) {
    let n: Integer = RSA2048.parse().expect("constant is a valid integer");
    let m = Modulus::from_be_bytes(&n.to_digits::<u8>(Order::Msf)).expect("RSA-2048 is odd");
    let x = Integer::from(0x1234_5678_9abc_def1u64) * Integer::from(&n >> 100) % &n;
    let ex = m.element(&x.to_digits::<u8>(Order::Msf)).expect("x < N");
    let xs: Vec<Element> = (0..16u8)
        .map(|i| m.element_reduced(&[i, 7, 3, 1, 9, 2]))
        .collect();
    let exp = Integer::from(1) << (K as u32);

    let mut g = c.benchmark_group("timelock/square");
    g.sample_size(20).warm_up_time(Duration::from_millis(500));
    g.measurement_time(Duration::from_secs(3));

    g.bench_function("gmp", |b| {
        b.iter_custom(|iters| {
            per_squaring(iters, K, || {
                black_box(x.clone().pow_mod(&exp, &n).expect("modulus is nonzero"));
            })
        })
    });
    for backend in Backend::available() {
        g.bench_function(format!("single/backend={}", backend.name()), |b| {
            b.iter_custom(|iters| {
                per_squaring(iters, K, || {
                    let r =
                        square_repeated(&m, &ex, K, backend, &mut |_| ControlFlow::Continue(()));
                    black_box(r.expect("never cancelled"));
                })
            })
        });
    }
    for lanes in [8usize, 16] {
        for backend in Backend::available() {
            let chains = &xs[..lanes];
            g.bench_function(
                format!("batch/lanes={lanes}/backend={}", backend.name()),
                |b| {
                    b.iter_custom(|iters| {
                        per_squaring(iters, K * lanes as u64, || {
                            let r = square_repeated_batch(&m, chains, K, backend, &mut |_| {
                                ControlFlow::Continue(())
                            });
                            black_box(r.expect("never cancelled"));
                        })
                    })
                },
            );
        }
    }
    g.finish();
}

/// `timelock/modexp/*`: the exponentiations around the puzzle (encryption `g^a`, `h^a` with
/// a secret exponent; Wesolowski verification with a 128-bit public one), GMP as the peer.
fn modexp(c: &mut Criterion) {
    let n: Integer = RSA2048.parse().expect("constant is a valid integer");
    let m = Modulus::from_be_bytes(&n.to_digits::<u8>(Order::Msf)).expect("RSA-2048 is odd");
    let g = Integer::from(0x0fed_cba9_8765_4321u64) * Integer::from(&n >> 70) % &n;
    let eg = m.element(&g.to_digits::<u8>(Order::Msf)).expect("g < N");
    let fb = FixedBase::new(&m, &eg, 2304);
    let mut g_ = c.benchmark_group("timelock/modexp");
    g_.sample_size(20).warm_up_time(Duration::from_millis(500));
    g_.measurement_time(Duration::from_secs(3));
    for bits in [128usize, 2304] {
        let e: Vec<u8> = (0..bits / 8)
            .map(|i| (i as u8).wrapping_mul(151) ^ 0x5a)
            .collect();
        let ei = Integer::from_digits(&e, Order::Msf);
        g_.bench_function(format!("gmp/exp_bits={bits}"), |b| {
            b.iter(|| black_box(g.clone().pow_mod(&ei, &n).expect("modulus is nonzero")))
        });
        g_.bench_function(format!("pow_vartime/exp_bits={bits}"), |b| {
            b.iter(|| black_box(m.pow_vartime(&eg, &e)))
        });
        g_.bench_function(format!("pow_ct/exp_bits={bits}"), |b| {
            b.iter(|| black_box(m.pow_ct(&eg, &e)))
        });
        g_.bench_function(format!("fixed_base_pow_ct/exp_bits={bits}"), |b| {
            b.iter(|| black_box(fb.pow_ct(&m, &e)))
        });
    }
    g_.finish();
}

criterion_group!(benches, square, modexp);
criterion_main!(benches);
