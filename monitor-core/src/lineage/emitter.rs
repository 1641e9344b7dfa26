//! The sender: one background thread (`monitor-openlineage`) per installed [`OpenLineage`], fed
//! through a bounded queue ([`QUEUE_EVENTS`]), so a pipeline thread never waits on the network
//! except at the end of a run, and then at most the time limit.
//!
//! Every event carries a deadline: the moment it was queued plus the time limit. The thread
//! sends events in order, each with what is left of its deadline as its timeout (one retry after
//! 200 ms for a network error, a 5xx or a 429, time permitting), and drops an event whose
//! deadline has passed. Events queued together (a run's end: the run and its steps and queries)
//! form a batch: once one of them fails, the rest of the batch is dropped instead of each
//! failing in turn. The end of a run waits until its batch (and the `START` queued before it)
//! has been handled, or until the deadline; then, if any event was not delivered, one `warn`
//! names the endpoint and the reason. Further failures are not logged again until an event gets
//! through. The API key is sent as a header and appears in no message.

use super::settings::{Endpoint, OpenLineage, QUEUE_EVENTS};
use crate::report::Report;
use arc_swap::ArcSwapOption;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Condvar, Mutex, Once, PoisonError};
use std::time::{Duration, Instant};

/// One queued event.
struct Job {
    body: Vec<u8>,
    deadline: Instant,
    seq: u64,
    batch: u64,
}

/// What the thread has done, for the runs waiting on it.
#[derive(Debug, Default)]
struct Progress {
    /// The last event handled (sent, failed or dropped); events are handled in `seq` order.
    done: u64,
    /// Events delivered since the last report.
    sent: u64,
    /// Events not delivered since the last report.
    not_sent: u64,
    /// Why the last one was not.
    last_error: Option<String>,
}

#[derive(Debug, Default)]
struct Shared {
    progress: Mutex<Progress>,
    handled: Condvar,
    /// Whether the current run of failures has been warned about.
    warned: AtomicBool,
}

/// Queueing state: the next sequence number and the sender, under one lock so that sequence
/// numbers reach the thread in order.
struct Queue {
    next_seq: u64,
    tx: SyncSender<Job>,
}

/// An installed [`OpenLineage`] and its thread.
pub(crate) struct Emitter {
    pub(crate) settings: OpenLineage,
    queue: Mutex<Queue>,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Emitter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emitter")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

static CURRENT: ArcSwapOption<Emitter> = ArcSwapOption::const_empty();
static ENV: Once = Once::new();

pub(crate) fn install(settings: OpenLineage) {
    let emitter = Emitter::start(settings);
    CURRENT.store(emitter.map(Arc::new));
    super::datasets::set_active(CURRENT.load().is_some());
}

pub(crate) fn install_unless_present(settings: OpenLineage) {
    if CURRENT.load().is_none() {
        install(settings);
    }
}

pub(crate) fn current() -> Option<Arc<Emitter>> {
    CURRENT.load_full()
}

pub(crate) fn uninstall() {
    CURRENT.store(None);
    super::datasets::set_active(false);
}

impl Emitter {
    fn start(settings: OpenLineage) -> Option<Emitter> {
        let (tx, rx) = sync_channel::<Job>(QUEUE_EVENTS);
        let shared = Arc::new(Shared::default());
        let endpoint = settings.endpoint.clone();
        let api_key = settings.api_key.clone();
        let thread_shared = Arc::clone(&shared);
        let spawned = std::thread::Builder::new()
            .name("monitor-openlineage".to_owned())
            .spawn(move || send_loop(&rx, &endpoint, api_key.as_deref(), &thread_shared));
        if let Err(e) = spawned {
            crate::call::events::surfaced(|| {
                tracing::warn!(
                    target: "monitor",
                    endpoint = %settings.endpoint.shown(),
                    error = %e,
                    "OpenLineage off: cannot start its sender thread: {e}"
                );
            });
            return None;
        }
        Some(Emitter {
            settings,
            queue: Mutex::new(Queue { next_seq: 1, tx }),
            shared,
        })
    }

