//! A gossip member as its own process, for the network-namespace test and
//! for trying a cluster by hand:
//!
//! ```sh
//! cargo run -p murmura-gossip --bin gossip-node -- n1 127.0.0.1:7001
//! cargo run -p murmura-gossip --bin gossip-node -- n2 127.0.0.1:7002 127.0.0.1:7001
//! ```
//!
//! Arguments: `NAME BIND [SEED...]`. Every 200 ms, and after each event, it
//! prints one line `VIEW name=state ...` with every member it knows.

use std::time::Duration;

use murmura_gossip::Config;
use murmura_gossip::runtime::{Gossip, Options};

fn fast_config() -> Config {
    let mut c = Config::local();
    c.probe_interval = Duration::from_millis(200);
    c.probe_timeout = Duration::from_millis(100);
    c.gossip_interval = Duration::from_millis(50);
    c.push_pull_interval = Duration::from_secs(2);
    c.push_pull_timeout = Duration::from_secs(2);
    c.reconnect_interval = Duration::from_millis(500);
    c
}

async fn print_view(g: &Gossip) {
    let Ok(mut members) = g.members().await else {
        return;
    };
    members.sort_by(|a, b| a.name.cmp(&b.name));
    let view: Vec<String> = members
        .iter()
        .map(|m| format!("{}={:?}", m.name, m.state).to_lowercase())
        .collect();
    println!("VIEW {}", view.join(" "));
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(name), Some(bind)) = (args.next(), args.next()) else {
        eprintln!("usage: gossip-node NAME BIND [SEED...]");
        std::process::exit(2);
    };
    let seeds: Vec<String> = args.collect();
    let node = Gossip::start(Options::new(name, bind.parse()?, fast_config())).await?;
    let mut events = node.subscribe();
    if !seeds.is_empty() {
        // A seed that is not up yet is retried in the background (partition healing).
        if let Err(e) = node.join(seeds.iter()).await {
            eprintln!("join: {e}; retrying in the background");
        }
    }
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    loop {
        tokio::select! {
            _ = tick.tick() => print_view(&node).await,
            e = events.recv() => {
                if e.is_ok() {
                    print_view(&node).await;
                }
            }
        }
    }
}
