#!/bin/bash
# Throwaway single-node Ceph (1 mon, 1 memstore OSD, no mgr) + radosgw (S3) on loopback.
# Env: RGW_MEMSTORE_BYTES (OSD memory, default 1 GiB), CEPH_DIR (default ${TMPDIR:-/tmp}/tb-rgw, WIPED), RGW_PORT (7480), MON_PORT (6799),
# RGW_BUCKET (a bucket to create), RGW_OWNER_PID (when that process is gone,
# a watcher stops the daemons and removes CEPH_DIR: a killed test leaves nothing).
# Prints the S3 endpoint on stdout; PIDs go to $CEPH_DIR/pids. Stop with rgw-down.sh.
# Works as root (CI) and as a normal user: every daemon runs as the caller.
set -euo pipefail
D=${CEPH_DIR:-${TMPDIR:-/tmp}/tb-rgw}
PORT=${RGW_PORT:-7480}
MONPORT=${MON_PORT:-6799}
AK=TBACCESS SK=TBSECRETKEY0123456789
T0=$(date +%s.%N)
HERE=$(cd "$(dirname "$0")" && pwd)
[ -s "$D/pids" ] && { echo "rgw-up: $D/pids exists: run rgw-down.sh first" >&2; exit 1; }
for p in "$PORT" "$MONPORT"; do
  (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && { echo "rgw-up: port $p in use" >&2; exit 1; }
done
rm -rf "$D"; mkdir -p "$D"/{run,log,mon.a,osd.0,rgw}
FSID=$(cat /proc/sys/kernel/random/uuid)
cat > "$D/ceph.conf" <<CONF
[global]
fsid = $FSID
mon host = v2:127.0.0.1:$MONPORT
public addr = 127.0.0.1
ms bind ipv6 = false
auth cluster required = none
auth service required = none
auth client required = none
# radosgw sets its own built-in defaults ms_mon_client_mode=secure and
# auth_client_required=cephx. The conf overrides auth_* but not the mode, and
# auth 'none' only supports crc mode -> get_initial_auth_request -13 forever.
ms mon client mode = crc
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
mon warn on pool no redundancy = false
osd objectstore = memstore
# RAM the OSD may fill (RGW_MEMSTORE_BYTES; the benchmark raises it). A full
# OSD makes radosgw stall every write, and a deleted object's parts stay until
# radosgw's garbage collection frees them (2 h).
memstore device bytes = ${RGW_MEMSTORE_BYTES:-1073741824}
osd crush chooseleaf type = 0
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon max pg per osd = 1000
# propose map changes after 0.1 s instead of 1 s: ready in ~5 s instead of ~18 s
paxos propose interval = 0.1
# don't let the mon shut itself down on a nearly full CI disk (default 5 %)
mon data avail crit = 0
# Lean: what is measured is the S3 client, not this throwaway server. No
# in-memory debug logs (Ceph gathers level-5 entries by default), no wire
# CRCs on loopback, no op tracking: about half the daemons' CPU per upload.
debug ms = 0/0
debug osd = 0/0
debug rgw = 0/0
debug objecter = 0/0
debug rados = 0/0
debug monc = 0/0
debug auth = 0/0
debug filestore = 0/0
debug optracker = 0/0
debug asok = 0/0
debug throttle = 0/0
debug context = 0/0
ms crc data = false
ms crc header = false
osd enable op tracker = false
rgw enable ops log = false
rgw enable usage log = false
run dir = $D/run
admin socket = $D/run/\$name.asok
log file = $D/log/\$name.log
mon data = $D/mon.\$id
osd data = $D/osd.\$id
keyring = $D/keyring
[client.rgw]
rgw frontends = beast endpoint=127.0.0.1:$PORT
rgw data = $D/rgw
rgw dns name = localhost
CONF
C=(-c "$D/ceph.conf")
PIDS=$D/pids; : > "$PIDS"
start() { "$@" -f </dev/null >>"$D/log/daemons.out" 2>&1 & echo $! >> "$PIDS"; }
fail() { echo "rgw-up: $*" >&2; exit 1; }
OK=0  # on any failure: stop what was started, keep $D/log for inspection
trap '[ $OK = 1 ] || { echo "rgw-up: FAILED, logs in $D/log" >&2; CEPH_DIR=$D "$HERE/rgw-down.sh"; }' EXIT

ceph-authtool --create-keyring "$D/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
monmaptool --create --addv a "v2:127.0.0.1:$MONPORT" --fsid "$FSID" "$D/monmap" >/dev/null
ceph-mon "${C[@]}" --mkfs -i a --monmap "$D/monmap" --keyring "$D/keyring"
start ceph-mon "${C[@]}" -i a
OSDID=$(timeout 30 ceph "${C[@]}" osd create) || fail "mon did not answer"
[ "$OSDID" = 0 ] || fail "unexpected osd id $OSDID"
ceph-osd "${C[@]}" -i 0 --mkfs >>"$D/log/daemons.out" 2>&1
start ceph-osd "${C[@]}" -i 0
for i in $(seq 120); do
  ceph "${C[@]}" osd stat 2>/dev/null | grep -q ' 1 up' && break
  [ "$i" = 120 ] && fail "osd not up"; sleep 0.5
done
start radosgw "${C[@]}" -n client.rgw
RGWPID=$!
for i in $(seq 240); do
  curl -s -o /dev/null "http://127.0.0.1:$PORT/" && break
  kill -0 "$RGWPID" 2>/dev/null || fail "radosgw exited"
  [ "$i" = 240 ] && fail "radosgw not answering on $PORT"; sleep 0.25
done
radosgw-admin "${C[@]}" user create --uid=tb --display-name=tb \
  --access-key="$AK" --secret="$SK" >"$D/log/user.json" || fail "user create"
if [ -n "${RGW_BUCKET:-}" ]; then
  # libcurl signs (SigV4) but does not add the payload hash radosgw requires.
  curl -sf -o /dev/null --aws-sigv4 aws:amz:us-east-1:s3 --user "$AK:$SK" -X PUT \
    -H "x-amz-content-sha256: $(printf '' | sha256sum | cut -d' ' -f1)" \
    "http://127.0.0.1:$PORT/$RGW_BUCKET" || fail "bucket $RGW_BUCKET not created"
fi
if [ -n "${RGW_OWNER_PID:-}" ]; then
  setsid bash -c 'while kill -0 "$0" 2>/dev/null; do sleep 2; done
    [ -f "$1/pids" ] && CEPH_DIR="$1" CEPH_DIR_REMOVE=1 "$2/rgw-down.sh"' \
    "$RGW_OWNER_PID" "$D" "$HERE" </dev/null >/dev/null 2>&1 &
fi
OK=1
awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN{printf "rgw-up: ready after %.1f s\n", b-a}' >&2
echo "http://127.0.0.1:$PORT"
