#!/usr/bin/env bash
# A single-node SLURM on this Debian machine, for the cluster tests and for developers.
#
#   tools/slurm/local-slurm.sh start    install munge + SLURM if missing, start munged, slurmctld
#                                       and slurmd, wait until the node takes jobs (idempotent)
#   tools/slurm/local-slurm.sh stop     cancel the jobs of this cluster, stop the daemons this
#                                       script started (by their recorded PID), remove its config
#   tools/slurm/local-slurm.sh status   say what runs; exit 0 when the node takes jobs, else 3
#
# Needs root, apt-get and Debian's packages munge, slurmctld, slurmd and slurm-client. Works
# without systemd: the daemons are started directly, in the foreground of a detached session,
# and only those are ever stopped. A munged that already answers is reused and never stopped.
# The configuration is written to /etc/slurm/slurm.conf (where srun inside a job looks for it),
# only if that file is absent or was written by this script; its first line marks it.
#
# No cgroups: memory is enforced by jobacct_gather/linux with OverMemoryKill, sampled every
# second; accounting is off (no slurmdbd), so `sacct` does not work: poll with `squeue`.
#
# Exit status: 0 done; 2 cannot run here (not root, not Debian, no apt-get, packages not
# installable, a slurm.conf or daemons of another cluster); 1 a daemon failed (the first line
# names it and why, then the end of its logs); 3 (status) not running. One start or stop at a
# time: they wait for each other on a lock.
# Environment: HAICGX_SLURM_STATE (default /var/lib/haicgx-slurm) holds state, logs and PIDs.
set -euo pipefail

STATE=${HAICGX_SLURM_STATE:-/var/lib/haicgx-slurm}
CONF=/etc/slurm/slurm.conf
MARK="# haicgx single-node SLURM, written by tools/slurm/local-slurm.sh: do not edit"
PACKAGES=(munge slurmctld slurmd slurm-client)
MIN_JOB_AGE=300 # s a finished job stays visible to squeue: above 3x the plugin's first-check
#                 delay and above its longest poll interval (180 s), see docs/cluster.md
WAIT=30         # s to wait for each daemon

say() { echo "local-slurm: $*"; }
die() {
    local code=$1
    shift
    echo "local-slurm: $*" >&2
    exit "$code"
}

# -- processes this script started -------------------------------------------------------------

pid_of() { # the recorded PID of daemon $1, if that process still runs that daemon
    local file="$STATE/pids/$1" pid
    [[ -f $file ]] || return 1
    pid=$(<"$file")
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    [[ -r /proc/$pid/comm && $(</proc/"$pid"/comm) == "$1" ]] || return 1
    echo "$pid"
}

launch() { # launch daemon $1 with the command that follows, detached; record its PID
    local name=$1
    shift
    mkdir -p "$STATE/pids" "$STATE/log"
    # A new session, stdio on files: no caller (pytest, make) waits on the daemon's pipes; and
    # without fd 9, the lock of serialise(), which would otherwise stay held by the daemon.
    setsid "$@" </dev/null >>"$STATE/log/$name.out" 2>&1 9>&- &
    echo $! >"$STATE/pids/$name"
}

stop_daemon() {
    local name=$1 pid
    if ! pid=$(pid_of "$name"); then
        rm -f "$STATE/pids/$name"
        return 0
    fi
    say "stopping $name (PID $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
        [[ -d /proc/$pid ]] || break
        sleep 0.2
    done
    if [[ -d /proc/$pid ]]; then
        say "$name (PID $pid) ignored SIGTERM for 10 s: SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$STATE/pids/$name"
}

log_tail() {
    local file
    for file in "$@"; do
        [[ -s $file ]] && {
            echo "--- last lines of $file:"
            tail -n 15 "$file"
        }
    done >&2
    return 0
}

last_error() { # the last error or fatal line of these logs, for a one-line reason
    cat "$@" 2>/dev/null | grep -iE "fatal|error" | tail -n 1 | sed 's/^\[[^]]*\] //' || true
}

fail_start() { # a daemon failed: say which and why, show its logs, undo what start did, exit 1
    local what=$1 why
    shift
    why=$(last_error "$@")
    echo "local-slurm: $what${why:+: $why}" >&2
    log_tail "$@"
    stop_all >&2
    remove_config >&2
    exit 1
}

remove_config() {
    if [[ -f $CONF ]] && head -n 1 "$CONF" | grep -qxF "$MARK"; then
        rm -f "$CONF"
        say "removed $CONF"
    fi
}

# -- the cluster ---------------------------------------------------------------------------------

munge_works() { munge -n 2>/dev/null | unmunge >/dev/null 2>&1; }

node_state() { sinfo -h -N -o %T 2>/dev/null | head -n 1; }

