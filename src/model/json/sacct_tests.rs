use super::super::parse_acct_jobs;
use crate::model::text::testdata;
use crate::model::{AcctJob, JobMemory};

fn jobs(file: std::io::BufReader<std::fs::File>) -> Vec<AcctJob> {
    parse_acct_jobs(file).unwrap_or_else(|e| panic!("{e}")).data
}

fn by_id(jobs: &[AcctJob], id: u64) -> &AcctJob {
    jobs.iter()
        .find(|j| j.id == id)
        .unwrap_or_else(|| panic!("job {id}"))
}

/// The lab's REST answer agrees with its sacct text (same jobs, same window),
/// except the exit codes 22.05's REST gets wrong (see the module doc).
#[test]
fn lab_22_05_rest_agrees_with_sacct_text() {
    let (rest, text) = (
        jobs(testdata::fixture("rest-dbv0.0.38-jobs.json")),
        testdata::fixture("sacct.txt"),
    );
    let text = crate::model::text::parse_sacct(text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(rest.len(), text.len());
    for t in &text {
        let r = by_id(&rest, t.id);
        assert_eq!(
            (&r.state, &r.partition, &r.account, &r.qos, r.ran),
            (&t.state, &t.partition, &t.account, &t.qos, t.ran),
            "job {}",
            t.id
        );
        assert_eq!((r.start, r.end), (t.start, t.end));
        if t.ran {
            // A job that never ran: sacct prints the requested CPUs, REST none.
            assert_eq!(r.alloc_cpus, t.alloc_cpus, "job {}", t.id);
        }
        // sacct prints Eligible=Unknown for a job cancelled while held; REST 0.
        assert_eq!(r.eligible, t.eligible, "job {}", t.id);
        match t.exit {
            Some((code, 0)) if code != 0 => assert_eq!(r.exit, None, "job {}", t.id),
            _ => assert_eq!(r.exit_class(), t.exit_class(), "job {}", t.id),
        }
    }
    let signal = by_id(&rest, 22);
    assert_eq!(
        (signal.state.as_str(), signal.exit),
        ("FAILED", Some((0, 9)))
    );
    assert_eq!(by_id(&rest, 24).account.as_deref(), Some("lab"));
    let cancelled = by_id(&rest, 20);
    assert!(cancelled.finished() && !cancelled.ran);
}

#[test]
fn lab_22_05_nothing_found_is_no_jobs() {
    let jobs = jobs(testdata::fixture("rest-dbv0.0.38-jobs-empty.json"));
    assert!(jobs.is_empty());
    let other = br#"{"errors":[{"description":"Unable to connect to database"}],"jobs":[]}"#;
    assert!(parse_acct_jobs(&other[..]).is_err());
    assert!(parse_acct_jobs(&b"{\"jobs\": [{\"job_id\": 1,"[..]).is_err());
}

/// v0.0.42 (24.11, real cluster): state arrays, number objects, CPU time,
/// OUT_OF_MEMORY signalled, ERROR exits.
#[test]
#[ignore = "needs ../shared/slurm-samples"]
fn v0_0_42_states_exit_codes_and_cpu_time() {
    let jobs = jobs(testdata::sample(
        "v0.0.42/slurmdb_jobs__ivolabbe_slurminal__sacct.json",
    ));
    assert_eq!(jobs.len(), 42);
    let long = by_id(&jobs, 9641759);
    assert_eq!(long.state, "COMPLETED");
    assert_eq!(long.exit_class(), "success");
    assert_eq!(long.alloc_cpus, Some(32));
    assert_eq!(long.total_cpu_seconds, Some(225_512.0 + 1.918153));
    let eff = long.cpu_efficiency().unwrap_or_default();
    assert!((eff - 225_513.918153 / (7122.0 * 32.0)).abs() < 1e-9);
    let oom = by_id(&jobs, 9652708);
    assert_eq!(
        (oom.state.as_str(), oom.exit_class()),
        ("OUT_OF_MEMORY", "signal")
    );
    let failed = by_id(&jobs, 9678412);
    assert_eq!(
        (failed.exit, failed.exit_class()),
        (Some((1, 0)), "failure")
    );
    assert_eq!(by_id(&jobs, 9683424).state, "TIMEOUT");
    assert!(jobs
        .iter()
        .all(|j| j.finished() == (j.end.is_some() && j.state != "RUNNING")));
}

/// Every slurmdb jobs sample from v0.0.37 to v0.0.44 parses, and what it says
/// holds together.
#[test]
#[ignore = "needs ../shared/slurm-samples"]
fn every_version_parses() {
    let names = [
        "v0.0.37/slurmdb_jobs__mila-iqia_clockwork__sacct_1.json",
        "v0.0.38/slurmdb_jobs__eth-cscs_firecrest-v2__slurm_get_allusers_jobs_from_db.json",
        "v0.0.38/slurmdb_jobs__mila-iqia_SARC__sacct_slurm_22_5_9.json",
        "v0.0.39/slurmdb_jobs__rackslab_Slurm-web__s23.02-slurmdb-job-completed.json",
        "v0.0.40/slurmdb_jobs__rackslab_Slurm-web__s23.11-slurmdb-job-completed.json",
        "v0.0.41/slurmdb_jobs__rackslab_Slurm-web__s24.11-slurmdb-job-gpus-multi-nodes.json",
        "v0.0.43/slurmdb_jobs__mila-iqia_SARC__generated_mila_1706227200.json",
        "v0.0.44/slurmdb_jobs__rackslab_Slurm-web__s25.11-slurmdb-job-completed.json",
    ];
    for name in names {
        let jobs = jobs(testdata::sample(name));
        assert!(!jobs.is_empty(), "{name}");
        for j in &jobs {
            assert!(!j.state.is_empty(), "{name}: job {}", j.id);
            if let Some(r) = j.memory_efficiency() {
                assert!(r.is_finite() && r > 0.0, "{name}: job {}", j.id);
            }
            assert!(j.partition.is_some() || j.state == "PENDING", "{name}");
        }
    }
    let v44 = jobs(testdata::sample(names[7]));
    let j = &v44[0];
    assert_eq!(j.state, "COMPLETED");
    assert_eq!(
        (j.start, j.end, j.eligible),
        (Some(1762942475), Some(1762942505), Some(1762942474))
    );
    assert_eq!(j.wait_seconds(), Some(1.0));
    assert_eq!((j.alloc_cpus, j.exit_class()), (Some(4), "success"));
    let v43 = jobs(testdata::sample(names[6]));
    // CANCELLED with the return code unset: no exit code recorded.
    let c = v43.iter().find(|j| j.state == "CANCELLED");
    assert_eq!(c.map(|c| c.exit_class()), Some("none"));
}

/// The lab's REST answer under jobacct_gather/linux: each job's memory (largest
/// step `MaxRSS`, allocation) is what the sacct memory read of the same moment says.
#[test]
fn lab_22_05_rest_memory_agrees_with_sacct_text() {
    let (rest, text) = (
        jobs(testdata::fixture("rest-dbv0.0.38-jobs-memory.json")),
        testdata::fixture("sacct-memory.txt"),
    );
    let text = crate::model::text::parse_sacct_memory(text).unwrap_or_else(|e| panic!("{e}"));
    for (id, memory) in &text {
        let r = by_id(&rest, *id);
        assert_eq!(&r.memory, memory, "job {id}");
    }
    let mem = by_id(&rest, 8);
    assert_eq!(mem.memory.max_rss_bytes, Some(129_272 << 10));
    assert!(mem.memory_efficiency().is_some_and(|r| r > 0.3 && r <= 0.4));
    // Running jobs: no step has ended, nothing sampled into slurmdbd yet.
    assert!(rest
        .iter()
        .filter(|j| j.state == "RUNNING")
        .all(|j| j.memory.max_rss_bytes.is_none()));
}

/// v0.0.42 (24.11, real cluster): step `MaxRSS` in bytes in
/// `tres.requested.max`, allocation in MB; steps that recorded 0 do not count.
#[test]
#[ignore = "needs ../shared/slurm-samples"]
fn v0_0_42_memory_of_steps() {
    let jobs = jobs(testdata::sample(
        "v0.0.42/slurmdb_jobs__ivolabbe_slurminal__sacct.json",
    ));
    let big = by_id(&jobs, 9660878);
    assert_eq!(big.memory.max_rss_bytes, Some(11_108_884_480));
    assert_eq!(big.memory.alloc_bytes, Some(64_000 << 20));
    let ratio = big.memory_efficiency().unwrap_or_default();
    assert!((ratio - 11_108_884_480.0 / (64_000.0 * 1_048_576.0)).abs() < 1e-12);
    // Two nodes: the largest task against one node's share.
    let two = by_id(&jobs, 9649839);
    assert_eq!(two.memory.alloc_nodes, Some(2));
    let ratio = two.memory_efficiency().unwrap_or_default();
    assert!((ratio - 1_831_796_736.0 / (128_000.0 * 1_048_576.0)).abs() < 1e-12);
    // Every step recorded 0: left out.
    assert_eq!(by_id(&jobs, 9679351).memory_efficiency(), None);
    // Never ran (no allocation, no steps).
    assert_eq!(by_id(&jobs, 9678470).memory, JobMemory::default());
}

/// The v0.0.44 shape of the 25.11 samples (steps[].tres.requested.max[] of
/// `{type, name, id, count, task, node}`, plain integer counts; job
/// `tres.allocated[]`), with values filled in, plus the nulls and absences a job
/// may carry: parsed by field presence, never failing the read.
#[test]
fn v0_0_44_memory_by_field_presence() {
    let doc = br#"{"jobs": [
      {"job_id": 1, "state": {"current": ["COMPLETED"]}, "partition": "p", "nodes": "n1",
       "time": {"start": 10, "end": 20, "elapsed": 10},
       "tres": {"allocated": [{"type": "cpu", "id": 1, "count": 2},
                              {"type": "mem", "id": 2, "count": 2048},
                              {"type": "node", "id": 4, "count": 1}],
                "requested": []},
       "steps": [
         {"step": {"id": "1.batch", "name": "batch"},
          "tres": {"requested": {"max": [{"type": "mem", "name": "", "id": 2, "count": 536870912, "task": 0, "node": "n1"}],
                                 "min": [], "average": [], "total": []},
                   "consumed": {"max": [], "min": [], "average": [], "total": []},
                   "allocated": []}},
         {"step": {"id": "1.extern", "name": "extern"},
          "tres": {"requested": {"max": [{"type": "mem", "count": 4096, "task": 0, "node": "n1"}]}}},
         {"step": {"id": "1.0", "name": "x"}, "tres": {"requested": null}},
         {"step": {"id": "1.1", "name": "y"}}
       ]},
      {"job_id": 2, "state": {"current": ["FAILED"]}, "nodes": "n1", "steps": null,
       "time": {"start": 10, "end": 20},
       "tres": {"allocated": [{"type": "mem", "count": 1024}]}},
      {"job_id": 3, "state": {"current": ["COMPLETED"]}, "nodes": "n1",
       "time": {"start": 10, "end": 20},
       "steps": [{"tres": {"requested": {"max": [{"type": "mem", "count": 1048576}]}}}]}
    ]}"#;
    let jobs = parse_acct_jobs(&doc[..])
        .unwrap_or_else(|e| panic!("{e}"))
        .data;
    let one = by_id(&jobs, 1);
    assert_eq!(one.memory.max_rss_bytes, Some(512 << 20));
    assert_eq!(one.memory_efficiency(), Some(0.25));
    assert_eq!(by_id(&jobs, 2).memory_efficiency(), None, "no steps");
    let three = by_id(&jobs, 3);
    assert_eq!(three.memory.max_rss_bytes, Some(1 << 20));
    assert_eq!(three.memory_efficiency(), None, "no memory allocation");
}

#[test]
fn steps_and_tres_lists_are_capped() {
    use super::super::value::MAX_STEPS;
    use crate::model::caps::{TooLarge, MAX_LIST_ITEMS};
    use crate::model::ParseError;
    let doc = |steps: usize, tres: usize| {
        format!(
            r#"{{"jobs": [{{"job_id": 1, "tres": {{"allocated": [{}]}}, "steps": [{}]}}]}}"#,
            vec![r#"{"type": "cpu", "count": 1}"#; tres].join(","),
            vec!["{}"; steps].join(",")
        )
    };
    assert!(parse_acct_jobs(doc(MAX_STEPS, MAX_LIST_ITEMS).as_bytes()).is_ok());
    for (steps, tres) in [(MAX_STEPS + 1, 1), (1, MAX_LIST_ITEMS + 1)] {
        match parse_acct_jobs(doc(steps, tres).as_bytes()) {
            Err(ParseError::TooLarge(t)) => assert_eq!(t, TooLarge::LIST),
            other => panic!("{steps} {tres}: {other:?}"),
        }
    }
}
