//! `MemberMessage::decode` for every kind (envelope gossip, proposal, vote, certificate,
//! shares) directly, without a signature in the way. The first input byte picks the kind.
#![no_main]
use libfuzzer_sys::fuzz_target;
use veil_fuzz_common::select;
use veil_protocol::{MemberMessage, MessageKind};

const KINDS: [MessageKind; 5] = [
    MessageKind::Ciphertexts,
    MessageKind::Proposal,
    MessageKind::Vote,
    MessageKind::Certificate,
    MessageKind::Shares,
];

fuzz_target!(|data: &[u8]| {
    let Some((which, body)) = select(data, KINDS.len() as u8) else {
        return;
    };
    let kind = KINDS[which as usize];
    if let Ok(m) = MemberMessage::decode(kind, body) {
        assert_eq!(m.kind(), kind);
        assert_eq!(m.encode(), body, "an accepted body is canonical");
    }
});
