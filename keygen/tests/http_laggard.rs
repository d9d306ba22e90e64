//! A laggard cannot stall an HTTP ceremony: with n = 4, t = quorum = 3, one registered member
//! never deals nor responds; the coordinator closes each phase after its grace period and the
//! other three finish. The laggard can still derive its share from the public transcript
//! afterwards. The coordinator runs in process (axum on an ephemeral port); the test waits on
//! the members' threads, never on a sleep.
mod common;

use std::time::Duration;

use veil_keygen::dkg::{self, Transcript};
use veil_keygen::http::{Client, CoordinatorConfig};
use veil_keygen::seal::SealParams;

#[test]
fn laggard_does_not_stall_the_http_ceremony() {
    let mut r = common::rng(5);
    let secrets = common::members(4, &mut r);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let cfg = CoordinatorConfig {
        members: 4,
        threshold: 3,
        quorum: 3,
        epoch: 1,
        deal_grace: Duration::from_millis(300),
        response_grace: Duration::from_millis(300),
        roster: None,
        previous: None,
    };
    rt.spawn(veil_keygen::http::serve(listener, cfg));

    // The laggard registers and then goes silent.
    let lag = secrets[3].public(&mut r);
    ureq::post(&format!("{url}/v1/register"))
        .send_bytes(&lag.to_bytes())
        .unwrap();

    let tmp = std::env::temp_dir().join(format!("veil-keygen-laggard-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let cheap = SealParams::new(256, 1, 1).unwrap();
    let handles: Vec<_> = secrets[..3]
        .iter()
        .cloned()
        .enumerate()
        .map(|(i, s)| {
            let url = url.clone();
            let out = tmp.join(format!("m{i}"));
            std::thread::spawn(move || {
                let mut rng = common::rng(100 + i as u64);
                let client = Client::new(&url, Duration::from_secs(60));
                client
                    .join(&s, None, true, b"pw", &out, cheap, &mut rng)
                    .unwrap()
                    .unwrap()
            })
        })
        .collect();
    let done: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let committee = &done[0].committee;
    assert!(done.iter().all(|d| &d.committee == committee));
    assert_eq!(committee.n(), 4);

    // The transcript has three dealings; the laggard still gets a working share from it.
    let bytes = ureq::get(&format!("{url}/v1/transcript")).call().unwrap();
    let mut raw = Vec::new();
    std::io::Read::read_to_end(&mut bytes.into_reader(), &mut raw).unwrap();
    let transcript = Transcript::from_bytes(&raw).unwrap();
    assert_eq!(transcript.dealings.len(), 3);
    let outcome = dkg::verify_transcript(&transcript).unwrap();
    let me = transcript
        .params
        .member_index(&secrets[3].signing_key())
        .unwrap();
    let late = dkg::member_share(&transcript, &outcome, me, &secrets[3]).unwrap();
    assert!(late.matches(committee));
    let mut shares: Vec<&dkg::MemberShare> = done.iter().map(|d| &d.share).collect();
    shares[0] = &late;
    assert_eq!(
        common::times_g(&common::interpolate(&shares)),
        committee.public_key
    );
    let _ = std::fs::remove_dir_all(&tmp);
}
