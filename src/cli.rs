//! Command-line flags in node_exporter's style (`--web.listen-address`,
//! `--collector.<name>` / `--no-collector.<name>`), turned into a `RawConfig` that
//! overlays the config file.

use std::path::PathBuf;

use clap::{Arg, ArgAction, ArgMatches, Command};

use crate::collectors;
use crate::config::{LogFormat, RawConfig, SourceKind};

/// What the command line asks for.
pub enum Invocation {
    /// Run the exporter with these flags and optional config file.
    Serve {
        config_file: Option<PathBuf>,
        /// Poll the config file for changes this often (SIGHUP always reloads).
        watch_interval: Option<String>,
        flags: Box<RawConfig>,
    },
    /// Validate a config file and exit.
    CheckConfig { file: PathBuf },
}

fn value_flag(name: &'static str, help: &'static str) -> Arg {
    Arg::new(name)
        .long(name)
        .value_name("VALUE")
        .help(help)
        .action(ArgAction::Set)
}

pub fn command() -> Command {
    let mut cmd = Command::new("slurm-exporter")
        .version(env!("CARGO_PKG_VERSION"))
        .about("Prometheus exporter for the Slurm workload manager")
        .args_conflicts_with_subcommands(true)
        .subcommand(
            Command::new("check-config")
                .about("Validate a config file and exit (non-zero with the bad key on error)")
                .arg(Arg::new("file").required(true).value_name("FILE")),
        )
        .arg(value_flag(
            "config.file",
            "YAML config file; flags win over it",
        ))
        .arg(value_flag(
            "web.listen-address",
            "Address to listen on [default: :10341]",
        ))
        .arg(value_flag(
            "web.config.file",
            "exporter-toolkit web config file: TLS, client certificates, basic auth, headers",
        ))
        .arg(value_flag(
            "web.health-unauthenticated",
            "Whether /health answers without credentials: true or false [default: true]",
        ))
        .arg(value_flag(
            "web.max-concurrent-requests",
            "Requests served at once; more wait up to 5s for a slot, then get 503 [default: 32]",
        ))
        .arg(value_flag(
            "web.max-connections",
            "Connections open at once, lowered at start to keep 256 file descriptors for collection; more are closed unserved [default: 1024]",
        ))
        .arg(value_flag(
            "web.max-connections-per-ip",
            "Connections open at once from one client IP; more are closed unserved [default: 64]",
        ))
        .arg(value_flag(
            "web.rate-limit",
            "Requests per second per client IP, over it 429; 0 disables [default: 10]",
        ))
        .arg(value_flag(
            "web.rate-limit-burst",
            "Requests a client IP may send at once above the rate [default: 20]",
        ))
        .arg(value_flag(
            "web.header-read-timeout",
            "Time a client has to finish the TLS handshake and send its request headers [default: 10s]",
        ))
        .arg(value_flag(
            "slurm.source",
            "Where Slurm data comes from: cli or rest [default: cli]",
        ))
        .arg(value_flag(
            "slurm.rest-url",
            "slurmrestd URL: http://host:port or unix:///path/to/socket",
        ))
        .arg(value_flag(
            "slurm.jwt-file",
            "File holding the JWT for slurmrestd (or set SLURM_JWT)",
        ))
        .arg(value_flag(
            "slurm.user",
            "User name sent to slurmrestd [default: the token's user]",
        ))
        .arg(value_flag(
            "slurm.cluster-name",
            "Value of the cluster label [default: Slurm's ClusterName]",
        ))
        .arg(value_flag(
            "slurm.bin-dir",
            "Directory of the Slurm commands [default: found on PATH]",
        ))
        .arg(value_flag(
            "slurm.jwt-mint-lifespan",
            "Mint the JWT with `scontrol token lifespan=…` (renewed at a third left) instead of reading it",
        ))
        .arg(value_flag(
            "config.watch-interval",
            "Also reload the config file when it changes, checking this often (e.g. 10s) [default: off; SIGHUP always reloads]",
        ))
        .arg(value_flag(
            "slurm.cli-json",
            "Comma-separated CLI queries to read with --json instead of text: jobs, nodes [default: none]",
        ))
        .arg(value_flag(
            "collection.interval",
            "Time between collections [default: 30s]",
        ))
        .arg(value_flag(
            "collection.slow-interval",
            "Time between reads of slow data: licenses, reservations, fairshare, QOS, associations [default: 2m]",
        ))
        .arg(value_flag(
            "collection.accounting-interval",
            "Time between reads of slurmdbd accounting data [default: 2m]",
        ))
        .arg(value_flag(
            "collection.timeout",
            "Hard timeout of each Slurm query [default: 20s]",
        ))
        .arg(value_flag(
            "collection.ready-max-intervals",
            "/ready fails when data is older than this many intervals [default: 3]",
        ))
        .arg(value_flag(
            "collection.series-limit",
            "Soft limit of series per snapshot: exported and logged when exceeded [default: 500000]",
        ))
        .arg(value_flag(
            "accounting.lookback",
            "Accounting collector: on first start, also count jobs that finished this long ago [default: 0s]",
        ))
        .arg(value_flag(
            "accounting.max-window",
            "Accounting collector: longest span of end times read in one collection [default: 1h]",
        ))
        .arg(value_flag(
            "log.level",
            "error, warn, info, debug or trace [default: info]",
        ))
        .arg(value_flag("log.format", "logfmt or json [default: logfmt]"));
    let families = std::iter::once(("default", "every capped family without its own setting"))
        .chain(
            collectors::cap::FAMILIES
                .iter()
                .map(|f| (f.name, f.description)),
        );
    for (family, what) in families {
        let top: &'static str = Box::leak(format!("caps.{family}.top").into_boxed_str());
        let allow: &'static str = Box::leak(format!("caps.{family}.allow").into_boxed_str());
        let deny: &'static str = Box::leak(format!("caps.{family}.deny").into_boxed_str());
        cmd = cmd
            .arg(
                Arg::new(top)
                    .long(top)
                    .value_name("N")
                    .action(ArgAction::Set)
                    .help(format!(
                        "Values with their own series for {what}, heaviest first; the rest are folded into `other` [default: {}]",
                        collectors::cap::DEFAULT_TOP
                    )),
            )
            .arg(
                Arg::new(allow)
                    .long(allow)
                    .value_name("LIST")
                    .action(ArgAction::Set)
                    .help(format!(
                        "Comma-separated names or `*` globs always kept for {what}"
                    )),
            )
            .arg(
                Arg::new(deny)
                    .long(deny)
                    .value_name("LIST")
                    .action(ArgAction::Set)
                    .help(format!(
                        "Comma-separated names or `*` globs folded into `other` for {what}"
                    )),
            );
    }
    for c in collectors::ALL {
        let on: &'static str = Box::leak(format!("collector.{}", c.name).into_boxed_str());
        let off: &'static str = Box::leak(format!("no-collector.{}", c.name).into_boxed_str());
        let default = if c.enabled_by_default {
            "enabled"
        } else {
            "disabled"
        };
        cmd = cmd
            .arg(
                Arg::new(on)
                    .long(on)
                    .action(ArgAction::SetTrue)
                    .help(format!(
                        "Enable the {} collector: {} [default: {default}]",
                        c.name, c.description
                    )),
            )
            .arg(
                Arg::new(off)
                    .long(off)
                    .action(ArgAction::SetTrue)
                    .conflicts_with(on)
                    .help(format!("Disable the {} collector", c.name)),
            );
    }
    cmd
}

