//! The HTTP API.

use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use metrics_exporter_prometheus::PrometheusHandle;
use murmura::cluster::runtime::Node;
use murmura::cluster::{Consistency, Error, MAX_KEY_LEN, Op, Value, ValueError};
use murmura::gossip::runtime::Gossip;
use serde::Deserialize;
use serde_json::{Value as Json_, json};

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    /// The store member.
    pub node: Node,
    /// The gossip member it runs on.
    pub gossip: Gossip,
    /// Renders `/metrics`.
    pub metrics: PrometheusHandle,
}

/// The API's routes over `state`, accepting bodies up to `max_body` bytes.
pub fn router(state: AppState, max_body: usize) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/v1/members", get(members))
        .route("/v1/keys/{key}", get(read).post(write))
        .route("/metrics", get(metrics))
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(state)
}

fn error(status: StatusCode, message: impl std::fmt::Display) -> Response {
    (status, Json(json!({ "error": message.to_string() }))).into_response()
}

fn store_error(e: &Error) -> Response {
    let status = match e {
        Error::Value(ValueError::WrongType { .. }) => StatusCode::CONFLICT,
        Error::BadKey { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        Error::BadConsistency { .. } => StatusCode::BAD_REQUEST,
        Error::Overloaded => StatusCode::TOO_MANY_REQUESTS,
        Error::Unavailable { .. } | Error::NoMembers | Error::Stopped => {
            StatusCode::SERVICE_UNAVAILABLE
        }
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    // The whole chain: "the operation was refused: the key holds a counter…".
    let mut message = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    error(status, message)
}

fn consistency(name: Option<&str>) -> Result<Consistency, Response> {
    match name {
        None | Some("default") => Ok(Consistency::Default),
        Some("one") => Ok(Consistency::One),
        Some("quorum") => Ok(Consistency::Quorum),
        Some("all") => Ok(Consistency::All),
        Some(other) => Err(error(
            StatusCode::BAD_REQUEST,
            format!("unknown consistency {other:?}: expected one, quorum or all"),
        )),
    }
}

fn check_key(key: &str) -> Result<(), Response> {
    if key.len() > MAX_KEY_LEN {
        return Err(error(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "a key is at most {MAX_KEY_LEN} bytes, this one {}",
                key.len()
            ),
        ));
    }
    Ok(())
}

async fn health(State(s): State<AppState>) -> Response {
    match s.gossip.members().await {
        Ok(members) => {
            let live = members.iter().filter(|m| !m.state.is_gone()).count();
            Json(json!({ "status": "ok", "member": s.node.name(), "live_members": live }))
                .into_response()
        }
        Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, e),
    }
}

async fn members(State(s): State<AppState>) -> Response {
    match s.gossip.members().await {
        Ok(members) => {
            let list: Vec<Json_> = members
                .iter()
                .map(|m| {
                    json!({
                        "name": m.name,
                        "addr": m.addr.to_string(),
                        "state": format!("{:?}", m.state).to_lowercase(),
                        "incarnation": m.incarnation,
                    })
                })
                .collect();
            Json(list).into_response()
        }
        Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, e),
    }
}

#[derive(Deserialize)]
struct ReadQuery {
    consistency: Option<String>,
}

fn to_json(key: &str, v: &Value) -> Option<Json_> {
    Some(match v {
        Value::Counter(_) => {
            json!({ "key": key, "type": "counter", "value": v.as_counter()?.to_string().parse::<i64>().ok() })
        }
        Value::Set(_) => json!({ "key": key, "type": "set", "value": v.as_set()? }),
        Value::Register(_) => json!({
            "key": key,
            "type": "register",
            "value": String::from_utf8_lossy(v.as_register()?),
        }),
        _ => return None,
    })
}

async fn read(
    State(s): State<AppState>,
    Path(key): Path<String>,
    Query(q): Query<ReadQuery>,
) -> Response {
    if let Err(r) = check_key(&key) {
        return r;
    }
    let c = match consistency(q.consistency.as_deref()) {
        Ok(c) => c,
        Err(r) => return r,
    };
    match s.node.get(key.clone(), c).await {
        Ok(v) => match to_json(&key, &v) {
            Some(body) => Json(body).into_response(),
            None => error(StatusCode::NOT_FOUND, format!("no value under {key:?}")),
        },
        Err(e) => store_error(&e),
    }
}