    /// Queues `bodies` as one batch; returns the last sequence number queued (0: none) and how
    /// many did not fit.
    fn enqueue(&self, bodies: Vec<Vec<u8>>, deadline: Instant) -> (u64, u64) {
        let mut q = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        let batch = q.next_seq;
        let (mut last, mut dropped) = (0, 0);
        for body in bodies {
            let seq = q.next_seq;
            match q.tx.try_send(Job {
                body,
                deadline,
                seq,
                batch,
            }) {
                Ok(()) => {
                    q.next_seq += 1;
                    last = seq;
                }
                Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => dropped += 1,
            }
        }
        (last, dropped)
    }

    /// Waits until event `seq` has been handled or `deadline` passes; returns how many events
    /// up to `seq` were still waiting then.
    fn wait(&self, seq: u64, deadline: Instant) -> u64 {
        let mut p = self
            .shared
            .progress
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        while p.done < seq {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return seq - p.done;
            }
            p = self
                .shared
                .handled
                .wait_timeout(p, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        0
    }
}

/// The sender thread: runs until its emitter is dropped (then finishes what is queued, each
/// event within its own deadline).
fn send_loop(rx: &Receiver<Job>, endpoint: &Endpoint, api_key: Option<&str>, shared: &Shared) {
    let mut failed_batch: Option<u64> = None;
    let mut file: Option<std::fs::File> = None;
    for job in rx {
        let outcome = if failed_batch == Some(job.batch) {
            Err(None)
        } else {
            let left = job.deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                Err(Some(
                    "not sent within the time limit (events waited behind earlier ones)".to_owned(),
                ))
            } else {
                send(endpoint, api_key, &job.body, left, &mut file).map_err(Some)
            }
        };
        if outcome.is_err() {
            failed_batch = Some(job.batch);
        }
        let mut p = shared
            .progress
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match outcome {
            Ok(()) => p.sent += 1,
            Err(reason) => {
                p.not_sent += 1;
                if let Some(r) = reason {
                    p.last_error = Some(r);
                }
            }
        }
        p.done = job.seq;
        drop(p);
        shared.handled.notify_all();
    }
}

fn send(
    endpoint: &Endpoint,
    api_key: Option<&str>,
    body: &[u8],
    left: Duration,
    file: &mut Option<std::fs::File>,
) -> Result<(), String> {
    match endpoint {
        Endpoint::Http { url, shown } => post(url, shown, api_key, body, left),
        Endpoint::File(path) => {
            if file.is_none() {
                *file = Some(
                    std::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(path)
                        .map_err(|e| format!("cannot open {}: {e}", path.display()))?,
                );
            }
            let mut line = Vec::with_capacity(body.len() + 1);
            line.extend_from_slice(body);
            line.push(b'\n');
            let written = file
                .as_mut()
                .map_or(Ok(()), |f| f.write_all(&line).and_then(|()| f.flush()));
            written.map_err(|e| {
                *file = None;
                format!("cannot append to {}: {e}", path.display())
            })
        }
    }
}

/// One POST, with one retry for a network error, a 5xx or a 429 when time is left.
fn post(
    url: &str,
    shown: &str,
    api_key: Option<&str>,
    body: &[u8],
    limit: Duration,
) -> Result<(), String> {
    let started = Instant::now();
    let mut last = String::new();
    for attempt in 0..2 {
        let left = limit.saturating_sub(started.elapsed());
        if left.is_zero() {
            break;
        }
        let agent = ureq::AgentBuilder::new().timeout(left).build();
        let mut req = agent.post(url).set("Content-Type", "application/json");
        if let Some(key) = api_key {
            req = req.set("Authorization", &format!("Bearer {key}"));
        }
        let retry = match req.send_bytes(body) {
            Ok(_) => return Ok(()),
            Err(ureq::Error::Status(code, _)) => {
                last = format!("HTTP {code}");
                code >= 500 || code == 429
            }
            // ureq names the URL it failed on: show it without user information.
            Err(e) => {
                last = e.to_string().replace(url, shown);
                true
            }
        };
        if !retry || attempt == 1 {
            break;
        }
        let pause = Duration::from_millis(200).min(limit.saturating_sub(started.elapsed()));
        std::thread::sleep(pause);
    }
    if started.elapsed() >= limit && last.is_empty() {
        last = format!("no answer within {limit:?}");
    }
    Err(last)
}

/// Called by `Pipeline::start`: reads the environment on the first run, then queues the run's
/// `START` event.
pub(crate) fn run_started(state: &crate::call::attach::RunState) {
    ENV.call_once(super::settings::install_from_env);
    if crate::config::disabled() {
        return;
    }
    let Some(emitter) = CURRENT.load_full() else {
        return;
    };
    let ns = emitter
        .settings
        .namespace
        .clone()
        .unwrap_or_else(|| state.name.clone());
    let event = super::event::start(&ns, &state.name, &state.run_id, state.started_unix_ms);
    let (_, dropped) = emitter.enqueue(vec![event], Instant::now() + emitter.settings.timeout);
    if dropped > 0 {
        let mut p = emitter
            .shared
            .progress
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        p.not_sent += dropped;
        p.last_error = Some(format!(
            "the queue was full ({QUEUE_EVENTS} events waiting)"
        ));
    }
}

/// The run's end events, sent and waited for within the time limit.
pub(crate) fn run_finished(report: &Report) {
    let datasets = super::datasets::take(&report.run_id);
    if crate::config::disabled() {
        return;
    }
    let Some(emitter) = CURRENT.load_full() else {
        return;
    };
    let limit = emitter.settings.timeout;
    let deadline = Instant::now() + limit;
    let ns = emitter
        .settings
        .namespace
        .clone()
        .unwrap_or_else(|| report.pipeline.clone());
    let (events, not_kept) = super::event::end(&ns, report, datasets.as_ref());
    let (last, dropped) = emitter.enqueue(events, deadline);
    // Wait for everything queued up to this batch: the run's START went before it.
    let last = if last == 0 {
        emitter
            .queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .next_seq
            - 1
    } else {
        last
    };
    let pending = emitter.wait(last, deadline);
    let (sent, not_sent, last_error) = {
        let mut p = emitter
            .shared
            .progress
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let taken = (p.sent, p.not_sent, p.last_error.take());
        p.sent = 0;
        p.not_sent = 0;
        taken
    };
    let undelivered = not_sent + pending + dropped;
    let endpoint = emitter.settings.endpoint.shown();
    if undelivered > 0 {
        let reason = if pending > 0 {
            format!("no answer within the time limit of {limit:?}")
        } else if dropped > 0 {
            format!("the queue was full ({QUEUE_EVENTS} events waiting)")
        } else {
            last_error.unwrap_or_else(|| "not delivered".to_owned())
        };
        if !emitter.shared.warned.swap(true, Relaxed) {
            tracing::warn!(
                target: "monitor",
                endpoint = %endpoint,
                pipeline = %report.pipeline,
                run_id = %report.run_id,
                reason = %reason,
                events_not_delivered = undelivered,
                "OpenLineage events not delivered to {endpoint}: {reason} ({undelivered} \
                 events of this run lost; the run is unaffected; further failures are not logged \
                 until an event gets through)"
            );
        }
    } else if sent > 0 {
        emitter.shared.warned.store(false, Relaxed);
    }
    if not_kept > 0 {
        tracing::warn!(
            target: "monitor",
            pipeline = %report.pipeline,
            run_id = %report.run_id,
            datasets_not_kept = not_kept,
            "{not_kept} calls of monitor::lineage::input/output recorded no dataset for this run \
             (past the bound of {} datasets per run and direction, an empty name, or one longer \
             than {} bytes); those datasets are not in its OpenLineage events",
            super::MAX_RUN_DATASETS,
            super::MAX_DATASET_CHARS
        );
    }
}
