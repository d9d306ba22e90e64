//! Runs the `veil-node delay` commands end to end with a tiny T.

use std::path::PathBuf;
use std::process::{Command, Output};

fn node(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_veil-node"))
        .args(args)
        .env("VEIL_PROGRESS", "1")
        .output()
        .expect("run veil-node")
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn tmp_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn params_verify_encrypt_solve_decrypt() {
    let dir = tmp_dir("delay_cli_roundtrip");
    let params = dir.join("params.json");
    let p = params.to_str().unwrap();
    ok(&node(&[
        "delay",
        "params",
        "--bits",
        "2048",
        "--squarings",
        "4096",
        "--out",
        p,
    ]));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&params).unwrap()).unwrap();
    assert_eq!(json["squarings"], 4096);
    assert_eq!(json["bits"], 2048);
    assert!(ok(&node(&["delay", "verify", p])).starts_with("ok: 2048 bits, T = 4096"));

    let ct = dir.join("ct.hex");
    let reveal = dir.join("reveal.hex");
    ok(&node(&[
        "delay",
        "encrypt",
        "--params",
        p,
        "--message",
        "hello from the cli",
        "--chain-id",
        "7",
        "--out",
        ct.to_str().unwrap(),
        "--reveal-out",
        reveal.to_str().unwrap(),
    ]));

    // Solve with a proof; the progress bar is drawn on stderr.
    let solution = dir.join("solution.hex");
    let out = node(&[
        "delay",
        "solve",
        "--params",
        p,
        "--puzzle",
        ct.to_str().unwrap(),
        "--prove",
        "--backend",
        "portable",
        "--out",
        solution.to_str().unwrap(),
    ]);
    ok(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // The final progress report always prints (VEIL_PROGRESS=1, stderr is not a terminal).
    assert!(
        stderr.contains("progress: solving 4096/4096 squarings (100.0%"),
        "{stderr}"
    );
    assert!(stderr.contains("solved in"), "{stderr}");

    // The proven solution opens the ciphertext for the right label only.
    let by_solution = ok(&node(&[
        "delay",
        "decrypt",
        "--params",
        p,
        "--ciphertext",
        ct.to_str().unwrap(),
        "--solution",
        solution.to_str().unwrap(),
        "--chain-id",
        "7",
    ]));
    assert_eq!(by_solution.trim(), "hello from the cli");
    let wrong_label = node(&[
        "delay",
        "decrypt",
        "--params",
        p,
        "--ciphertext",
        ct.to_str().unwrap(),
        "--solution",
        solution.to_str().unwrap(),
        "--chain-id",
        "8",
    ]);
    assert!(!wrong_label.status.success());
    // So does the reveal.
    let by_reveal = ok(&node(&[
        "delay",
        "decrypt",
        "--params",
        p,
        "--ciphertext",
        ct.to_str().unwrap(),
        "--reveal",
        reveal.to_str().unwrap(),
        "--chain-id",
        "7",
    ]));
    assert_eq!(by_reveal.trim(), "hello from the cli");

    // Solving without a proof prints the puzzle output, which the library agrees with.
    let plain = ok(&node(&[
        "delay",
        "solve",
        "--params",
        p,
        "--puzzle",
        ct.to_str().unwrap(),
    ]));
    let params_lib =
        veil_timelock::DelayParams::from_json(&std::fs::read_to_string(&params).unwrap()).unwrap();
    let sol = veil_timelock::PuzzleSolution::from_bytes(
        &params_lib,
        &hex::decode(std::fs::read_to_string(&solution).unwrap().trim()).unwrap(),
    )
    .unwrap();
    assert_eq!(
        plain.trim(),
        hex::encode(params_lib.group().encode(sol.output()))
    );
}

#[test]
fn tampered_parameters_and_bad_inputs_are_refused() {
    let dir = tmp_dir("delay_cli_refusals");
    let params = dir.join("params.json");
    let p = params.to_str().unwrap();
    ok(&node(&[
        "delay",
        "params",
        "--squarings",
        "1000",
        "--seed",
        "cli test",
        "--out",
        p,
    ]));
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&params).unwrap()).unwrap();
    json["squarings"] = 1001.into();
    let bad = dir.join("bad.json");
    std::fs::write(&bad, json.to_string()).unwrap();
    let out = node(&["delay", "verify", bad.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("proof does not verify"));
    // A puzzle that is not a group element; an unknown modulus size.
    let out = node(&["delay", "solve", "--params", p, "--puzzle", "00ff"]);
    assert!(!out.status.success());
    let out = node(&["delay", "params", "--bits", "3072", "--out", p]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--modulus"));
}
