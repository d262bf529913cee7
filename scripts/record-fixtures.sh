#!/usr/bin/env bash
# record-fixtures.sh - record raw Slurm outputs from the lab cluster as test fixtures.
#
# Usage:
#   scripts/slurm-dev-cluster.sh up
#   scripts/slurm-dev-cluster.sh workload
#   scripts/record-fixtures.sh [--only FILE[,FILE...]] [OUTPUT_DIR]
#                                   (default <repo>/tests/fixtures/slurm-22.05)
#
# --only writes just the named files (everything is still recorded, into a temporary
# directory): fixtures pinned by tests stay as they are when new ones are added.
#
# Every command runs with SLURM_TIME_FORMAT=%s. The only sanitising: the machine's host
# name is replaced by "labhost" in every file, and the script fails if a JWT would land in
# a file. README.md in the output directory is written by hand and never touched here.
set -euo pipefail

# squeue -O format the exporter parses. It MUST match the format string in the exporter's
# source code (SQUEUE_FORMAT in src/model/text/squeue.rs): job id, extended state,
# partition, cpus, nodes, submit time, start time, user, account, tasks, TRES, GPU
# requests, reason. The reason is last because it is free text and may contain '|'.
SQUEUE_FORMAT='JobArrayId:|,State:|,Partition:|,NumCPUs:|,NumNodes:|,SubmitTime:|,StartTime:|,UserName:|,Account:|,NumTasks:|,tres-alloc:|,tres-per-job:|,tres-per-node:|,tres-per-task:|,tres-per-socket:|,Reason:0'
# sshare columns and sacctmgr QOS fields, as SSHARE_FORMAT (src/model/text/sshare.rs) and
# QOS_FORMAT (src/model/text/sacctmgr.rs) ask them.
SSHARE_FORMAT='Account,User,Partition,RawShares,NormShares,RawUsage,NormUsage,EffectvUsage,FairShare,LevelFS'
QOS_FORMAT='Name,Priority,UsageFactor,GrpTRES,GrpJobs,GrpSubmit,GrpWall,MaxTRESPerUser,MaxJobsPerUser,MaxSubmitJobsPerUser,MaxTRES,MaxTRESPerAccount,MaxJobsPerAccount,MaxSubmitJobsPerAccount,MaxWall'

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$SCRIPT_DIR/.." && pwd)"
CLUSTER="$SCRIPT_DIR/slurm-dev-cluster.sh"
ONLY=""
if [[ ${1:-} == --only ]]; then
    [[ -n ${2:-} ]] || { printf '[record] ERROR: --only needs a file list\n' >&2; exit 1; }
    ONLY=",$2,"; shift 2
fi
OUT="${1:-$REPO_DIR/tests/fixtures/slurm-22.05}"

die() { printf '[record] ERROR: %s\n' "$*" >&2; exit 1; }
log() { printf '[record] %s\n' "$*" >&2; }

eval "$("$CLUSTER" env)"
export SLURM_TIME_FORMAT=%s
REST="$SLURM_LAB_REST_URL"

"$CLUSTER" status >/dev/null || die "lab cluster is not up; run: $CLUSTER up && $CLUSTER workload"
[[ -n $(squeue -h -o %i) ]] || log "WARNING: no jobs in the queue; did you run '$CLUSTER workload'?"

HOST_SHORT=$(hostname -s)
HOST_FULL=$(hostname -f 2>/dev/null || hostname)
case $HOST_SHORT in
    ""|?|lab|labhost|debug|batch|n1|n2|f1|f2|root|slurm|munge|localhost|none|None|true|false)
        die "host name '$HOST_SHORT' collides with words in the fixtures; cannot sanitise it safely" ;;
esac

TOKEN=$("$CLUSTER" token root 600)
[[ -n $TOKEN ]] || die "could not get a JWT"

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# cmd FILE COMMAND... : stdout of a command into FILE (fails if the command fails)
cmd() {
    local f=$1; shift
    "$@" >"$TMP/$f" || die "command failed: $*"
}

