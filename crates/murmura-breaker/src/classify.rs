//! Three-way classification of a call's result: success, failure or ignored.

/// How an outcome is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Outcome {
    /// Counts as a success.
    Success,
    /// Counts as a failure.
    Failure,
    /// Not counted at all (a half-open trial slot is given back).
    Ignored,
}

/// Decides how a call's result counts. Closures `Fn(&Result<T, E>) -> Outcome`
/// are classifiers; [`ByDefault`] counts `Ok` as success and `Err` as failure;
/// [`Predicates`] builds one from predicates over errors and results.
pub trait Classifier<T, E> {
    /// How `result` counts.
    fn classify(&self, result: &Result<T, E>) -> Outcome;
}

impl<T, E, F> Classifier<T, E> for F
where
    F: Fn(&Result<T, E>) -> Outcome,
{
    fn classify(&self, result: &Result<T, E>) -> Outcome {
        self(result)
    }
}

/// `Ok` is a success, `Err` a failure.
#[derive(Debug, Clone, Copy, Default)]
pub struct ByDefault;

impl<T, E> Classifier<T, E> for ByDefault {
    #[inline]
    fn classify(&self, result: &Result<T, E>) -> Outcome {
        match result {
            Ok(_) => Outcome::Success,
            Err(_) => Outcome::Failure,
        }
    }
}

/// A classifier from predicates, checked in order: an error matching
/// `ignore_error` is ignored, any other error is a failure unless
/// `record_error` says otherwise; a result matching `fail_result` is a failure.
///
/// ```
/// use murmura_breaker::{Classifier, Outcome, Predicates};
///
/// let c = Predicates::new()
///     .ignore_error(|e: &&str| *e == "not found")
///     .fail_result(|status: &u16| *status >= 500);
/// assert_eq!(c.classify(&Err::<u16, _>("not found")), Outcome::Ignored);
/// assert_eq!(c.classify(&Err::<u16, _>("timeout")), Outcome::Failure);
/// assert_eq!(c.classify(&Ok::<u16, &str>(503)), Outcome::Failure);
/// assert_eq!(c.classify(&Ok::<u16, &str>(200)), Outcome::Success);
/// ```
pub struct Predicates<T, E> {
    ignore_error: Option<Predicate<E>>,
    record_error: Option<Predicate<E>>,
    fail_result: Option<Predicate<T>>,
}

type Predicate<X> = Box<dyn Fn(&X) -> bool + Send + Sync>;

impl<T, E> std::fmt::Debug for Predicates<T, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Predicates")
            .field("ignore_error", &self.ignore_error.is_some())
            .field("record_error", &self.record_error.is_some())
            .field("fail_result", &self.fail_result.is_some())
            .finish()
    }
}

impl<T, E> Default for Predicates<T, E> {
    fn default() -> Self {
        Self {
            ignore_error: None,
            record_error: None,
            fail_result: None,
        }
    }
}

impl<T, E> Predicates<T, E> {
    /// Every error fails, every result succeeds.
    pub fn new() -> Self {
        Self::default()
    }
    /// Errors matching `p` are ignored.
    pub fn ignore_error(mut self, p: impl Fn(&E) -> bool + Send + Sync + 'static) -> Self {
        self.ignore_error = Some(Box::new(p));
        self
    }
    /// Only errors matching `p` fail; the others count as successes.
    pub fn record_error(mut self, p: impl Fn(&E) -> bool + Send + Sync + 'static) -> Self {
        self.record_error = Some(Box::new(p));
        self
    }
    /// Results matching `p` fail.
    pub fn fail_result(mut self, p: impl Fn(&T) -> bool + Send + Sync + 'static) -> Self {
        self.fail_result = Some(Box::new(p));
        self
    }
}

impl<T, E> Classifier<T, E> for Predicates<T, E> {
    fn classify(&self, result: &Result<T, E>) -> Outcome {
        match result {
            Err(e) if self.ignore_error.as_ref().is_some_and(|p| p(e)) => Outcome::Ignored,
            Err(e) if self.record_error.as_ref().is_some_and(|p| !p(e)) => Outcome::Success,
            Err(_) => Outcome::Failure,
            Ok(t) if self.fail_result.as_ref().is_some_and(|p| p(t)) => Outcome::Failure,
            Ok(_) => Outcome::Success,
        }
    }
}
