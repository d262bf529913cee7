//! `/jobs` (and `squeue --json`). A 100,000-job document is about 310 MB: records
//! are read one at a time and only the few fields the model keeps survive.
//!
//! | field | v0.0.37/38 | v0.0.39 | v0.0.40+ |
//! |---|---|---|---|
//! | `job_state` | `"RUNNING"` | string | `["RUNNING", "COMPLETING"]` |
//! | `cpus`, `node_count`, `array_*` | int / null | `{set, number}` | `{set, number}` |
//! | `submit_time`, `start_time` | int (0 = unset) | int | `{set, number}` |
//!
//! A pending job array is one record whose `array_task_string` (`"3-20%2"`) says
//! how many tasks it stands for; a task already split off (running, or pending
//! with its own record) has a numeric `array_task_id` and counts once.

use std::sync::Arc;

use serde::de::MapAccess;
use serde::Deserialize;

use super::document::Body;
use super::value::{EachElement, Names, Num};
use crate::model::text::{count_array_tasks, Interner};
use crate::model::tres::{tres_memory_bytes, JobTres};
use crate::model::{Job, JobState};

/// One element of `jobs[]`; every other field is skipped.
#[derive(Deserialize)]
struct RawJob {
    #[serde(default)]
    job_id: Num,
    #[serde(default)]
    job_state: Names,
    #[serde(default)]
    partition: Option<String>,
    #[serde(default)]
    state_reason: Option<String>,
    #[serde(default)]
    cpus: Num,
    #[serde(default)]
    node_count: Num,
    #[serde(default)]
    submit_time: Num,
    #[serde(default)]
    start_time: Num,
    #[serde(default)]
    array_task_id: Num,
    #[serde(default)]
    array_task_string: Option<String>,
    #[serde(default)]
    user_name: Option<String>,
    #[serde(default)]
    account: Option<String>,
    #[serde(default)]
    tasks: Num,
    #[serde(default)]
    tres_alloc_str: Option<String>,
    #[serde(default)]
    tres_req_str: Option<String>,
    #[serde(default)]
    tres_per_job: Option<String>,
    #[serde(default)]
    tres_per_node: Option<String>,
    #[serde(default)]
    tres_per_task: Option<String>,
    #[serde(default)]
    tres_per_socket: Option<String>,
    /// Cluster of the job; the only place v0.0.38 names the cluster.
    #[serde(default)]
    cluster: Option<String>,
}

impl RawJob {
    fn into_job(self, interner: &mut Interner) -> Job {
        let state = match &self.job_state {
            // v0.0.37–39: one name, a flag already winning over the base
            // ("COMPLETING"); take the first word to be safe.
            Names::One(name) => {
                JobState::from_name(name.split_whitespace().next().unwrap_or_default())
            }
            Names::Many(names) => JobState::from_base_and_flags(names.iter().map(String::as_str)),
        };
        let task_count = if self.array_task_id.value().is_some() {
            1
        } else {
            self.array_task_string
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .and_then(count_array_tasks)
                .unwrap_or(1)
                .max(1)
        };
        // A pending job has no allocated TRES: its request stands for it, as squeue prints it.
        let tres = self
            .tres_alloc_str
            .as_deref()
            .filter(|t| !t.trim().is_empty())
            .or(self.tres_req_str.as_deref())
            .unwrap_or_default();
        let nodes = self.node_count.value();
        let gpus = JobTres {
            tres,
            per_job: self.tres_per_job.as_deref().unwrap_or_default(),
            per_node: self.tres_per_node.as_deref().unwrap_or_default(),
            per_task: self.tres_per_task.as_deref().unwrap_or_default(),
            per_socket: self.tres_per_socket.as_deref().unwrap_or_default(),
        }
        .gpus(nodes, self.tasks.value());
        Job {
            id: self.job_id.value().unwrap_or(0),
            state,
            partition: intern(interner, self.partition),
            reason: intern(interner, self.state_reason),
            cpus: self.cpus.value(),
            nodes,
            submit_time: self.submit_time.timestamp(),
            start_time: self.start_time.timestamp(),
            task_count,
            user: intern_set(interner, self.user_name),
            account: intern_set(interner, self.account),
            memory_bytes: tres_memory_bytes(tres),
            gpus,
        }
    }
}

