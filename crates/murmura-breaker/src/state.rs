//! Breaker states and the packed state word (state + generation).

/// The state of a circuit breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum State {
    /// Calls flow; outcomes are recorded in the window.
    Closed,
    /// Calls are rejected until the wait ends.
    Open,
    /// A fixed number of trial calls decide whether to close or re-open.
    HalfOpen,
    /// Closed but admitting a growing fraction of calls after a recovery.
    RampingUp,
    /// Calls always flow; nothing is recorded.
    Disabled,
    /// Calls always flow; outcomes are recorded (metrics) but never trip.
    MetricsOnly,
    /// Calls are always rejected until a manual transition.
    ForcedOpen,
}

impl State {
    const ALL: [State; 7] = [
        State::Closed,
        State::Open,
        State::HalfOpen,
        State::RampingUp,
        State::Disabled,
        State::MetricsOnly,
        State::ForcedOpen,
    ];

    #[inline]
    pub(crate) const fn code(self) -> u64 {
        self as u64
    }

    pub(crate) fn from_code(code: u64) -> State {
        // Codes only ever come from `code`, so the fallback is unreachable.
        Self::ALL
            .get(code as usize)
            .copied()
            .unwrap_or(State::Closed)
    }

    /// Whether outcomes of admitted calls feed the sliding window.
    pub(crate) fn records_window(self) -> bool {
        matches!(self, State::Closed | State::RampingUp | State::MetricsOnly)
    }
}

/// A decoded state word: which state and its generation. Every transition
/// bumps the generation, so a permit from an older generation is recognised
/// as late and ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Word {
    pub(crate) state: State,
    pub(crate) generation: u64,
    /// Published while a transition empties the window: the state is
    /// unchanged for callers, but outcomes of calls admitted under this
    /// word are dropped, since the reset may already be under way.
    pub(crate) retiring: bool,
}

const STATE_BITS: u32 = 4;
const STATE_MASK: u64 = (1 << STATE_BITS) - 1;
/// The state code needs three bits; the fourth flags a retiring word (and
/// keeps it off the fast lane, which compares all four).
const CODE_MASK: u64 = 0b0111;
const RETIRING: u64 = 0b1000;

impl Word {
    pub(crate) fn pack(self) -> u64 {
        (self.generation << STATE_BITS)
            | self.state.code()
            | if self.retiring { RETIRING } else { 0 }
    }

    pub(crate) fn unpack(raw: u64) -> Word {
        Word {
            state: State::from_code(raw & CODE_MASK),
            generation: raw >> STATE_BITS,
            retiring: raw & RETIRING != 0,
        }
    }

    /// The next generation in the same state, flagged as retiring.
    pub(crate) fn retiring(self) -> Word {
        Word {
            retiring: true,
            ..self.next(self.state)
        }
    }

    /// Whether a packed word is closed or metrics-only (without decoding it).
    #[inline]
    pub(crate) fn admits_freely(raw: u64) -> bool {
        let code = raw & STATE_MASK;
        code == State::Closed.code() || code == State::MetricsOnly.code()
    }

    /// Whether a packed word is `generation`, not retiring, in a state that
    /// records outcomes in the window (without decoding it).
    #[inline]
    pub(crate) fn records_in(raw: u64, generation: u64) -> bool {
        const RECORDING: u64 = (1 << State::Closed.code())
            | (1 << State::RampingUp.code())
            | (1 << State::MetricsOnly.code());
        raw >> STATE_BITS == generation && (RECORDING >> (raw & STATE_MASK)) & 1 != 0
    }

    /// The generation of a packed word.
    #[inline]
    pub(crate) fn generation_of(raw: u64) -> u64 {
        raw >> STATE_BITS
    }

    pub(crate) fn next(self, state: State) -> Word {
        Word {
            state,
            generation: (self.generation + 1) & (u64::MAX >> STATE_BITS),
            retiring: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_round_trip_for_every_state() {
        for (i, s) in State::ALL.iter().enumerate() {
            let w = Word {
                state: *s,
                generation: 12_345 + i as u64,
                retiring: false,
            };
            assert_eq!(Word::unpack(w.pack()), w);
            let r = w.retiring();
            assert_eq!(Word::unpack(r.pack()), r);
            assert!(r.retiring && r.state == *s && r.generation == w.generation + 1);
            assert!(
                !Word::admits_freely(r.pack()),
                "a retiring word takes the slow lane"
            );
            assert!(!r.next(State::Closed).retiring);
            assert_eq!(w.next(State::Open).generation, w.generation + 1);
            assert_eq!(Word::generation_of(w.pack()), w.generation);
            assert_eq!(Word::records_in(w.pack(), w.generation), s.records_window());
            assert!(!Word::records_in(w.pack(), w.generation + 1));
            assert!(!Word::records_in(r.pack(), r.generation), "retiring");
            assert_eq!(
                Word::admits_freely(w.pack()),
                matches!(s, State::Closed | State::MetricsOnly)
            );
        }
    }
}
