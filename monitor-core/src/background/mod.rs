//! The one background thread and the tables it reads: which monitored calls are in flight
//! ([`inflight`]), which synchronous query each thread is running ([`running`]), and the
//! `monitor-sampler` thread ([`sampler`]) that ticks while any of them is in use.
//!
//! The thread knows nothing of what it serves: the folders above register their tasks with
//! [`sampler::register_task`] (memory peaks, run timelines, the watchdog), so no import goes up.
//!
//! May import: `base`, `config`, `site`.

pub mod inflight;
pub mod running;
pub mod sampler;
