//! The replicated store over gossip members on loopback, through the facade.

use murmura::cluster::runtime::{Node, NodeOptions};
use murmura::cluster::{Consistency, Op};
use murmura::gossip::Config;
use murmura::gossip::runtime::{Gossip, Options};
use murmura::gossip::wire::Keyring;
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
    member_with(i, fast_config()).await
}

async fn member_with(i: u8, config: Config) -> (String, Gossip) {
    let name = format!("s{i}");
    let bind: SocketAddr = format!("127.0.0.{}:0", 60 + i).parse().unwrap();
    let mut o = Options::new(name.clone(), bind, config);
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_key_a_process_can_neither_join_read_nor_write() {
    let keyed = |key: u8| {
        let mut c = fast_config();
        c.keyring = Some(Keyring::new([key; 32]));
        c
    };
    let (a, ga) = member_with(10, keyed(1)).await;
    let (b, gb) = member_with(11, keyed(1)).await;
    let seed = ga.local_addr().to_string();
    gb.join([seed.as_str()]).await.expect("same key joins");
    let na = Node::start(a, ga.clone(), NodeOptions::default())
        .await
        .unwrap();
    let nb = Node::start(b, gb.clone(), NodeOptions::default())
        .await
        .unwrap();
    let formed = eventually(10, || async {
        nb.status().await.unwrap().placed.len() == 2
    })
    .await;
    assert!(formed);
    na.update("secret", Op::Write(b"42".to_vec()), Consistency::All)
        .await
        .expect("keyed members replicate");
    // An intruder with another key (or none) cannot join...
    for intruder in [keyed(2), fast_config()] {
        let (name, gi) = member_with(12, intruder).await;
        assert!(gi.join([seed.as_str()]).await.is_err(), "join refused");
        let ni = Node::start(name, gi.clone(), NodeOptions::default())
            .await
            .unwrap();
        // ...its store stays alone: it neither reads the cluster's data...
        let read = ni.get("secret", Consistency::One).await.unwrap();
        assert!(read.as_register().is_none(), "the intruder read nothing");
        // ...nor writes into it.
        ni.update("secret", Op::Write(b"evil".to_vec()), Consistency::One)
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(500)).await;
        let v = na.get("secret", Consistency::All).await.unwrap();
        assert_eq!(v.as_register(), Some(&b"42"[..]));
        assert!(
            ga.members().await.unwrap().iter().all(|m| m.name != "s12"),
            "not a member"
        );
        ni.stop().await;
        gi.stop().await;
    }
    na.stop().await;
    nb.stop().await;
    ga.stop().await;
    gb.stop().await;
}