# rest FILE PATH : body of GET PATH, which must answer 200
rest() {
    local f=$1 path=$2 code
    code=$(curl -s -o "$TMP/$f" -w '%{http_code}' --max-time 60 \
        -H "X-SLURM-USER-NAME: root" -H "X-SLURM-USER-TOKEN: $TOKEN" "$REST$path")
    [[ $code == 200 ]] || die "GET $path answered HTTP $code"
}

# rest_raw FILE PATH [TOKEN|-] : status line, headers and body (CR removed) of GET PATH;
# '-' sends no token headers at all.
rest_raw() {
    local f=$1 path=$2 tok=${3:-$TOKEN}
    local hdrs=(-H "X-SLURM-USER-NAME: root" -H "X-SLURM-USER-TOKEN: $tok")
    [[ $tok == - ]] && hdrs=()
    {
        printf '# GET %s\n' "$path"
        curl -s -i --max-time 60 "${hdrs[@]}" "$REST$path" | tr -d '\r'
        echo
    } >"$TMP/$f"
}

log "recording into $OUT"
cmd scontrol-show-node.txt      scontrol -o show node
cmd scontrol-show-partition.txt scontrol -o show partition
cmd squeue.txt                  squeue -h -t all -r -O "$SQUEUE_FORMAT"
cmd sdiag.txt                   sdiag
cmd sacctmgr-show-cluster.txt   sacctmgr -n -P show cluster format=cluster
cmd scontrol-ping.txt           scontrol ping
cmd scontrol-show-config.txt    scontrol show config
cmd scontrol-version.txt        scontrol version
cmd sinfo.json                  sinfo --json
cmd squeue.json                 squeue --json
cmd sinfo.txt                   sinfo
cmd squeue-human.txt            squeue
cmd scontrol-show-node-detail.txt scontrol -d -o show node
cmd scontrol-show-license.txt   scontrol -o show license
cmd scontrol-show-reservation.txt scontrol -o show reservation
# A reason of two lines: scontrol -o prints the stamp after the first line and the second
# line after blanks, never a raw newline. On the fake node f2, put back as it was.
f2_reason=$(scontrol -o show node f2 | sed -n 's/.* Reason=//p' | sed 's/ \[[^]]*\]$//')
scontrol update nodename=f2 reason=$'maintenance\nticket 42 | rack 7'
cmd scontrol-show-node-multiline-reason.txt scontrol -o show node f2
scontrol update nodename=f2 reason="${f2_reason:-Not responding}"

for ep in nodes partitions jobs diag ping licenses reservations; do
    rest "rest-v0.0.38-$ep.json" "/slurm/v0.0.38/$ep"
done

# With accounting (up --accounting): fair share, QOS, associations.
if sacctmgr -n list cluster >/dev/null 2>&1; then
    cmd sshare.txt                        sshare -a -P -o "$SSHARE_FORMAT"
    cmd sshare-long.txt                   sshare -a -P -l
    cmd sacctmgr-show-qos.txt             sacctmgr -n -P show qos format="$QOS_FORMAT"
    cmd sacctmgr-show-assoc.txt           sacctmgr -P show assoc
    cmd scontrol-show-assoc-mgr-qos.txt   scontrol -o show assoc_mgr flags=qos
    cmd scontrol-show-assoc-mgr-assoc.txt scontrol -o show assoc_mgr flags=assoc
    rest rest-dbv0.0.38-qos.json          /slurmdb/v0.0.38/qos
    rest rest-dbv0.0.38-associations.json /slurmdb/v0.0.38/associations
else
    log "no slurmdbd (lab up without --accounting): fair share, QOS and associations not recorded"
fi
# The same /nodes under the name of the run with the fake GPUs (GRES), kept apart
# from rest-v0.0.38-nodes.json, which older tests pin.
cp "$TMP/rest-v0.0.38-nodes.json" "$TMP/rest-v0.0.38-nodes-gres.json"
rest rest-v0.0.37-ping.json /slurm/v0.0.37/ping
rest rest-v0.0.36-ping.json /slurm/v0.0.36/ping

