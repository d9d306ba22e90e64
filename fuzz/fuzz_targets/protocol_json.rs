//! The JSON forms of protocol messages (serde, bytes as validated hex): certificates, votes,
//! receipts, proposals, signed messages, shares, batches, evidence, plaintext batches,
//! inclusion proofs and committee configurations. The first input byte picks the type.
//! Accepted values re-serialize to JSON that decodes to the same value.
#![no_main]
use libfuzzer_sys::fuzz_target;
use serde::{Serialize, de::DeserializeOwned};
use veil_fuzz_common::select;
use veil_protocol::{
    Batch, CommitteeConfig, Evidence, InclusionProof, OrderCertificate, PlaintextBatch, Proposal,
    Receipt, SharesMessage, SignedMessage, Vote, VoteIntent,
};

fn round_trip<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(json: &[u8]) {
    let Ok(v) = serde_json::from_slice::<T>(json) else {
        return;
    };
    let text = serde_json::to_vec(&v).expect("protocol types serialize");
    let again: T = serde_json::from_slice(&text).expect("own JSON re-decodes");
    assert_eq!(again, v);
}

fuzz_target!(|data: &[u8]| {
    let Some((which, json)) = select(data, 12) else {
        return;
    };
    match which {
        0 => round_trip::<OrderCertificate>(json),
        1 => round_trip::<Vote>(json),
        2 => round_trip::<Receipt>(json),
        3 => round_trip::<Proposal>(json),
        4 => round_trip::<SignedMessage>(json),
        5 => round_trip::<SharesMessage>(json),
        6 => round_trip::<Batch>(json),
        7 => round_trip::<Evidence>(json),
        8 => round_trip::<PlaintextBatch>(json),
        9 => round_trip::<InclusionProof>(json),
        10 => round_trip::<VoteIntent>(json),
        _ => round_trip::<CommitteeConfig>(json),
    }
});
