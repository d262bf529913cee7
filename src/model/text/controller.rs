//! `scontrol ping` and `scontrol show config`: who the controllers are and what
//! the cluster is called.

use std::io::BufRead;

use super::{is_unset, Lines};
use crate::model::caps::{TooLarge, MAX_LIST_ITEMS};
use crate::model::{ClusterInfo, Controller, ControllerMode, ParseError};

/// Parses `scontrol ping`: one `Slurmctld(MODE) at HOST is UP|DOWN` line per
/// controller, MODE being `primary`, `backup` or `backupN` (the same in 22.05 and
/// 26.05). Also accepts the pre-20.11 one-line form
/// `Slurmctld(primary/backup) at h1/h2 is UP/DOWN`. The banner Slurm prints to root
/// when a controller is down (`** RESTORE SLURMCTLD DAEMON TO SERVICE **`) is
/// ignored. The text form has no latency. No controller line at all is an error.
pub fn parse_scontrol_ping(reader: impl BufRead) -> Result<Vec<Controller>, ParseError> {
    let mut lines = Lines::new(reader);
    let mut controllers = Vec::new();
    while let Some((number, line)) = lines.next_line()? {
        let text = line.trim();
        let Some(rest) = text.strip_prefix("Slurmctld(") else {
            continue;
        };
        let parsed = rest.split_once(") at ").and_then(|(modes, rest)| {
            let (hosts, states) = rest.rsplit_once(" is ")?;
            Some((modes, hosts, states))
        });
        let Some((modes, hosts, states)) = parsed else {
            return Err(ParseError::Text {
                line: number,
                message: format!("unexpected ping line {text:?}"),
            });
        };
        // A few controllers; one past the cap is enough to refuse the line.
        let (modes, hosts, states) = (slashed(modes), slashed(hosts), slashed(states));
        if modes.len() > MAX_LIST_ITEMS {
            return Err(TooLarge::LIST.into());
        }
        if modes.len() != hosts.len() || hosts.len() != states.len() {
            return Err(ParseError::Text {
                line: number,
                message: format!("ping line with mismatched lists {text:?}"),
            });
        }
        for ((mode, host), state) in modes.iter().zip(&hosts).zip(&states) {
            controllers.push(Controller {
                hostname: host.trim().to_string(),
                mode: if mode.trim() == "primary" {
                    ControllerMode::Primary
                } else {
                    ControllerMode::Backup
                },
                up: state.trim().eq_ignore_ascii_case("UP"),
                latency_seconds: None,
            });
        }
    }
    if controllers.is_empty() {
        return Err(ParseError::Text {
            line: 1,
            message: "no 'Slurmctld(...) at ... is ...' line in scontrol ping output".into(),
        });
    }
    Ok(controllers)
}

/// `a/b/c` → its items, at most one past [`MAX_LIST_ITEMS`].
fn slashed(list: &str) -> Vec<&str> {
    list.split('/').take(MAX_LIST_ITEMS + 1).collect()
}

/// Parses `scontrol show config` (`Key = Value` lines) for `ClusterName` and
/// `SLURM_VERSION`; either may be missing (`None`).
pub fn parse_scontrol_config(reader: impl BufRead) -> Result<ClusterInfo, ParseError> {
    let mut lines = Lines::new(reader);
    let mut info = ClusterInfo::default();
    while let Some((_, line)) = lines.next_line()? {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let value = value.trim();
        let value = (!is_unset(value)).then(|| value.to_string());
        match key.trim() {
            "ClusterName" => info.cluster_name = value,
            "SLURM_VERSION" => info.version = value,
            _ => {}
        }
    }
    Ok(info)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::model::text::testdata;

    fn controller(hostname: &str, mode: ControllerMode, up: bool) -> Controller {
        Controller {
            hostname: hostname.into(),
            mode,
            up,
            latency_seconds: None,
        }
    }

    #[test]
    fn primary_and_backups() {
        let text = "\
Slurmctld(primary) at ctl-1.example.org is UP
Slurmctld(backup1) at ctl-2 is DOWN
Slurmctld(backup2) at ctl-3 is UP
*****************************************
** RESTORE SLURMCTLD DAEMON TO SERVICE **
*****************************************
";
        assert_eq!(
            parse_scontrol_ping(text.as_bytes()).unwrap(),
            vec![
                controller("ctl-1.example.org", ControllerMode::Primary, true),
                controller("ctl-2", ControllerMode::Backup, false),
                controller("ctl-3", ControllerMode::Backup, true),
            ]
        );
    }

    #[test]
    fn old_one_line_form() {
        let text = "Slurmctld(primary/backup) at h1/h2 is UP/DOWN\n";
        assert_eq!(
            parse_scontrol_ping(text.as_bytes()).unwrap(),
            vec![
                controller("h1", ControllerMode::Primary, true),
                controller("h2", ControllerMode::Backup, false),
            ]
        );
    }

    #[test]
    fn errors() {
        assert!(parse_scontrol_ping("".as_bytes()).is_err());
        assert!(parse_scontrol_ping("Slurmctld(primary) at h1 is\n".as_bytes()).is_err());
        assert!(
            parse_scontrol_ping("Slurmctld(primary/backup) at h1 is UP/DOWN\n".as_bytes()).is_err()
        );
    }

    #[test]
    fn lab_22_05_ping() {
        let file = testdata::fixture("scontrol-ping.txt");
        assert_eq!(
            parse_scontrol_ping(file).unwrap(),
            vec![controller("labhost", ControllerMode::Primary, true)]
        );
    }

    #[test]
    fn config_keys() {
        let text = "Configuration data as of 1796238830\nClusterName             = lab\nSLURM_VERSION           = 22.05.8\nSlurmctldHost[0]        = labhost(127.0.0.1)\n";
        assert_eq!(
            parse_scontrol_config(text.as_bytes()).unwrap(),
            ClusterInfo {
                cluster_name: Some("lab".into()),
                version: Some("22.05.8".into()),
            }
        );
        assert_eq!(
            parse_scontrol_config("".as_bytes()).unwrap(),
            ClusterInfo::default()
        );
    }

    #[test]
    fn lab_22_05_config() {
        let file = testdata::fixture("scontrol-show-config.txt");
        assert_eq!(
            parse_scontrol_config(file).unwrap(),
            ClusterInfo {
                cluster_name: Some("lab".into()),
                version: Some("22.05.8".into()),
            }
        );
    }
}
