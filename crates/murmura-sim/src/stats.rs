//! Traffic counters and percentile summaries.

use std::fmt;
use std::time::Duration;

/// What one member sent and received (datagrams and stream messages).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Traffic {
    /// Messages handed to the network.
    pub sent_packets: u64,
    /// Bytes handed to the network.
    pub sent_bytes: u64,
    /// Messages delivered to the member.
    pub recv_packets: u64,
    /// Bytes delivered to the member.
    pub recv_bytes: u64,
}

impl Traffic {
    /// What happened between `earlier` and `self`.
    pub fn since(&self, earlier: &Traffic) -> Traffic {
        Traffic {
            sent_packets: self.sent_packets - earlier.sent_packets,
            sent_bytes: self.sent_bytes - earlier.sent_bytes,
            recv_packets: self.recv_packets - earlier.recv_packets,
            recv_bytes: self.recv_bytes - earlier.recv_bytes,
        }
    }
}

/// Mean, median, 99th percentile and maximum of a sample.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Summary {
    /// Sample size.
    pub n: usize,
    /// Arithmetic mean.
    pub mean: f64,
    /// Median (nearest rank).
    pub p50: f64,
    /// 99th percentile (nearest rank).
    pub p99: f64,
    /// Largest value.
    pub max: f64,
}

impl Summary {
    /// Summarises `values` (all zero when empty).
    ///
    /// ```
    /// let s = murmura_sim::Summary::of((1..=100).map(f64::from));
    /// assert_eq!((s.p50, s.p99, s.max, s.mean), (50.0, 99.0, 100.0, 50.5));
    /// ```
    pub fn of(values: impl IntoIterator<Item = f64>) -> Self {
        let mut v: Vec<f64> = values.into_iter().collect();
        if v.is_empty() {
            return Self::default();
        }
        v.sort_by(f64::total_cmp);
        let rank = |q: f64| v[((q * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1];
        Self {
            n: v.len(),
            mean: v.iter().sum::<f64>() / v.len() as f64,
            p50: rank(0.50),
            p99: rank(0.99),
            max: v[v.len() - 1],
        }
    }

    /// Summarises durations, in seconds.
    pub fn of_secs(values: impl IntoIterator<Item = Duration>) -> Self {
        Self::of(values.into_iter().map(|d| d.as_secs_f64()))
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "p50 {:.3} p99 {:.3} max {:.3} (mean {:.3}, n {})",
            self.p50, self.p99, self.max, self.mean, self.n
        )
    }
}

/// Per-member rates over a window: bytes and packets per second, sent and received.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct TrafficSummary {
    /// Bytes sent per member per second.
    pub sent_bytes: Summary,
    /// Packets sent per member per second.
    pub sent_packets: Summary,
    /// Bytes received per member per second.
    pub recv_bytes: Summary,
    /// Packets received per member per second.
    pub recv_packets: Summary,
}

impl TrafficSummary {
    /// Rates from per-member counts over `window`.
    pub fn of(counts: &[Traffic], window: Duration) -> Self {
        let s = window.as_secs_f64().max(f64::MIN_POSITIVE);
        let rate = |f: fn(&Traffic) -> u64| Summary::of(counts.iter().map(|t| f(t) as f64 / s));
        Self {
            sent_bytes: rate(|t| t.sent_bytes),
            sent_packets: rate(|t| t.sent_packets),
            recv_bytes: rate(|t| t.recv_bytes),
            recv_packets: rate(|t| t.recv_packets),
        }
    }
}
