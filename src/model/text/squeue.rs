//! `squeue -h -t all -r -O FIELDS`: one line per job (per task for arrays, thanks
//! to `-r`), the fields separated by `|`.
//!
//! `-O` rather than the letters of `-o`: only `-O` has the TRES (memory allocated,
//! GPUs asked for with `--gpus` and `--gpus-per-task`). Each field is printed whole
//! (`:` and no width) with `|` after it; the reason, free text, comes last.

use std::io::BufRead;
use std::sync::Arc;

use super::{count_array_tasks, is_unset, parse_epoch, parse_u64, Interner, Lines};
use crate::model::tres::{tres_memory_bytes, JobTres};
use crate::model::{Job, JobState, Jobs, ParseError};

/// `squeue -h -t all -r -O FORMAT`: job id as `%i` prints it, `%T`, `%P`, `%C`, `%D`,
/// `%V`, `%S`, `%u`, `%a`, tasks, the TRES (allocated, else requested) and the
/// GPU requests per job, node, task and socket, then the reason.
pub const SQUEUE_FORMAT: &str = "JobArrayId:|,State:|,Partition:|,NumCPUs:|,NumNodes:|,SubmitTime:|,StartTime:|,UserName:|,Account:|,NumTasks:|,tres-alloc:|,tres-per-job:|,tres-per-node:|,tres-per-task:|,tres-per-socket:|,Reason:0";

/// Fields in [`SQUEUE_FORMAT`]; the last one (the reason) may itself contain `|`.
const FIELDS: usize = 16;

/// Parses [`SQUEUE_FORMAT`] lines. Empty lines are skipped; a line with fewer
/// than 16 fields is an error naming the line (the output is not what we asked for).
///
/// Job ids: `123`, `123_4` (array task) and `123+1` (het job component) are one
/// job; `123_[5-20%2]` (a pending array squeue did not expand, which `-r`
/// prevents but older versions may still print) counts its tasks.
pub fn parse_squeue(reader: impl BufRead) -> Result<Jobs, ParseError> {
    let mut lines = Lines::new(reader);
    let mut interner = Interner::default();
    let mut jobs = Vec::new();
    while let Some((number, line)) = lines.next_line()? {
        if line.trim().is_empty() {
            continue;
        }
        let mut f = [""; FIELDS];
        let mut found = 0;
        for (slot, value) in f.iter_mut().zip(line.splitn(FIELDS, '|')) {
            *slot = value;
            found += 1;
        }
        let (
            FIELDS,
            [id, state, partition, cpus, nodes, submit, start, user, account, tasks, tres, per_job, per_node, per_task, per_socket, reason],
        ) = (found, f)
        else {
            return Err(ParseError::Text {
                line: number,
                message: format!(
                    "expected {FIELDS} '|'-separated fields (squeue -O {SQUEUE_FORMAT}), got {:?}",
                    truncate(&line, 120)
                ),
            });
        };
        // `State` is one word; take the first anyway (`CANCELLED by 0` elsewhere).
        let state = state.split_whitespace().next().unwrap_or_default();
        let nodes = parse_u64(nodes);
        let gpus = JobTres {
            tres,
            per_job,
            per_node,
            per_task,
            per_socket,
        }
        // A job that never had tasks counted prints NO_VAL (4294967294).
        .gpus(nodes, parse_u64(tasks).filter(|t| *t < 0xffff_fffe));
        jobs.push(Job {
            id: crate::model::job::id_from_text(id.trim()),
            state: JobState::from_name(state),
            partition: interner.intern(partition.trim()),
            reason: interner.intern(reason.trim()),
            cpus: parse_u64(cpus),
            nodes,
            submit_time: parse_epoch(submit),
            start_time: parse_epoch(start),
            task_count: task_count(id.trim()),
            user: name(&mut interner, user),
            account: name(&mut interner, account),
            memory_bytes: tres_memory_bytes(tres),
            gpus,
        });
    }
    interner.check()?;
    Ok(Jobs { jobs })
}