cluster_up() {
    [[ -f $CONF ]] && head -n 1 "$CONF" | grep -qxF "$MARK" || return 1
    pid_of slurmctld >/dev/null && pid_of slurmd >/dev/null || return 1
    munge_works || return 1
    scontrol ping 2>/dev/null | grep -q "is UP" || return 1
    case $(node_state) in idle | mixed | allocated | completing) return 0 ;; esac
    return 1
}

install_packages() {
    local missing=() package
    for package in "${PACKAGES[@]}"; do
        dpkg-query -W -f '${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
            missing+=("$package")
    done
    [[ ${#missing[@]} -eq 0 ]] && return 0
    command -v apt-get >/dev/null || die 2 "no apt-get: install ${missing[*]} by hand"
    say "installing ${missing[*]} (Debian packages)"
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y -q --no-install-recommends "${missing[@]}" >"$STATE/log/apt.log" 2>&1; then
        say "apt-get install failed; apt-get update, then again"
        apt-get update -q >>"$STATE/log/apt.log" 2>&1 || true
        apt-get install -y -q --no-install-recommends "${missing[@]}" >>"$STATE/log/apt.log" 2>&1 ||
            die 2 "packages not installable: ${missing[*]}: $(grep -E '^E:' "$STATE/log/apt.log" | tail -n 1)"
    fi
}

write_config() {
    local host node_line cpus_line memory
    host=$(hostname -s)
    # The node exactly as slurmd sees it (CPUs, sockets, cores, threads), less 10% of the memory
    # for the submitting host's own processes.
    node_line=$(slurmd -C | head -n 1)
    [[ $node_line == NodeName=* ]] || fail_start "slurmd -C printed no node line: $node_line"
    memory=$(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<<"$node_line")
    cpus_line=$(sed -e 's/^NodeName=[^ ]* //' -e 's/ RealMemory=[0-9]*//' <<<"$node_line")
    mkdir -p "$(dirname "$CONF")" "$STATE/ctld" "$STATE/slurmd" "$STATE/run"
    cat >"$CONF" <<EOF
$MARK
# One node that is also the controller and the submitting host; the jobs run as the submitter.
ClusterName=haicgx-local
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/slurmd
SlurmctldPidFile=$STATE/run/slurmctld.pid
SlurmdPidFile=$STATE/run/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
MpiDefault=none
SwitchType=switch/none
# No cgroups: processes tracked through /proc, memory enforced by sampling every second.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=task=1
JobAcctGatherParams=OverMemoryKill
# No slurmdbd: sacct does not work here; clients poll squeue, which keeps finished jobs
# for MinJobAge seconds.
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MinJobAge=$MIN_JOB_AGE
# Cores and memory are consumable; a job that asks no memory gets DefMemPerCPU per core,
# not the whole node.
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=1000
SchedulerType=sched/backfill
ReturnToService=2
InactiveLimit=0
KillWait=5
NodeName=$host NodeAddr=127.0.0.1 $cpus_line RealMemory=$((memory * 9 / 10)) State=UNKNOWN
PartitionName=local Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
}

wait_for() { # wait_for SECONDS COMMAND...: true once COMMAND succeeds
    local deadline=$((SECONDS + $1))
    shift
    until "$@"; do
        ((SECONDS < deadline)) || return 1
        sleep 0.5
    done
}

wait_daemon() { # wait_daemon NAME SECONDS COMMAND...: as wait_for, failing at once if NAME exits
    local name=$1 deadline=$((SECONDS + $2))
    shift 2
    until "$@"; do
        # (by PID only: just after launch the process may not yet have exec'd the daemon)
        [[ -d /proc/$(cat "$STATE/pids/$name" 2>/dev/null || echo none) ]] || return 2
        ((SECONDS < deadline)) || return 1
        sleep 0.5
    done
}

started_or_fail() { # after wait_daemon: name the daemon that exited or timed out, or go on
    local status=$1 name=$2 what=$3
    shift 3
    case $status in
    0) return 0 ;;
    2) fail_start "$name exited at start" "$@" ;;
    *) fail_start "$name started, but $what after ${WAIT}s" "$@" ;;
    esac
}

ctld_up() { scontrol ping 2>/dev/null | grep -q "is UP"; }
no_running_jobs() { [[ -z $(squeue -h -t running,completing -o %A 2>/dev/null) ]]; }
node_ready() { case $(node_state) in idle | mixed | allocated) return 0 ;; esac; return 1; }

