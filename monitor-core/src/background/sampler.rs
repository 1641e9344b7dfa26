//! The one process-wide background thread, `monitor-sampler`.
//!
//! It exists only while some monitored call is in flight ([`crate::background::inflight`]): the first claim
//! starts it, and once nothing has been in flight for [`LINGER`] it exits, so an idle process
//! has no extra thread. Every `MONITOR_SAMPLE_INTERVAL` (default 10 ms) it runs each of
//! the tasks registered with `register_task`, in order. Tasks must be cheap, must not block, and must not panic.
//!
//! Starting and stopping race-free without a lock: a claim increments the in-flight count and
//! then reads the thread's state; the thread, before exiting, sets the state to stopped and then
//! reads the count. With sequentially consistent operations at least one of the two sees the
//! other, so a claim that arrives while the thread is leaving either keeps it running or starts a
//! new one, never neither.

use crate::base::{clock, own_cost};
use std::cell::OnceCell;
use std::sync::atomic::{
    AtomicU64, AtomicU8,
    Ordering::{Relaxed, SeqCst},
};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The thread's name, as shown in `/proc/self/task/*/comm`, `top -H` and debuggers.
pub const THREAD_NAME: &str = "monitor-sampler";

/// How long the thread stays after the last in-flight call ends, so that a loop of short steps
/// does not start a thread per call.
pub const LINGER: Duration = Duration::from_millis(100);

/// What a periodic task is told about the tick it runs in.
#[derive(Debug)]
pub struct Tick {
    /// `clock::now_ticks` at the start of the tick.
    pub now_ticks: u64,
    /// This tick's number: ticks begun before it since the process started (across thread
    /// restarts). [`ticks`] already counts this one while it runs.
    pub count: u64,
    rss: OnceCell<Option<u64>>,
}

impl Tick {
    /// The process's RSS, read by the first task of the tick that asks and shared with the
    /// others (the memory task and the runs' timelines want the same reading).
    pub fn rss(&self) -> Option<u64> {
        *self.rss.get_or_init(crate::base::rss::current_rss)
    }
}

/// At most this many periodic tasks (three exist: memory peaks, run timelines, the watchdog).
const MAX_TASKS: usize = 8;

/// The periodic tasks, in the order they were registered; the first empty slot ends the list.
static TASKS: [OnceLock<fn(&Tick)>; MAX_TASKS] = [const { OnceLock::new() }; MAX_TASKS];

/// Adds a task that runs at every tick while calls are in flight, after those registered before
/// it. The start-up (`crate::init`) registers each of the runtime's tasks once; this thread knows
/// nothing of what they do, so nothing here names a layer above.
pub(crate) fn register_task(task: fn(&Tick)) {
    if !TASKS.iter().any(|slot| slot.set(task).is_ok()) {
        debug_assert!(false, "more than {MAX_TASKS} sampler tasks");
    }
}

const STOPPED: u8 = 0;
const RUNNING: u8 = 1;

static STATE: AtomicU8 = AtomicU8::new(STOPPED);
static TICKS: AtomicU64 = AtomicU64::new(0);

/// Whether the thread is running (or about to).
#[must_use]
pub fn running() -> bool {
    STATE.load(SeqCst) == RUNNING
}

/// Starts the thread if it is not running. Called by every claim, after it is counted.
#[inline]
pub(crate) fn ensure_running() {
    if STATE.load(SeqCst) != RUNNING {
        start();
    }
}

/// Starts the thread if it is not running, for a synchronous query just published in its
/// thread's record ([`crate::background::running`]): a plain load when it runs, which it does while queries
/// keep coming.
#[inline]
pub(crate) fn ensure_running_for_queries() {
    if STATE.load(Relaxed) != RUNNING {
        start();
    }
}

#[cold]
#[inline(never)]
fn start() {
    if STATE
        .compare_exchange(STOPPED, RUNNING, SeqCst, SeqCst)
        .is_err()
    {
        return;
    }
    // The thread runs the tasks the start-up registers: make sure it ran (a no-op after the
    // first monitored call; it never starts this thread itself, so this cannot recurse).
    crate::start_up();
    let spawned = std::thread::Builder::new()
        .name(THREAD_NAME.to_owned())
        .stack_size(256 << 10)
        .spawn(run);
    if spawned.is_err() {
        // No thread: calls are still measured at entry and exit, just without sampling.
        STATE.store(STOPPED, SeqCst);
    }
}

/// Marks the thread stopped however it leaves `run`, so a later claim can start a new one.
struct StopOnExit;

impl Drop for StopOnExit {
    fn drop(&mut self) {
        if std::thread::panicking() {
            STATE.store(STOPPED, SeqCst);
        }
    }
}

/// Longest single sleep, so that a shorter interval set while the thread sleeps takes effect
/// within this time rather than after the old interval.
const MAX_NAP: Duration = Duration::from_millis(50);

fn run() {
    let _guard = StopOnExit;
    let mut idle_since: Option<Instant> = None;
    let mut last = Instant::now();
    // The thread's CPU time is charged to monitor's own cost once per tick: the tick's tasks and
    // the naps and checks since the previous one.
    let mut cpu_then = own_cost::thread_cpu_ns();
    loop {
        let due = last + crate::config::sample_interval();
        let now = Instant::now();
        if now < due {
            std::thread::sleep((due - now).min(MAX_NAP));
            continue;
        }
        last = now;
        if crate::background::inflight::active_count() > 0 || crate::background::running::any() {
            idle_since = None;
            tick();
            let cpu_now = own_cost::thread_cpu_ns();
            if let (Some(then), Some(now)) = (cpu_then, cpu_now) {
                own_cost::add(own_cost::Part::Sampler, now.saturating_sub(then));
            }
            cpu_then = cpu_now;
            continue;
        }
        let since = *idle_since.get_or_insert_with(Instant::now);
        if since.elapsed() < LINGER {
            continue;
        }
        STATE.store(STOPPED, SeqCst);
        // A synchronous query publishes itself with plain stores and then reads the state
        // without a fence (`ensure_running_for_queries`), so it may have read "running" just
        // before the store above while its own record write was still on its way. Give that
        // write time to land before looking (stores become visible within nanoseconds; this
        // wait is paid once per thread exit, not per call).
        std::thread::sleep(Duration::from_millis(1));
        if crate::background::inflight::active_count() == 0 && !crate::background::running::any() {
            return;
        }
        // A call arrived while we were leaving. Keep going, unless it already started a thread.
        if STATE
            .compare_exchange(STOPPED, RUNNING, SeqCst, SeqCst)
            .is_err()
        {
            return;
        }
        idle_since = None;
    }
}

/// One tick: every registered task, in order.
fn tick() {
    let t = Tick {
        now_ticks: clock::now_ticks(),
        count: TICKS.fetch_add(1, SeqCst),
        rss: OnceCell::new(),
    };
    for task in TASKS.iter().map_while(OnceLock::get) {
        task(&t);
    }
}

/// Ticks run so far (for tests and diagnostics).
#[must_use]
pub fn ticks() -> u64 {
    TICKS.load(SeqCst)
}
