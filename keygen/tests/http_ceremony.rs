//! The HTTP ceremony with separate `keygen` processes: one coordinator and four members on
//! 127.0.0.1 with an ephemeral port. Every wait is bounded; nothing sleeps to synchronise
//! (members poll the coordinator, the test waits on process exit with a deadline).
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use veil_keygen::committee::Committee;
use veil_keygen::files;

const BIN: &str = env!("CARGO_BIN_EXE_keygen");
const PASS: &str = "correct horse battery staple";

struct Reaper(Vec<Child>);

impl Drop for Reaper {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn keygen(args: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.args(args)
        .env("VEIL_KEYGEN_PASSPHRASE", PASS)
        .env("RUST_LOG", "warn");
    c
}

fn wait_ok(child: &mut Child, deadline: Instant) {
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "member exited with {status}");
            return;
        }
        assert!(Instant::now() < deadline, "member did not finish in time");
        // Polling a child's exit status; not synchronising on timing.
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Starts a coordinator and returns its URL (read from its first stdout line).
fn start_coordinator(args: &[String], procs: &mut Reaper) -> String {
    let refs: Vec<&str> = args.iter().map(|x| x.as_str()).collect();
    let mut coord = keygen(&refs).stdout(Stdio::piped()).spawn().unwrap();
    let stdout = coord.stdout.take().unwrap();
    procs.0.push(coord);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .expect("bound address")
        .to_owned();
    format!("http://{addr}")
}

fn init(dir: &Path, name: &str) {
    run(&[
        "init",
        "--dir",
        dir.to_str().unwrap(),
        "--name",
        name,
        "--kdf-memory-kib",
        "1024",
    ]);
}

