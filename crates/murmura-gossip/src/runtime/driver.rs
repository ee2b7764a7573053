//! The driver loop: sockets, timer and commands in, core outputs out.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use murmura_core::rng::{from_entropy, seeded};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::{Semaphore, broadcast, mpsc, oneshot};
use tokio::time::{Instant, sleep_until, timeout};

use super::stream::{Request, connection, read_frame};
use super::{Command, Options, RuntimeStats};
use crate::core::{Event, Swim, TransmitKind};
use crate::error::Result;

/// What finished push-pull work reports back to the loop.
/// How long a kept connection may sit unused before it is closed.
const IDLE: Duration = Duration::from_secs(30);

enum StreamDone {
    /// Our request was answered.
    Answer(SocketAddr, Vec<u8>),
    /// Our request failed.
    Failed(SocketAddr),
    /// Someone else's request, to be answered through `reply`.
    Inbound(SocketAddr, Vec<u8>, oneshot::Sender<Option<Vec<u8>>>),
}

type Spawned = (
    mpsc::Sender<Command>,
    broadcast::Sender<Event<SocketAddr>>,
    SocketAddr,
);

pub(crate) async fn spawn(options: Options) -> Result<Spawned> {
    let udp = UdpSocket::bind(options.bind).await?;
    let bound = udp.local_addr()?;
    let tcp = TcpListener::bind(bound).await?;
    let advertise = options.advertise.unwrap_or(bound);
    if advertise.ip().is_unspecified() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "bound to an unspecified address: set Options::advertise to an address peers can reach",
        )
        .into());
    }
    let rng = match options.rng_seed {
        Some(seed) => seeded(seed),
        None => from_entropy(),
    };
    let origin = Instant::now();
    let core = Swim::new(
        options.name.clone(),
        advertise,
        options.config.clone(),
        rng,
        Duration::ZERO,
    )?
    .with_incarnation(options.incarnation);
    let (commands, command_rx) = mpsc::channel(256);
    let (events, _) = broadcast::channel(options.event_buffer.max(1));
    let driver = Driver {
        core,
        udp,
        tcp,
        origin,
        events: events.clone(),
        options,
        stats: RuntimeStats::default(),
        inbound: Arc::new(Semaphore::new(0)),
        stop_at: None,
        on_left: None,
        joining: None,
        connections: std::collections::HashMap::new(),
    };
    tokio::spawn(driver.run(command_rx));
    Ok((commands, events, advertise))
}

struct Driver {
    core: Swim<SocketAddr>,
    udp: UdpSocket,
    tcp: TcpListener,
    origin: Instant,
    events: broadcast::Sender<Event<SocketAddr>>,
    options: Options,
    stats: RuntimeStats,
    inbound: Arc<Semaphore>,
    stop_at: Option<Duration>,
    on_left: Option<oneshot::Sender<()>>,
    joining: Option<Joining>,
    /// A kept connection per peer for push-pull and reliable messages.
    connections: std::collections::HashMap<SocketAddr, mpsc::Sender<Request>>,
}

/// A join waiting for its seeds to answer.
struct Joining {
    waiting: Vec<SocketAddr>,
    answered: usize,
    deadline: Duration,
    reply: oneshot::Sender<Result<usize>>,
}

impl Driver {
    fn now(&self) -> Duration {
        self.origin.elapsed()
    }

    async fn run(mut self, mut commands: mpsc::Receiver<Command>) {
        self.inbound = Arc::new(Semaphore::new(self.options.max_inbound_streams.max(1)));
        let (done_tx, mut done_rx) = mpsc::channel::<StreamDone>(64);
        let max_stream = self.options.config.max_stream_bytes;
        let mut buf = vec![0u8; 65_536];
        tracing::info!(name = self.core.name(), addr = ?self.core.local_member().addr, "gossip member started");
        loop {
            self.flush(&done_tx).await;
            let now = self.now();
            if self.stop_at.is_some_and(|t| now >= t) {
                break;
            }
            let mut deadline = self
                .core
                .poll_timeout()
                .unwrap_or(now + Duration::from_secs(1));
            if let Some(t) = self.stop_at {
                deadline = deadline.min(t);
            }
            if let Some(j) = &self.joining {
                deadline = deadline.min(j.deadline);
            }
            let wake = self.origin + deadline;
            tokio::select! {
                received = self.udp.recv_from(&mut buf) => match received {
                    Ok((n, from)) => {
                        let now = self.now();
                        if let Err(e) = self.core.handle_datagram(now, from, &buf[..n]) {
                            tracing::debug!(%from, error = %e, "dropped datagram");
                        }
                    }
                    Err(e) => tracing::debug!(error = %e, "udp receive failed"),
                },
                accepted = self.tcp.accept() => if let Ok((conn, from)) = accepted {
                    self.serve(conn, from, done_tx.clone(), max_stream);
                },
                Some(done) = done_rx.recv() => self.on_stream(done),
                command = commands.recv() => match command {
                    None | Some(Command::Stop) => break,
                    Some(c) => self.on_command(c),
                },
                _ = sleep_until(wake) => {
                    let now = self.now();
                    self.core.handle_timer(now);
                    if self.joining.as_ref().is_some_and(|j| now >= j.deadline) {
                        self.finish_join();
                    }
                }
            }
        }
        if let Some(tx) = self.on_left.take() {
            let _ = tx.send(());
        }
        tracing::info!(name = self.core.name(), "gossip member stopped");
    }

