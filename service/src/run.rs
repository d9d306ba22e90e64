//! `veil-node run`: starts one committee member (API, member logic, optional built-in
//! sequencer) and shuts it down cleanly on SIGINT/SIGTERM.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tracing::{error, info};
use veil_storage::Storage;

use crate::config::{self, NodeConfig, SequencerMode};
use crate::node::{Node, NodeSettings};

/// Arguments of `veil-node run`.
#[derive(clap::Args)]
pub struct RunArgs {
    /// Path of node.json.
    #[arg(long)]
    pub config: PathBuf,
    /// Override the configured sequencer mode.
    #[arg(long, value_enum)]
    pub sequencer: Option<SequencerMode>,
    /// Override the slot length (ms).
    #[arg(long)]
    pub slot_ms: Option<u64>,
    /// Override the largest batch.
    #[arg(long)]
    pub max_batch: Option<usize>,
}

/// Initialises logging (`RUST_LOG`, default `info`) to stderr.
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Loads everything and builds the node.
pub fn build_node(c: &NodeConfig, passphrase: &[u8]) -> Result<Arc<Node>, String> {
    let keys = config::load_keys(c, passphrase).map_err(|e| e.to_string())?;
    if c.max_batch == 0 || c.max_batch > veil_protocol::MAX_BATCH_IDS {
        return Err(format!(
            "max_batch {} outside 1..={}",
            c.max_batch,
            veil_protocol::MAX_BATCH_IDS
        ));
    }
    let storage = Storage::open(&c.db).map_err(|e| format!("{}: {e}", c.db.display()))?;
    let rollups = crate::rollups::Rollups::new(&c.rollups, &c.label_chain_ids)
        .map_err(|e| format!("rollups: {e}"))?;
    let label_chain_ids = if rollups.enabled() {
        rollups.chain_ids()
    } else if c.label_chain_ids.is_empty() {
        vec![c.chain_id]
    } else {
        c.label_chain_ids.clone()
    };
    let settings = NodeSettings {
        member: c.member,
        chain_id: c.chain_id,
        label_chain_ids,
        peers: c.peers.clone(),
        max_batch: c.max_batch,
        solver: c.solver.clone(),
        rollups,
    };
    Node::new(settings, keys, storage).map_err(|e| e.to_string())
}

/// Runs a member until interrupted.
pub fn run(args: RunArgs) -> Result<(), String> {
    init_tracing();
    let mut c = NodeConfig::load(&args.config).map_err(|e| e.to_string())?;
    if let Some(s) = args.sequencer {
        c.sequencer = s;
    }
    if let Some(s) = args.slot_ms {
        c.slot_ms = s;
    }
    if let Some(m) = args.max_batch {
        c.max_batch = m;
    }
    let passphrase = std::env::var(config::PASSPHRASE_ENV)
        .map_err(|_| config::ConfigError::NoPassphrase.to_string())?;
    let node = build_node(&c, passphrase.as_bytes())?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let gossip = {
        let node = node.clone();
        std::thread::spawn(move || {
            while !node.stopping.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(20));
                node.flush_gossip();
            }
        })
    };
    let worker = node.start_worker();
    match node.regossip_pending() {
        Ok(0) => {}
        Ok(n) => info!(envelopes = n, "re-gossiping pending envelopes after start"),
        Err(e) => error!(error = %e, "cannot read pending envelopes"),
    }
    match node.resume() {
        Ok(0) => {}
        Ok(n) => info!(slots = n, "resuming certified slots not yet opened"),
        Err(e) => error!(error = %e, "cannot read certified slots"),
    }
    let solver = node.keys.delay_params.is_some().then(|| {
        let node = node.clone();
        std::thread::Builder::new()
            .name("veil-solver".into())
            .spawn(move || crate::solver::run(node))
    });
    let forwarder = c
        .forward
        .clone()
        .filter(|f| f.member == node.member())
        .map(|f| {
            let node = node.clone();
            std::thread::Builder::new()
                .name("veil-forwarder".into())
                .spawn(move || {
                    crate::forward::Forwarder::new(&f, &*node, &node.storage, &node.metrics.forward)
                        .run(&node.stopping)
                })
        });
    // One forwarder per rollup with an `rpc` delivery (own cursor, only its items).
    let rollup_forwarders: Vec<_> = node
        .settings
        .rollups
        .iter()
        .filter_map(|r| match &r.delivery {
            crate::rollups::Delivery::Rpc(f) if f.member == node.member() => {
                Some((r.chain_id, f.clone()))
            }
            _ => None,
        })
        .map(|(chain_id, f)| {
            let node = node.clone();
            std::thread::Builder::new()
                .name(format!("veil-forwarder-{chain_id}"))
                .spawn(move || {
                    crate::forward::Forwarder::new(&f, &*node, &node.storage, &node.metrics.forward)
                        .for_rollup(chain_id)
                        .run(&node.stopping)
                })
        })
        .collect();
    let sequencer = (c.sequencer == SequencerMode::Builtin).then(|| {
        let node = node.clone();
        let slot = Duration::from_millis(c.slot_ms.max(1));
        std::thread::spawn(move || {
            if let Err(e) = node.run_sequencer(slot) {
                error!(error = %e, "built-in sequencer stopped");
            }
        })
    });
    let app = crate::api::router(node.clone());
    let listen = c.listen;
    let member = node.member();
    let epoch = node.keys.committee.epoch;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| format!("bind {listen}: {e}"))?;
        info!(member, epoch, %listen, sequencer = ?c.sequencer, "veil-node listening");
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown_signal())
            .await
            .map_err(|e| e.to_string())
    })?;
    node.stopping.store(true, Ordering::Relaxed);
    let _ = gossip.join();
    let _ = worker.join();
    for t in [solver, forwarder].into_iter().flatten().flatten() {
        let _ = t.join();
    }
    for t in rollup_forwarders.into_iter().flatten() {
        let _ = t.join();
    }
    if let Some(s) = sequencer {
        let _ = s.join();
    }
    info!("veil-node stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