start() {
    [[ $EUID -eq 0 ]] || die 2 "not root: starting SLURM daemons needs root"
    command -v dpkg-query >/dev/null || die 2 "not a Debian system (no dpkg-query)"
    mkdir -p "$STATE/log" "$STATE/pids"
    if cluster_up; then
        say "already running: $(sinfo -h -N -o '%N %T %c CPUs %m MB')"
        return 0
    fi
    if [[ -f $CONF ]] && ! head -n 1 "$CONF" | grep -qxF "$MARK"; then
        die 2 "$CONF exists and was not written by this script: refusing to replace it"
    fi
    install_packages
    local other status
    for other in slurmctld slurmd; do
        if ! pid_of "$other" >/dev/null && pgrep -x "$other" >/dev/null; then
            die 2 "a $other this script did not start is running (PID $(pgrep -x "$other" | head -n 1))"
        fi
    done
    stop_all # a half-started cluster from an earlier call: start afresh

    if munge_works; then
        say "munged already answers: reusing it"
    else
        [[ -s /etc/munge/munge.key ]] || mungekey --create --keyfile /etc/munge/munge.key
        chown munge:munge /etc/munge/munge.key
        chmod 0400 /etc/munge/munge.key
        install -d -o munge -g munge -m 0755 /run/munge
        launch munged setpriv --reuid=munge --regid=munge --init-groups \
            /usr/sbin/munged --foreground
        status=0
        wait_daemon munged "$WAIT" munge_works || status=$?
        started_or_fail $status munged "munge gets no answer" "$STATE/log/munged.out" \
            /var/log/munge/munged.log
        say "munged started (PID $(pid_of munged))"
    fi

    write_config
    rm -f "$STATE/log/slurmctld.log" "$STATE/log/slurmd.log"
    # -c: start with no jobs from an earlier run; -i: ignore unreadable old state.
    launch slurmctld slurmctld -D -c -i
    status=0
    wait_daemon slurmctld "$WAIT" ctld_up || status=$?
    started_or_fail $status slurmctld "scontrol ping gets no answer" \
        "$STATE/log/slurmctld.out" "$STATE/log/slurmctld.log"
    say "slurmctld started (PID $(pid_of slurmctld))"
    launch slurmd slurmd -D
    status=0
    wait_daemon slurmd "$WAIT" node_ready || status=$?
    if [[ $status -eq 1 ]]; then # registered but down or drained: once more after a resume
        scontrol update NodeName="$(hostname -s)" State=RESUME >/dev/null 2>&1 || true
        status=0
        wait_daemon slurmd 10 node_ready || status=$?
    fi
    started_or_fail $status slurmd "the node is not ready (state: $(node_state))" \
        "$STATE/log/slurmd.out" "$STATE/log/slurmd.log" "$STATE/log/slurmctld.log"
    say "slurmd started (PID $(pid_of slurmd))"

    # A job through the whole chain: sbatch-style allocation, a job step, munge credentials.
    timeout -s KILL 60 srun --nodes=1 --ntasks=1 --mem=100 --time=1 true \
        >"$STATE/log/smoke.out" 2>&1 ||
        fail_start "a 1-task test job (srun true) failed" "$STATE/log/smoke.out" \
            "$STATE/log/slurmd.log" "$STATE/log/slurmctld.log"
    wait_for 10 node_ready || true # the test job's completion
    say "ready: $(sinfo -h -N -o '%N %T %c CPUs %m MB'); config $CONF, logs $STATE/log"
}

stop_all() {
    if pid_of slurmctld >/dev/null && command -v squeue >/dev/null; then
        local jobs
        jobs=$(squeue -h -o %A 2>/dev/null | tr '\n' ' ') || jobs="" # munged may be gone
        if [[ -n ${jobs// /} ]]; then
            say "cancelling the jobs of this cluster: $jobs"
            # shellcheck disable=SC2086
            scancel $jobs 2>/dev/null || true
            wait_for 15 no_running_jobs || true
        fi
    fi
    stop_daemon slurmd
    stop_daemon slurmctld
    stop_daemon munged
}

stop() {
    [[ $EUID -eq 0 ]] || die 2 "not root"
    stop_all
    remove_config
    say "stopped"
}

status() {
    local name pid
    for name in munged slurmctld slurmd; do
        if pid=$(pid_of "$name"); then
            say "$name: running (PID $pid, started by this script)"
        else
            say "$name: not started by this script"
        fi
    done
    if cluster_up; then
        say "up: $(sinfo -h -N -o '%N %T %c CPUs %m MB')"
        return 0
    fi
    say "not running"
    return 3
}

serialise() { # one start or stop at a time, whoever calls (tests running side by side, CI)
    [[ $EUID -eq 0 ]] || die 2 "not root: starting or stopping SLURM daemons needs root"
    mkdir -p "$STATE"
    exec 9>"$STATE/lock"
    flock -w 600 9 || die 1 "another start or stop still runs after 600 s ($STATE/lock)"
}

case ${1:-} in
start) serialise && start ;;
stop) serialise && stop ;;
status) status ;;
*) die 2 "usage: $0 start|stop|status" ;;
esac
