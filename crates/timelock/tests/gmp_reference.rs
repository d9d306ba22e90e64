//! Cross-checks against GMP (server builds only).
#![cfg(feature = "gmp")]

mod common;

use common::*;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use veil_squaring::Backend;
use veil_timelock::{DelayCiphertext, RsaGroup, gmp};

#[test]
fn parameters_and_solutions_match_gmp() {
    for (group, t) in [(group1024(), 3000u64), (RsaGroup::rsa2048(), 1500)] {
        let p = params(group, b"gmp", t);
        assert_eq!(
            gmp::square_repeated_reference(p.group(), p.g(), t),
            p.group().encode(p.h())
        );
        let mut rng = ChaCha20Rng::seed_from_u64(11);
        let (ct, secret) =
            DelayCiphertext::encrypt(&p, &pk(&p), &label(1), b"m", &mut rng).unwrap();
        let solution = ct
            .puzzle()
            .solve_and_prove(&p, Backend::best_single(), &mut no_progress())
            .unwrap();
        assert_eq!(
            gmp::square_repeated_reference(p.group(), ct.puzzle().element(), t),
            p.group().encode(solution.output())
        );
        // The puzzle is g^a for the revealed a.
        let reveal = secret.reveal();
        assert_eq!(
            gmp::pow_reference(p.group(), p.g(), reveal.exponent()),
            p.group().encode(ct.puzzle().element())
        );
    }
}
