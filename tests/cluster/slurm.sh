#!/usr/bin/env bash
# The tiny end-to-end DAG (tests/e2e.yaml) through `snakemake --profile profiles/slurm` on a real
# one-node SLURM cluster on this machine: Debian's slurmctld, slurmd, slurmdbd (accounting, in a
# MariaDB server) and munge, started by hand with their own config, key, database, sockets and
# ports under a temporary folder, and always stopped by PID at exit. Checks that
#   - every job but `all` (which runs nothing) went through sbatch, and all of them COMPLETED
#     (sacct's job list, printed, and squeue -t all agree), GPU rules on the gpu partition with
#     a GPU (two fake GPUs: gres on /dev/null and /dev/zero; the jobs compute on the CPU);
#   - a job cancelled with scancel while it runs is retried (--retries 1 in the profile) and the
#     workflow still finishes;
#   - the metrics equal those of a local run of the same config (same seeds, same threads).
#
# Usage, as root on Debian 12, from anywhere:  bash tests/cluster/slurm.sh [LOCAL_RESULTS]
#   LOCAL_RESULTS: results/e2e of a finished local run of config/config.yaml + tests/e2e.yaml,
#   to compare with instead of running one here. KEEP=1 keeps the temporary folder.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PYTHONUNBUFFERED=1 MPLBACKEND=Agg
start=$SECONDS
configs=(config/config.yaml tests/e2e.yaml tests/cluster/gpu.yaml)

echo "== install: slurm, slurmdbd, MariaDB and munge (apt), the slurm extra (pip)"
for cmd in slurmctld slurmd slurmdbd sbatch sacct munged mariadbd mariadb-install-db; do
  if ! command -v "$cmd" >/dev/null; then
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      slurm-wlm slurmctld slurmd slurmdbd slurm-client munge mariadb-server
    break
  fi
done
if ! python3 -c "import snakemake_executor_plugin_slurm" 2>/dev/null; then
  python3 -m pip install -q -r envs/requirements.lock
  python3 -m pip install -q --no-deps -e .
fi
python3 -m pip show snakemake-executor-plugin-slurm | grep -E "^(Name|Version)"
slurmctld -V

work=$(mktemp -d /tmp/emibench-slurm.XXXXXX)
chmod 755 "$work"
node=$(hostname -s)
export SLURM_CONF=$work/etc/slurm.conf
pids=()
smk_pid=""

stop_pid() {
  kill "$1" 2>/dev/null || return 0
  for _ in $(seq 40); do
    kill -0 "$1" 2>/dev/null || break
    sleep 0.25
  done
  kill -KILL "$1" 2>/dev/null
  wait "$1" 2>/dev/null
}

