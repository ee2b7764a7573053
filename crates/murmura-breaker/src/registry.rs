//! Named breakers sharing configurations, for per-endpoint breaking, with
//! idle eviction and a cap on the share of breakers open at once.

use crate::breaker::CircuitBreaker;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::event::{Listener, Listeners};
use crate::state::State;
use murmura_core::sync::Mutex;
use murmura_core::sync::atomic::{AtomicUsize, Ordering};
use murmura_core::time::{Clock, FastClock};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// How many breakers of a registry are open (or half-open), and how many may be.
#[derive(Debug)]
pub(crate) struct OpenBudget {
    open: AtomicUsize,
    members: AtomicUsize,
    max_percent: f32,
}

impl OpenBudget {
    /// Claims an opening if it keeps the open share within the cap; one
    /// breaker may always open (a cap never hides a lone failing endpoint).
    pub(crate) fn try_eject(&self) -> bool {
        self.open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |open| {
                let members = self.members.load(Ordering::Acquire).max(1);
                // Exact: a cap of 33.3 % lets 333 of 1,000 open (not 332,
                // as 33.3f32 = 33.2999992… would in floating point).
                let within = (open as u128 + 1) * 100_000_000
                    <= u128::from(crate::window::exact_percent(self.max_percent)) * members as u128;
                (open == 0 || within).then_some(open + 1)
            })
            .is_ok()
    }
    pub(crate) fn force_eject(&self) {
        self.open.fetch_add(1, Ordering::AcqRel);
    }
    pub(crate) fn restore(&self) {
        let _ = self
            .open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |o| o.checked_sub(1));
    }
}

struct Entry<C> {
    breaker: Arc<CircuitBreaker<C>>,
    last_used: u64,
}

/// Breakers by name. Each takes a named configuration (or the default),
/// is created on first use, and is evicted once it has been closed, unused
/// and unreferenced outside the registry for the idle time.
///
/// ```
/// use murmura_breaker::{Config, Registry, WindowKind};
/// use std::time::Duration;
///
/// let strict = Config::builder().window(WindowKind::Consecutive { threshold: 3 }).build()?;
/// let registry = Registry::new(Config::default())
///     .with_config("strict", strict)
///     .max_open_percent(30.0)
///     .evict_idle_after(Duration::from_secs(300), 10_000);
/// let a = registry.get("10.0.0.1:443");
/// let b = registry.get_with("10.0.0.2:443", "strict")?;
/// assert_eq!(b.config().window(), WindowKind::Consecutive { threshold: 3 });
/// assert!(std::sync::Arc::ptr_eq(&a, &registry.get("10.0.0.1:443")));
/// # Ok::<(), murmura_breaker::Error>(())
/// ```
pub struct Registry<C = FastClock> {
    clock: C,
    default: Config,
    configs: HashMap<String, Config>,
    breakers: Mutex<HashMap<Arc<str>, Entry<C>>>,
    budget: Option<Arc<OpenBudget>>,
    idle_after: Duration,
    soft_cap: usize,
    listeners: Listeners,
}

impl<C> std::fmt::Debug for Registry<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("configs", &self.configs.keys().collect::<Vec<_>>())
            .field("budget", &self.budget)
            .finish_non_exhaustive()
    }
}

impl Registry<FastClock> {
    /// A registry whose breakers use `default` unless told otherwise.
    pub fn new(default: Config) -> Self {
        Self::with_clock(default, FastClock::new())
    }
}