/// Parses `args` (program name first). Errors are clap's, printed by the caller.
pub fn parse<I, T>(args: I) -> Result<Invocation, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let matches = command().try_get_matches_from(args)?;
    if let Some(sub) = matches.subcommand_matches("check-config") {
        let file = sub.get_one::<String>("file").cloned().unwrap_or_default();
        return Ok(Invocation::CheckConfig { file: file.into() });
    }
    let flags = raw_from_matches(&matches)?;
    Ok(Invocation::Serve {
        config_file: matches.get_one::<String>("config.file").map(PathBuf::from),
        watch_interval: matches.get_one::<String>("config.watch-interval").cloned(),
        flags: Box::new(flags),
    })
}

fn raw_from_matches(m: &ArgMatches) -> Result<RawConfig, clap::Error> {
    let s = |name: &str| m.get_one::<String>(name).cloned();
    let mut raw = RawConfig::default();
    raw.web.listen_address = s("web.listen-address");
    raw.web.config_file = s("web.config.file").map(PathBuf::from);
    raw.web.health_unauthenticated = number(m, "web.health-unauthenticated", "true or false")?;
    raw.web.max_concurrent_requests = number(m, "web.max-concurrent-requests", "a whole number")?;
    raw.web.max_connections = number(m, "web.max-connections", "a whole number")?;
    raw.web.max_connections_per_ip = number(m, "web.max-connections-per-ip", "a whole number")?;
    raw.web.rate_limit = number(m, "web.rate-limit", "a number")?;
    raw.web.rate_limit_burst = number(m, "web.rate-limit-burst", "a whole number")?;
    raw.web.header_read_timeout = s("web.header-read-timeout");
    raw.slurm.source = match s("slurm.source").as_deref() {
        None => None,
        Some("cli") => Some(SourceKind::Cli),
        Some("rest") => Some(SourceKind::Rest),
        Some(other) => {
            return Err(command().error(
                clap::error::ErrorKind::InvalidValue,
                format!("--slurm.source: `{other}` is not cli or rest"),
            ))
        }
    };
    raw.slurm.rest_url = s("slurm.rest-url");
    raw.slurm.jwt_file = s("slurm.jwt-file").map(PathBuf::from);
    raw.slurm.user = s("slurm.user");
    raw.slurm.cluster_name = s("slurm.cluster-name");
    raw.slurm.bin_dir = s("slurm.bin-dir").map(PathBuf::from);
    raw.slurm.jwt_mint_lifespan = s("slurm.jwt-mint-lifespan");
    raw.slurm.cli_json = s("slurm.cli-json").map(|v| {
        v.split(',')
            .filter(|q| !q.trim().is_empty())
            .map(|q| q.trim().to_string())
            .collect()
    });
    raw.collection.interval = s("collection.interval");
    raw.collection.slow_interval = s("collection.slow-interval");
    raw.collection.accounting_interval = s("collection.accounting-interval");
    raw.collection.timeout = s("collection.timeout");
    raw.collection.ready_max_intervals =
        number(m, "collection.ready-max-intervals", "a whole number")?;
    raw.collection.series_limit = number(m, "collection.series-limit", "a whole number")?;
    raw.accounting.lookback = s("accounting.lookback");
    raw.accounting.max_window = s("accounting.max-window");
    raw.log.level = s("log.level");
    raw.log.format = match s("log.format").as_deref() {
        None => None,
        Some("logfmt") => Some(LogFormat::Logfmt),
        Some("json") => Some(LogFormat::Json),
        Some(other) => {
            return Err(command().error(
                clap::error::ErrorKind::InvalidValue,
                format!("--log.format: `{other}` is not logfmt or json"),
            ))
        }
    };
    let families =
        std::iter::once("default").chain(collectors::cap::FAMILIES.iter().map(|f| f.name));
    for family in families {
        let top = number(m, &format!("caps.{family}.top"), "a whole number")?;
        let list = |what: &str| {
            s(&format!("caps.{family}.{what}")).map(|v| {
                v.split(',')
                    .filter(|p| !p.trim().is_empty())
                    .map(|p| p.trim().to_string())
                    .collect::<Vec<_>>()
            })
        };
        let (allow, deny) = (list("allow"), list("deny"));
        if top.is_some() || allow.is_some() || deny.is_some() {
            raw.caps.insert(
                family.to_string(),
                crate::config::RawCap { top, allow, deny },
            );
        }
    }
    for c in collectors::ALL {
        if m.get_flag(&format!("collector.{}", c.name)) {
            raw.collectors.insert(c.name.to_string(), true);
        }
        if m.get_flag(&format!("no-collector.{}", c.name)) {
            raw.collectors.insert(c.name.to_string(), false);
        }
    }
    Ok(raw)
}