fn intern(interner: &mut Interner, value: Option<String>) -> Arc<str> {
    interner.intern(value.as_deref().map(str::trim).unwrap_or_default())
}

/// An interned name; empty is not reported.
fn intern_set(interner: &mut Interner, value: Option<String>) -> Option<Arc<str>> {
    let value = value?;
    let value = value.trim();
    (!value.is_empty()).then(|| interner.intern(value))
}

#[derive(Default)]
pub(super) struct JobsBody {
    pub(super) jobs: Option<Vec<Job>>,
    /// Cluster named by the first job that names one.
    pub(super) cluster: Option<String>,
}

impl Body for JobsBody {
    const KEY: &'static str = "jobs";

    fn read<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<bool, A::Error> {
        if key != "jobs" {
            return Ok(false);
        }
        let mut interner = Interner::default();
        let mut jobs = Vec::new();
        let mut cluster = None;
        let mut push = |mut raw: RawJob| {
            if cluster.is_none() {
                cluster = raw.cluster.take().filter(|c| !c.is_empty());
            }
            jobs.push(raw.into_job(&mut interner))
        };
        let complete = map.next_value_seed(EachElement::new(&mut push))?;
        interner.check().map_err(|t| t.de_error())?;
        self.cluster = cluster;
        if complete {
            self.jobs = Some(jobs);
        }
        Ok(true)
    }

    fn found(&self) -> bool {
        self.jobs.is_some()
    }

