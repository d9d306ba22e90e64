//! Ceremonies over HTTP: a coordinator that is only a bulletin board, and the member client.
//!
//! The coordinator (axum) collects registrations, dealings and responses and serves them
//! back. It checks every message it accepts with the same public checks every member runs
//! (so garbage does not reach the board), but it holds no secret and can forge nothing:
//! dealings, complaints and responses are BLS-signed by members, and every member re-verifies
//! the final transcript itself. What the coordinator *can* do is deny service or choose which
//! valid dealings arrive first; the protocol tolerates both (qualification needs only
//! `quorum` valid dealings, and any `quorum ≥ t` of them contains an honest one).
//!
//! Phases, each closed by the coordinator and observable by polling:
//!
//! 1. registration — `POST /v1/register` (a member record); when `n` have registered, the
//!    roster (in registration order) becomes the ceremony parameters, `GET /v1/params`;
//! 2. dealing — `POST /v1/dealings`; closes when every dealer has dealt, or `deal_grace`
//!    after the quorum was reached (laggards cannot stall it); `GET /v1/dealings`;
//! 3. responses — `POST /v1/responses` (signed, with complaints); closes when every member
//!    has responded or `response_grace` after dealing closed; `GET /v1/transcript`.
//!
//! With `roster` set, only the listed members may register (others get `403`), and member
//! indices follow the roster's order; without it, seats go to the first `n` to register, so
//! members should compare the ceremony identifier (logged by `keygen join`) out of band.
//!
//! Until a phase closes its `GET` answers `503` with `{code: "not_ready"}`; clients poll with
//! a bounded total wait. Errors are `{code, message}` JSON with a 4xx status.
use std::collections::BTreeMap;
use std::io::Read;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response as HttpResponse};
use axum::routing::{get, post};
use rand_core::{CryptoRng, RngCore};

use crate::dkg::{self, CeremonyParams, Dealing, DkgError, MemberShare, Response, Transcript};
use crate::files::{self, FilesError, Finished};
use crate::identity::{MemberPublic, MemberSecret};
use crate::seal::SealParams;

/// Largest request body the coordinator accepts.
pub const MAX_BODY: usize = 8 << 20;

/// Coordinator settings.
#[derive(Clone, Debug)]
pub struct CoordinatorConfig {
    /// Committee size `n`.
    pub members: u32,
    /// Threshold `t`.
    pub threshold: u32,
    /// Qualified dealings needed (`t ≤ quorum ≤ n`).
    pub quorum: u32,
    /// Epoch of the new committee.
    pub epoch: u64,
    /// How long to wait for more dealings once the quorum is reached.
    pub deal_grace: Duration,
    /// How long to wait for responses once dealing has closed.
    pub response_grace: Duration,
    /// If set, only these members may register, and they get these indices (list order);
    /// otherwise anyone who can reach the coordinator may take a seat, in arrival order.
    pub roster: Option<Vec<MemberPublic>>,
    /// Resharing: the committee whose key the new members receive (its members deal; the
    /// epoch is the previous one plus one and the quorum its threshold).
    pub previous: Option<crate::committee::Committee>,
}

struct Board {
    cfg: CoordinatorConfig,
    registered: Vec<MemberPublic>,
    params: Option<(CeremonyParams, [u8; 32])>,
    dealings: Vec<Dealing>,
    quorum_at: Option<Instant>,
    dealing_closed_at: Option<Instant>,
    responses: BTreeMap<u32, Response>,
    transcript: Option<Vec<u8>>,
}

#[derive(Debug)]
struct ApiError(StatusCode, &'static str, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> HttpResponse {
        let body = serde_json::json!({ "code": self.1, "message": self.2 });
        (
            self.0,
            [("content-type", "application/json")],
            body.to_string(),
        )
            .into_response()
    }
}