    fn on_command(&mut self, c: Command) {
        let now = self.now();
        match c {
            Command::Join(seeds, tx) => {
                if let Some(old) = self.joining.take() {
                    let _ = old.reply.send(Err(crate::error::Error::JoinFailed));
                }
                let me = self.core.local_member().addr;
                let waiting: Vec<SocketAddr> = seeds.iter().copied().filter(|s| *s != me).collect();
                self.core.join(now, seeds);
                self.joining = Some(Joining {
                    waiting,
                    answered: 0,
                    deadline: now + self.options.stream_timeout + Duration::from_millis(100),
                    reply: tx,
                });
                if self.joining.as_ref().is_some_and(|j| j.waiting.is_empty()) {
                    self.finish_join();
                }
            }
            Command::Leave(tx) => {
                self.core.leave(now);
                // Gossip a little longer so the news leaves with us.
                let linger = (self.options.config.gossip_interval * 8).min(Duration::from_secs(3));
                self.stop_at = Some(now + linger);
                self.on_left = Some(tx);
            }
            Command::SetMetadata(meta, tx) => {
                let _ = tx.send(self.core.set_metadata(now, meta));
            }
            Command::SetSeeds(seeds) => self.core.set_seeds(seeds),
            Command::SendReliable(to, payload, tx) => {
                let _ = tx.send(self.core.send_reliable(&to, payload));
            }
            Command::Broadcast(key, payload, tx) => {
                let _ = tx.send(self.core.broadcast(key, payload));
            }
            Command::Members(tx) => {
                let _ = tx.send(self.core.members().cloned().collect());
            }
            Command::Stats(tx) => {
                let mut s = self.stats;
                s.core = *self.core.stats();
                let _ = tx.send(s);
            }
            Command::Health(tx) => {
                let _ = tx.send(self.core.local_health());
            }
            Command::Suspicions(tx) => {
                let list = self
                    .core
                    .members()
                    .filter(|m| m.state == crate::member::State::Suspect)
                    .filter_map(|m| Some((m.name.clone(), self.core.suspicion(&m.name)?)))
                    .collect();
                let _ = tx.send(list);
            }
            #[cfg(feature = "encryption")]
            Command::Keyring(change, tx) => {
                use super::KeyringChange;
                let result = match self.core.keyring_mut() {
                    None => Err(crate::error::Error::NoKeyring),
                    Some(ring) => match change {
                        KeyringChange::Add(k) => {
                            ring.add(k);
                            Ok(())
                        }
                        KeyringChange::Use(k) => {
                            ring.use_key(k);
                            Ok(())
                        }
                        KeyringChange::Remove(k) => ring.remove(&k),
                    },
                };
                let _ = tx.send(result);
            }
            Command::Stop => {}
        }
    }

    fn finish_join(&mut self) {
        if let Some(j) = self.joining.take() {
            let result = if j.answered > 0 {
                Ok(j.answered)
            } else {
                Err(crate::error::Error::JoinFailed)
            };
            let _ = j.reply.send(result);
        }
    }

    /// Counts a seed's answer (or failure) towards a pending join.
    fn join_progress(&mut self, addr: SocketAddr, ok: bool) {
        let Some(j) = self.joining.as_mut() else {
            return;
        };
        let Some(i) = j.waiting.iter().position(|a| *a == addr) else {
            return;
        };
        j.waiting.swap_remove(i);
        j.answered += usize::from(ok);
        if j.waiting.is_empty() {
            self.finish_join();
        }
    }

