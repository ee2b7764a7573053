//! The HTTP API against a one-member cluster on loopback, through the
//! router (no process, no HTTP client).

use axum::body::Body;
use axum::http::{Request, StatusCode};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use murmura::cluster::runtime::{Node, NodeOptions};
use murmura::gossip::Config;
use murmura::gossip::runtime::{Gossip, Options};
use murmura_node::{AppState, Settings, load_keyring, router};
use std::sync::OnceLock;
use tower::ServiceExt;

fn metrics() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            PrometheusBuilder::new()
                .install_recorder()
                .expect("one recorder")
        })
        .clone()
}

async fn app() -> axum::Router {
    let gossip = Gossip::start(Options::new(
        "api-1",
        "127.0.0.1:0".parse().unwrap(),
        Config::local(),
    ))
    .await
    .unwrap();
    let node = Node::start("api-1".into(), gossip.clone(), NodeOptions::default())
        .await
        .unwrap();
    router(
        AppState {
            node,
            gossip,
            metrics: metrics(),
        },
        1024,
    )
}

async fn call(app: &axum::Router, method: &str, uri: &str, body: &str) -> (StatusCode, String) {
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json")
        .body(Body::from(body.to_owned()))
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

#[tokio::test]
async fn writes_and_reads_each_type() {
    let app = app().await;
    assert_eq!(
        call(&app, "POST", "/v1/keys/hits", r#"{"op":"add","by":5}"#)
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        call(&app, "POST", "/v1/keys/hits", r#"{"op":"add","by":-2}"#)
            .await
            .0,
        StatusCode::OK
    );
    let (s, body) = call(&app, "GET", "/v1/keys/hits", "").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        body.contains(r#""type":"counter""#) && body.contains(r#""value":3"#),
        "{body}"
    );
    call(
        &app,
        "POST",
        "/v1/keys/tags",
        r#"{"op":"insert","element":"red"}"#,
    )
    .await;
    call(
        &app,
        "POST",
        "/v1/keys/tags",
        r#"{"op":"insert","element":"blue"}"#,
    )
    .await;
    call(
        &app,
        "POST",
        "/v1/keys/tags",
        r#"{"op":"remove","element":"red"}"#,
    )
    .await;
    let (_, body) = call(&app, "GET", "/v1/keys/tags?consistency=quorum", "").await;
    assert!(body.contains(r#""value":["blue"]"#), "{body}");
    call(
        &app,
        "POST",
        "/v1/keys/motd",
        r#"{"op":"write","value":"hello"}"#,
    )
    .await;
    let (_, body) = call(&app, "GET", "/v1/keys/motd", "").await;
    assert!(body.contains(r#""value":"hello""#), "{body}");
}

#[tokio::test]
async fn bad_requests_get_a_clear_4xx_and_change_nothing() {
    let app = app().await;
    call(&app, "POST", "/v1/keys/n", r#"{"op":"add","by":1}"#).await;
    let cases = [
        (
            r#"{"op":"insert","element":"x"}"#,
            StatusCode::CONFLICT,
            "counter",
        ),
        (r#"{"op":"add","by":"#, StatusCode::BAD_REQUEST, "EOF"),
        (
            r#"{"op":"explode"}"#,
            StatusCode::BAD_REQUEST,
            "unknown variant",
        ),
        (
            r#"{"op":"add","by":1,"extra":true}"#,
            StatusCode::BAD_REQUEST,
            "unknown field",
        ),
        (
            r#"{"op":"add","by":1,"consistency":"most"}"#,
            StatusCode::BAD_REQUEST,
            "unknown consistency",
        ),
    ];
    for (body, status, says) in cases {
        let (s, text) = call(&app, "POST", "/v1/keys/n", body).await;
        assert_eq!(s, status, "{body} -> {text}");
        assert!(text.contains(says), "{body} -> {text}");
        assert!(text.starts_with(r#"{"error":"#), "{text}");
    }
    let big = format!(r#"{{"op":"write","value":"{}"}}"#, "x".repeat(4096));
    assert_eq!(
        call(&app, "POST", "/v1/keys/n2", &big).await.0,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    let long_key = format!("/v1/keys/{}", "k".repeat(2000));
    assert_eq!(
        call(&app, "POST", &long_key, r#"{"op":"add","by":1}"#)
            .await
            .0,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    assert_eq!(
        call(&app, "GET", "/v1/keys/never-written", "").await.0,
        StatusCode::NOT_FOUND
    );
    // Nothing changed.
    let (_, body) = call(&app, "GET", "/v1/keys/n", "").await;
    assert!(body.contains(r#""value":1"#), "{body}");
    assert_eq!(
        call(&app, "GET", "/v1/keys/n2", "").await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn health_members_and_metrics() {
    let app = app().await;
    let (s, body) = call(&app, "GET", "/health", "").await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains(r#""live_members":1"#), "{body}");
    let (_, body) = call(&app, "GET", "/v1/members", "").await;
    assert!(
        body.contains(r#""name":"api-1""#) && body.contains(r#""state":"alive""#),
        "{body}"
    );
    call(&app, "POST", "/v1/keys/m", r#"{"op":"add","by":1}"#).await;
    let (s, text) = call(&app, "GET", "/metrics", "").await;
    assert_eq!(s, StatusCode::OK);
    for name in [
        "murmura_store_keys",
        "murmura_store_writes_acked_total",
        "murmura_gossip_probes_total",
    ] {
        assert!(text.contains(name), "{name} missing from:\n{text}");
    }
}

#[test]
fn settings_from_a_file_are_overridden_by_flags() {
    let file: Settings = toml::from_str(
        r#"
        bind = "127.0.0.1:9000"
        seeds = ["a.example:7946", "b.example:7946"]
        zone = "az1"
        replicas = 5
        "#,
    )
    .unwrap();
    let cli = <Settings as clap::Parser>::parse_from([
        "murmura-node",
        "--replicas",
        "3",
        "--zone",
        "az2",
    ]);
    let s = Settings::merge(file, cli);
    assert_eq!(s.bind, "127.0.0.1:9000".parse().unwrap());
    assert_eq!(s.seeds.len(), 2);
    assert_eq!(s.zone.as_deref(), Some("az2"));
    // The flag equals the default, so the file's value stands.
    assert_eq!(s.replicas, 5);
    assert!(
        toml::from_str::<Settings>("bogus = 1").is_err(),
        "unknown keys are refused"
    );
}

#[test]
fn key_files_are_hex_a_key_a_line() {
    let dir = std::env::temp_dir().join(format!("murmura-keys-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("good");
    std::fs::write(
        &good,
        format!(
            "# cluster keys\n{}\n\n{}\n",
            "ab".repeat(32),
            "cd".repeat(32)
        ),
    )
    .unwrap();
    assert!(load_keyring(&good).is_ok());
    let short = dir.join("short");
    std::fs::write(&short, "abcd\n").unwrap();
    assert!(load_keyring(&short).unwrap_err().contains("32 bytes"));
    let empty = dir.join("empty");
    std::fs::write(&empty, "# nothing\n").unwrap();
    assert!(load_keyring(&empty).unwrap_err().contains("no key"));
    std::fs::remove_dir_all(&dir).unwrap();
}
