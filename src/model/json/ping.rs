//! `/ping` (and `scontrol ping --json`, 23.02+): `pings[]`.
//!
//! | version | fields |
//! |---|---|
//! | v0.0.36–38 | `hostname`, `ping: "UP"`, `status: 0`, `mode: "primary"` |
//! | v0.0.39–41 | `hostname`, `pinged: "UP"`, `latency` (µs), `mode` |
//! | v0.0.42+ | adds `responding` and `primary` (bools); `pinged`/`mode` deprecated |

use serde::de::MapAccess;
use serde::Deserialize;

use super::document::Body;
use super::value::{CappedList, FlexBool, Num};
use crate::model::{Controller, ControllerMode};

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawPing {
    hostname: Option<String>,
    ping: FlexBool,
    pinged: FlexBool,
    responding: FlexBool,
    status: Num,
    mode: Option<String>,
    primary: FlexBool,
    latency: Num,
}

impl RawPing {
    fn into_controller(self, index: usize) -> Controller {
        let mode = match (self.primary.0, self.mode.as_deref().map(str::trim)) {
            (Some(true), _) => ControllerMode::Primary,
            (Some(false), _) => ControllerMode::Backup,
            (None, Some(m)) if m.eq_ignore_ascii_case("primary") => ControllerMode::Primary,
            (None, Some(m)) if m.to_ascii_lowercase().starts_with("backup") => {
                ControllerMode::Backup
            }
            // No usable mode: Slurm lists the primary first.
            _ if index == 0 => ControllerMode::Primary,
            _ => ControllerMode::Backup,
        };
        let up = self
            .responding
            .0
            .or(self.pinged.0)
            .or(self.ping.0)
            .or_else(|| self.status.counter().map(|s| s == 0))
            .unwrap_or(false);
        Controller {
            hostname: self
                .hostname
                .map(|h| h.trim().to_string())
                .unwrap_or_default(),
            mode,
            up,
            latency_seconds: self.latency.counter().map(|us| us as f64 / 1e6),
        }
    }
}

#[derive(Default)]
pub(super) struct PingBody {
    pub(super) controllers: Option<Vec<Controller>>,
}

impl Body for PingBody {
    const KEY: &'static str = "pings";

    fn read<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<bool, A::Error> {
        if key != "pings" {
            return Ok(false);
        }
        self.controllers = map.next_value::<CappedList<RawPing>>()?.0.map(|pings| {
            pings
                .into_iter()
                .enumerate()
                .map(|(i, p)| p.into_controller(i))
                .collect()
        });
        Ok(true)
    }

    fn found(&self) -> bool {
        self.controllers.is_some()
    }

    fn is_empty(&self) -> bool {
        self.controllers.as_ref().is_some_and(Vec::is_empty)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::super::parse_ping;
    use crate::model::text::testdata;
    use crate::model::{Controller, ControllerMode, ParseError};

    fn controller(
        hostname: &str,
        mode: ControllerMode,
        up: bool,
        latency_seconds: Option<f64>,
    ) -> Controller {
        Controller {
            hostname: hostname.into(),
            mode,
            up,
            latency_seconds,
        }
    }

    #[test]
    fn lab_22_05_every_version() {
        for name in [
            "rest-v0.0.36-ping.json",
            "rest-v0.0.37-ping.json",
            "rest-v0.0.38-ping.json",
        ] {
            let file = testdata::fixture(name);
            let response = parse_ping(file).unwrap();
            assert_eq!(response.meta.release.as_deref(), Some("22.05.8"), "{name}");
            assert_eq!(
                response.data,
                vec![controller("labhost", ControllerMode::Primary, true, None)],
                "{name}"
            );
        }
    }

    #[test]
    fn v0_0_38_backup_down() {
        let doc = r#"{"meta":{"plugin":{"type":"openapi/v0.0.38"}},"errors":[],"pings":[
            {"hostname":"h1","ping":"UP","status":0,"mode":"primary"},
            {"hostname":"h2","ping":"DOWN","status":-1,"mode":"backup"}]}"#;
        let response = parse_ping(doc.as_bytes()).unwrap();
        assert_eq!(response.meta.data_version.as_deref(), Some("v0.0.38"));
        assert_eq!(
            response.data,
            vec![
                controller("h1", ControllerMode::Primary, true, None),
                controller("h2", ControllerMode::Backup, false, None),
            ]
        );
    }

    #[test]
    fn v0_0_39_to_41_pinged_and_latency() {
        let doc = r#"{"pings":[
            {"hostname":"h1","pinged":"UP","latency":1500,"mode":"primary"},
            {"hostname":"h2","pinged":"DOWN","latency":0,"mode":"backup1"}]}"#;
        assert_eq!(
            parse_ping(doc.as_bytes()).unwrap().data,
            vec![
                controller("h1", ControllerMode::Primary, true, Some(0.0015)),
                controller("h2", ControllerMode::Backup, false, Some(0.0)),
            ]
        );
    }

    #[test]
    fn v0_0_42_responding_and_primary() {
        let doc = r#"{"pings":[
            {"hostname":"h1","pinged":"UP","responding":true,"latency":{"set":true,"infinite":false,"number":250},"mode":"primary","primary":true},
            {"hostname":"h2","pinged":"UP","responding":false,"latency":12,"primary":false}],
            "meta":{"slurm":{"release":"24.11.1","cluster":"c"},"plugin":{"data_parser":"data_parser/v0.0.42"}}}"#;
        let response = parse_ping(doc.as_bytes()).unwrap();
        assert_eq!(response.meta.cluster.as_deref(), Some("c"));
        assert_eq!(
            response.data,
            vec![
                controller("h1", ControllerMode::Primary, true, Some(0.00025)),
                controller("h2", ControllerMode::Backup, false, Some(0.000012)),
            ]
        );
    }

    #[test]
    fn lab_22_05_expired_token_body() {
        // HTTP 500 body: meta and errors[], no pings.
        let text = String::from_utf8(testdata::fixture_bytes("rest-expired-token.txt")).unwrap();
        let body = &text[text.find("\n{").unwrap()..];
        match parse_ping(body.as_bytes()) {
            Err(ParseError::SlurmErrors(e)) => {
                assert_eq!(e, "slurmctld config is unable to load (Unspecified error)")
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn malformed() {
        assert!(parse_ping(r#"{"pings":"#.as_bytes()).is_err());
        assert!(parse_ping(r#"{"meta":{}}"#.as_bytes()).is_err());
        assert!(parse_ping(r#"{"pings":[{"hostname":["x"]}]}"#.as_bytes()).is_err());
        assert!(parse_ping(r#"{"pings":[]}"#.as_bytes())
            .unwrap()
            .data
            .is_empty());
    }
}
