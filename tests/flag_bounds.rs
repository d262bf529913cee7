//! Every value of a numeric or duration setting that `check-config` accepts must
//! start: for each such flag, boundary values (0, tiny, huge, negative, NaN, inf,
//! 1ns, overflowing durations) go through `check-config` (as YAML) and through a
//! start of the real binary (as the flag). Either both refuse it, with an error
//! and no panic, or the exporter starts, serves `/health` and does not panic.
//!
//! Adding a flag: put it in `SETTINGS` (or, if it takes no number or duration,
//! in `NOT_NUMERIC`); `every_flag_is_classified` fails until you do.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::FakeSlurm;

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Duration,
    Float,
    Int,
}

/// A numeric setting: its flag, its YAML key (`None`: flag only), what it holds,
/// and flags (with their YAML keys) it needs to be read at all.
struct Setting {
    flag: &'static str,
    yaml: Option<&'static str>,
    kind: Kind,
    extra: &'static [(&'static str, &'static str, &'static str)],
}

const REST: &[(&str, &str, &str)] = &[
    ("slurm.source", "slurm.source", "rest"),
    ("slurm.rest-url", "slurm.rest_url", "http://127.0.0.1:9"),
];

const fn s(flag: &'static str, yaml: &'static str, kind: Kind) -> Setting {
    Setting {
        flag,
        yaml: Some(yaml),
        kind,
        extra: &[],
    }
}

const SETTINGS: &[Setting] = &[
    s(
        "web.max-concurrent-requests",
        "web.max_concurrent_requests",
        Kind::Int,
    ),
    s("web.max-connections", "web.max_connections", Kind::Int),
    s(
        "web.max-connections-per-ip",
        "web.max_connections_per_ip",
        Kind::Int,
    ),
    s("web.rate-limit", "web.rate_limit", Kind::Float),
    s("web.rate-limit-burst", "web.rate_limit_burst", Kind::Int),
    s(
        "web.header-read-timeout",
        "web.header_read_timeout",
        Kind::Duration,
    ),
    s("collection.interval", "collection.interval", Kind::Duration),
    s(
        "collection.slow-interval",
        "collection.slow_interval",
        Kind::Duration,
    ),
    s(
        "collection.accounting-interval",
        "collection.accounting_interval",
        Kind::Duration,
    ),
    s("collection.timeout", "collection.timeout", Kind::Duration),
    s(
        "collection.ready-max-intervals",
        "collection.ready_max_intervals",
        Kind::Int,
    ),
    s(
        "collection.series-limit",
        "collection.series_limit",
        Kind::Int,
    ),
    s("accounting.lookback", "accounting.lookback", Kind::Duration),
    s(
        "accounting.max-window",
        "accounting.max_window",
        Kind::Duration,
    ),
    s("caps.default.top", "caps.default.top", Kind::Int),
    s("caps.user.top", "caps.user.top", Kind::Int),
    Setting {
        flag: "slurm.jwt-mint-lifespan",
        yaml: Some("slurm.jwt_mint_lifespan"),
        kind: Kind::Duration,
        extra: REST,
    },
    Setting {
        flag: "config.watch-interval",
        yaml: None,
        kind: Kind::Duration,
        extra: &[],
    },
];

/// Flags that take no number or duration (`caps.<family>.top` other than those in
/// `SETTINGS` share their code with `caps.default.top`).
const NOT_NUMERIC: &[&str] = &[
    "config.file",
    "web.listen-address",
    "web.config.file",
    "web.health-unauthenticated",
    "slurm.source",
    "slurm.rest-url",
    "slurm.jwt-file",
    "slurm.user",
    "slurm.cluster-name",
    "slurm.bin-dir",
    "slurm.cli-json",
    "log.level",
    "log.format",
];

const DURATIONS: &[&str] = &[
    "0s",
    "1ns",
    "1ms",
    "999ms",
    "1s",
    "5s",
    "1h",
    "100y",
    "584942417355y",
    "18446744073709551615s",
    "18446744073709551616s",
    "-1s",
    "nan",
    "inf",
    "",
    "30",
];

const FLOATS: &[&str] = &[
    "0", "-0", "1e-300", "4e-11", "5e-11", "0.001", "1", "1e300", "1e400", "-1", "NaN", "inf",
    "-inf",
];