teardown() {
  local rc=$?
  set +e
  [ -n "$smk_pid" ] && stop_pid "$smk_pid"
  if [ -n "${ctld_pid:-}" ] && kill -0 "$ctld_pid" 2>/dev/null; then
    scancel --full --user "$(id -u)" 2>/dev/null
    for _ in $(seq 60); do
      [ -z "$(squeue -h -t RUNNING,PENDING,COMPLETING 2>/dev/null)" ] && break
      sleep 0.5
    done
  fi
  # slurmd first (it would re-register), then the controller, slurmdbd, MariaDB, munged.
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do stop_pid "${pids[i]}"; done
  if [ "$rc" -ne 0 ]; then
    echo "FAILED (exit $rc); logs kept in $work" >&2
    tail -n 20 "$work"/log/*.log "$work/cluster.log" 2>/dev/null | tail -n 60 >&2
  elif [ "${KEEP:-0}" = 1 ]; then
    echo "kept $work"
  else
    rm -rf "$work"
  fi
  exit "$rc"
}
trap teardown EXIT
trap 'exit 130' INT TERM

copy_tree() {
  mkdir -p "$1"
  git -C "$repo" ls-files -z -co --exclude-standard |
    tar -C "$repo" --null -T - -cf - | tar -C "$1" -xf -
}

echo "== cluster: munged, MariaDB, slurmdbd, slurmctld, slurmd on $node ($work)"
mkdir -p "$work"/{munge,etc,state,spool/"$node",log,db}
chown munge:munge "$work/munge"
setpriv --reuid=munge --regid=munge --init-groups mungekey --create --keyfile="$work/munge/munge.key"
setpriv --reuid=munge --regid=munge --init-groups munged -F \
  --socket="$work/munge/socket" --key-file="$work/munge/munge.key" \
  --log-file="$work/log/munged.log" --pid-file="$work/munge/munged.pid" \
  --seed-file="$work/munge/seed" >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -S "$work/munge/socket" ] && break; sleep 0.1; done
[ -S "$work/munge/socket" ] || { echo "munged did not start" >&2; exit 1; }

read -r ctld_port slurmd_port dbd_port db_port < <(python3 -c '
import socket
socks = [socket.socket() for _ in range(4)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))')

mariadb-install-db --no-defaults --datadir="$work/db" --user=root --skip-test-db \
  >"$work/log/mariadb-install.log" 2>&1
mariadbd --no-defaults --datadir="$work/db" --user=root --bind-address=127.0.0.1 \
  --port="$db_port" --socket="$work/mariadb.sock" --pid-file="$work/mariadb.pid" \
  --log-error="$work/log/mariadb.log" --innodb-buffer-pool-size=64M &
pids+=($!)
for _ in $(seq 150); do [ -S "$work/mariadb.sock" ] && break; sleep 0.2; done
[ -S "$work/mariadb.sock" ] || { echo "MariaDB did not start" >&2; exit 1; }
mariadb --no-defaults --socket="$work/mariadb.sock" -u root -e "
  CREATE USER 'slurm'@'127.0.0.1' IDENTIFIED BY 'emibench';
  GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';"
# slurmdbd reads slurmdbd.conf beside $SLURM_CONF; it must be private to SlurmUser.
cat >"$work/etc/slurmdbd.conf" <<EOF
AuthType=auth/munge
AuthInfo=socket=$work/munge/socket
DbdHost=$node
DbdAddr=127.0.0.1
DbdPort=$dbd_port
SlurmUser=root
LogFile=$work/log/slurmdbd.log
PidFile=$work/state/slurmdbd.pid
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$db_port
StorageUser=slurm
StoragePass=emibench
StorageLoc=slurm_acct_db
EOF
chmod 600 "$work/etc/slurmdbd.conf"

# AccountingStoragePass names the munge socket for slurmdbd connections (slurm.conf(5)).
cat >"$SLURM_CONF" <<EOF
ClusterName=emibench
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$work/munge/socket
CredType=cred/munge
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool/%n
SlurmctldPidFile=$work/state/slurmctld.pid
SlurmdPidFile=$work/spool/slurmd.pid
SlurmctldLogFile=$work/log/slurmctld.log
SlurmdLogFile=$work/log/slurmd.log
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
DefMemPerCPU=1000
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=127.0.0.1
AccountingStoragePort=$dbd_port
AccountingStoragePass=$work/munge/socket
AccountingStorageTRES=gres/gpu
AccountingStoreFlags=job_comment
MpiDefault=none
ReturnToService=2
MinJobAge=3600
KillWait=5
GresTypes=gpu
$(slurmd -C | head -n 1) NodeAddr=127.0.0.1 Gres=gpu:2 State=UNKNOWN
PartitionName=cpu Nodes=$node Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes=$node MaxTime=INFINITE State=UP
EOF
printf 'NodeName=%s Name=gpu File=%s\n' "$node" /dev/null "$node" /dev/zero >"$work/etc/gres.conf"
slurmdbd -D >"$work/log/slurmdbd.out" 2>&1 &
pids+=($!)
for _ in $(seq 150); do timeout 5 sacctmgr -n list cluster >/dev/null 2>&1 && break; sleep 0.2; done
sacctmgr -i add cluster emibench >/dev/null
slurmctld -D -f "$SLURM_CONF" >"$work/log/slurmctld.out" 2>&1 &
ctld_pid=$!
pids+=("$ctld_pid")
slurmd -D -f "$SLURM_CONF" >"$work/log/slurmd.out" 2>&1 &
pids+=($!)
for _ in $(seq 120); do
  [ "$(timeout 5 sinfo -h -N -o %t 2>/dev/null | sort -u)" = idle ] && break
  kill -0 "${pids[@]}" || { echo "a daemon died" >&2; exit 1; }
  sleep 0.5
done
sinfo -N -o "%N %P %t %c %m %G"
[ "$(sinfo -h -N -o %t | sort -u)" = idle ] || { echo "node not idle" >&2; exit 1; }

# The jobstep plugin runs each job under `srun` with every SLURM_* variable but the job's id
# removed, SLURM_CONF too; a real cluster's clients read /etc/slurm, this one's need the variable.
mkdir -p "$work/bin"
printf '#!/bin/sh\nSLURM_CONF=%s exec %s "$@"\n' "$SLURM_CONF" "$(command -v srun)" >"$work/bin/srun"
chmod +x "$work/bin/srun"

echo "== local reference run"
if [ $# -ge 1 ]; then
  local_results=$(cd "$1" && pwd)
  echo "reusing $local_results"
else
  copy_tree "$work/local"
  t0=$SECONDS
  (cd "$work/local" && snakemake --cores 2 all --configfile "${configs[@]}") \
    >"$work/local.log" 2>&1 || { tail -n 40 "$work/local.log"; exit 1; }
  echo "local run: $((SECONDS - t0)) s"
  local_results=$work/local/results/e2e
fi

echo "== cluster run: snakemake --profile profiles/slurm"
copy_tree "$work/cluster"
cd "$work/cluster"
expected=$(snakemake -n --quiet rules all --configfile "${configs[@]}" 2>/dev/null |
  awk '$1 == "total" {n = $2 - 1} END {print n}')
t0=$SECONDS
PATH=$work/bin:$PATH snakemake --profile profiles/slurm all --configfile "${configs[@]}" \
  --cores 2 --slurm-init-seconds-before-status-checks 2 >"$work/cluster.log" 2>&1 &
smk_pid=$!

# Cancel Stage I (the joint objective, seed 0) once its command is running; the profile's retries rerun it.
victim=""
stage1_log=results/e2e/logs/stage1/joint_0.log  # Stage I seed 0
while kill -0 "$smk_pid" 2>/dev/null; do
  if [ -s "$stage1_log" ]; then
    victim=$(squeue -h -t RUNNING -o "%i %k" | awk '$2 ~ /^rule_stage1_wildcards_joint/ {print $1}')
    if [ -n "$victim" ]; then
      scancel "$victim"
      echo "scancel $victim (stage1 joint, running for $((SECONDS - t0)) s into the workflow)"
      break
    fi
  fi
  sleep 1
done
rc=0
wait "$smk_pid" || rc=$?
smk_pid=""
echo "cluster run: $((SECONDS - t0)) s, exit $rc"
if [ "$rc" -ne 0 ]; then tail -n 60 "$work/cluster.log"; exit 1; fi
[ -n "$victim" ] || { echo "no running stage1 job was found to cancel" >&2; exit 1; }

echo "== slurm's accounting (sacct), checked against squeue -t all and Snakemake's log"
squeue -h -t all -O "JobID:|,State:" | tr -d ' ' | sort -t'|' -k1,1n >"$work/squeue.txt"
# slurmctld sends finished jobs to slurmdbd asynchronously: wait until sacct has them all.
for _ in $(seq 60); do
  sacct -X -a -n -P -S 2020-01-01 -o "JobID,Partition,State,Elapsed,NCPUS,ReqMem,AllocTRES,Comment" |
    sort -t'|' -k1,1n >"$work/sacct.txt"
  [ "$(wc -l <"$work/sacct.txt")" -ge "$(wc -l <"$work/squeue.txt")" ] &&
    ! grep -qE '\|(RUNNING|PENDING|COMPLETING)\|' "$work/sacct.txt" && break
  sleep 1
done
python3 "$repo/tests/cluster/check_jobs.py" --sacct "$work/sacct.txt" \
  --squeue "$work/squeue.txt" --log "$work/cluster.log" --expected "$expected" \
  --cancelled "$victim"

echo "== metrics: local vs cluster"
python3 "$repo/tests/cluster/compare_results.py" "$local_results" results/e2e
echo "== cluster test passed in $((SECONDS - start)) s"