#[derive(Deserialize)]
#[serde(tag = "op", rename_all = "lowercase", deny_unknown_fields)]
enum Request {
    Add {
        by: i64,
        consistency: Option<String>,
    },
    Insert {
        element: String,
        consistency: Option<String>,
    },
    Remove {
        element: String,
        consistency: Option<String>,
    },
    Write {
        value: String,
        consistency: Option<String>,
    },
}

async fn write(
    State(s): State<AppState>,
    Path(key): Path<String>,
    body: Result<Json<Request>, JsonRejection>,
) -> Response {
    if let Err(r) = check_key(&key) {
        return r;
    }
    let Json(request) = match body {
        Ok(b) => b,
        Err(JsonRejection::BytesRejection(e)) => {
            return error(StatusCode::PAYLOAD_TOO_LARGE, e.body_text());
        }
        Err(e) => return error(StatusCode::BAD_REQUEST, e.body_text()),
    };
    let (op, c) = match request {
        Request::Add { by, consistency } => (Op::Add(by), consistency),
        Request::Insert {
            element,
            consistency,
        } => (Op::Insert(element), consistency),
        Request::Remove {
            element,
            consistency,
        } => (Op::Remove(element), consistency),
        Request::Write { value, consistency } => (Op::Write(value.into_bytes()), consistency),
    };
    let c = match consistency(c.as_deref()) {
        Ok(c) => c,
        Err(r) => return r,
    };
    match s.node.update(key, op, c).await {
        Ok(()) => Json(json!({ "ok": true })).into_response(),
        Err(e) => store_error(&e),
    }
}

async fn metrics(State(s): State<AppState>) -> Response {
    if let Ok(st) = s.node.status().await {
        let labels = [("member", st.name.clone())];
        metrics::gauge!("murmura_store_keys", &labels).set(st.keys as f64);
        metrics::gauge!("murmura_store_hints", &labels).set(st.hints as f64);
        metrics::gauge!("murmura_store_keys_leaving", &labels).set(st.leaving as f64);
        metrics::gauge!("murmura_store_peers_down", &labels).set(st.down.len() as f64);
        metrics::gauge!("murmura_store_breakers_not_closed", &labels).set(st.breakers.len() as f64);
        let counters = [
            ("murmura_store_writes_acked_total", st.stats.writes_acked),
            ("murmura_store_writes_failed_total", st.stats.writes_failed),
            ("murmura_store_reads_total", st.stats.reads_done),
            ("murmura_store_hinted_writes_total", st.stats.hinted_writes),
            (
                "murmura_store_hints_delivered_total",
                st.stats.hints_delivered,
            ),
            (
                "murmura_store_keys_handed_off_total",
                st.stats.keys_handed_off,
            ),
            (
                "murmura_store_anti_entropy_rounds_total",
                st.stats.anti_entropy_rounds,
            ),
            ("murmura_store_keys_repaired_total", st.stats.keys_repaired),
            ("murmura_store_sent_bytes_total", st.stats.bytes_sent),
            (
                "murmura_store_journal_errors_total",
                st.stats.journal_errors,
            ),
        ];
        for (name, value) in counters {
            metrics::counter!(name, &labels).absolute(value);
        }
    }
    if let Ok(g) = s.gossip.stats().await {
        let labels = [("member", s.node.name().to_owned())];
        metrics::counter!("murmura_gossip_probes_total", &labels).absolute(g.core.probes);
        metrics::counter!("murmura_gossip_suspicions_total", &labels).absolute(g.core.suspicions);
        metrics::counter!("murmura_gossip_refutations_total", &labels).absolute(g.core.refutations);
        metrics::counter!("murmura_gossip_sent_bytes_total", &labels).absolute(g.core.bytes_sent);
        metrics::counter!("murmura_gossip_received_bytes_total", &labels)
            .absolute(g.core.bytes_received);
    }
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        s.metrics.render(),
    )
        .into_response()
}