/// A user or account name; `N/A`, `(null)` or empty is not reported.
fn name(interner: &mut Interner, value: &str) -> Option<Arc<str>> {
    let value = value.trim();
    (!is_unset(value)).then(|| interner.intern(value))
}

/// Jobs one `%i` stands for: the tasks of an unexpanded array `123_[1-5%2]`, else 1.
fn task_count(id: &str) -> u64 {
    match id.split_once("_[") {
        Some((_, tasks)) => count_array_tasks(tasks).unwrap_or(1).max(1),
        None => 1,
    }
}

fn truncate(line: &str, max: usize) -> &str {
    match line.char_indices().nth(max) {
        Some((end, _)) => &line[..end],
        None => line,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use super::*;
    use crate::model::text::testdata;

    /// Lines written as `id|state|partition|cpus|nodes|submit|start|reason`, the
    /// other fields filled in (user u, account a, 1 task, 100M, no GPU).
    fn parse(text: &str) -> Result<Jobs, ParseError> {
        let full: Vec<String> = text
            .split('\n')
            .map(|line| {
                let f: Vec<&str> = line.splitn(8, '|').collect();
                if f.len() < 8 {
                    return line.to_string();
                }
                format!(
                    "{}|u|a|1|cpu=1,mem=100M|N/A|N/A|N/A|N/A|{}",
                    f[..7].join("|"),
                    f[7]
                )
            })
            .collect();
        parse_squeue(full.join("\n").as_bytes())
    }

    /// Jobs per state, arrays counted by task.
    fn by_state(jobs: &Jobs) -> BTreeMap<JobState, u64> {
        let mut counts = BTreeMap::new();
        for job in &jobs.jobs {
            *counts.entry(job.state).or_default() += job.task_count;
        }
        counts
    }

    #[test]
    fn ids_are_stable_and_array_tasks_distinct() {
        use crate::model::job::id_from_text;
        assert_eq!(id_from_text("42"), 42);
        assert_eq!(id_from_text("7_3"), id_from_text("7_3"));
        assert_ne!(id_from_text("7_3"), id_from_text("7_4"));
        assert_ne!(id_from_text("7_3"), 73);
    }

    #[test]
    fn one_line_every_field() {
        let jobs = parse("42|RUNNING|batch|8|2|1700000000|1700000100|None\n").unwrap();
        assert_eq!(
            jobs.jobs,
            vec![Job {
                id: 42,
                state: JobState::Running,
                partition: Arc::from("batch"),
                reason: Arc::from("None"),
                cpus: Some(8),
                nodes: Some(2),
                submit_time: Some(1_700_000_000),
                start_time: Some(1_700_000_100),
                task_count: 1,
                user: Some(Arc::from("u")),
                account: Some(Arc::from("a")),
                memory_bytes: Some(100 << 20),
                gpus: Some(0),
            }]
        );
    }

    #[test]
    fn users_memory_and_gpus() {
        let text = "\
5|RUNNING|debug|1|1|1|1|root|root|1|cpu=1,mem=500M,node=1,billing=1|N/A|gres:gpu:fake:1|N/A|N/A|None
6|RUNNING|debug|2|2|1|1|alice|physics|2|cpu=2,mem=1000M,node=2,billing=2|gres/gpu:3|N/A|N/A|N/A|None
7|PENDING|debug|4|1|1|N/A|bob|chem|4|cpu=4,mem=2000M,node=1,billing=4|N/A|N/A|gres/gpu:1|N/A|Priority
8|RUNNING|debug|2|1|1|1|carol|chem|2|cpu=2,mem=2G,node=1,gres/gpu=2|N/A|N/A|N/A|N/A|None
9|PENDING|debug|1|1|1|N/A|(null)|N/A|1|N/A|N/A|N/A|N/A|gres/gpu:1|Priority
";
        let jobs = parse_squeue(text.as_bytes()).unwrap().jobs;
        let got: Vec<_> = jobs
            .iter()
            .map(|j| {
                (
                    j.user.as_deref(),
                    j.account.as_deref(),
                    j.memory_bytes.map(|b| b >> 20),
                    j.gpus,
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (Some("root"), Some("root"), Some(500), Some(1)),
                (Some("alice"), Some("physics"), Some(1000), Some(3)),
                (Some("bob"), Some("chem"), Some(2000), Some(4)),
                (Some("carol"), Some("chem"), Some(2048), Some(2)),
                (None, None, None, None),
            ]
        );
        assert!(Arc::ptr_eq(
            jobs[2].account.as_ref().unwrap(),
            jobs[3].account.as_ref().unwrap()
        ));
    }

    #[test]
    fn reason_keeps_pipes_and_spaces() {
        let jobs =
            parse("7|PENDING|debug,batch|1|1|1700000000|N/A|weird | reason, with | pipes  \n")
                .unwrap();
        let job = &jobs.jobs[0];
        assert_eq!(&*job.reason, "weird | reason, with | pipes");
        assert_eq!(&*job.partition, "debug,batch");
        assert_eq!(job.partitions().collect::<Vec<_>>(), ["debug", "batch"]);
        assert_eq!(job.start_time, None);
    }

    #[test]
    fn unset_times_and_counts_are_none() {
        for start in ["N/A", "0", "Unknown", "", "2026-12-02T19:00:00"] {
            let line = format!("1|PENDING|p|N/A||0|{start}|Priority");
            let job = parse(&line).unwrap().jobs.remove(0);
            assert_eq!(job.start_time, None, "{start:?}");
            assert_eq!(job.submit_time, None);
            assert_eq!(job.cpus, None);
            assert_eq!(job.nodes, None);
        }
    }

    #[test]
    fn array_ids() {
        let text = "\
123_4|RUNNING|p|1|1|1|1|None
123_[5-20%2]|PENDING|p|1|1|1|N/A|JobArrayTaskLimit
124_[1,3,5-7]|PENDING|p|1|1|1|N/A|Priority
125_[0-9:3]|PENDING|p|1|1|1|N/A|Priority
126_[garbage]|PENDING|p|1|1|1|N/A|Priority
127+1|RUNNING|p|1|1|1|1|None
";
        let counts: Vec<u64> = parse(text)
            .unwrap()
            .jobs
            .iter()
            .map(|j| j.task_count)
            .collect();
        assert_eq!(counts, [1, 16, 5, 4, 1, 1]);
    }

    #[test]
    fn states_take_the_first_word() {
        let jobs = parse(
            "1|CANCELLED by 0|p|1|1|1|1|None\n2|NODE_FAIL|p|1|1|1|1|None\n3|WEIRD|p|1|1|1|1|None",
        )
        .unwrap();
        let states: Vec<JobState> = jobs.jobs.iter().map(|j| j.state).collect();
        assert_eq!(
            states,
            [JobState::Cancelled, JobState::NodeFail, JobState::Other]
        );
    }

    #[test]
    fn strings_are_interned() {
        let text = "1|PENDING|batch|1|1|1|N/A|Priority\n2|PENDING|batch|1|1|1|N/A|Priority\n";
        let jobs = parse(text).unwrap();
        assert!(Arc::ptr_eq(
            &jobs.jobs[0].partition,
            &jobs.jobs[1].partition
        ));
        assert!(Arc::ptr_eq(&jobs.jobs[0].reason, &jobs.jobs[1].reason));
    }

    #[test]
    fn empty_lines_skipped_short_lines_rejected() {
        assert_eq!(parse("").unwrap().jobs.len(), 0);
        assert_eq!(parse("\n\n  \n").unwrap().jobs.len(), 0);
        let err = parse("1|RUNNING|p|1|1|1|1|None\n\n2|RUNNING|p|1\n").unwrap_err();
        match err {
            ParseError::Text { line, message } => {
                assert_eq!(line, 3);
                assert!(message.contains("2|RUNNING|p|1"), "{message}");
            }
            other => panic!("unexpected {other:?}"),
        }
        // The human-readable squeue table is not our format.
        assert!(parse("JOBID PARTITION NAME USER ST TIME NODES NODELIST(REASON)\n").is_err());
    }

    #[test]
    fn long_names_do_not_matter() {
        let jobs = parse("1|RUNNING|a-partition-name-longer-than-twenty|1|1|1|1|None").unwrap();
        assert_eq!(
            &*jobs.jobs[0].partition,
            "a-partition-name-longer-than-twenty"
        );
    }

    #[test]
    fn lab_22_05_fixture() {
        let file = testdata::fixture("squeue.txt");
        let jobs = parse_squeue(file).unwrap();
        // Fourth run (README): the workload plus a two-node job.
        assert_eq!(jobs.jobs.len(), 36);
        let counts = by_state(&jobs);
        let expected: BTreeMap<JobState, u64> = [
            (JobState::Pending, 27),
            (JobState::Running, 6),
            (JobState::Completed, 1),
            (JobState::Cancelled, 1),
            (JobState::Failed, 1),
        ]
        .into_iter()
        .collect();
        assert_eq!(counts, expected);
        assert!(jobs.jobs.iter().all(|j| j.task_count == 1));

        let first = &jobs.jobs[0];
        assert_eq!(first.state, JobState::Failed);
        assert_eq!(&*first.partition, "batch");
        assert_eq!(&*first.reason, "NonZeroExitCode");
        assert_eq!(first.submit_time, Some(1_796_254_858));
        assert_eq!(first.start_time, Some(1_796_254_861));

        // Array 7 (`--array=1-20%2`): 18 pending tasks, one line each.
        let limited: Vec<&Job> = jobs
            .jobs
            .iter()
            .filter(|j| &*j.reason == "JobArrayTaskLimit")
            .collect();
        assert_eq!(limited.len(), 18);
        assert!(limited
            .iter()
            .all(|j| j.state == JobState::Pending && j.start_time.is_none()));
        assert!(Arc::ptr_eq(&limited[0].reason, &limited[17].reason));

        // Job 16 asks for 4 CPUs; backfill expects it to start in a day.
        let big = jobs
            .jobs
            .iter()
            .find(|j| j.cpus == Some(4))
            .expect("job 16");
        assert_eq!((big.state, &*big.reason), (JobState::Pending, "Priority"));
        assert_eq!(big.submit_time, Some(1_796_254_864));
        assert_eq!(big.start_time, Some(1_796_341_264));

        // Job 15: two partitions, and %r is a description with commas and spaces.
        let two = jobs.jobs.last().unwrap();
        assert_eq!(&*two.partition, "debug,batch");
        assert_eq!(
            &*two.reason,
            "Nodes required for job are DOWN, DRAINED or reserved for jobs in higher priority partitions"
        );

        // Users, accounts, memory and GPUs asked for each way.
        let job = |user: &str, state: JobState, gpus: u64| {
            jobs.jobs
                .iter()
                .find(|j| {
                    j.user.as_deref() == Some(user) && j.state == state && j.gpus == Some(gpus)
                })
                .unwrap_or_else(|| panic!("{user} {state:?} {gpus} GPUs"))
        };
        // labuser: --gpus=1 running, -n 2 --gpus-per-task=1 pending, account physics.
        let running = job("labuser", JobState::Running, 1);
        assert_eq!(running.account.as_deref(), Some("physics"));
        assert_eq!(running.memory_bytes, Some(500 << 20));
        let pending = job("labuser", JobState::Pending, 2);
        assert_eq!(pending.memory_bytes, Some(1000 << 20));
        // root: --gres=gpu:fake:1 running; held --gpus-per-node=1.
        assert_eq!(
            job("root", JobState::Running, 1).account.as_deref(),
            Some("root")
        );
        assert_eq!(&*job("root", JobState::Pending, 1).reason, "JobHeldUser");
        let gpus: u64 = jobs.jobs.iter().filter_map(|j| j.gpus).sum();
        assert_eq!(gpus, 5);
        // The cancelled job's NumTasks is NO_VAL: no GPU request, so 0, not a product.
        let cancelled = jobs.jobs.iter().find(|j| j.state == JobState::Cancelled);
        assert_eq!(cancelled.and_then(|j| j.gpus), Some(0));
    }
}
