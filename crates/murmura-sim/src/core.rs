//! What the simulator drives: any sans-IO core behind a four-method trait.

use std::time::Duration;

use murmura_core::rng::RngCore;
use murmura_gossip::{BroadcastHandler, Swim, TransmitKind};

/// A simulated address. The simulator hands out a fresh one to every member
/// it starts (a restarted member gets a new one, as a new process would).
pub type Addr = u64;

/// A member's index in the simulation: stable across crashes and restarts.
pub type NodeId = usize;

/// What arrives at a core.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input<'a> {
    /// One datagram.
    Datagram(&'a [u8]),
    /// A stream message: a request (answer it by returning bytes) or the
    /// answer to a request this core sent.
    Stream(&'a [u8]),
    /// A stream request this core sent to `from` could not be delivered.
    StreamFailed,
}

/// How an [`Output`] travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Delivery {
    /// Unreliable: lost, duplicated and reordered as the link says.
    Datagram,
    /// Reliable request/answer: delayed by retransmissions under loss,
    /// failed only when the peer is unreachable or gone.
    Stream,
}

/// Bytes a core wants sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// Destination address.
    pub to: Addr,
    /// Datagram or stream.
    pub delivery: Delivery,
    /// The bytes.
    pub bytes: Vec<u8>,
}

/// A sans-IO protocol core the simulator can drive.
///
/// Times are the member's own clock (the simulator may make it drift). After
/// every call the simulator drains [`poll_transmit`](Core::poll_transmit)
/// and [`poll_event`](Core::poll_event) and asks for the next deadline.
///
/// ```
/// use std::time::Duration;
/// use murmura_sim::{Addr, Core, Input, Output};
///
/// /// Echoes every datagram back to its sender.
/// #[derive(Default)]
/// struct Echo(Vec<Output>);
///
/// impl Core for Echo {
///     type Event = ();
///     fn handle(&mut self, _now: Duration, from: Addr, input: Input<'_>) -> Option<Vec<u8>> {
///         if let Input::Datagram(b) = input {
///             self.0.push(Output { to: from, delivery: murmura_sim::Delivery::Datagram, bytes: b.to_vec() });
///         }
///         None
///     }
///     fn handle_timer(&mut self, _now: Duration) {}
///     fn poll_transmit(&mut self) -> Option<Output> { self.0.pop() }
///     fn poll_timeout(&self) -> Option<Duration> { None }
/// }
/// ```
pub trait Core {
    /// What the core reports to the application.
    type Event;

    /// Handles one input from `from`; for a stream request, the answer to
    /// send back (if any).
    fn handle(&mut self, now: Duration, from: Addr, input: Input<'_>) -> Option<Vec<u8>>;

    /// Handles the timers due at `now` (an early call must be harmless).
    fn handle_timer(&mut self, now: Duration);

    /// The next message to send.
    fn poll_transmit(&mut self) -> Option<Output>;

    /// When [`handle_timer`](Core::handle_timer) next has work.
    fn poll_timeout(&self) -> Option<Duration>;

    /// The next event for the application (none by default).
    fn poll_event(&mut self) -> Option<Self::Event> {
        None
    }
}

impl<B: BroadcastHandler, R: RngCore> Core for Swim<u64, B, R> {
    type Event = murmura_gossip::Event<u64>;

    fn handle(&mut self, now: Duration, from: Addr, input: Input<'_>) -> Option<Vec<u8>> {
        match input {
            // Rejected input is counted in the core's stats; nothing to do here.
            Input::Datagram(b) => {
                let _ = self.handle_datagram(now, from, b);
                None
            }
            Input::Stream(b) => self.handle_stream(now, from, b).ok().flatten(),
            Input::StreamFailed => {
                self.stream_failed(now, &from);
                None
            }
        }
    }

    fn handle_timer(&mut self, now: Duration) {
        Swim::handle_timer(self, now);
    }

    fn poll_transmit(&mut self) -> Option<Output> {
        Swim::poll_transmit(self).map(|t| Output {
            to: t.to,
            delivery: match t.kind {
                TransmitKind::Datagram => Delivery::Datagram,
                TransmitKind::Stream => Delivery::Stream,
            },
            bytes: t.bytes,
        })
    }

    fn poll_timeout(&self) -> Option<Duration> {
        Swim::poll_timeout(self)
    }

    fn poll_event(&mut self) -> Option<Self::Event> {
        Swim::poll_event(self)
    }
}