const INTS: &[&str] = &[
    "0",
    "1",
    "-1",
    "1000000",
    "4294967295",
    "4294967296",
    "9223372036854775807",
    "18446744073709551615",
    "18446744073709551616",
    "NaN",
    "1.5",
];

fn values(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Duration => DURATIONS,
        Kind::Float => FLOATS,
        Kind::Int => INTS,
    }
}

/// `value` as YAML that reads as the number the flag parser reads.
fn yaml_scalar(kind: Kind, value: &str) -> String {
    match (kind, value) {
        (Kind::Float, "NaN") => ".nan".into(),
        (Kind::Float, "inf") => ".inf".into(),
        (Kind::Float, "-inf") => "-.inf".into(),
        (Kind::Duration, v) => format!("{v:?}"),
        (_, v) => v.into(),
    }
}

/// A YAML document setting each dotted key to its scalar (YAML text, read as in a file).
fn yaml_doc(entries: &[(&str, String)]) -> String {
    let mut root = serde_yaml::Mapping::new();
    for (key, scalar) in entries {
        // Beyond what YAML reads as a number (2^64): a string, refused as a number would be.
        let value: serde_yaml::Value = serde_yaml::from_str(scalar)
            .unwrap_or_else(|_| serde_yaml::Value::String(scalar.clone()));
        let parts: Vec<&str> = key.split('.').collect();
        let mut map = &mut root;
        for part in &parts[..parts.len() - 1] {
            let entry = map
                .entry(serde_yaml::Value::from(*part))
                .or_insert_with(|| serde_yaml::Value::Mapping(Default::default()));
            map = entry
                .as_mapping_mut()
                .unwrap_or_else(|| panic!("{key}: not a mapping"));
        }
        map.insert(serde_yaml::Value::from(parts[parts.len() - 1]), value);
    }
    serde_yaml::to_string(&root).unwrap_or_else(|e| panic!("{e}"))
}

/// The panic line of a log if any, else its last line, short.
fn gist(output: &str) -> String {
    let line = output
        .lines()
        .find(|l| l.contains("panicked"))
        .or_else(|| output.lines().rev().find(|l| !l.trim().is_empty()))
        .unwrap_or("");
    line.chars().take(300).collect()
}

enum Outcome {
    Refused {
        code: Option<i32>,
        output: String,
    },
    Started,
    /// Panicked, died after starting, or hung.
    Broken(String),
}

/// `check-config` on `yaml`: `Ok(Ok(()))` accepted, `Ok(Err(output))` refused,
/// `Err(why)` panicked.
fn check_config(fake: &FakeSlurm, name: &str, yaml: &str) -> Result<Result<(), String>, String> {
    let file = fake.dir.path().join(format!("{name}.yaml"));
    std::fs::write(&file, yaml).unwrap_or_else(|e| panic!("{e}"));
    let out = Command::new(env!("CARGO_BIN_EXE_slurm-exporter"))
        .arg("check-config")
        .arg(&file)
        .envs(fake.envs())
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if text.contains("panicked") || out.status.code() == Some(101) {
        return Err(format!("check-config panicked: {}", gist(&text)));
    }
    Ok(if out.status.success() {
        Ok(())
    } else {
        Err(text)
    })
}