fn run(args: &[&str]) -> String {
    let out = keygen(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn http_ceremony_with_four_member_processes() {
    let tmp = std::env::temp_dir().join(format!("veil-keygen-http-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).unwrap();
    let mut procs = Reaper(Vec::new());

    // Identities first: the coordinator admits only the roster, in this order.
    let dirs: Vec<_> = (1..=5).map(|i| tmp.join(format!("m{i}"))).collect();
    for (i, d) in dirs.iter().enumerate() {
        run(&[
            "init",
            "--dir",
            d.to_str().unwrap(),
            "--name",
            &format!("member-{}", i + 1),
            "--kdf-memory-kib",
            "1024",
        ]);
    }
    let stranger = dirs[4].clone();
    let dirs = &dirs[..4];
    let mut args: Vec<String> = [
        "coordinator",
        "--listen",
        "127.0.0.1:0",
        "--members",
        "4",
        "--threshold",
        "3",
        "--deal-grace-ms",
        "30000",
        "--response-grace-ms",
        "30000",
    ]
    .iter()
    .map(|x| x.to_string())
    .collect();
    for d in dirs.iter().rev() {
        args.push("--roster-member".into());
        args.push(d.join("member.json").to_string_lossy().into_owned());
    }
    let arg_refs: Vec<&str> = args.iter().map(|x| x.as_str()).collect();
    let mut coord = keygen(&arg_refs).stdout(Stdio::piped()).spawn().unwrap();
    let stdout = coord.stdout.take().unwrap();
    procs.0.push(coord);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .expect("bound address")
        .to_owned();
    let url = format!("http://{addr}");

    // Bad input gets a typed 4xx error body and changes nothing.
    for (path, body) in [
        ("/v1/register", &b"garbage"[..]),
        ("/v1/dealings", &[1u8; 40][..]),
    ] {
        let err = ureq::post(&format!("{url}{path}"))
            .send_bytes(body)
            .unwrap_err();
        let ureq::Error::Status(status, resp) = err else {
            panic!("transport error")
        };
        assert!(status == 400 || status == 503, "{path}: {status}");
        let json: serde_json::Value = serde_json::from_str(&resp.into_string().unwrap()).unwrap();
        assert!(
            json["code"].is_string() && json["message"].is_string(),
            "{json}"
        );
    }
    let not_ready = ureq::get(&format!("{url}/v1/params")).call().unwrap_err();
    assert!(matches!(not_ready, ureq::Error::Status(503, _)));

    // Someone not on the roster cannot take a seat.
    let outsider = files::read_member(&stranger.join("member.json")).unwrap();
    let refused = ureq::post(&format!("{url}/v1/register"))
        .send_bytes(&outsider.to_bytes())
        .unwrap_err();
    assert!(matches!(refused, ureq::Error::Status(403, _)));

    let deadline = Instant::now() + Duration::from_secs(120);
    let mut members: Vec<Child> = dirs
        .iter()
        .map(|d| {
            keygen(&[
                "join",
                "--coordinator",
                &url,
                "--dir",
                d.to_str().unwrap(),
                "--out",
                d.join("out").to_str().unwrap(),
                "--wait-secs",
                "100",
                "--kdf-memory-kib",
                "1024",
            ])
            .stdout(Stdio::null())
            .spawn()
            .unwrap()
        })
        .collect();
    for m in &mut members {
        wait_ok(m, deadline);
    }
    procs.0.extend(members);

    // Every member wrote the same committee.json and transcript, and its own share.
    let first = std::fs::read(dirs[0].join("out/committee.json")).unwrap();
    let committee = Committee::load_and_verify(&first).unwrap();
    assert_eq!(
        (committee.n(), committee.threshold, committee.epoch),
        (4, 3, 1)
    );
    for (i, d) in dirs.iter().enumerate() {
        assert_eq!(std::fs::read(d.join("out/committee.json")).unwrap(), first);
        assert_eq!(
            std::fs::read(d.join("out/transcript.bin")).unwrap(),
            std::fs::read(dirs[0].join("out/transcript.bin")).unwrap()
        );
        let share =
            files::load_share(&d.join("out/share-epoch-1.sealed"), PASS.as_bytes()).unwrap();
        assert!(share.matches(&committee));
        // Indices follow the roster order given to the coordinator (reversed here).
        assert_eq!(share.index as usize, 4 - i);
        let me = files::read_member(&d.join("member.json")).unwrap();
        let listed = &committee.members[share.index as usize - 1].public;
        assert_eq!(
            (listed.signing_key, listed.encryption_key),
            (me.signing_key, me.encryption_key),
            "member {i}"
        );
    }
    // Anyone re-verifies the transcript and the committee file from public data alone.
    let out = run(&[
        "verify",
        "--transcript",
        dirs[2].join("out/transcript.bin").to_str().unwrap(),
        "--committee",
        dirs[2].join("out/committee.json").to_str().unwrap(),
    ]);
    assert!(out.contains("transcript ok: epoch 1, n 4, t 3"), "{out}");

    // Resharing over HTTP: 3-of-4 (m1..m4) to 4-of-5 (m1, m2, m5, m6, m7). m1 and m2 deal
    // their old shares and join the new committee; m3 and m4 only deal; m5..m7 are new.
    for i in 6..=7 {
        init(&tmp.join(format!("m{i}")), &format!("member-{i}"));
    }
    let new_dirs: Vec<_> = [1, 2, 5, 6, 7]
        .iter()
        .map(|i| tmp.join(format!("m{i}")))
        .collect();
    let mut args: Vec<String> = [
        "coordinator",
        "--listen",
        "127.0.0.1:0",
        "--members",
        "5",
        "--threshold",
        "4",
        "--deal-grace-ms",
        "30000",
        "--response-grace-ms",
        "30000",
        "--previous",
    ]
    .iter()
    .map(|x| x.to_string())
    .collect();
    args.push(
        dirs[0]
            .join("out/committee.json")
            .to_string_lossy()
            .into_owned(),
    );
    for d in &new_dirs {
        args.push("--roster-member".into());
        args.push(d.join("member.json").to_string_lossy().into_owned());
    }
    let url2 = start_coordinator(&args, &mut procs);
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut joins = Vec::new();
    for i in 1..=7 {
        let d = tmp.join(format!("m{i}"));
        let out2 = d.join("out2");
        let share = d.join("out/share-epoch-1.sealed");
        let mut a: Vec<String> = ["join", "--coordinator", &url2, "--dir", d.to_str().unwrap()]
            .iter()
            .map(|x| x.to_string())
            .collect();
        a.extend(["--out".into(), out2.to_string_lossy().into_owned()]);
        a.extend([
            "--wait-secs".into(),
            "100".into(),
            "--kdf-memory-kib".into(),
            "1024".into(),
        ]);
        if i <= 4 {
            a.extend(["--share".into(), share.to_string_lossy().into_owned()]);
        }
        if i == 3 || i == 4 {
            a.push("--dealer-only".into());
        }
        let refs: Vec<&str> = a.iter().map(|x| x.as_str()).collect();
        joins.push(keygen(&refs).stdout(Stdio::null()).spawn().unwrap());
    }
    for j in &mut joins {
        wait_ok(j, deadline);
    }
    procs.0.extend(joins);
    let json2 = std::fs::read(new_dirs[4].join("out2/committee.json")).unwrap();
    let reshared = Committee::load_and_verify(&json2).unwrap();
    assert_eq!(reshared.public_key, committee.public_key);
    assert_eq!(
        (reshared.n(), reshared.threshold, reshared.epoch),
        (5, 4, 2)
    );
    for d in &new_dirs {
        assert_eq!(std::fs::read(d.join("out2/committee.json")).unwrap(), json2);
        let share =
            files::load_share(&d.join("out2/share-epoch-2.sealed"), PASS.as_bytes()).unwrap();
        assert!(share.matches(&reshared));
    }
    // Dealer-only members wrote no new share.
    assert!(!tmp.join("m3/out2").exists());
    let _ = std::fs::remove_dir_all(Path::new(&tmp));
}
