//! The HTML report in a real browser: Debian's headless Chromium loads the file, its DOM has one
//! bar per step call, and it renders to a non-trivial screenshot.
use monitor::{monitor_step, Pipeline};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[monitor_step(rows)]
fn extract(n: usize) -> Vec<u8> {
    std::thread::sleep(Duration::from_millis(30));
    vec![7; n]
}

#[monitor_step]
fn transform(rows: &[u8]) -> usize {
    std::thread::sleep(Duration::from_millis(15));
    monitor::record_rows_in(rows.len() as u64);
    monitor::record_rows(rows.len() as u64 / 2);
    rows.len() / 2
}

#[monitor_step]
fn load(n: usize) -> Result<(), String> {
    std::thread::sleep(Duration::from_millis(10));
    if n == 0 {
        Err("nothing to load".into())
    } else {
        Ok(())
    }
}

const CHROMIUM: &str = "/usr/bin/chromium";

/// Runs Chromium headless with the flags that keep it off the network, with a time limit.
fn chromium(profile: &Path, args: &[String]) -> std::process::Output {
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: install Debian's `chromium` package (.ci/run does)"
    );
    let mut child = Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start chromium");
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        if child.try_wait().expect("wait for chromium").is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("chromium did not finish within 90 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().expect("chromium output")
}

fn png_size(png: &[u8]) -> (u32, u32) {
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    let w = u32::from_be_bytes(png[16..20].try_into().unwrap());
    let h = u32::from_be_bytes(png[20..24].try_into().unwrap());
    (w, h)
}

#[test]
fn chromium_renders_the_gantt_with_one_bar_per_step_call() {
    monitor::testing::without_history();
    let run = Pipeline::start("html_in_chromium");
    for batch in [3000usize, 5000, 0] {
        let rows = extract(batch);
        let n = transform(&rows);
        let _ = load(n);
    }
    let report = run.finish();
    assert_eq!(report.timeline.calls.len(), 9);

    let dir = tempfile::tempdir().unwrap();
    let html: PathBuf = dir.path().join("report.html");
    std::fs::write(&html, report.to_html()).unwrap();
    let url = format!("file://{}", html.display());
    let profile = tempfile::tempdir().unwrap();

    let out = chromium(profile.path(), &["--dump-dom".into(), url.clone()]);
    assert!(
        out.status.success(),
        "chromium --dump-dom failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dom = String::from_utf8(out.stdout).unwrap();
    assert!(
        dom.contains("<svg id=\"gantt\""),
        "the browser's DOM has the Gantt chart"
    );
    let bars: Vec<&str> = dom
        .match_indices("<rect class=\"bar ")
        .map(|(i, _)| {
            let rest = &dom[i..];
            &rest[..rest.find('>').unwrap()]
        })
        .collect();
    assert_eq!(
        bars.len(),
        report.timeline.calls.len(),
        "one bar per step call"
    );
    for step in ["extract", "transform", "load"] {
        let n = bars
            .iter()
            .filter(|b| b.contains(&format!("data-step=\"{step}\"")))
            .count();
        assert_eq!(n, 3, "three bars for {step}");
    }
    let errors = bars
        .iter()
        .filter(|b| b.starts_with("<rect class=\"bar step error\""))
        .count();
    assert_eq!(errors, 1, "the failed load call is drawn as an error");
    assert!(dom.contains("<svg id=\"memory\""));
    assert!(dom.contains("nothing to load"));

    let png = dir.path().join("report.png");
    let out = chromium(
        profile.path(),
        &[
            format!("--screenshot={}", png.display()),
            "--window-size=1280,900".into(),
            url,
        ],
    );
    assert!(
        out.status.success(),
        "chromium --screenshot failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(&png).expect("the screenshot was written");
    assert_eq!(png_size(&bytes), (1280, 900));
    assert!(
        bytes.len() > 20_000,
        "a rendered page, not a blank one: {} bytes",
        bytes.len()
    );
    if let Ok(keep) = std::env::var("MONITOR_KEEP_SCREENSHOT") {
        std::fs::copy(&png, keep).unwrap();
    }
}

/// The report's horizontal scroll width and its viewport's, read by the browser with the report
/// `width` px wide. The report is shown in an iframe of that width (a headless window is never
/// narrower than 500 px), probed by a script of the outer page: the report itself has none.
fn scroll_and_viewport(profile: &Path, dir: &Path, html: &str, width: u32) -> (u32, u32) {
    let srcdoc = html.replace('&', "&amp;").replace('"', "&quot;");
    let page = format!(
        "<!doctype html><html><head><title>probe</title></head><body style=\"margin:0\">\
         <iframe id=\"f\" style=\"width:{width}px;height:900px;border:0\" srcdoc=\"{srcdoc}\"></iframe>\
         <script>document.getElementById('f').addEventListener('load', () => {{ \
           const d = document.getElementById('f').contentDocument; \
           document.title = 'scroll=' + d.scrollingElement.scrollWidth + \
             ' viewport=' + d.documentElement.clientWidth + ' end'; }});</script></body></html>"
    );
    let probe = dir.join(format!("probe-{width}.html"));
    std::fs::write(&probe, page).unwrap();
    let out = chromium(
        profile,
        &[
            format!("--window-size={},900", width.max(500) + 20),
            "--virtual-time-budget=5000".into(),
            "--dump-dom".into(),
            format!("file://{}", probe.display()),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dom = String::from_utf8(out.stdout).unwrap();
    let title = &dom[dom.find("<title>scroll=").expect("the probe ran") + 7..];
    let title = &title[..title.find("</title>").unwrap()];
    let number = |key: &str| -> u32 {
        let rest = &title[title.find(key).unwrap() + key.len()..];
        rest.split(' ').next().unwrap().parse().unwrap()
    };
    (number("scroll="), number("viewport="))
}

#[test]
fn the_html_report_never_scrolls_sideways_on_a_laptop_or_a_phone() {
    monitor::testing::without_history();
    // The example pipeline's report with a plan, a regression and a short history: its step and
    // query tables are wider than a phone.
    let report = monitor::Report::from_json(include_str!("fixtures/report.json")).unwrap();
    let html = report.to_html();
    let dir = tempfile::tempdir().unwrap();
    let profile = tempfile::tempdir().unwrap();
    for width in [1280, 390] {
        let (scroll, viewport) = scroll_and_viewport(profile.path(), dir.path(), &html, width);
        assert!(
            viewport > width - 40 && viewport <= width,
            "viewport {viewport} at {width}"
        );
        assert_eq!(
            scroll, viewport,
            "the report scrolls sideways at {width} px"
        );
        let png = dir.path().join(format!("report-{width}.png"));
        let out = chromium(
            profile.path(),
            &[
                format!("--screenshot={}", png.display()),
                format!("--window-size={},900", width.max(500) + 20),
                format!(
                    "file://{}",
                    dir.path().join(format!("probe-{width}.html")).display()
                ),
            ],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let png = std::fs::read(&png).unwrap();
        assert!(png.len() > 20_000, "a rendered page: {} bytes", png.len());
        if let Ok(keep) = std::env::var("MONITOR_KEEP_SCREENSHOT_DIR") {
            std::fs::write(Path::new(&keep).join(format!("report-{width}.png")), png).unwrap();
        }
    }
}
