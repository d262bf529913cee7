#!/bin/sh
# Stands in for squeue, scontrol, sdiag, sinfo, sshare and sacctmgr in tests and benchmarks: prints the output recorded from
# our 22.05 cluster, or misbehaves as $FAKE_SLURM_STATE/mode-<command> says:
#   ok | fail (exit 1, a generic error) | down (exit 1, what 22.05 prints when slurmctld
#   is unreachable) | hang | garbage | truncated-json (first half of squeue --json) |
#   huge-json (squeue --json with the first recorded job repeated $FAKE_SLURM_HUGE_JOBS
#   times, default 60000: ~200 MB, streamed, never written to disk) |
#   endless-line (one line without a newline, never ending) | huge-string-json
#   (squeue --json whose one job partition is $FAKE_SLURM_STRING_BYTES long, default 200 MB) |
#   gen (runs the shell script $FAKE_SLURM_STATE/gen-<command>, which prints a generated output).
# The misbehaving modes write their PID (the process group's leader) to $FAKE_SLURM_STATE/pid-<command>.
# Every call is appended to $FAKE_SLURM_STATE/calls.
name=$(basename "$0")
state=${FAKE_SLURM_STATE:?FAKE_SLURM_STATE not set}
fixtures=${FAKE_SLURM_FIXTURES:?FAKE_SLURM_FIXTURES not set}
echo "$name $*" >> "$state/calls"
# The SLURM_CONF each call ran with (multi-cluster tests check it is passed on).
echo "$name ${SLURM_CONF:-}" >> "$state/slurm_conf"
# The names of the SLURM* variables each call saw (tests check no secret reaches it).
echo "$name $(env | grep '^SLURM' | cut -d= -f1 | sort | tr '\n' ' ')" >> "$state/env"
mode=ok
[ -f "$state/mode-$name" ] && mode=$(cat "$state/mode-$name")
case $mode in
  fail) echo "$name: error: Invalid user for SlurmUser slurm" >&2; exit 1 ;;
  down) echo "slurm_load_jobs error: Unable to contact slurm controller (connect failure)" >&2; exit 1 ;;
  hang) sleep 600; exit 0 ;;
  garbage) echo "this is not what $name prints"; exit 0 ;;
  endless-line)
    echo $$ > "$state/pid-$name"
    yes | tr -d '\n'; exit 0 ;;
  huge-string-json)
    echo $$ > "$state/pid-$name"
    printf '{"jobs": [{"job_id": 1, "job_state": "RUNNING", "partition": "'
    head -c "${FAKE_SLURM_STRING_BYTES:-200000000}" /dev/zero | tr '\0' n
    printf '"}]}\n'; exit 0 ;;
  gen)
    echo $$ > "$state/pid-$name"
    exec sh "$state/gen-$name" "$@" ;;
  truncated-json)
    size=$(wc -c <"$fixtures/squeue.json")
    head -c $((size / 2)) "$fixtures/squeue.json"; exit 0 ;;
  huge-json)
    # The envelope up to `"jobs": [`, the first job record (up to the line `    },`)
    # N times, then the end of the document.
    awk -v n="${FAKE_SLURM_HUGE_JOBS:-60000}" '
      !in_jobs { print; if ($0 ~ /^  "jobs": \[/) in_jobs = 1; next }
      in_jobs == 1 { if ($0 == "    },") { in_jobs = 2; next } rec = rec $0 "\n"; next }
      END {
        for (i = 1; i <= n; i++) printf "%s    }%s\n", rec, (i < n ? "," : "")
        print "  ]"; print "}"
      }' "$fixtures/squeue.json"
    exit 0 ;;
esac
case "$name $*" in
  "squeue -h -t all -r -O JobArrayId:|,State:|,Partition:|,NumCPUs:|,NumNodes:|,SubmitTime:|,StartTime:|,UserName:|,Account:|,NumTasks:|,tres-alloc:|,tres-per-job:|,tres-per-node:|,tres-per-task:|,tres-per-socket:|,Reason:0") cat "$fixtures/squeue.txt" ;;
  "squeue --json") cat "$fixtures/squeue.json" ;;
  "scontrol -o show node") cat "$fixtures/scontrol-show-node.txt" ;;
  "scontrol -d -o show node") cat "$fixtures/scontrol-show-node-detail.txt" ;;
  "scontrol -o show partition") cat "$fixtures/scontrol-show-partition.txt" ;;
  "scontrol ping") cat "$fixtures/scontrol-ping.txt" ;;
  "scontrol show config") cat "$fixtures/scontrol-show-config.txt" ;;
  "scontrol -o show license") cat "$fixtures/scontrol-show-license.txt" ;;
  "scontrol -o show reservation") cat "$fixtures/scontrol-show-reservation.txt" ;;
  "sdiag ") cat "$fixtures/sdiag.txt" ;;
  # Accounting run (fair share, QOS, associations); the formats of SSHARE_FORMAT and QOS_FORMAT.
  "sshare -a -P -o Account,User,Partition,RawShares,NormShares,RawUsage,NormUsage,EffectvUsage,FairShare,LevelFS")
    cat "$fixtures/sshare.txt" ;;
  "sacctmgr -n -P show qos format=Name,Priority,UsageFactor,GrpTRES,GrpJobs,GrpSubmit,GrpWall,MaxTRESPerUser,MaxJobsPerUser,MaxSubmitJobsPerUser,MaxTRES,MaxTRESPerAccount,MaxJobsPerAccount,MaxSubmitJobsPerAccount,MaxWall")
    cat "$fixtures/sacctmgr-show-qos.txt" ;;
  "scontrol -o show assoc_mgr flags=qos") cat "$fixtures/scontrol-show-assoc-mgr-qos.txt" ;;
  "scontrol -o show assoc_mgr flags=assoc") cat "$fixtures/scontrol-show-assoc-mgr-assoc.txt" ;;
  "sacctmgr -n -P show cluster format=cluster") cat "$fixtures/sacctmgr-show-cluster.txt" ;;
  "sinfo --json") cat "$fixtures/sinfo.json" ;;
  # Slurm 22.05's scontrol has no --json (the exporter falls back to sinfo --json);
  # a synthetic 23.02+ cluster (examples/synth --slurm-version) writes this file.
  "scontrol show node --json")
    if [ -f "$fixtures/scontrol-show-node.json" ]; then cat "$fixtures/scontrol-show-node.json"
    else echo "scontrol: unrecognized option '--json'" >&2; exit 1; fi ;;
  # 23.11+ (a synthetic cluster of that version writes shares.json).
  "sshare -a --json")
    if [ -f "$fixtures/shares.json" ]; then cat "$fixtures/shares.json"
    else echo "sshare: unrecognized option '--json'" >&2; exit 1; fi ;;
  *) echo "fake-slurm: unexpected call: $name $*" >&2; exit 2 ;;
esac
