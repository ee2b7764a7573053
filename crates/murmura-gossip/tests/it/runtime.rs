//! Several members as tokio tasks on 127.0.0.x.

use std::net::SocketAddr;
use std::time::Duration;

use murmura_gossip::runtime::{Gossip, Options};
use murmura_gossip::{Config, Error, Event, State};

/// Fast timers so the suite stays quick.
pub(crate) fn fast_config() -> Config {
    let mut c = Config::local();
    c.probe_interval = Duration::from_millis(200);
    c.probe_timeout = Duration::from_millis(100);
    c.gossip_interval = Duration::from_millis(50);
    c.push_pull_interval = Duration::from_secs(2);
    c.push_pull_timeout = Duration::from_secs(2);
    c.reconnect_interval = Duration::from_secs(1);
    c
}

async fn start(i: u8, config: Config) -> Gossip {
    let bind: SocketAddr = format!("127.0.0.{}:0", 20 + i).parse().unwrap();
    let mut o = Options::new(format!("m{i}"), bind, config);
    o.rng_seed = Some(u64::from(i));
    Gossip::start(o).await.unwrap()
}

/// Polls `check` every 50 ms for at most `secs`.
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

async fn sees(g: &Gossip, name: &str, state: State) -> bool {
    g.members()
        .await
        .unwrap()
        .iter()
        .any(|m| m.name == name && m.state == state)
}

async fn live(g: &Gossip) -> usize {
    g.members()
        .await
        .unwrap()
        .iter()
        .filter(|m| !m.state.is_gone())
        .count()
}

