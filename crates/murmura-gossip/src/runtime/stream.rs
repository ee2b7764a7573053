//! Streams over TCP: one frame out, one frame back, on connections kept
//! open per peer (push-pull exchanges and reliable messages share them).

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use murmura_core::frame::{HEADER_LEN, TRAILER_LEN};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio::time::timeout;

/// One request for a peer, and where its answer goes.
pub(crate) type Request = (Vec<u8>, oneshot::Sender<io::Result<Vec<u8>>>);

/// Requests queued for one peer at most; beyond, a request fails at once.
pub(crate) const QUEUE: usize = 1024;

/// Reads one whole frame (header, payload, checksum), refusing lengths above
/// `max` before reading them.
pub(crate) async fn read_frame(s: &mut TcpStream, max: usize) -> io::Result<Vec<u8>> {
    let mut header = [0u8; HEADER_LEN];
    s.read_exact(&mut header).await?;
    let len = u32::from_le_bytes([header[1], header[2], header[3], header[4]]) as usize;
    if len > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "frame too large",
        ));
    }
    let mut buf = vec![0u8; HEADER_LEN + len + TRAILER_LEN];
    buf[..HEADER_LEN].copy_from_slice(&header);
    s.read_exact(&mut buf[HEADER_LEN..]).await?;
    Ok(buf)
}

/// Sends `request` on `s` and reads the answer.
async fn round_trip(s: &mut TcpStream, request: &[u8], max: usize) -> io::Result<Vec<u8>> {
    s.write_all(request).await?;
    s.flush().await?;
    read_frame(s, max).await
}

async fn connect(to: SocketAddr) -> io::Result<TcpStream> {
    let s = TcpStream::connect(to).await?;
    s.set_nodelay(true)?;
    Ok(s)
}

/// A task that keeps one connection to `to` and serves its requests in
/// order, each within `limit`; it reconnects when the connection breaks
/// and ends after `idle` without requests. A request on a kept connection
/// that turns out broken is tried once more on a fresh one (so a request
/// may arrive twice: push-pull and reliable messages are idempotent
/// enough for that — a duplicate merge or a repeated message).
pub(crate) fn connection(
    to: SocketAddr,
    max: usize,
    limit: Duration,
    idle: Duration,
) -> mpsc::Sender<Request> {
    let (tx, mut rx) = mpsc::channel::<Request>(QUEUE);
    tokio::spawn(async move {
        let mut conn: Option<TcpStream> = None;
        while let Ok(Some((request, reply))) = timeout(idle, rx.recv()).await {
            let mut result = Err(io::Error::new(io::ErrorKind::NotConnected, "no connection"));
            for _ in 0..2 {
                let fresh = conn.is_none();
                if fresh {
                    conn = match timeout(limit, connect(to)).await {
                        Ok(Ok(s)) => Some(s),
                        Ok(Err(e)) => {
                            result = Err(e);
                            None
                        }
                        Err(_) => {
                            result = Err(io::ErrorKind::TimedOut.into());
                            None
                        }
                    };
                }
                let Some(s) = conn.as_mut() else { break };
                match timeout(limit, round_trip(s, &request, max)).await {
                    Ok(Ok(answer)) => {
                        result = Ok(answer);
                        break;
                    }
                    Ok(Err(e)) => result = Err(e),
                    Err(_) => result = Err(io::ErrorKind::TimedOut.into()),
                }
                conn = None;
                if fresh {
                    break;
                }
            }
            let _ = reply.send(result);
        }
    });
    tx
}