/// Starts the binary with `flags`: refused (exited), or started (served `/health`
/// and still running without a panic a moment later).
fn start(fake: &FakeSlurm, name: &str, flags: &[String]) -> Outcome {
    let port = common::free_port();
    let log = fake.dir.path().join(format!("{name}.log"));
    let log_file = std::fs::File::create(&log).unwrap_or_else(|e| panic!("{e}"));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_slurm-exporter"));
    cmd.arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg(format!("--slurm.bin-dir={}", fake.bin_dir().display()));
    if !flags.iter().any(|f| f.starts_with("--web.rate-limit")) {
        cmd.arg("--web.rate-limit=0");
    }
    let mut child = cmd
        .args(flags)
        .envs(fake.envs())
        .stdout(Stdio::null())
        .stderr(Stdio::from(log_file))
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let logs = || std::fs::read_to_string(&log).unwrap_or_default();
    let deadline = Instant::now() + Duration::from_secs(15);
    let outcome = loop {
        if let Ok(Some(status)) = child.try_wait() {
            break Outcome::Refused {
                code: status.code(),
                output: logs(),
            };
        }
        if common::get(port, "/health").map(|(code, _)| code) == Some(200) {
            // A panic in a task started with the server (ticker, watcher) shows now.
            std::thread::sleep(Duration::from_millis(1500));
            let alive = matches!(child.try_wait(), Ok(None));
            let text = logs();
            if !alive || text.contains("panicked") {
                break Outcome::Broken(format!("started, then died or panicked: {}", gist(&text)));
            }
            break Outcome::Started;
        }
        if Instant::now() > deadline {
            break Outcome::Broken(format!("neither started nor exited: {}", gist(&logs())));
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let _ = child.kill();
    let _ = child.wait();
    outcome
}

/// One setting at one value: the rule in the module doc, or why it was broken.
fn check(fake: &FakeSlurm, n: usize, setting: &Setting, value: &str) -> Result<String, String> {
    let name = format!("case{n}");
    let mut flags: Vec<String> = setting
        .extra
        .iter()
        .map(|(flag, _, v)| format!("--{flag}={v}"))
        .collect();
    flags.push(format!("--{}={value}", setting.flag));
    let checked = match setting.yaml.map(|key| {
        let mut entries: Vec<(&str, String)> = setting
            .extra
            .iter()
            .map(|(_, k, v)| (*k, v.to_string()))
            .collect();
        entries.push((key, yaml_scalar(setting.kind, value)));
        check_config(fake, &name, &yaml_doc(&entries))
    }) {
        Some(Err(why)) => return Err(format!("--{}={value:?}: {why}", setting.flag)),
        Some(Ok(r)) => Some(r),
        None => None,
    };
    let started = start(fake, &name, &flags);
    let what = format!("--{}={value:?}", setting.flag);
    match (checked, started) {
        (_, Outcome::Broken(why)) => Err(format!("{what}: {}", why.trim())),
        (Some(Err(why)), Outcome::Started) => Err(format!(
            "{what}: check-config refuses ({}) but the exporter starts with it",
            gist(&why)
        )),
        (Some(Ok(())), Outcome::Refused { code, output }) => Err(format!(
            "{what}: check-config accepts but the start fails ({code:?}): {}",
            gist(&output)
        )),
        (_, Outcome::Refused { code, output }) => {
            if code == Some(101) || output.contains("panicked") {
                Err(format!(
                    "{what}: start panicked ({code:?}): {}",
                    gist(&output)
                ))
            } else if code == Some(0) || output.trim().is_empty() {
                Err(format!("{what}: refused without an error ({code:?})"))
            } else {
                Ok(format!("{what}: refused: {}", gist(&output)))
            }
        }
        (_, Outcome::Started) => Ok(format!("{what}: starts")),
    }
}

#[test]
fn accepted_values_start_and_refused_values_say_why() {
    let fake = FakeSlurm::new();
    let cases: Vec<(&Setting, &str)> = SETTINGS
        .iter()
        .flat_map(|s| values(s.kind).iter().map(move |v| (s, *v)))
        .collect();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| loop {
                let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some((setting, value)) = cases.get(n) else {
                    return;
                };
                let r = check(&fake, n, setting, value);
                results
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push((n, r));
            });
        }
    });
    let mut results = results.into_inner().unwrap_or_else(|e| e.into_inner());
    results.sort_by_key(|(n, _)| *n);
    let mut broken = Vec::new();
    for (_, r) in results {
        match r {
            Ok(line) => eprintln!("{line}"),
            Err(line) => broken.push(line),
        }
    }
    assert!(
        broken.is_empty(),
        "{} of {} cases broken:\n{}",
        broken.len(),
        cases.len(),
        broken.join("\n")
    );
}

#[test]
fn every_flag_is_classified() {
    let command = slurm_exporter::cli::command();
    let unknown: Vec<String> = command
        .get_arguments()
        .filter(|a| a.get_action().takes_values())
        .filter_map(|a| a.get_long())
        .filter(|l| {
            !NOT_NUMERIC.contains(l)
                && !SETTINGS.iter().any(|s| s.flag == *l)
                && !l.starts_with("caps.")
        })
        .map(str::to_string)
        .collect();
    assert!(
        unknown.is_empty(),
        "add these flags to SETTINGS or NOT_NUMERIC in tests/flag_bounds.rs: {unknown:?}"
    );
}