async fn cluster(n: u8, config: Config) -> Vec<Gossip> {
    let mut nodes = Vec::new();
    for i in 0..n {
        nodes.push(start(i, config.clone()).await);
    }
    let seed = nodes[0].local_addr().to_string();
    for g in &nodes[1..] {
        assert_eq!(g.join([seed.as_str()]).await.unwrap(), 1);
    }
    let ok = eventually(15, || async {
        for g in &nodes {
            if live(g).await != n as usize {
                return false;
            }
        }
        true
    })
    .await;
    assert!(ok, "the cluster of {n} did not form");
    nodes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn join_metadata_and_broadcast() {
    let nodes = cluster(4, fast_config()).await;
    let mut subs: Vec<_> = nodes.iter().map(|g| g.subscribe()).collect();

    nodes[2].set_metadata(b"role=cache".to_vec()).await.unwrap();
    let spread = eventually(10, || async {
        for g in &nodes {
            let members = g.members().await.unwrap();
            if !members
                .iter()
                .any(|m| m.name == "m2" && m.meta == b"role=cache")
            {
                return false;
            }
        }
        true
    })
    .await;
    assert!(spread, "metadata did not spread");

    nodes[1].broadcast("cfg", b"v7".to_vec()).await.unwrap();
    for (i, sub) in subs.iter_mut().enumerate() {
        if i == 1 {
            continue;
        }
        let got = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                match sub.recv().await {
                    Ok(Event::Broadcast { key, payload }) if key == b"cfg" => return payload,
                    Ok(_) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(e) => panic!("{e}"),
                }
            }
        })
        .await
        .expect("broadcast delivered");
        assert_eq!(got, b"v7");
    }
    // A message too large for a datagram goes over TCP.
    nodes[0]
        .send_reliable("m3", vec![5u8; 200_000])
        .await
        .unwrap();
    let direct = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match subs[3].recv().await {
                Ok(Event::Message { from, payload }) => return (from, payload),
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(e) => panic!("{e}"),
            }
        }
    })
    .await
    .expect("direct message delivered");
    assert_eq!((direct.0.as_str(), direct.1.len()), ("m0", 200_000));

    let stats = nodes[0].stats().await.unwrap();
    assert!(stats.core.probes > 0 && stats.core.messages_received > 0 && stats.core.bytes_sent > 0);
    for g in &nodes {
        g.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leave_is_left_and_a_stopped_member_failed() {
    let nodes = cluster(4, fast_config()).await;
    nodes[3].leave().await.unwrap();
    assert!(
        eventually(10, || async {
            sees(&nodes[0], "m3", State::Left).await && sees(&nodes[1], "m3", State::Left).await
        })
        .await,
        "leave not seen"
    );
    nodes[2].stop().await;
    assert!(
        eventually(20, || async {
            sees(&nodes[0], "m2", State::Dead).await && sees(&nodes[1], "m2", State::Dead).await
        })
        .await,
        "stopped member not detected"
    );
    assert!(nodes[0].stats().await.unwrap().core.suspicions >= 1);
    for g in &nodes[..2] {
        g.stop().await;
    }
}

#[cfg(feature = "encryption")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn encrypted_cluster_rejects_a_wrong_key() {
    use murmura_gossip::wire::Keyring;
    let good = fast_config()
        .with_keyring(Keyring::new([7; 32]))
        .with_compression(true);
    let nodes = cluster(3, good).await;
    let intruder = start(9, fast_config().with_keyring(Keyring::new([8; 32]))).await;
    let seed = nodes[0].local_addr().to_string();
    assert!(matches!(
        intruder.join([&seed]).await,
        Err(Error::JoinFailed)
    ));
    let plain = start(10, fast_config()).await;
    assert!(matches!(plain.join([&seed]).await, Err(Error::JoinFailed)));
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(live(&intruder).await, 1, "the wrong key got in");
    assert_eq!(live(&plain).await, 1, "plain text got in");
    assert_eq!(live(&nodes[0]).await, 3);
    let stats = nodes[0].stats().await.unwrap();
    assert!(stats.core.dropped_crypto >= 2, "{stats:?}");

    // Rotate to a new key without downtime: add everywhere, use everywhere,
    // remove the old one everywhere; the cluster stays whole throughout.
    use murmura_gossip::runtime::KeyringChange;
    for step in [
        KeyringChange::Add([9; 32]),
        KeyringChange::Use([9; 32]),
        KeyringChange::Remove([7; 32]),
    ] {
        for g in &nodes {
            g.change_keyring(step.clone()).await.unwrap();
        }
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    for g in &nodes {
        assert_eq!(live(g).await, 3, "rotation split the cluster");
    }
    // Traffic really flows under the new key: a broadcast arrives...
    let mut sub = nodes[2].subscribe();
    nodes[0].broadcast("rotated", b"k9".to_vec()).await.unwrap();
    let got = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match sub.recv().await {
                Ok(Event::Broadcast { key, payload }) if key == b"rotated" => return payload,
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(e) => panic!("{e}"),
            }
        }
    })
    .await
    .expect("broadcast under the new key delivered");
    assert_eq!(got, b"k9");
    // ...a member holding only the new key joins, one holding only the old does not.
    let fresh = start(11, fast_config().with_keyring(Keyring::new([9; 32]))).await;
    assert_eq!(fresh.join([&seed]).await.unwrap(), 1);
    let stale = start(12, fast_config().with_keyring(Keyring::new([7; 32]))).await;
    assert!(matches!(stale.join([&seed]).await, Err(Error::JoinFailed)));
    for g in nodes.iter().chain([&intruder, &plain, &fresh, &stale]) {
        g.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_cluster_label_is_ignored() {
    let nodes = cluster(2, fast_config().with_label("blue")).await;
    let other = start(11, fast_config().with_label("green")).await;
    let seed = nodes[0].local_addr().to_string();
    assert!(matches!(other.join([seed]).await, Err(Error::JoinFailed)));
    assert_eq!(live(&other).await, 1);
    assert!(nodes[0].stats().await.unwrap().core.dropped_label >= 1);
    for g in nodes.iter().chain([&other]) {
        g.stop().await;
    }
}

#[tokio::test]
async fn an_unreachable_advertised_address_is_refused() {
    let o = Options::new("x", "0.0.0.0:0".parse().unwrap(), fast_config());
    assert!(matches!(Gossip::start(o).await, Err(Error::Io(_))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeds_are_resolved_by_name() {
    let mut o = Options::new("a", "127.0.0.1:0".parse().unwrap(), fast_config());
    o.reresolve_interval = Duration::from_secs(1);
    let a = Gossip::start(o).await.unwrap();
    let b = start(12, fast_config()).await;
    let seed = format!("localhost:{}", a.local_addr().port());
    assert_eq!(b.join([seed]).await.unwrap(), 1);
    assert!(eventually(10, || async { live(&a).await == 2 && live(&b).await == 2 }).await);
    // The re-resolving task keeps running harmlessly, and ends with the member.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(live(&b).await, 2);
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_every_handle_stops_the_member() {
    let g = start(13, fast_config()).await;
    let addr = g.local_addr();
    let events = g.subscribe();
    drop(g);
    // The task ends and releases its sockets (a subscriber does not keep it alive).
    assert!(eventually(5, || async move { std::net::UdpSocket::bind(addr).is_ok() }).await);
    drop(events);
}
