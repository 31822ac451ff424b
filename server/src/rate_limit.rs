//! Request rates: per device and per user on the sync endpoints, and login attempts per
//! username. Over a limit, a request is answered `429 rate_limited` with `Retry-After`.
//!
//! - Sync requests: GCRA (a token bucket kept as one instant per key): a burst, then a steady
//!   rate. A device is its credential (a hash of the bearer token): tokens carry no device id.
//! - Login attempts: a sliding window, so no 60 s span ever holds more than the limit (a bucket
//!   would allow a burst plus the refill). Every attempt counts, right password or not, so
//!   once over, the right password is refused too until the window passes.
//!
//! Memory is bounded: each limiter tracks at most `max_keys` keys. A key whose state has
//! lapsed (its bucket is full again, its window empty) is the same as no key, and is swept
//! when the table is full. If it is still full, new keys are refused (a flood of made-up
//! usernames must not push out the state of the one it attacks).

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, VecDeque};
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::error::ApiError;

/// Monotonic time since an arbitrary origin. Injected so tests move time without sleeping.
pub type Clock = Arc<dyn Fn() -> Duration + Send + Sync>;

/// The system's monotonic clock.
pub fn system_clock() -> Clock {
    let origin = Instant::now();
    Arc::new(move || origin.elapsed())
}

/// A steady rate with a burst on top.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub per_minute: u32,
    pub burst: u32,
}

/// The configured limits (see `config.rs` for the flags and their defaults).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    /// Sync requests (push, pull, pings) per device credential.
    pub device: Rate,
    /// Sync requests per user, over all their devices.
    pub user: Rate,
    /// Login attempts per username in any 60 s.
    pub logins_per_minute: u32,
    /// Keys each limiter tracks at most.
    pub max_keys: usize,
}

impl Default for RateLimits {
    /// Generous for honest devices: a bootstrap pulls page after page, and the load benchmark
    /// has each device push every 0.9 s and pull after each push.
    fn default() -> Self {
        RateLimits {
            device: Rate {
                per_minute: 1_200,
                burst: 600,
            },
            user: Rate {
                per_minute: 3_000,
                burst: 1_200,
            },
            logins_per_minute: 10,
            max_keys: 100_000,
        }
    }
}

/// Why a request was not admitted: wait this long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter(pub Duration);

impl From<RetryAfter> for ApiError {
    fn from(RetryAfter(wait): RetryAfter) -> Self {
        // Whole seconds, rounded up, at least 1: waiting that long is always enough.
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        ApiError::RateLimited {
            retry_after_secs: secs.max(1),
        }
    }
}

const LOGIN_WINDOW: Duration = Duration::from_secs(60);
/// A full table is swept at most this often (a sweep reads every key).
const SWEEP_EVERY: Duration = Duration::from_secs(1);

/// The rate limits of one server.
pub struct RateLimiter {
    devices: Keyed<Gcra>,
    users: Keyed<Gcra>,
    logins: Keyed<Window>,
    /// Hashes credentials into device keys (random per process: keys are never stored).
    hasher: RandomState,
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiter").finish_non_exhaustive()
    }
}

impl RateLimiter {
    pub fn new(limits: RateLimits) -> Self {
        Self::with_clock(limits, system_clock())
    }

    pub fn with_clock(limits: RateLimits, clock: Clock) -> Self {
        RateLimiter {
            devices: Keyed::new(Gcra::policy(limits.device), limits.max_keys, clock.clone()),
            users: Keyed::new(Gcra::policy(limits.user), limits.max_keys, clock.clone()),
            logins: Keyed::new(
                WindowPolicy {
                    max: limits.logins_per_minute.max(1) as usize,
                    window: LOGIN_WINDOW,
                },
                limits.max_keys,
                clock,
            ),
            hasher: RandomState::new(),
        }
    }

    /// Admits one sync request of `user_id` made with `credential` (the Authorization header).
    pub fn sync_request(&self, user_id: &str, credential: &[u8]) -> Result<(), RetryAfter> {
        let device = format!("{:016x}", self.hasher.hash_one(credential.trim_ascii()));
        self.devices.admit(&device)?;
        self.users.admit(user_id)
    }

    /// Admits one login attempt for `username` (before the password is checked).
    pub fn login_attempt(&self, username: &str) -> Result<(), RetryAfter> {
        self.logins.admit(&username.trim().to_lowercase())
    }
}

