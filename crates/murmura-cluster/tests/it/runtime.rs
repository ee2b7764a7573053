//! Store members over real gossip members on loopback.

use murmura_cluster::runtime::{Node, NodeOptions};
use murmura_cluster::{Consistency, Op};
use murmura_gossip::Config;
use murmura_gossip::runtime::{Gossip, Options};
use std::net::SocketAddr;
use std::time::Duration;

fn fast_config() -> Config {
    let mut c = Config::local();
    c.probe_interval = Duration::from_millis(200);
    c.probe_timeout = Duration::from_millis(100);
    c.gossip_interval = Duration::from_millis(50);
    c.push_pull_interval = Duration::from_secs(2);
    c.push_pull_timeout = Duration::from_secs(2);
    c.reconnect_interval = Duration::from_secs(1);
    c
}

async fn member(i: u8) -> (String, Gossip) {
    let name = format!("s{i}");
    let bind: SocketAddr = format!("127.0.0.{}:0", 60 + i).parse().unwrap();
    let mut o = Options::new(name.clone(), bind, fast_config());
    o.rng_seed = Some(u64::from(i));
    (name, Gossip::start(o).await.unwrap())
}

async fn eventually<F, Fut>(secs: u64, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let end = tokio::time::Instant::now() + Duration::from_secs(secs);
    while tokio::time::Instant::now() < end {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_members_replicate_writes_and_a_fourth_joins_and_takes_its_share() {
    let mut gossips = Vec::new();
    for i in 0..3 {
        gossips.push(member(i).await);
    }
    let seed = gossips[0].1.local_addr().to_string();
    for (_, g) in &gossips[1..] {
        g.join([seed.as_str()]).await.unwrap();
    }
    let formed = eventually(15, || async {
        for (_, g) in &gossips {
            let live = g
                .members()
                .await
                .unwrap()
                .iter()
                .filter(|m| !m.state.is_gone())
                .count();
            if live != 3 {
                return false;
            }
        }
        true
    })
    .await;
    assert!(formed, "gossip cluster formed");
    let mut nodes = Vec::new();
    for (name, g) in &gossips {
        nodes.push(
            Node::start(name.clone(), g.clone(), NodeOptions::default())
                .await
                .unwrap(),
        );
    }
    for i in 0..60u32 {
        let node = &nodes[i as usize % 3];
        node.update(format!("c{i}"), Op::Add(i64::from(i)), Consistency::Default)
            .await
            .expect("write acknowledged");
    }
    for i in 0..60u32 {
        let v = nodes[(i as usize + 1) % 3]
            .get(format!("c{i}"), Consistency::Quorum)
            .await
            .expect("read");
        assert_eq!(v.as_counter(), Some(i128::from(i)), "c{i}");
    }
    // With three members and N = 3, everyone holds everything.
    for n in &nodes {
        assert_eq!(n.keys().await.unwrap().len(), 60);
    }
    // A fourth member joins: it gets a placement with four members and
    // its share of the keys; the others drop what they no longer own.
    let (name, g) = member(3).await;
    g.join([seed.as_str()]).await.unwrap();
    let fourth = Node::start(name, g.clone(), NodeOptions::default())
        .await
        .unwrap();
    nodes.push(fourth);
    let rebalanced = eventually(30, || async {
        let mut total = 0;
        for n in &nodes {
            let s = n.status().await.unwrap();
            if s.placed.len() != 4 || s.leaving != 0 {
                return false;
            }
            total += s.keys;
        }
        total == 180 && nodes[3].keys().await.unwrap().len() > 20
    })
    .await;
    if !rebalanced {
        for n in &nodes {
            eprintln!("{:?}", n.status().await.unwrap());
        }
    }
    assert!(rebalanced, "keys rebalanced onto the fourth member");
    for i in 0..60u32 {
        let v = nodes[3]
            .get(format!("c{i}"), Consistency::All)
            .await
            .expect("read");
        assert_eq!(v.as_counter(), Some(i128::from(i)), "c{i} after the join");
    }
    for n in &nodes {
        n.stop().await;
    }
    for (_, g) in &gossips {
        g.stop().await;
    }
    g.stop().await;
}