# Accounting (needs `up --accounting`): the exporter's sacct query over the last hour
# (SACCT_FORMAT and the states must match src/model/text/sacct.rs and src/source/cli.rs),
# the same through REST, and the "Nothing found" answer for an empty window.
if sacctmgr -n list cluster >/dev/null 2>&1; then
    SACCT_FORMAT='JobIDRaw,State,Partition,Account,QOS,Eligible,Start,End,ElapsedRaw,AllocCPUS,TotalCPU,ExitCode,NodeList'
    cmd sacct.txt env TZ=UTC sacct -a -X -P -n -s BF,CA,CD,DL,F,NF,OOM,PR,TO,R -S now-1hour -E now -o "$SACCT_FORMAT"
    rest rest-dbv0.0.38-jobs.json "/slurmdb/v0.0.38/jobs?state=BF%2CCA%2CCD%2CDL%2CF%2CNF%2COOM%2CPR%2CTO%2CR&start_time=now-3600&end_time=now"
    rest rest-dbv0.0.38-jobs-empty.json "/slurmdb/v0.0.38/jobs?state=CD&start_time=now-1&end_time=now-1"
    # Memory (the lab samples steps with jobacct_gather/linux; the workload's lab-mem job
    # holds ~126 MiB): the exporter's second sacct read, with steps, over the same hour
    # (SACCT_MEMORY_FORMAT in src/model/text/sacct.rs, final states only as in
    # src/source/cli.rs), and the REST answer again under its own name, kept apart from
    # rest-dbv0.0.38-jobs.json (recorded under jobacct_gather/none, pinned by older tests).
    SACCT_MEMORY_FORMAT='JobIDRaw,MaxRSS,AllocTRES'
    cmd sacct-memory.txt env TZ=UTC sacct -a -P -n -s BF,CA,CD,DL,F,NF,OOM,PR,TO -S now-1hour -E now -o "$SACCT_MEMORY_FORMAT"
    rest rest-dbv0.0.38-jobs-memory.json "/slurmdb/v0.0.38/jobs?state=BF%2CCA%2CCD%2CDL%2CF%2CNF%2COOM%2CPR%2CTO%2CR&start_time=now-3600&end_time=now"
else
    log "no slurmdbd (up without --accounting): accounting fixtures not recorded"
fi

# Error shapes.
rest_raw rest-404.txt /slurm/v0.0.40/ping            # unknown API version, valid token
rest_raw rest-401.txt /slurm/v0.0.38/ping -          # no token headers: the only 401
rest_raw rest-bad-token.txt /slurm/v0.0.38/ping not-a-valid-jwt   # malformed token
EXPIRED=$("$CLUSTER" token root 1)
sleep 2
rest_raw rest-expired-token.txt /slurm/v0.0.38/ping "$EXPIRED"

# update_time in the future-or-now: "nothing changed since"; 22.05 answers 304 with no body.
now=$(date +%s)
rest_raw rest-v0.0.38-jobs-notmodified.txt "/slurm/v0.0.38/jobs?update_time=$now"

# --- sanitise: host name -> labhost (FQDN first, then the short name as a whole word);
# the lab directory (an absolute path of this machine) -> /lab, also in JSON's \/ form.
for f in "$TMP"/*; do
    H_FULL="$HOST_FULL" H_SHORT="$HOST_SHORT" LAB_DIR="$SLURM_LAB_DIR" perl -pi -e '
        BEGIN { $f = $ENV{H_FULL}; $s = $ENV{H_SHORT}; $l = $ENV{LAB_DIR}; ($le = $l) =~ s{/}{\\/}g; }
        s/\Q$l\E/\/lab/g;
        s/\Q$le\E/\\\/lab/g;
        s/(?<![\w-])\Q$f\E(?![\w-])/labhost/g if $f ne $s;
        s/(?<![\w-])\Q$s\E(?![\w-])/labhost/g;
    ' "$f"
done

# --- no JWT may be recorded.
if grep -rlF -e "$TOKEN" -e "$EXPIRED" "$TMP" >/dev/null ||
   grep -rlE 'eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.' "$TMP" >/dev/null; then
    die "a JWT appears in the recorded output; nothing written"
fi

mkdir -p "$OUT"
written=0
for f in "$TMP"/*; do
    name=$(basename "$f")
    [[ -z $ONLY || $ONLY == *",$name,"* ]] || continue
    install -m 0644 "$f" "$OUT/$name"
    written=$((written + 1))
done
log "wrote $written files to $OUT (Slurm $(scontrol version | awk '{ print $2 }'))"