fn name_seed(name: &str) -> u64 {
    // FNV-1a: a stable per-name jitter stream from one configured seed.
    name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

impl<C: Clock + Clone> Registry<C> {
    /// A registry whose breakers read `clock`.
    pub fn with_clock(default: Config, clock: C) -> Self {
        Self {
            clock,
            default,
            configs: HashMap::new(),
            breakers: Mutex::new(HashMap::new()),
            budget: None,
            idle_after: Duration::from_secs(600),
            soft_cap: 10_000,
            listeners: Listeners::default(),
        }
    }

    /// Adds a named configuration.
    pub fn with_config(mut self, name: impl Into<String>, config: Config) -> Self {
        self.configs.insert(name.into(), config);
        self
    }

    /// At most `percent` % of the registry's breakers may be open or
    /// half-open at once (but one always may); a breaker that would pass the
    /// cap stays closed and reports [`Event::OpenSuppressed`](crate::Event::OpenSuppressed).
    ///
    /// The cap holds back only the breakers' own decisions. A manual
    /// [`transition_to_open`](CircuitBreaker::transition_to_open) or
    /// [`transition_to_half_open`](CircuitBreaker::transition_to_half_open)
    /// is an operator's explicit choice and always happens, even past the
    /// cap; it counts against the cap like any other opening, so automatic
    /// openings of other breakers are held back until it closes.
    /// ([`transition_to_forced_open`](CircuitBreaker::transition_to_forced_open)
    /// is outside the cap altogether: it rejects calls but is not counted.)
    pub fn max_open_percent(mut self, percent: f32) -> Self {
        self.budget = Some(Arc::new(OpenBudget {
            open: AtomicUsize::new(0),
            members: AtomicUsize::new(0),
            max_percent: percent.clamp(0.0, 100.0),
        }));
        self
    }

    /// Evict closed breakers unused for `idle` (checked whenever the registry
    /// holds more than `soft_cap` breakers, and by [`evict_idle`](Self::evict_idle)).
    pub fn evict_idle_after(mut self, idle: Duration, soft_cap: usize) -> Self {
        self.idle_after = idle;
        self.soft_cap = soft_cap;
        self
    }

    /// Adds a listener given to every breaker created from now on.
    pub fn with_listener(mut self, listener: impl Listener + 'static) -> Self {
        self.listeners.push(Arc::new(listener));
        self
    }

    /// The breaker named `name`, created with the default configuration if new.
    pub fn get(&self, name: &str) -> Arc<CircuitBreaker<C>> {
        self.get_or_create(name, &self.default)
    }

    /// The breaker named `name`, created with configuration `config` if new.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] if no configuration has that name; nothing is created.
    pub fn get_with(&self, name: &str, config: &str) -> Result<Arc<CircuitBreaker<C>>> {
        let config = self.configs.get(config).ok_or(Error::InvalidConfig {
            field: "config",
            reason: "no configuration of that name",
        })?;
        Ok(self.get_or_create(name, config))
    }

    fn get_or_create(&self, name: &str, config: &Config) -> Arc<CircuitBreaker<C>> {
        let now = self.clock.now_nanos();
        let mut map = self.breakers.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(e) = map.get_mut(name) {
            e.last_used = now;
            return e.breaker.clone();
        }
        if map.len() >= self.soft_cap {
            self.evict(&mut map, now);
        }
        let config = config.clone();
        let config = match config.jitter_seed {
            Some(seed) => config.with_seed(seed ^ name_seed(name)),
            None => config,
        };
        let mut breaker = CircuitBreaker::with_clock(name, config, self.clock.clone());
        for l in self.listeners.iter() {
            breaker = breaker.with_shared_listener(l.clone());
        }
        if let Some(b) = &self.budget {
            b.members.fetch_add(1, Ordering::AcqRel);
            breaker = breaker.with_budget(b.clone());
        }
        let breaker = Arc::new(breaker);
        map.insert(
            name.into(),
            Entry {
                breaker: breaker.clone(),
                last_used: now,
            },
        );
        breaker
    }

    fn evict(&self, map: &mut HashMap<Arc<str>, Entry<C>>, now: u64) -> usize {
        let idle = u64::try_from(self.idle_after.as_nanos()).unwrap_or(u64::MAX);
        let before = map.len();
        map.retain(|_, e| {
            now.saturating_sub(e.last_used) < idle
                || e.breaker.state() != State::Closed
                || Arc::strong_count(&e.breaker) > 1
        });
        let evicted = before - map.len();
        if let Some(b) = &self.budget {
            b.members.fetch_sub(evicted, Ordering::AcqRel);
        }
        evicted
    }

    /// Evicts idle closed breakers now; returns how many.
    pub fn evict_idle(&self) -> usize {
        let now = self.clock.now_nanos();
        let mut map = self.breakers.lock().unwrap_or_else(|p| p.into_inner());
        self.evict(&mut map, now)
    }

    /// How many breakers the registry holds.
    pub fn len(&self) -> usize {
        self.breakers.lock().map_or(0, |m| m.len())
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many of its breakers count as open against the cap (0 without a cap).
    pub fn open_count(&self) -> usize {
        self.budget
            .as_ref()
            .map_or(0, |b| b.open.load(Ordering::Acquire))
    }
}