fn bad(e: impl std::fmt::Display) -> ApiError {
    ApiError(StatusCode::BAD_REQUEST, "invalid", e.to_string())
}
fn conflict(m: &str) -> ApiError {
    ApiError(StatusCode::CONFLICT, "conflict", m.to_owned())
}
fn not_ready(what: &str) -> ApiError {
    ApiError(
        StatusCode::SERVICE_UNAVAILABLE,
        "not_ready",
        format!("{what} not ready"),
    )
}

impl Board {
    fn tick(&mut self, now: Instant) {
        let Some((params, _)) = &self.params else {
            return;
        };
        if self.dealing_closed_at.is_none() {
            let dealers = params.dealers().len();
            if self.dealings.len() >= params.quorum as usize {
                let at = *self.quorum_at.get_or_insert(now);
                if self.dealings.len() == dealers || now.duration_since(at) >= self.cfg.deal_grace {
                    self.dealing_closed_at = Some(now);
                    tracing::info!(dealings = self.dealings.len(), "dealing phase closed");
                }
            }
        }
        if let Some(closed) = self.dealing_closed_at
            && self.transcript.is_none()
            && (self.responses.len() == params.members.len()
                || now.duration_since(closed) >= self.cfg.response_grace)
        {
            let t = Transcript {
                params: params.clone(),
                dealings: self.dealings.clone(),
                complaints: self
                    .responses
                    .values()
                    .flat_map(|r| r.complaints.clone())
                    .collect(),
            };
            tracing::info!(responses = self.responses.len(), "transcript closed");
            self.transcript = Some(t.to_bytes());
        }
    }
}

type Shared = Arc<Mutex<Board>>;

fn lock(s: &Shared) -> std::sync::MutexGuard<'_, Board> {
    // A panic while holding the lock cannot leave the board half-updated in a way that
    // matters more than stopping: recover the guard.
    s.lock().unwrap_or_else(|p| p.into_inner())
}

async fn register(State(s): State<Shared>, body: Bytes) -> Result<StatusCode, ApiError> {
    let m = MemberPublic::from_bytes(&body).map_err(bad)?;
    m.verify().map_err(bad)?;
    let mut b = lock(&s);
    let same_keys =
        |r: &MemberPublic| r.signing_key == m.signing_key && r.encryption_key == m.encryption_key;
    if b.registered.iter().any(same_keys) {
        return Ok(StatusCode::OK); // a retry: idempotent
    }
    if let Some(roster) = &b.cfg.roster
        && !roster.iter().any(same_keys)
    {
        return Err(ApiError(
            StatusCode::FORBIDDEN,
            "not_on_roster",
            "member is not on the roster".into(),
        ));
    }
    if b.params.is_some() {
        return Err(conflict("registration closed"));
    }
    if b.registered
        .iter()
        .any(|r| r.signing_key == m.signing_key || r.encryption_key == m.encryption_key)
    {
        return Err(conflict("key already registered"));
    }
    b.registered.push(m);
    tracing::info!(
        registered = b.registered.len(),
        of = b.cfg.members,
        "member registered"
    );
    if b.registered.len() == b.cfg.members as usize {
        let mut members = b.registered.clone();
        if let Some(roster) = &b.cfg.roster {
            members.sort_by_key(|m| roster.iter().position(|r| r.signing_key == m.signing_key));
        }
        let p = match &b.cfg.previous {
            None => CeremonyParams::fresh(b.cfg.epoch, b.cfg.threshold, b.cfg.quorum, members),
            Some(prev) => CeremonyParams::reshare(prev.clone(), b.cfg.threshold, members),
        }
        .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, "params", e.to_string()))?;
        let id = p.id();
        b.params = Some((p, id));
    }
    Ok(StatusCode::OK)
}

async fn params(State(s): State<Shared>) -> Result<Vec<u8>, ApiError> {
    let b = lock(&s);
    b.params
        .as_ref()
        .map(|(p, _)| p.to_bytes())
        .ok_or_else(|| not_ready("parameters"))
}