/// The flag's value parsed as `T`, or clap's error saying it should be `what`.
fn number<T: std::str::FromStr>(
    m: &ArgMatches,
    name: &str,
    what: &str,
) -> Result<Option<T>, clap::Error> {
    match m.get_one::<String>(name) {
        None => Ok(None),
        Some(v) => v.trim().parse().map(Some).map_err(|_| {
            command().error(
                clap::error::ErrorKind::InvalidValue,
                format!("--{name}: `{v}` is not {what}"),
            )
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_exporter_style_flags() {
        let inv = parse([
            "slurm-exporter",
            "--web.listen-address=127.0.0.1:9999",
            "--no-collector.jobs",
            "--collection.interval",
            "15s",
        ]);
        let Ok(Invocation::Serve { flags, .. }) = inv else {
            panic!("expected serve");
        };
        assert_eq!(flags.web.listen_address.as_deref(), Some("127.0.0.1:9999"));
        assert_eq!(flags.collectors.get("jobs"), Some(&false));
        assert_eq!(flags.collection.interval.as_deref(), Some("15s"));
    }

    #[test]
    fn web_flags() {
        let inv = parse([
            "slurm-exporter",
            "--web.config.file=web.yml",
            "--web.health-unauthenticated=false",
            "--web.max-concurrent-requests=8",
            "--web.max-connections=100",
            "--web.max-connections-per-ip=7",
            "--web.rate-limit=2.5",
            "--web.rate-limit-burst=5",
            "--web.header-read-timeout=3s",
        ]);
        let Ok(Invocation::Serve { flags, .. }) = inv else {
            panic!("expected serve");
        };
        let w = &flags.web;
        assert_eq!(
            w.config_file.as_deref(),
            Some(std::path::Path::new("web.yml"))
        );
        assert_eq!(w.health_unauthenticated, Some(false));
        assert_eq!(w.max_concurrent_requests, Some(8));
        assert_eq!(
            (w.max_connections, w.max_connections_per_ip),
            (Some(100), Some(7))
        );
        assert_eq!(w.rate_limit, Some(2.5));
        assert_eq!(w.rate_limit_burst, Some(5));
        assert_eq!(w.header_read_timeout.as_deref(), Some("3s"));
        assert!(parse(["slurm-exporter", "--web.rate-limit=fast"]).is_err());
        assert!(parse(["slurm-exporter", "--web.health-unauthenticated=maybe"]).is_err());
    }

    #[test]
    fn cap_flags() {
        let inv = parse([
            "slurm-exporter",
            "--caps.default.top=7",
            "--caps.rpc_user.allow=alice, svc-*",
            "--caps.default.deny=",
        ]);
        let Ok(Invocation::Serve { flags, .. }) = inv else {
            panic!("expected serve");
        };
        assert_eq!(flags.caps.get("default").and_then(|c| c.top), Some(7));
        assert_eq!(
            flags.caps.get("rpc_user").and_then(|c| c.allow.clone()),
            Some(vec!["alice".to_string(), "svc-*".to_string()])
        );
        assert_eq!(
            flags.caps.get("default").and_then(|c| c.deny.clone()),
            Some(vec![])
        );
        assert!(parse(["slurm-exporter", "--caps.rpc_user.top=many"]).is_err());
    }

    #[test]
    fn check_config_subcommand() {
        let inv = parse(["slurm-exporter", "check-config", "x.yaml"]);
        assert!(
            matches!(inv, Ok(Invocation::CheckConfig { file }) if file.as_path() == std::path::Path::new("x.yaml"))
        );
        assert!(parse(["slurm-exporter", "--slurm.source=soap"]).is_err());
        assert!(parse(["slurm-exporter", "--collector.jobs", "--no-collector.jobs"]).is_err());
    }
}