    fn is_empty(&self) -> bool {
        self.jobs.as_ref().is_some_and(Vec::is_empty)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::collections::BTreeMap;

    use super::super::parse_jobs;
    use crate::model::text::testdata;
    use crate::model::{JobState, Jobs, ParseError};

    fn by_state(jobs: &Jobs) -> BTreeMap<JobState, u64> {
        let mut counts = BTreeMap::new();
        for job in &jobs.jobs {
            *counts.entry(job.state).or_default() += job.task_count;
        }
        counts
    }

    fn sample(rel: &str) -> Jobs {
        parse_jobs(testdata::sample(rel)).unwrap().data
    }

    #[test]
    #[ignore = "needs ../shared/slurm-samples"]
    fn v0_0_37_rivosinc() {
        let jobs = sample("v0.0.37/jobs__rivosinc_prometheus-slurm-exporter__squeue_out.json");
        assert_eq!(jobs.jobs.len(), 2);
        let running = &jobs.jobs[0];
        assert_eq!(running.state, JobState::Running);
        assert_eq!(&*running.partition, "hw-l");
        assert_eq!(&*running.reason, "None");
        assert_eq!((running.cpus, running.nodes), (Some(1), Some(1)));
        assert_eq!(running.submit_time, Some(1_684_114_900));
        assert_eq!(running.start_time, Some(1_684_114_921));
        assert_eq!(running.task_count, 1);
        // Hand-edited record with v0.0.39-style objects: pending array "1-10".
        let array = &jobs.jobs[1];
        assert_eq!(array.state, JobState::Pending);
        assert_eq!(array.task_count, 10);
    }

    #[test]
    #[ignore = "needs ../shared/slurm-samples"]
    fn v0_0_38_telegraf() {
        let file = testdata::sample("v0.0.38/jobs__influxdata_telegraf__gather-jobs.json");
        let response = parse_jobs(file).unwrap();
        assert_eq!(response.meta.release.as_deref(), Some("22.05.9"));
        let jobs = response.data;
        assert_eq!(jobs.jobs.len(), 3);
        let counts = by_state(&jobs);
        assert_eq!(counts.get(&JobState::Running), Some(&2));
        assert_eq!(counts.get(&JobState::Completed), Some(&1));
        let first = &jobs.jobs[0];
        assert_eq!(&*first.partition, "atlas");
        assert_eq!(first.cpus, Some(2));
        assert_eq!(first.submit_time, Some(1_722_989_851));
    }

    #[test]
    #[ignore = "needs ../shared/slurm-samples"]
    fn v0_0_39_slurm_web() {
        let jobs = sample("v0.0.39/jobs__rackslab_Slurm-web__s23.02-slurm-jobs.json");
        assert_eq!(jobs.jobs.len(), 30);
        let counts = by_state(&jobs);
        assert_eq!(counts.get(&JobState::Pending), Some(&26));
        assert_eq!(counts.get(&JobState::Running), Some(&3));
        assert_eq!(counts.get(&JobState::Completed), Some(&1));
        let first = &jobs.jobs[0];
        assert_eq!(first.state, JobState::Completed);
        assert_eq!((first.cpus, first.nodes), (Some(128), Some(64)));
        assert_eq!(first.submit_time, Some(1_727_332_584));
        assert_eq!(first.start_time, Some(1_727_358_173));
    }

    #[test]
    #[ignore = "needs ../shared/slurm-samples"]
    fn v0_0_40_talapas_array() {
        let file = testdata::sample(
            "v0.0.40/jobs__lcrownover_prometheus-slurm-exporter__V0040OpenapiJobInfoResp.json",
        );
        let response = parse_jobs(file).unwrap();
        assert_eq!(response.last_update, Some(1_722_274_381));
        assert_eq!(response.meta.cluster.as_deref(), Some("talapas"));
        let jobs = response.data.jobs;
        // A running task of array 7725337 (task 411) and the pending rest "412-9999".
        assert_eq!(jobs[0].state, JobState::Running);
        assert_eq!(jobs[0].task_count, 1);
        assert_eq!(&*jobs[0].partition, "preempt");
        assert_eq!(jobs[1].state, JobState::Pending);
        assert_eq!(jobs[1].task_count, 9588);
    }

    #[test]
    #[ignore = "needs ../shared/slurm-samples"]
    fn v0_0_40_to_44_state_arrays() {
        // (file, records, pending, running, completed, cancelled, last_update)
        let cases = [
            (
                "v0.0.40/jobs__rackslab_Slurm-web__s23.11-slurm-jobs.json",
                14,
                2,
                5,
                5,
                0,
                1_747_045_664,
            ),
            (
                "v0.0.40/jobs__rackslab_Slurm-web__s24.11-slurm-jobs.json",
                28,
                3,
                2,
                17,
                2,
                1_747_044_775,
            ),
            (
                "v0.0.41/jobs__rackslab_Slurm-web__s25.05-slurm-jobs.json",
                14,
                10,
                1,
                1,
                0,
                1_747_754_670,
            ),
            (
                "v0.0.41/jobs__influxdata_telegraf__gather-0041-jobs.json",
                3,
                0,
                1,
                0,
                1,
                1_746_788_334,
            ),
            (
                "v0.0.42/jobs__rackslab_Slurm-web__s25.11-slurm-jobs.json",
                14,
                9,
                2,
                1,
                0,
                1_762_786_386,
            ),
            (
                "v0.0.43/jobs__rackslab_Slurm-web__s25.11-slurm-jobs.json",
                30,
                4,
                2,
                11,
                9,
                1_762_942_681,
            ),
            (
                "v0.0.44/jobs__rackslab_Slurm-web__s25.11-slurm-jobs.json",
                15,
                1,
                4,
                7,
                1,
                1_762_942_546,
            ),
        ];
        for (file, records, pending, running, completed, cancelled, last_update) in cases {
            let reader = testdata::sample(file);
            let response = parse_jobs(reader).unwrap();
            assert_eq!(response.last_update, Some(last_update), "{file}");
            let jobs = response.data;
            assert_eq!(jobs.jobs.len(), records, "{file}");
            assert!(jobs.jobs.iter().all(|j| j.task_count == 1), "{file}");
            let counts = by_state(&jobs);
            let get = |s| counts.get(&s).copied().unwrap_or(0);
            assert_eq!(
                (
                    get(JobState::Pending),
                    get(JobState::Running),
                    get(JobState::Completed),
                    get(JobState::Cancelled)
                ),
                (pending, running, completed, cancelled),
                "{file}"
            );
        }
    }

    #[test]
    #[ignore = "needs ../shared/slurm-samples"]
    fn v0_0_44_record_values() {
        let jobs = sample("v0.0.44/jobs__rackslab_Slurm-web__s25.11-slurm-jobs.json");
        let first = &jobs.jobs[0];
        assert_eq!(first.state, JobState::Cancelled);
        assert_eq!(&*first.partition, "gpu");
        assert_eq!((first.cpus, first.nodes), (Some(1), Some(1)));
        assert_eq!(first.submit_time, Some(1_762_942_453));
        assert_eq!(first.start_time, Some(1_762_942_453));
    }

    #[test]
    #[ignore = "needs ../shared/slurm-samples"]
    fn users_accounts_memory_and_gpus() {
        // v0.0.44: `--gpus=4` (tres_per_job gres/gpu:4), 512M.
        let jobs = sample("v0.0.44/jobs__rackslab_Slurm-web__s25.11-slurm-jobs.json");
        let j = &jobs.jobs[0];
        assert_eq!(j.user.as_deref(), Some("rcarson"));
        assert_eq!(j.account.as_deref(), Some("optic"));
        assert_eq!(j.memory_bytes, Some(512 << 20));
        assert_eq!(j.gpus, Some(4));
        assert_eq!(jobs.jobs[1].gpus, Some(0));
        // v0.0.42: two GPU models per node (tres_per_node), one node.
        let jobs = sample("v0.0.42/jobs__rackslab_Slurm-web__s24.11-slurm-jobs.json");
        assert_eq!(jobs.jobs[0].gpus, Some(1));
        assert_eq!(jobs.jobs[1].gpus, Some(2));
        assert_eq!(jobs.jobs[5].memory_bytes, Some(8 << 30));
        // v0.0.38: a running job's allocated TRES (not its request), no account field.
        let jobs = sample("v0.0.38/jobs__influxdata_telegraf__gather-jobs.json");
        let j = &jobs.jobs[0];
        assert_eq!(j.user.as_deref(), Some("atl001"));
        assert_eq!(j.account, None);
        assert_eq!(j.memory_bytes, Some(4000 << 20));
        assert_eq!(j.gpus, Some(0));
    }

    #[test]
    #[ignore = "needs ../shared/slurm-samples"]
    fn v0_0_42_trimmed_records_have_missing_fields() {
        let jobs = sample("v0.0.42/jobs__ivolabbe_slurminal__squeue-all.json");
        assert_eq!(jobs.jobs.len(), 20);
        let job = &jobs.jobs[0];
        assert_eq!(job.state, JobState::Pending);
        assert_eq!(job.cpus, Some(8));
        assert_eq!(&*job.partition, "");
        assert_eq!(job.nodes, None);
        assert_eq!(job.submit_time, None);
        assert_eq!(job.task_count, 1);
    }

    #[test]
    #[ignore = "needs ../shared/slurm-samples"]
    fn v0_0_41_synthetic_document() {
        let jobs = sample(
            "v0.0.41/jobs__lcrownover_prometheus-slurm-exporter__V0041OpenapiJobInfoResp.json",
        );
        // OpenAPI-generator example: infinite numbers are None, placeholders counted once.
        let job = &jobs.jobs[0];
        assert_eq!(job.state, JobState::Pending);
        assert_eq!(job.cpus, None);
        assert_eq!(job.submit_time, None);
        assert_eq!(job.task_count, 1);
    }

    #[test]
    fn no_job_changes_warning_is_unchanged_not_empty() {
        // slurmrestd 23.02+ (openapi/slurmctld `_op_handler_jobs`) answers
        // `/jobs?update_time=T` with nothing changed: 200, `jobs: []`, a warning.
        let unchanged = r#"{"jobs":[],"last_update":{"set":true,"infinite":false,"number":1796000000},
            "meta":{"slurm":{"release":"25.11.0","cluster":"lab"}},"errors":[],
            "warnings":[{"description":"No job changes since update_time=1796000000","source":"_op_handler_jobs"}]}"#;
        let r = parse_jobs(unchanged.as_bytes()).unwrap();
        assert!(r.data.jobs.is_empty());
        assert!(r.jobs_unchanged(), "{:?}", r.warnings);
        // An empty list without that warning is an empty cluster.
        let empty = r#"{"jobs":[],"errors":[],"warnings":[{"description":"something else"}]}"#;
        assert!(!parse_jobs(empty.as_bytes()).unwrap().jobs_unchanged());
        // The warning beside data (it never is, but) keeps the data.
        let both = r#"{"jobs":[{"job_state":["RUNNING"]}],"warnings":[{"description":"No job changes since update_time=1"}]}"#;
        assert!(!parse_jobs(both.as_bytes()).unwrap().jobs_unchanged());
    }