/// The state one key keeps, under a policy.
trait Limit {
    type Policy;
    fn fresh() -> Self;
    /// Counts a request at `now`, or says how long to wait.
    fn admit(&mut self, policy: &Self::Policy, now: Duration) -> Result<(), RetryAfter>;
    /// Whether this state is the same as no state at `now`.
    fn lapsed(&self, policy: &Self::Policy, now: Duration) -> bool;
}

/// Generic cell rate algorithm: the instant at which the key would be back to a full bucket.
struct Gcra {
    full_at: Duration,
}

struct GcraPolicy {
    /// Time one request costs.
    interval: Duration,
    /// How far ahead of now `full_at` may run (the burst).
    tolerance: Duration,
}

impl Gcra {
    fn policy(rate: Rate) -> GcraPolicy {
        let interval = Duration::from_secs(60) / rate.per_minute.max(1);
        GcraPolicy {
            interval,
            tolerance: interval * rate.burst.max(1),
        }
    }
}

impl Limit for Gcra {
    type Policy = GcraPolicy;

    fn fresh() -> Self {
        Gcra {
            full_at: Duration::ZERO,
        }
    }

    fn admit(&mut self, policy: &GcraPolicy, now: Duration) -> Result<(), RetryAfter> {
        let next = self.full_at.max(now) + policy.interval;
        let ahead = next - now;
        if ahead > policy.tolerance {
            return Err(RetryAfter(ahead - policy.tolerance));
        }
        self.full_at = next;
        Ok(())
    }

    fn lapsed(&self, _: &GcraPolicy, now: Duration) -> bool {
        self.full_at <= now
    }
}

/// The instants of the attempts in the last window.
struct Window {
    attempts: VecDeque<Duration>,
}

struct WindowPolicy {
    max: usize,
    window: Duration,
}

impl Limit for Window {
    type Policy = WindowPolicy;

    fn fresh() -> Self {
        Window {
            attempts: VecDeque::new(),
        }
    }

    fn admit(&mut self, policy: &WindowPolicy, now: Duration) -> Result<(), RetryAfter> {
        while let Some(&first) = self.attempts.front() {
            if now.saturating_sub(first) < policy.window {
                break;
            }
            self.attempts.pop_front();
        }
        if self.attempts.len() >= policy.max {
            let first = self.attempts.front().copied().unwrap_or(now);
            return Err(RetryAfter((first + policy.window).saturating_sub(now)));
        }
        self.attempts.push_back(now);
        Ok(())
    }

    fn lapsed(&self, policy: &WindowPolicy, now: Duration) -> bool {
        self.attempts
            .back()
            .is_none_or(|&last| now.saturating_sub(last) >= policy.window)
    }
}

/// One limit per key, for at most `max_keys` keys.
struct Keyed<L: Limit> {
    policy: L::Policy,
    max_keys: usize,
    clock: Clock,
    table: Mutex<Table<L>>,
}

struct Table<L> {
    keys: HashMap<String, L>,
    swept_at: Option<Duration>,
}

