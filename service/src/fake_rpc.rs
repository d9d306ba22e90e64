//! A tiny in-process Ethereum JSON-RPC endpoint for tests: records every
//! `eth_sendRawTransaction` in arrival order, answers with a hash, and injects per-transaction
//! errors, "already known" answers and transport failures on demand.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

/// What the endpoint does.
#[derive(Default)]
pub struct Script {
    /// Raw transactions (`0x…`) answered with this JSON-RPC error (code, message).
    pub errors: Mutex<HashMap<String, (i64, String)>>,
    /// Raw transactions the endpoint already holds (answered "already known").
    pub known: Mutex<HashSet<String>>,
    /// The next this many requests are dropped without an answer.
    pub drop_next: AtomicUsize,
    /// The next this many requests get `503` with an HTML body.
    pub unavailable_next: AtomicUsize,
}

/// The fake endpoint.
pub struct FakeRpc {
    /// Its URL.
    pub url: String,
    /// The script.
    pub script: Arc<Script>,
    /// Every raw transaction that reached the JSON-RPC layer, in order, with whether it was
    /// accepted (a result or "already known").
    pub received: Arc<Mutex<Vec<(String, bool)>>>,
    stop: Arc<AtomicBool>,
}

impl Drop for FakeRpc {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect(self.url.trim_start_matches("http://"));
    }
}

impl FakeRpc {
    /// Starts it on a free loopback port.
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let script = Arc::new(Script::default());
        let received = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        {
            let (script, received, stop) = (script.clone(), received.clone(), stop.clone());
            std::thread::spawn(move || {
                for conn in listener.incoming() {
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    if let Ok(c) = conn {
                        serve(c, &script, &received);
                    }
                }
            });
        }
        Self {
            url,
            script,
            received,
            stop,
        }
    }

    /// The raw transactions accepted, in order.
    pub fn accepted(&self) -> Vec<String> {
        self.received
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, ok)| *ok)
            .map(|(r, _)| r.clone())
            .collect()
    }
}

fn serve(mut c: TcpStream, script: &Script, received: &Mutex<Vec<(String, bool)>>) {
    let mut reader = BufReader::new(c.try_clone().unwrap());
    let mut len = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some(v) = l.to_ascii_lowercase().strip_prefix("content-length:") {
            len = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0u8; len];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    if script
        .drop_next
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
    {
        return; // connection closed without an answer
    }
    let (status, text) = if script
        .unavailable_next
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
    {
        ("503 Service Unavailable", "<html>down</html>".to_string())
    } else {
        let req: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let raw = req["params"][0].as_str().unwrap_or_default().to_string();
        assert_eq!(req["method"], "eth_sendRawTransaction");
        assert_eq!(req["jsonrpc"], "2.0");
        let id = req["id"].clone();
        let reply = if let Some((code, message)) = script.errors.lock().unwrap().get(&raw) {
            received.lock().unwrap().push((raw.clone(), false));
            json!({ "jsonrpc": "2.0", "id": id, "error": { "code": code, "message": message } })
        } else if !script.known.lock().unwrap().insert(raw.clone()) {
            received.lock().unwrap().push((raw.clone(), true));
            json!({ "jsonrpc": "2.0", "id": id, "error": { "code": -32000, "message": "already known" } })
        } else {
            received.lock().unwrap().push((raw.clone(), true));
            let hash = format!("0x{:064x}", raw.len());
            json!({ "jsonrpc": "2.0", "id": id, "result": hash })
        };
        ("200 OK", reply.to_string())
    };
    let _ = write!(
        c,
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{text}",
        text.len()
    );
}