async fn post_dealing(State(s): State<Shared>, body: Bytes) -> Result<StatusCode, ApiError> {
    let d = Dealing::from_bytes(&body).map_err(bad)?;
    let mut b = lock(&s);
    let (p, id) = b.params.as_ref().ok_or_else(|| not_ready("parameters"))?;
    dkg::verify_dealing(p, id, &d).map_err(bad)?;
    if let Some(old) = b.dealings.iter().find(|o| o.dealer == d.dealer) {
        return if old == &d {
            Ok(StatusCode::OK)
        } else {
            Err(conflict("dealer already dealt"))
        };
    }
    if b.dealing_closed_at.is_some() {
        return Err(conflict("dealing phase closed"));
    }
    tracing::info!(dealer = d.dealer, "dealing accepted");
    b.dealings.push(d);
    b.tick(Instant::now());
    Ok(StatusCode::OK)
}

async fn get_dealings(State(s): State<Shared>) -> Result<Vec<u8>, ApiError> {
    let mut b = lock(&s);
    b.tick(Instant::now());
    if b.dealing_closed_at.is_none() {
        return Err(not_ready("dealings"));
    }
    Ok(dkg::encode_dealings(&b.dealings))
}

async fn post_response(State(s): State<Shared>, body: Bytes) -> Result<StatusCode, ApiError> {
    let r = Response::from_bytes(&body).map_err(bad)?;
    let mut b = lock(&s);
    let (p, id) = b.params.as_ref().ok_or_else(|| not_ready("parameters"))?;
    r.verify(p, id).map_err(bad)?;
    if b.dealing_closed_at.is_none() {
        return Err(not_ready("dealings"));
    }
    if b.transcript.is_some() {
        return Err(conflict("response phase closed"));
    }
    b.responses.entry(r.member).or_insert(r);
    b.tick(Instant::now());
    Ok(StatusCode::OK)
}

async fn transcript(State(s): State<Shared>) -> Result<Vec<u8>, ApiError> {
    let mut b = lock(&s);
    b.tick(Instant::now());
    b.transcript.clone().ok_or_else(|| not_ready("transcript"))
}

/// The coordinator's router.
pub fn router(cfg: CoordinatorConfig) -> Router {
    let board = Board {
        cfg,
        registered: Vec::new(),
        params: None,
        dealings: Vec::new(),
        quorum_at: None,
        dealing_closed_at: None,
        responses: BTreeMap::new(),
        transcript: None,
    };
    Router::new()
        .route("/v1/register", post(register))
        .route("/v1/params", get(params))
        .route("/v1/dealings", post(post_dealing).get(get_dealings))
        .route("/v1/responses", post(post_response))
        .route("/v1/transcript", get(transcript))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .with_state(Arc::new(Mutex::new(board)))
}

/// Serves the coordinator on a bound listener until the process ends.
pub async fn serve(
    listener: tokio::net::TcpListener,
    cfg: CoordinatorConfig,
) -> std::io::Result<()> {
    axum::serve(listener, router(cfg)).await
}

