//! Headline figures of verifiable delay ciphertexts on RSA-2048, outside criterion (for
//! machines where the bench crate is not buildable): medians of repeated runs.
//!
//! `cargo run --release -p veil-timelock --example delay_proof_figures [runs]`.

use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use veil_circuits::delay_snark;
use veil_squaring::Backend;
use veil_threshold::{Label, SlotRange};
use veil_timelock::{DelayCiphertext, DelayParams, RsaGroup};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let runs: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(11);
    let params = DelayParams::generate(
        RsaGroup::rsa2048(),
        b"figures",
        1 << 10,
        Backend::best_single(),
        &mut |_| ControlFlow::Continue(()),
    )
    .expect("parameters");
    let _ = params.all_tables();
    let t = Instant::now();
    let pk = params.insecure_proving_key().expect("devnet proving key");
    println!("insecure setup (RSA-2048 circuit): {:?}", t.elapsed());
    println!(
        "constraints: {}",
        delay_snark::constraint_count(params.group().modulus_bytes()).expect("count")
    );
    println!(
        "proof bytes (P + Sigma (c, z) + Groth16 + tag): {}",
        DelayCiphertext::proof_len(&params)
    );
    let label = Label::new(1, [7; 32], SlotRange::new(1, 2).unwrap(), 0, vec![]).unwrap();
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    for size in [0usize, 1024, 4096] {
        let payload = vec![0x5au8; size];
        let mut prove = Vec::new();
        let mut verify = Vec::new();
        for _ in 0..runs {
            let t = Instant::now();
            let (ct, _) =
                DelayCiphertext::encrypt(&params, &pk, &label, &payload, &mut rng).expect("enc");
            prove.push(t.elapsed());
            let t = Instant::now();
            ct.verify(&params, &label).expect("verify");
            verify.push(t.elapsed());
        }
        println!(
            "payload={size}B: prove_delay (whole encrypt) median {:?}, verify_delay median {:?}",
            median(prove),
            median(verify)
        );
    }
}
