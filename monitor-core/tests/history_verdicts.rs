//! The verdict rule on synthetic histories: injected regressions are flagged exactly; stable but
//! noisy histories (hundreds of seeds) almost never are. The measured rates are printed (run
//! with `--nocapture`) and quoted in the README.

use monitor_core::history::{
    compare, BaselineSettings, Direction, Metric, RunRecord, RunStatus, SiteRecord, Verdict,
    RECORD_VERSION,
};
use monitor_core::Kind;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeSet;

const MIB: f64 = 1024.0 * 1024.0;

/// A standard normal draw (Box–Muller).
fn normal(rng: &mut StdRng) -> f64 {
    let u1: f64 = rng.random_range(f64::EPSILON..1.0);
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// Multiplicative noise with coefficient of variation about `cv`.
fn lognormal(rng: &mut StdRng, cv: f64) -> f64 {
    (cv * normal(rng)).exp()
}

/// One simulated step or query: its typical figures and how noisy each is.
#[derive(Clone)]
struct SiteModel {
    name: String,
    kind: Kind,
    calls: u64,
    call_ms: f64,
    time_cv: f64,
    rows: Option<f64>,
    rows_growth: f64,
    rss: Option<f64>,
    heap: Option<f64>,
    mem_cv: f64,
}

impl SiteModel {
    fn random(rng: &mut StdRng, i: usize) -> SiteModel {
        let kind = if i % 3 == 2 { Kind::Query } else { Kind::Step };
        SiteModel {
            name: format!("site_{i}"),
            kind,
            calls: if rng.random_bool(0.5) {
                1
            } else {
                rng.random_range(2..200)
            },
            // From 20 µs to 20 s per call: microsecond sites must not cry wolf either.
            call_ms: 10f64.powf(rng.random_range(-1.7..4.3)),
            time_cv: rng.random_range(0.02..0.15),
            rows: rng
                .random_bool(0.7)
                .then(|| 10f64.powf(rng.random_range(1.0..7.0))),
            // Half the sites see their data grow slowly (0.1 % per run).
            rows_growth: if rng.random_bool(0.5) { 0.001 } else { 0.0 },
            rss: (kind == Kind::Step).then(|| rng.random_range(50.0..4000.0) * MIB),
            heap: (kind == Kind::Step && rng.random_bool(0.5))
                .then(|| rng.random_range(10.0..2000.0) * MIB),
            mem_cv: rng.random_range(0.005..0.03),
        }
    }

    /// The site's figures in run number `run`, under a run-wide load factor.
    fn sample(&self, rng: &mut StdRng, run: usize, load: f64, hiccup: f64) -> SiteRecord {
        let per_call = self.call_ms * load * hiccup;
        // The total of `calls` noisy calls, and their 95th percentile.
        let total_ms = per_call
            * self.calls as f64
            * lognormal(rng, self.time_cv / (self.calls as f64).sqrt());
        let p95_ms =
            per_call * (1.0 + 1.645 * self.time_cv.min(0.3)) * lognormal(rng, self.time_cv);
        let grown = (1.0 + self.rows_growth).powi(run as i32);
        SiteRecord {
            name: self.name.clone(),
            kind: self.kind,
            calls: self.calls,
            errors: 0,
            total_ms,
            p95_ms,
            rows: self.rows.map(|r| (r * grown).round() as u64),
            rows_in: None,
            rss_peak: self.rss.map(|b| (b * lognormal(rng, self.mem_cv)) as u64),
            heap_peak: self.heap.map(|b| (b * lognormal(rng, self.mem_cv)) as u64),
        }
    }
}

struct Pipeline {
    sites: Vec<SiteModel>,
    /// Probability that one site's time in one run is hit by a hiccup (×1.3 to ×2).
    hiccups: f64,
}

impl Pipeline {
    fn random(rng: &mut StdRng, n_sites: usize, hiccups: f64) -> Pipeline {
        Pipeline {
            sites: (0..n_sites).map(|i| SiteModel::random(rng, i)).collect(),
            hiccups,
        }
    }

    fn run(&self, rng: &mut StdRng, run: usize, hiccups: bool) -> RunRecord {
        // The machine's load moves every time figure of a run together (3 %).
        let load = lognormal(rng, 0.03);
        let sites = self
            .sites
            .iter()
            .map(|s| {
                let hiccup = if hiccups && rng.random_bool(self.hiccups) {
                    rng.random_range(1.3..2.0)
                } else {
                    1.0
                };
                s.sample(rng, run, load, hiccup)
            })
            .collect();
        RunRecord {
            v: RECORD_VERSION,
            run_id: format!("run-{run:04}"),
            pipeline: "nightly".into(),
            status: RunStatus::Ok,
            started_at_ms: 1_700_000_000_000 + run as u64 * 86_400_000,
            duration_ms: 1.0,
            host: "sim".into(),
            version: None,
            sites,
        }
    }

    /// `n` past runs (hiccups allowed when `hiccups`), then a clean current run.
    fn history(&self, rng: &mut StdRng, n: usize, hiccups: bool) -> (Vec<RunRecord>, RunRecord) {
        let past = (0..n).map(|i| self.run(rng, i, hiccups)).collect();
        let current = self.run(rng, n, false);
        (past, current)
    }
}

fn flagged(c: &monitor_core::history::Comparison) -> BTreeSet<(String, Metric)> {
    c.regressions
        .iter()
        .map(|f| (f.step.clone(), f.metric))
        .collect()
}

#[test]
fn injected_regressions_are_flagged_exactly() {
    let mut rng = StdRng::seed_from_u64(8);
    let mut pipe = Pipeline::random(&mut rng, 12, 0.0);
    // Make the injected sites well defined: one call, measurable sizes.
    for s in &mut pipe.sites[..4] {
        s.kind = Kind::Step;
        s.calls = 1;
        s.call_ms = 800.0;
        s.time_cv = 0.05;
        s.rows = Some(100_000.0);
        s.rows_growth = 0.0;
        s.rss = Some(500.0 * MIB);
        s.heap = None;
        s.mem_cv = 0.01;
    }
    let (past, mut current) = pipe.history(&mut rng, 30, false);
    // site_0: 60 % slower. site_1: 300 MiB more RSS. site_2: half the rows.
    // site_3: 45 % faster (an improvement, not a regression).
    current.sites[0].total_ms *= 1.6;
    current.sites[0].p95_ms *= 1.6;
    current.sites[1].rss_peak = current.sites[1].rss_peak.map(|b| b + 300 * (1 << 20));
    current.sites[2].rows = current.sites[2].rows.map(|r| r / 2);
    current.sites[3].total_ms *= 0.55;
    current.sites[3].p95_ms *= 0.55;

    let c = compare(&current, &past, &BaselineSettings::default());
    let expected: BTreeSet<(String, Metric)> = [
        ("site_0", Metric::DurationTotal),
        ("site_0", Metric::DurationP95),
        ("site_1", Metric::RssPeak),
        ("site_2", Metric::Rows),
    ]
    .into_iter()
    .map(|(s, m)| (s.to_owned(), m))
    .collect();
    assert_eq!(flagged(&c), expected, "{:#?}", c.regressions);
    let improved: BTreeSet<(String, Metric)> = c
        .improvements
        .iter()
        .map(|f| (f.step.clone(), f.metric))
        .collect();
    assert_eq!(
        improved,
        [
            ("site_3".to_owned(), Metric::DurationTotal),
            ("site_3".to_owned(), Metric::DurationP95)
        ]
        .into_iter()
        .collect()
    );

    // The evidence names the runs used and the numbers behind the verdict.
    let slow = c
        .regressions
        .iter()
        .find(|f| f.step == "site_0" && f.metric == Metric::DurationTotal)
        .unwrap();
    assert_eq!(slow.evidence.runs, 20, "the last 20 successful runs");
    assert_eq!(
        slow.evidence.run_ids.first().map(String::as_str),
        Some("run-0010")
    );
    assert_eq!(
        slow.evidence.run_ids.last().map(String::as_str),
        Some("run-0029")
    );
    assert_eq!(slow.direction, Direction::Up);
    let change = slow.change.unwrap();
    assert!((0.45..0.75).contains(&change), "{change}");
    let [lo, hi] = slow.change_ci.unwrap();
    assert!(
        lo <= change && change <= hi && lo > 0.10,
        "{lo} {change} {hi}"
    );
    assert!(slow.evidence.z.unwrap() > 3.5);
    let rows = c
        .regressions
        .iter()
        .find(|f| f.metric == Metric::Rows)
        .unwrap();
    assert_eq!(rows.direction, Direction::Down);

    // The "vs baseline" cell marks the regression and the improvement.
    assert!(c
        .site(Kind::Step, "site_0")
        .unwrap()
        .vs_baseline()
        .ends_with(" ▲"));
    assert!(c
        .site(Kind::Step, "site_3")
        .unwrap()
        .vs_baseline()
        .ends_with(" ▼"));
}

/// False-positive rates on stable histories: (runs with any regression flagged, comparisons
/// flagged, comparisons made).
fn false_positive_rate(seeds: u64, hiccups: f64) -> (usize, usize, usize) {
    let (mut runs_flagged, mut flags, mut comparisons) = (0, 0, 0);
    for seed in 0..seeds {
        let mut rng = StdRng::seed_from_u64(seed);
        let pipe = Pipeline::random(&mut rng, 12, hiccups);
        let (past, current) = pipe.history(&mut rng, 20, hiccups > 0.0);
        let c = compare(&current, &past, &BaselineSettings::default());
        comparisons += c
            .sites
            .iter()
            .flat_map(|s| &s.findings)
            .filter(|f| f.verdict != Verdict::InsufficientHistory)
            .count();
        flags += c.regressions.len();
        runs_flagged += usize::from(!c.regressions.is_empty());
    }
    (runs_flagged, flags, comparisons)
}

#[test]
fn stable_noisy_histories_rarely_flag() {
    const SEEDS: u64 = 500;
    let (runs, flags, comparisons) = false_positive_rate(SEEDS, 0.0);
    println!(
        "stable histories: {runs}/{SEEDS} runs with a false regression ({:.2}%), {flags}/{comparisons} comparisons ({:.3}%)",
        100.0 * runs as f64 / SEEDS as f64,
        100.0 * flags as f64 / comparisons as f64
    );
    assert!(comparisons > 20_000, "{comparisons}");
    assert!(
        runs as f64 / (SEEDS as f64) <= 0.015,
        "{runs} of {SEEDS} runs flagged"
    );

    // Hiccups (3 % of site-runs ×1.3–2 slower) in the baseline window must not make a clean run
    // look better or worse: the median and MAD shrug them off.
    let (runs, flags, comparisons) = false_positive_rate(SEEDS, 0.03);
    println!(
        "histories with hiccups: {runs}/{SEEDS} runs with a false regression ({:.2}%), {flags}/{comparisons} comparisons ({:.3}%)",
        100.0 * runs as f64 / SEEDS as f64,
        100.0 * flags as f64 / comparisons as f64
    );
    assert!(
        runs as f64 / (SEEDS as f64) <= 0.015,
        "{runs} of {SEEDS} runs flagged"
    );
}

/// Share of seeds in which a slowdown by `factor` of a one-call step with 5 % noise of its own
/// (plus the 3 % machine load every time figure shares) is flagged.
fn detection_rate(factor: f64, seeds: u64) -> f64 {
    let mut caught = 0;
    for seed in 0..seeds {
        let mut rng = StdRng::seed_from_u64(10_000 + seed);
        let mut pipe = Pipeline::random(&mut rng, 4, 0.0);
        pipe.sites[0].calls = 1;
        pipe.sites[0].call_ms = 2_000.0;
        pipe.sites[0].time_cv = 0.05;
        pipe.sites[0].kind = Kind::Step;
        let (past, mut current) = pipe.history(&mut rng, 20, false);
        current.sites[0].total_ms *= factor;
        let c = compare(&current, &past, &BaselineSettings::default());
        caught += usize::from(
            c.regressions
                .iter()
                .any(|f| f.step == "site_0" && f.metric == Metric::DurationTotal),
        );
    }
    caught as f64 / seeds as f64
}

#[test]
fn detects_a_real_slowdown_reliably() {
    const SEEDS: u64 = 150;
    let rates: Vec<(f64, f64)> = [1.2, 1.3, 1.5, 2.0]
        .into_iter()
        .map(|f| (f, detection_rate(f, SEEDS)))
        .collect();
    for (f, r) in &rates {
        println!(
            "slowdown {:+.0}% at ~6% noise: caught in {:.0}% of {SEEDS} seeds",
            (f - 1.0) * 100.0,
            r * 100.0
        );
    }
    // Detection grows with the slowdown, and a 50 % slowdown is (nearly) always caught.
    assert!(rates.windows(2).all(|w| w[0].1 <= w[1].1), "{rates:?}");
    assert!(rates[2].1 >= 0.95, "{rates:?}");
    assert!(rates[3].1 >= 0.99, "{rates:?}");
}

#[test]
fn microsecond_steps_do_not_cry_wolf() {
    let mut rng = StdRng::seed_from_u64(3);
    let mut pipe = Pipeline::random(&mut rng, 1, 0.0);
    pipe.sites[0].calls = 1;
    pipe.sites[0].call_ms = 0.05;
    pipe.sites[0].time_cv = 0.02;
    let (past, mut current) = pipe.history(&mut rng, 20, false);
    // Ten times slower, but only by half a millisecond: under the 5 ms floor.
    current.sites[0].total_ms *= 10.0;
    current.sites[0].p95_ms *= 10.0;
    let c = compare(&current, &past, &BaselineSettings::default());
    assert!(
        c.regressions
            .iter()
            .all(|f| f.metric != Metric::DurationTotal && f.metric != Metric::DurationP95),
        "{:#?}",
        c.regressions
    );
}

#[test]
fn too_little_history_gives_no_verdict() {
    let mut rng = StdRng::seed_from_u64(4);
    let pipe = Pipeline::random(&mut rng, 3, 0.0);
    let (past, mut current) = pipe.history(&mut rng, 4, false);
    current.sites[0].total_ms *= 5.0;
    let c = compare(&current, &past, &BaselineSettings::default());
    assert!(c.regressions.is_empty());
    let f = c.sites[0].finding(Metric::DurationTotal).unwrap();
    assert_eq!(f.verdict, Verdict::InsufficientHistory);
    assert_eq!(c.sites[0].vs_baseline(), "n=4");
}

#[test]
fn failed_runs_and_other_pipelines_never_feed_the_baseline() {
    let mut rng = StdRng::seed_from_u64(5);
    let pipe = Pipeline::random(&mut rng, 2, 0.0);
    let (mut past, current) = pipe.history(&mut rng, 10, false);
    for r in past.iter_mut().take(5) {
        r.status = RunStatus::Failed;
    }
    past[5].pipeline = "other".into();
    let c = compare(&current, &past, &BaselineSettings::default());
    assert_eq!(
        c.baseline_run_ids,
        ["run-0006", "run-0007", "run-0008", "run-0009"]
    );
}
