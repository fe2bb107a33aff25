#!/usr/bin/env bash
# A real single-node SLURM cluster on this machine, for the SLURM executor's tests (and for trying
# `executor: slurm` without a cluster): munged, slurmctld and slurmd on localhost, one node with this
# machine's CPUs, one partition `debug`. Debian's slurm-wlm and munge are installed if missing (root).
#
#   build/slurm-local.sh start [DIR]   prints SLURM_CONF=DIR/slurm.conf once the node is idle
#   build/slurm-local.sh stop  [DIR]
#
# Exit codes: 0 ready; 3 SLURM cannot run here (not root and not installed, or a daemon would not
# start) — the message says why, and the tests that need SLURM report themselves skipped.
set -uo pipefail
cd "$(dirname "$0")/.."
cmd="${1:-start}"
dir="$(realpath -m "${2:-.cache/slurm}")"
conf="$dir/slurm.conf"
export SLURM_CONF="$conf"

die() { echo "slurm-local: $*" >&2; exit 3; }

stop() {
  for d in slurmd slurmctld; do
    [ -f "$dir/$d.pid" ] && kill "$(cat "$dir/$d.pid")" 2>/dev/null
  done
  sleep 1
  rm -f "$dir"/*.pid
}

if [ "$cmd" = stop ]; then stop; exit 0; fi
[ "$cmd" = start ] || { echo "usage: $0 start|stop [DIR]" >&2; exit 2; }

# Already up (an earlier test run): reuse it.
if [ -f "$conf" ] && scontrol ping 2>/dev/null | grep -q UP && sinfo -h -o %t 2>/dev/null | grep -Eq 'idle|mix|alloc'; then
  echo "SLURM_CONF=$conf"; exit 0
fi

if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null; then
  [ "$(id -u)" = 0 ] || die "slurm-wlm and munge are not installed and this is not root (apt-get install slurm-wlm munge)"
  export DEBIAN_FRONTEND=noninteractive
  { apt-get update -qq && apt-get install -y -qq --no-install-recommends slurm-wlm munge; } >/dev/null 2>&1 \
    || die "apt-get install slurm-wlm munge failed"
fi
[ "$(id -u)" = 0 ] || die "slurmd must run as root to start jobs; run the tests as root to include the SLURM ones"

# munge: the cluster's authentication. Debian's package creates the key; the daemon runs as `munge`.
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  [ -f /etc/munge/munge.key ] || { mungekey --create --keyfile=/etc/munge/munge.key && chown munge:munge /etc/munge/munge.key; } \
    || die "cannot create /etc/munge/munge.key"
  mkdir -p /run/munge /var/log/munge /var/lib/munge
  chown munge:munge /run/munge /var/log/munge /var/lib/munge
  runuser -u munge -- /usr/sbin/munged || die "munged would not start (see /var/log/munge/munged.log)"
  for _ in $(seq 50); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.1; done
  munge -n 2>/dev/null | unmunge >/dev/null 2>&1 || die "munge does not answer"
fi

stop
mkdir -p "$dir/state" "$dir/spool" "$dir/log"
node="$(hostname -s)"
cpus="$(nproc)"
mem="$(awk '/MemTotal/ { printf "%d", $2 / 1024 * 0.9 }' /proc/meminfo)"
# Processes are tracked without cgroups (containers rarely delegate them); no accounting daemon, so
# finished jobs are read from the controller (MinJobAge keeps them an hour).
cat > "$conf" <<CONF
ClusterName=orchestrator-local
SlurmctldHost=$node(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
SlurmctldPort=16917
SlurmdPort=16918
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MinJobAge=3600
KillWait=5
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF

slurmctld -f "$conf" || die "slurmctld would not start (see $dir/log/slurmctld.log)"
slurmd -f "$conf" || die "slurmd would not start (see $dir/log/slurmd.log)"
for _ in $(seq 100); do
  state="$(sinfo -h -o %t 2>/dev/null | head -1)"
  case "$state" in idle|mix|alloc) echo "SLURM_CONF=$conf"; exit 0 ;; esac
  [ "$state" = "down" ] || [ "$state" = "drain" ] && scontrol update nodename="$node" state=resume >/dev/null 2>&1
  sleep 0.2
done
die "the node did not become idle (state '${state:-none}'; see $dir/log/)"