    #[test]
    #[ignore = "needs ../shared/slurm-samples"]
    fn error_without_data_sample() {
        // 24.11 via v0.0.40: `jobs: []` plus an error: the error wins.
        let file =
            testdata::sample("v0.0.40/jobs__eth-cscs_firecrest-v2__slurm_get_job_not_found.json");
        assert!(matches!(parse_jobs(file), Err(ParseError::SlurmErrors(_))));
    }

    #[test]
    fn errors_without_data_vs_with_data() {
        // 22.05 `squeue --json` with slurmctld dead (exit code 0), as recorded.
        let dead = r#"{"meta":{"plugin":{"type":"openapi\/v0.0.38"}},"errors":[{"description":"Failed while looking for jobs","error_number":-1,"error":"Unspecified error","source":"slurm_load_jobs"}],"jobs":[]}"#;
        match parse_jobs(dead.as_bytes()) {
            Err(ParseError::SlurmErrors(text)) => {
                assert!(text.contains("Failed while looking for jobs"), "{text}");
            }
            other => panic!("unexpected {other:?}"),
        }
        // Data with errors keeps the data.
        let both = r#"{"errors":[{"description":"partial"}],"jobs":[{"job_state":"RUNNING"}]}"#;
        assert_eq!(parse_jobs(both.as_bytes()).unwrap().data.jobs.len(), 1);
        let only_errors = r#"{"meta":{},"errors":[{"description":"Unable to contact slurm controller (connect failure)","error_number":1001,"error":"Unable to contact slurm controller (connect failure)"}],"warnings":[]}"#;
        match parse_jobs(only_errors.as_bytes()) {
            Err(ParseError::SlurmErrors(text)) => {
                assert_eq!(text, "Unable to contact slurm controller (connect failure)");
            }
            other => panic!("unexpected {other:?}"),
        }
        let nothing = r#"{"meta":{},"errors":[]}"#;
        assert!(matches!(
            parse_jobs(nothing.as_bytes()),
            Err(ParseError::Json(_))
        ));
    }