    fn on_stream(&mut self, done: StreamDone) {
        let now = self.now();
        match done {
            StreamDone::Answer(from, bytes) => {
                let ok = match self.core.handle_stream(now, from, &bytes) {
                    Ok(_) => true,
                    Err(e) => {
                        tracing::debug!(%from, error = %e, "bad push-pull answer");
                        self.core.stream_failed(now, &from);
                        false
                    }
                };
                self.join_progress(from, ok);
            }
            StreamDone::Failed(to) => {
                self.stats.stream_failures += 1;
                self.core.stream_failed(now, &to);
                self.join_progress(to, false);
            }
            StreamDone::Inbound(from, bytes, reply) => {
                let answer = match self.core.handle_stream(now, from, &bytes) {
                    Ok(a) => a,
                    Err(e) => {
                        tracing::debug!(%from, error = %e, "bad push-pull request");
                        self.stats.streams_refused += 1;
                        None
                    }
                };
                let _ = reply.send(answer);
            }
        }
    }

    /// Serves one inbound connection on its own task: request after
    /// request, each answered, until the peer closes it, a request is
    /// refused, or it stays idle.
    fn serve(
        &mut self,
        mut conn: TcpStream,
        from: SocketAddr,
        done: mpsc::Sender<StreamDone>,
        max: usize,
    ) {
        let Ok(permit) = self.inbound.clone().try_acquire_owned() else {
            self.stats.streams_refused += 1;
            return;
        };
        let limit = self.options.stream_timeout;
        let idle = IDLE.max(limit);
        let _ = conn.set_nodelay(true);
        tokio::spawn(async move {
            let _permit = permit;
            loop {
                let Ok(Ok(request)) = timeout(idle, read_frame(&mut conn, max)).await else {
                    return;
                };
                let work = async {
                    let (tx, rx) = oneshot::channel();
                    done.send(StreamDone::Inbound(from, request, tx))
                        .await
                        .ok()?;
                    let answer = rx.await.ok()??;
                    conn.write_all(&answer).await.ok()?;
                    conn.flush().await.ok()
                };
                if timeout(limit, work).await.ok().flatten().is_none() {
                    return;
                }
            }
        });
    }

    /// Sends what the core queued and publishes its events.
    async fn flush(&mut self, done: &mpsc::Sender<StreamDone>) {
        while let Some(t) = self.core.poll_transmit() {
            match t.kind {
                TransmitKind::Datagram => {
                    if let Err(e) = self.udp.send_to(&t.bytes, t.to).await {
                        self.stats.send_errors += 1;
                        tracing::debug!(to = %t.to, error = %e, "udp send failed");
                    }
                }
                TransmitKind::Stream => {
                    let limit = self.options.stream_timeout;
                    let max = self.options.config.max_stream_bytes;
                    let conn = self
                        .connections
                        .entry(t.to)
                        .and_modify(|c| {
                            if c.is_closed() {
                                *c = connection(t.to, max, limit, IDLE);
                            }
                        })
                        .or_insert_with(|| connection(t.to, max, limit, IDLE));
                    let (tx, rx) = oneshot::channel();
                    // Queued in order on the peer's connection; a full queue
                    // fails the request at once rather than buffering more.
                    let queued = conn.try_send((t.bytes, tx)).is_ok();
                    let done = done.clone();
                    let to = t.to;
                    tokio::spawn(async move {
                        let msg = match (queued, rx.await) {
                            (true, Ok(Ok(answer))) => StreamDone::Answer(to, answer),
                            _ => StreamDone::Failed(to),
                        };
                        let _ = done.send(msg).await;
                    });
                }
            }
        }
        while let Some(e) = self.core.poll_event() {
            log_event(&e);
            // No subscribers is fine.
            let _ = self.events.send(e);
        }
    }
}

fn log_event(e: &Event<SocketAddr>) {
    match e {
        Event::Joined(m) => tracing::info!(member = %m.name, addr = %m.addr, "member joined"),
        Event::Updated(m) => tracing::info!(member = %m.name, "member updated"),
        Event::Suspected(m) => {
            tracing::warn!(member = %m.name, incarnation = m.incarnation, "member suspected")
        }
        Event::Failed(m) => tracing::warn!(member = %m.name, "member failed"),
        Event::Left(m) => tracing::info!(member = %m.name, "member left"),
        Event::Recovered(m) => tracing::info!(member = %m.name, "member recovered"),
        Event::Message { from, payload } => {
            tracing::debug!(%from, payload_len = payload.len(), "direct message received")
        }
        Event::Broadcast { key, payload } => {
            tracing::debug!(
                key_len = key.len(),
                payload_len = payload.len(),
                "broadcast received"
            )
        }
    }
}
