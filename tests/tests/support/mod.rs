//! Shared by the Ethereum tests (`anvil.rs`, `frontrun.rs`): an `anvil` process with
//! ordered inclusion, a JSON-RPC helper, anvil's published dev keys, and a wallet client
//! for a harness committee.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use alloy::signers::local::PrivateKeySigner;
use serde_json::{Value, json};
use veil_client::{BlockingClient, ChainPolicy, ClientOptions, Trust, TrustedCommittee};
use veil_tests::{CHAIN_ID, Net, wait_for};

/// Anvil's default dev accounts (mnemonic `test test … junk`): published test keys that
/// fund the accounts of every local node, not secrets.
pub const DEV_KEYS: [&str; 6] = [
    "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    "47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
    "8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
];

/// The signer of dev account `i`.
pub fn dev_signer(i: usize) -> PrivateKeySigner {
    veil_client::eth::signer_from_hex(DEV_KEYS[i]).expect("dev key")
}

/// The anvil binary that `tests/setup-machine.sh` installs from the npm package
/// `@foundry-rs/anvil` into `tests/node_modules` (or `$VEIL_ANVIL`).
pub fn anvil_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("VEIL_ANVIL") {
        return PathBuf::from(p);
    }
    let scope = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("node_modules/@foundry-rs");
    let found = std::fs::read_dir(&scope).ok().and_then(|entries| {
        entries
            .filter_map(Result::ok)
            .map(|e| e.path().join("bin/anvil"))
            .find(|p| p.is_file())
    });
    found.unwrap_or_else(|| {
        panic!(
            "anvil not found under {}: run `bash tests/setup-machine.sh` (it installs the npm \
             package @foundry-rs/anvil there), or set VEIL_ANVIL",
            scope.display()
        )
    })
}

/// A running anvil (killed on drop).
pub struct Anvil {
    /// JSON-RPC URL.
    pub url: String,
    child: Child,
}

impl Anvil {
    /// Starts anvil on a free port with chain id [`CHAIN_ID`], no automatic mining and FIFO
    /// ordering, so a mined block holds the pool in arrival order.
    pub fn start() -> Anvil {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let child = Command::new(anvil_binary())
            .args(["--port", &port.to_string(), "--host", "127.0.0.1"])
            .args(["--chain-id", &CHAIN_ID.to_string()])
            .args([
                "--no-mining",
                "--order",
                "fifo",
                "--accounts",
                "10",
                "--silent",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawning anvil");
        let anvil = Anvil {
            url: format!("http://127.0.0.1:{port}"),
            child,
        };
        wait_for(
            "anvil to answer eth_chainId",
            Duration::from_secs(30),
            || anvil.try_rpc("eth_chainId", json!([])).ok(),
        );
        anvil
    }

    /// One JSON-RPC call; `Err` on transport failure or a JSON-RPC error.
    pub fn try_rpc(&self, method: &str, params: Value) -> Result<Value, String> {
        let body = json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params });
        let r = veil_tests::http_post(&self.url, "application/json", body.to_string().as_bytes())?;
        let v = r.json();
        if let Some(e) = v.get("error") {
            return Err(e.to_string());
        }
        Ok(v["result"].clone())
    }

    /// One JSON-RPC call, panicking on failure.
    pub fn rpc(&self, method: &str, params: Value) -> Value {
        self.try_rpc(method, params.clone())
            .unwrap_or_else(|e| panic!("anvil {method}({params}): {e}"))
    }

    /// Mines one block with everything in the pool.
    pub fn mine(&self) {
        self.rpc("evm_mine", json!([]));
    }

    /// Transaction hashes of block `n`, in block order.
    pub fn block_tx_hashes(&self, n: u64) -> Vec<String> {
        let b = self.rpc("eth_getBlockByNumber", json!([format!("0x{n:x}"), false]));
        b["transactions"]
            .as_array()
            .unwrap_or_else(|| panic!("block {n}: {b}"))
            .iter()
            .map(|h| h.as_str().expect("hash").to_lowercase())
            .collect()
    }

    /// Number of transactions in the pool (pending + queued).
    pub fn pool_len(&self) -> u64 {
        let s = self.rpc("txpool_status", json!([]));
        let n = |v: &Value| {
            v.as_str()
                .and_then(|h| u64::from_str_radix(h.trim_start_matches("0x"), 16).ok())
                .or_else(|| v.as_u64())
                .unwrap_or(0)
        };
        n(&s["pending"]) + n(&s["queued"])
    }

    /// Latest block number.
    pub fn block_number(&self) -> u64 {
        let v = self.rpc("eth_blockNumber", json!([]));
        u64::from_str_radix(v.as_str().unwrap_or("0x0").trim_start_matches("0x"), 16)
            .expect("block number")
    }
}

impl Drop for Anvil {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A wallet client for member `m` of `net`, trusting the committee pinned by its transcript
/// hash.
pub fn wallet_client(net: &Net, m: u32) -> BlockingClient {
    let client = client_with_policy(net, m, ChainPolicy::single(CHAIN_ID));
    client
        .check_node_committee()
        .expect("the member serves the committee the wallet trusts");
    client
}

/// A client for member `m` of `net` under `policy`, trusting the committee pinned by its
/// transcript hash (no check of what the member serves).
#[allow(dead_code)] // each test binary compiles this module; not all call this directly
pub fn client_with_policy(net: &Net, m: u32, policy: ChainPolicy) -> BlockingClient {
    let json = net.committee.to_json().into_bytes();
    let committee = TrustedCommittee::load(
        &json,
        &Trust {
            transcript_hash: Some(net.committee.transcript_hash),
            ..Trust::default()
        },
    )
    .expect("the harness committee verifies");
    BlockingClient::new(
        &net.node(m).url,
        committee,
        policy,
        ClientOptions {
            request_timeout: Duration::from_secs(10),
            poll_interval: Duration::from_millis(50),
        },
    )
    .expect("client")
}
