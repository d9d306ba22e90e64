//! Prints, in one run, the median time per 2048-bit modular squaring for GMP (`pow_mod` with
//! exponent `2^k`) and for every available backend (one chain, and batches of 8 and 16
//! chains), the ratios against GMP, and the detected CPU features.
//!
//! `cargo run --release -p veil-squaring --example ratio [-- <squarings per run> <runs>]`

use std::hint::black_box;
use std::ops::ControlFlow;
use std::time::Instant;

use rug::Integer;
use rug::integer::Order;
use veil_squaring::{Backend, Element, Modulus, square_repeated, square_repeated_batch};

/// The RSA Factoring Challenge's RSA-2048 modulus.
const RSA2048: &str = "25195908475657893494027183240048398571429282126204032027777137836043662020707595556264018525880784406918290641249515082189298559149176184502808489120072844992687392807287776735971418347270261896375014971824691165077613379859095700097330459748808428401797429100642458691817195118746121515172654632282216869987549182422433637259085141865462043576798423387184774447920739934236584823824281198163815010674810451660377306056201619676256133844143603833904414952634432190114657544454178424020924616515723350778707749817125772467962926386356373289912154831438167899885040445364023527381951378636564391212010397122822120720357";

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn time_ns(per_run: u64, f: &mut dyn FnMut()) -> f64 {
    let start = Instant::now();
    f();
    start.elapsed().as_secs_f64() * 1e9 / per_run as f64
}

/// Paired measurement on a shared machine: each round times GMP and then the candidate
/// (GMP repeated `gmp_reps` times so both runs last about as long), so both see the same
/// background load. Returns per-squaring medians (GMP, candidate), the median of the
/// per-round ratios GMP/candidate, and the ratio of the two minima (the least disturbed
/// runs).
fn paired(
    runs: usize,
    gmp: &mut dyn FnMut(),
    gmp_per_run: u64,
    gmp_reps: u64,
    f: &mut dyn FnMut(),
    per_run: u64,
) -> (f64, f64, f64, f64) {
    let mut gmp_block = || {
        for _ in 0..gmp_reps {
            gmp();
        }
    };
    gmp_block();
    f(); // warm-up
    let (mut g, mut c, mut r) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        let a = time_ns(gmp_per_run * gmp_reps, &mut gmp_block);
        let b = time_ns(per_run, f);
        g.push(a);
        c.push(b);
        r.push(a / b);
    }
    let min = |v: &[f64]| v.iter().copied().fold(f64::INFINITY, f64::min);
    let best = min(&g) / min(&c);
    (median(g), median(c), median(r), best)
}

fn main() {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let k = args.first().copied().unwrap_or(4_000);
    let runs = args.get(1).copied().unwrap_or(15) as usize;

    let mut features = Vec::new();
    #[cfg(target_arch = "x86_64")]
    {
        macro_rules! feat {
            ($($f:tt),*) => {$(
                if std::is_x86_feature_detected!($f) { features.push($f); }
            )*};
        }
        feat!(
            "bmi2",
            "adx",
            "avx2",
            "avx512f",
            "avx512bw",
            "avx512dq",
            "avx512vl",
            "avx512ifma"
        );
    }
    println!("cpu features: {}", features.join(" "));
    println!("available backends: {:?}", Backend::available());
    println!(
        "2048-bit modulus (RSA-2048), {k} squarings per run, {runs} paired rounds (GMP, then the configuration)\n\
         speed-up = median of per-round ratios; best/best = ratio of the fastest runs\n"
    );

    let n: Integer = RSA2048.parse().expect("constant is a valid integer");
    let m = Modulus::from_be_bytes(&n.to_digits::<u8>(Order::Msf)).expect("RSA-2048 is odd");
    let x = Integer::from(0x1234_5678_9abc_def1u64) * Integer::from(&n >> 100) % &n;
    let ex = m.element(&x.to_digits::<u8>(Order::Msf)).expect("x < N");
    let xs: Vec<Element> = (0..16u8)
        .map(|i| m.element_reduced(&[i, 7, 3, 1, 9, 2]))
        .collect();

    let exp = Integer::from(1) << (k as u32);
    let mut gmp = || {
        black_box(x.clone().pow_mod(&exp, &n).expect("modulus is nonzero"));
    };
    println!(
        "{:<34} {:>12} {:>16} {:>10} {:>10}",
        "configuration", "ns/squaring", "gmp ns (paired)", "speed-up", "best/best"
    );
    let mut go = |_| ControlFlow::Continue(());
    let mut row = |label: String, f: &mut dyn FnMut(), per_run: u64| {
        let reps = per_run / k;
        let (g, c, r, best) = paired(runs, &mut gmp, k, reps, f, per_run);
        println!("{label:<34} {c:>12.1} {g:>16.1} {r:>9.2}x {best:>9.2}x");
    };
    for b in Backend::available() {
        let mut f = || {
            black_box(square_repeated(&m, &ex, k, b, &mut go).expect("never cancelled"));
        };
        row(format!("single backend={}", b.name()), &mut f, k);
    }
    for b in Backend::available() {
        for lanes in [8usize, 16] {
            let chains = &xs[..lanes];
            let mut f = || {
                black_box(
                    square_repeated_batch(&m, chains, k, b, &mut go).expect("never cancelled"),
                );
            };
            row(
                format!("batch lanes={lanes} backend={}", b.name()),
                &mut f,
                k * lanes as u64,
            );
        }
    }
}