    #[test]
    fn array_records() {
        let doc = r#"{"jobs":[
            {"job_state":"PENDING","array_job_id":8,"array_task_id":null,"array_task_string":"3-20%2"},
            {"job_state":"PENDING","array_job_id":9,"array_task_id":4294967294,"array_task_string":"1,3,5-7"},
            {"job_state":["PENDING"],"array_job_id":{"set":true,"number":7},"array_task_id":{"set":false,"number":0},"array_task_string":"0-99999:2"},
            {"job_state":"RUNNING","array_job_id":8,"array_task_id":1,"array_task_string":""},
            {"job_state":"PENDING","array_job_id":0,"array_task_string":""},
            {"job_state":"PENDING","array_task_string":"not a range"}
        ]}"#;
        let counts: Vec<u64> = parse_jobs(doc.as_bytes())
            .unwrap()
            .data
            .jobs
            .iter()
            .map(|j| j.task_count)
            .collect();
        assert_eq!(counts, [18, 5, 50_000, 1, 1, 1]);
    }

    #[test]
    fn states_and_flags() {
        let doc = r#"{"jobs":[
            {"job_state":["RUNNING","COMPLETING"]},
            {"job_state":["PENDING","REQUEUED"]},
            {"job_state":"CONFIGURING"},
            {"job_state":"cancelled"},
            {"job_state":[]},
            {}
        ]}"#;
        let states: Vec<JobState> = parse_jobs(doc.as_bytes())
            .unwrap()
            .data
            .jobs
            .iter()
            .map(|j| j.state)
            .collect();
        assert_eq!(
            states,
            [
                JobState::Completing,
                JobState::Requeued,
                JobState::Configuring,
                JobState::Cancelled,
                JobState::Other,
                JobState::Other
            ]
        );
    }

    #[test]
    #[ignore = "needs ../shared/slurm-samples"]
    fn truncated_sample() {
        let bytes =
            testdata::sample_bytes("v0.0.41/jobs__rackslab_Slurm-web__s25.11-slurm-jobs.json");
        assert!(parse_jobs(&bytes[..bytes.len() / 2]).is_err());
        assert!(parse_jobs(&bytes[..bytes.len() - 2]).is_err());
    }

    #[test]
    fn truncated_and_garbage() {
        let bytes = testdata::fixture_bytes("rest-v0.0.38-jobs.json");
        assert!(parse_jobs(&bytes[..bytes.len() / 2]).is_err());
        assert!(parse_jobs(&bytes[..bytes.len() - 2]).is_err());
        assert!(parse_jobs("".as_bytes()).is_err());
        assert!(parse_jobs("{".as_bytes()).is_err());
        assert!(parse_jobs("{\"jobs\":[{\"job_state\":\"RUNNING\"},".as_bytes()).is_err());
        assert!(parse_jobs("Unable find requested URL".as_bytes()).is_err());
        assert!(
            parse_jobs(r#"{"jobs":[{"cpus":"lots","job_state":{"x":1}}]}"#.as_bytes()).is_err()
        );
    }

    #[test]
    fn partitions_and_reasons_are_shared() {
        let doc = r#"{"jobs":[{"partition":"batch","state_reason":"Priority"},{"partition":"batch","state_reason":"Priority"}]}"#;
        let jobs = parse_jobs(doc.as_bytes()).unwrap().data.jobs;
        assert!(std::sync::Arc::ptr_eq(
            &jobs[0].partition,
            &jobs[1].partition
        ));
        assert!(std::sync::Arc::ptr_eq(&jobs[0].reason, &jobs[1].reason));
    }

    #[test]
    fn lab_22_05_rest_and_squeue_json() {
        for name in ["rest-v0.0.38-jobs.json", "squeue.json"] {
            let file = testdata::fixture(name);
            let response = parse_jobs(file).unwrap();
            assert_eq!(response.meta.data_version.as_deref(), Some("v0.0.38"));
            let jobs = response.data.jobs;
            // Arrays 8 ("3-20%2") and 9 ("2-4") are one pending record each.
            let array8 = jobs
                .iter()
                .find(|j| j.state == JobState::Pending && j.task_count == 18)
                .expect("array 8");
            assert_eq!(&*array8.reason, "JobArrayTaskLimit");
            assert_eq!(&*array8.partition, "batch");
            assert_eq!(array8.start_time, None);
            assert!(jobs
                .iter()
                .any(|j| j.task_count == 3 && &*j.partition == "debug"));
            let two = jobs
                .iter()
                .find(|j| &*j.partition == "debug,batch")
                .expect("job 12");
            assert_eq!(two.state, JobState::Pending);
            // The cancelled-while-held job has no CPU count.
            let cancelled = jobs
                .iter()
                .find(|j| j.state == JobState::Cancelled)
                .expect("job 3");
            assert_eq!(cancelled.cpus, None);
            assert_eq!(&*cancelled.reason, "JobHeldUser");
        }
    }

    #[test]
    fn lab_22_05_json_agrees_with_squeue_text() {
        let (json, text) = (
            testdata::fixture("rest-v0.0.38-jobs.json"),
            testdata::fixture("squeue.txt"),
        );
        let json = parse_jobs(json).unwrap().data;
        let text = crate::model::text::parse_squeue(text).unwrap();
        assert_eq!(by_state(&json), by_state(&text));
        let tasks = |jobs: &Jobs| jobs.jobs.iter().map(|j| j.task_count).sum::<u64>();
        assert_eq!(tasks(&json), tasks(&text));
        assert_eq!(tasks(&text), text.jobs.len() as u64); // -r: one line per task
    }
}