impl<L: Limit> Keyed<L> {
    fn new(policy: L::Policy, max_keys: usize, clock: Clock) -> Self {
        Keyed {
            policy,
            max_keys: max_keys.max(1),
            clock,
            table: Mutex::new(Table {
                keys: HashMap::new(),
                swept_at: None,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Table<L>> {
        // The table holds no invariant a panic could break halfway: keep using it.
        self.table
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn admit(&self, key: &str) -> Result<(), RetryAfter> {
        let now = (self.clock)();
        let mut table = self.lock();
        if let Some(state) = table.keys.get_mut(key) {
            return state.admit(&self.policy, now);
        }
        if table.keys.len() >= self.max_keys {
            let due = table
                .swept_at
                .is_none_or(|at| now.saturating_sub(at) >= SWEEP_EVERY);
            if due {
                table
                    .keys
                    .retain(|_, state| !state.lapsed(&self.policy, now));
                table.swept_at = Some(now);
            }
            if table.keys.len() >= self.max_keys {
                tracing::warn!(
                    keys = table.keys.len(),
                    "rate limiter full: refusing a new key"
                );
                return Err(RetryAfter(SWEEP_EVERY));
            }
        }
        let mut state = L::fresh();
        state.admit(&self.policy, now)?;
        table.keys.insert(key.to_owned(), state);
        Ok(())
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().keys.len()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};

    use super::*;

    /// A clock tests move by hand.
    #[derive(Clone, Default)]
    pub(crate) struct ManualClock(Arc<AtomicU64>);

    impl ManualClock {
        pub(crate) fn clock(&self) -> Clock {
            let millis = self.0.clone();
            Arc::new(move || Duration::from_millis(millis.load(Ordering::SeqCst)))
        }

        pub(crate) fn advance(&self, by: Duration) {
            self.0.fetch_add(by.as_millis() as u64, Ordering::SeqCst);
        }
    }

    fn limits() -> RateLimits {
        RateLimits {
            device: Rate {
                per_minute: 60,
                burst: 3,
            },
            user: Rate {
                per_minute: 120,
                burst: 5,
            },
            logins_per_minute: 10,
            max_keys: 100,
        }
    }

    #[test]
    fn a_device_gets_its_burst_then_its_rate() {
        let time = ManualClock::default();
        let limiter = RateLimiter::with_clock(limits(), time.clock());
        for _ in 0..3 {
            limiter.sync_request("ana", b"Bearer a").unwrap();
        }
        assert_eq!(
            limiter.sync_request("ana", b"Bearer a"),
            Err(RetryAfter(Duration::from_secs(1)))
        );
        // The same token with other whitespace is the same device.
        assert!(limiter.sync_request("ana", b"Bearer a ").is_err());
        time.advance(Duration::from_millis(999));
        assert!(limiter.sync_request("ana", b"Bearer a").is_err());
        time.advance(Duration::from_millis(1));
        limiter.sync_request("ana", b"Bearer a").unwrap();
        assert!(limiter.sync_request("ana", b"Bearer a").is_err());
        // Other devices of the same user have their own bursts, until the user's is spent
        // (five, plus two refilled in the second that passed).
        for device in [b"Bearer b", b"Bearer c", b"Bearer d"] {
            limiter.sync_request("ana", device).unwrap();
        }
        assert_eq!(
            limiter.sync_request("ana", b"Bearer e"),
            Err(RetryAfter(Duration::from_millis(500)))
        );
        // Another user is not affected.
        limiter.sync_request("bo", b"Bearer d").unwrap();
    }

    #[test]
    fn at_most_ten_logins_in_any_minute_right_password_or_not() {
        let time = ManualClock::default();
        let limiter = RateLimiter::with_clock(limits(), time.clock());
        for _ in 0..5 {
            limiter.login_attempt("ana").unwrap();
        }
        time.advance(Duration::from_secs(30));
        for _ in 0..5 {
            limiter.login_attempt("Ana ").unwrap();
        }
        assert_eq!(
            limiter.login_attempt("ana"),
            Err(RetryAfter(Duration::from_secs(30)))
        );
        limiter.login_attempt("bo").unwrap();
        // The first five leave the window; the last five are still in it.
        time.advance(Duration::from_secs(30));
        for _ in 0..5 {
            limiter.login_attempt("ana").unwrap();
        }
        assert!(limiter.login_attempt("ana").is_err());
        let error: ApiError = limiter.login_attempt("ana").unwrap_err().into();
        assert_eq!(error.code(), "rate_limited");
    }

    #[test]
    fn the_table_is_bounded_and_lapsed_keys_make_room() {
        let time = ManualClock::default();
        let limiter = RateLimiter::with_clock(limits(), time.clock());
        for i in 0..100 {
            limiter.login_attempt(&format!("user-{i}")).unwrap();
        }
        assert_eq!(limiter.logins.len(), 100);
        // Full, and nothing lapsed: a new key is refused, known keys go on.
        assert!(limiter.login_attempt("user-new").is_err());
        limiter.login_attempt("user-1").unwrap();
        assert_eq!(limiter.logins.len(), 100);
        // A minute later the old keys have lapsed and are swept.
        time.advance(Duration::from_secs(61));
        limiter.login_attempt("user-new").unwrap();
        assert_eq!(limiter.logins.len(), 1);
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        let error: ApiError = RetryAfter(Duration::from_millis(1_200)).into();
        assert!(matches!(
            error,
            ApiError::RateLimited {
                retry_after_secs: 2
            }
        ));
        let error: ApiError = RetryAfter(Duration::ZERO).into();
        assert!(matches!(
            error,
            ApiError::RateLimited {
                retry_after_secs: 1
            }
        ));
    }
}