/// Errors of the member client.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The coordinator could not be reached.
    #[error("coordinator unreachable: {0}")]
    Transport(String),
    /// The coordinator refused a request.
    #[error("coordinator answered {status}: {message}")]
    Status {
        /// HTTP status.
        status: u16,
        /// Response body.
        message: String,
    },
    /// A phase did not close within the bounded wait.
    #[error("timed out after {0:?} waiting for {1}")]
    Timeout(Duration, &'static str),
    /// A local file or ceremony step failed.
    #[error(transparent)]
    Files(#[from] FilesError),
    /// A message from the coordinator was invalid.
    #[error(transparent)]
    Dkg(#[from] DkgError),
}

/// A blocking client of one coordinator.
pub struct Client {
    base: String,
    agent: ureq::Agent,
    /// Longest total wait for any one phase.
    pub wait: Duration,
}

impl Client {
    /// A client of the coordinator at `base` (e.g. `http://127.0.0.1:8080`).
    pub fn new(base: &str, wait: Duration) -> Self {
        let agent = ureq::AgentBuilder::new()
            .timeout(Duration::from_secs(30))
            .build();
        Client {
            base: base.trim_end_matches('/').to_owned(),
            agent,
            wait,
        }
    }

    fn body(resp: ureq::Response) -> Result<Vec<u8>, HttpError> {
        let mut out = Vec::new();
        resp.into_reader()
            .take(dkg::MAX_TRANSCRIPT_LEN as u64)
            .read_to_end(&mut out)
            .map_err(|e| HttpError::Transport(e.to_string()))?;
        Ok(out)
    }

    fn post(&self, path: &str, body: &[u8]) -> Result<(), HttpError> {
        match self
            .agent
            .post(&format!("{}{path}", self.base))
            .send_bytes(body)
        {
            Ok(_) => Ok(()),
            Err(ureq::Error::Status(status, r)) => Err(HttpError::Status {
                status,
                message: r.into_string().unwrap_or_default(),
            }),
            Err(e) => Err(HttpError::Transport(e.to_string())),
        }
    }

    /// Polls `path` until it answers 200, with a bounded total wait and capped backoff.
    fn poll(&self, path: &str, what: &'static str) -> Result<Vec<u8>, HttpError> {
        let start = Instant::now();
        let mut pause = Duration::from_millis(10);
        loop {
            match self.agent.get(&format!("{}{path}", self.base)).call() {
                Ok(r) => return Self::body(r),
                Err(ureq::Error::Status(503, _)) => {}
                Err(ureq::Error::Status(status, r)) => {
                    return Err(HttpError::Status {
                        status,
                        message: r.into_string().unwrap_or_default(),
                    });
                }
                Err(e) => return Err(HttpError::Transport(e.to_string())),
            }
            if start.elapsed() >= self.wait {
                return Err(HttpError::Timeout(self.wait, what));
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(200));
        }
    }

    /// Runs the whole ceremony as one participant: register (unless `register` is false: an
    /// old member that only deals when resharing), deal if this identity is a dealer (with
    /// its old share when resharing), check and respond, then verify the transcript and write
    /// the outputs into `out`. Returns `None` for a dealer that is not a new member.
    #[allow(clippy::too_many_arguments)]
    pub fn join(
        &self,
        identity: &MemberSecret,
        old_share: Option<&MemberShare>,
        register: bool,
        passphrase: &[u8],
        out: &std::path::Path,
        seal_params: SealParams,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<Option<Finished>, HttpError> {
        if register {
            self.post("/v1/register", &identity.public(rng).to_bytes())?;
        }
        let params = CeremonyParams::from_bytes(&self.poll("/v1/params", "parameters")?)?;
        let me = params.member_index(&identity.signing_key());
        let dealer = params.dealer_index(&identity.signing_key());
        if me.is_none() && dealer.is_none() {
            return Err(FilesError::NotInCeremony("a member or dealer").into());
        }
        tracing::info!(
            member = ?me,
            dealer = ?dealer,
            n = params.n(),
            t = params.threshold,
            epoch = params.epoch,
            ceremony = %hex::encode(params.id()),
            "ceremony parameters received"
        );
        if let Some(dealer) = dealer {
            if params.previous.is_some() && old_share.is_none() {
                return Err(
                    DkgError::Params("resharing: this dealer needs its old share".into()).into(),
                );
            }
            let d = dkg::deal(
                &params,
                dealer,
                identity,
                old_share.map(|s| s.secret()),
                rng,
            )?;
            self.post("/v1/dealings", &d.to_bytes())?;
        }
        let Some(me) = me else { return Ok(None) };
        let dealings = dkg::decode_dealings(&self.poll("/v1/dealings", "dealings")?)?;
        let response = files::respond(&params, identity, me, &dealings, rng)?;
        self.post("/v1/responses", &response.to_bytes())?;
        let transcript = Transcript::from_bytes(&self.poll("/v1/transcript", "transcript")?)?;
        if transcript.params != params {
            return Err(DkgError::WrongCeremony.into());
        }
        Ok(Some(files::finish(
            &transcript,
            identity,
            out,
            passphrase,
            seal_params,
            rng,
        )?))
    }
}
