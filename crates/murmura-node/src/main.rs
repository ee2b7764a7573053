//! `murmura-node`: one store member. See the crate docs for the API.

use metrics_exporter_prometheus::PrometheusBuilder;
use murmura::cluster::persist::FsyncPolicy;
use murmura::cluster::runtime::{Node, NodeOptions};
use murmura::gossip::Config;
use murmura::gossip::runtime::{Gossip, Options};
use murmura_node::{AppState, Settings, load_keyring, router};
use std::process::ExitCode;
use std::time::Duration;

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("murmura-node: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let s = Settings::load()?;
    let name = s.name.clone().unwrap_or_else(|| format!("node-{}", s.bind));
    let mut config = Config::lan().with_label(&s.label);
    if let Some(path) = &s.key_file {
        config.keyring = Some(load_keyring(path)?);
    }
    let mut options = Options::new(name.clone(), s.bind, config);
    options.advertise = s.advertise;
    let gossip = Gossip::start(options).await?;
    if let Some(zone) = &s.zone {
        gossip
            .set_metadata(format!("zone={zone}").into_bytes())
            .await?;
    }
    if !s.seeds.is_empty() {
        // A seed that is not up yet is not fatal: gossip keeps trying.
        if let Err(e) = gossip.join(&s.seeds).await {
            eprintln!("murmura-node: joining {:?}: {e} (will retry)", s.seeds);
        }
    }
    let mut node_options = NodeOptions::default();
    node_options.store.replicas = s.replicas;
    node_options.store.write_quorum = s.write_quorum;
    node_options.store.read_quorum = s.read_quorum;
    node_options.data_dir = s.data_dir.clone();
    node_options.fsync = match s.fsync.as_str() {
        "always" => FsyncPolicy::Always,
        "batched" => FsyncPolicy::Batched(Duration::from_millis(10)),
        "never" => FsyncPolicy::Never,
        other => {
            return Err(format!("--fsync: expected always, batched or never, not {other}").into());
        }
    };
    let node = Node::start(name.clone(), gossip.clone(), node_options).await?;
    let metrics = PrometheusBuilder::new().install_recorder()?;
    let app = router(
        AppState {
            node: node.clone(),
            gossip: gossip.clone(),
            metrics,
        },
        s.max_body,
    );
    let listener = tokio::net::TcpListener::bind(s.http_bind).await?;
    println!(
        "murmura-node {name}: gossip on {}, HTTP on {}",
        gossip.local_addr(),
        listener.local_addr()?
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    // Leave gracefully, so peers hand off at once instead of suspecting.
    node.stop().await;
    let _ = gossip.leave().await;
    gossip.stop().await;
    Ok(())
}
