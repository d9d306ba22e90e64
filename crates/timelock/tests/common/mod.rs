//! Shared fixtures for the integration tests: test moduli, parameter sets, labels.
#![allow(dead_code)]

use std::ops::ControlFlow;

use veil_squaring::Backend;
use veil_threshold::{Label, SlotRange};
use veil_timelock::{DelayParams, RsaGroup};

/// A 1024-bit modulus; its factors were discarded when it was generated for these tests.
pub const N1024: &str = concat!(
    "aab6d338efa36ec97877bb08468a9006c0937b087340c620ec579546dfc9a7ec",
    "73696316da7c035f97dde8a4e9be5c848a5a8e80d8124c2e6b0a767cb2243f71",
    "0b62d17921a86dca0695d1c3f05e7ed4f7732ded17f4129338f696bf482cb566",
    "6d2de8c156357c4a320e5022f157c9e798f26322f77b8b60dd6939ab5e9c2235",
);

/// A 3072-bit modulus; its factors were discarded when it was generated for these tests.
pub const N3072: &str = concat!(
    "a729d6a04ca28db1c74eef2ff0ed50f561359577470b7e1c46eda3a3d52d217f",
    "6fae092e3a60a11a7e9cc5c38e0714d6f6fcae2e2a50a96588ccd33948cdcd95",
    "081189b8ac5250247bac276a69eebe50924b08ea113dada2b9d75aeb220bc175",
    "9f81b7a5dffa1a1f713ce05393b4b81b224215c8ecc9e5f63b1d64f3ba07e706",
    "7e98088c8a2b4821df14ec52d1a8dcfeedb0267bc4e4266820b2ac6aa28604df",
    "6ce44ef4bb6c5f88d43e60c13c525c05e3e5dbf8d0c36eeca2ff95cb2d0856cd",
    "ce8483cb8e99dad0140bb698a41ddda3a62daaec8baca4a030d14e6e58f2ff92",
    "27cf41c9a64f248bd7f39caef52cf446e0fff7650d0cbed1c0cc22f14749464e",
    "a1c736676e7487321456140bbad125c1c17a40495bbdce670cc8f6dcea5398a7",
    "3cbec6e22ed63276281e3374187f0811d602fefd7aff7f5b57ffda031dee92e0",
    "e98708b91b217ed07ebb8edf57e8f99ba2ebbb7316419bca56b0da1863bf623d",
    "2ae2906e7494a300145ec53a092c7bfb9b54fcf8478af29ca8c97fc081e95b01",
);

pub fn group1024() -> RsaGroup {
    RsaGroup::from_be_bytes(&hex::decode(N1024).unwrap()).unwrap()
}

pub fn group3072() -> RsaGroup {
    RsaGroup::from_be_bytes(&hex::decode(N3072).unwrap()).unwrap()
}

pub fn no_progress() -> impl FnMut(u64) -> ControlFlow<()> {
    |_| ControlFlow::Continue(())
}

pub fn params(group: RsaGroup, seed: &[u8], t: u64) -> DelayParams {
    DelayParams::generate(group, seed, t, Backend::best_single(), &mut no_progress()).unwrap()
}

pub fn label(sender: u8) -> Label {
    Label::new(
        1337,
        [sender; 32],
        SlotRange::new(100, 110).unwrap(),
        42_000,
        b"bundle-7".to_vec(),
    )
    .unwrap()
}

/// The insecure devnet proving key of `params` (cached per modulus and process).
pub fn pk(params: &DelayParams) -> std::sync::Arc<veil_circuits::delay_snark::DelayProvingKey> {
    params.insecure_proving_key().unwrap()
}
