//! Three gossip members on loopback: they join, share metadata, spread a
//! broadcast, notice a graceful leave and a crash.
//!
//! ```sh
//! cargo run --release -p murmura-examples --example gossip_cluster
//! ```

use std::time::{Duration, Instant};

use murmura::gossip::runtime::{Gossip, Options};
use murmura::gossip::{Config, Event, State};

fn config() -> Config {
    // The local preset with faster probes, so the demo takes seconds.
    let mut c = Config::local();
    c.probe_interval = Duration::from_millis(200);
    c.probe_timeout = Duration::from_millis(100);
    c.gossip_interval = Duration::from_millis(50);
    c
}

async fn wait_until(what: &str, member: &Gossip, name: &str, state: State) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(20) {
        let members = member.members().await.unwrap_or_default();
        if members.iter().any(|m| m.name == name && m.state == state) {
            println!("{what}: {name} is {state:?} after {:?}", start.elapsed());
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    println!("{what}: gave up waiting for {name} to be {state:?}");
}

#[tokio::main]
async fn main() -> murmura::gossip::Result<()> {
    let mut nodes = Vec::new();
    for i in 0..3 {
        let bind = "127.0.0.1:0".parse().expect("valid address");
        nodes.push(Gossip::start(Options::new(format!("node-{i}"), bind, config())).await?);
    }
    let seed = nodes[0].local_addr().to_string();
    for n in &nodes[1..] {
        n.join([seed.as_str()]).await?;
    }
    wait_until("join", &nodes[0], "node-2", State::Alive).await;

    nodes[1].set_metadata(b"zone=b".to_vec()).await?;
    let mut events = nodes[2].subscribe();
    nodes[0]
        .broadcast("greeting", b"hello, cluster".to_vec())
        .await?;
    let deadline = tokio::time::sleep(Duration::from_secs(5));
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            event = events.recv() => match event {
                Ok(Event::Broadcast { key, payload }) => {
                    println!("node-2 got broadcast {:?} = {:?}", String::from_utf8_lossy(&key), String::from_utf8_lossy(&payload));
                    break;
                }
                Ok(other) => println!("node-2 event: {other:?}"),
                Err(_) => break,
            },
            _ = &mut deadline => { println!("no broadcast within 5 s"); break; }
        }
    }

    nodes[2].leave().await?;
    wait_until("leave", &nodes[0], "node-2", State::Left).await;
    nodes[1].stop().await;
    wait_until("crash", &nodes[0], "node-1", State::Dead).await;
    let stats = nodes[0].stats().await?;
    println!(
        "node-0: {} probes, {} suspicions, {} messages sent, {} bytes sent",
        stats.core.probes, stats.core.suspicions, stats.core.messages_sent, stats.core.bytes_sent
    );
    Ok(())
}
