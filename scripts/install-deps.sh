#!/usr/bin/env bash
# Installs the Debian packages that the build, the tests and `make run` need,
# only when one is missing (a second run costs a dpkg query, not an apt run).
set -euo pipefail

packages=(
  cmake ninja-build g++ pkg-config make
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libpq-dev libssl-dev libcurl4-openssl-dev libzstd-dev zlib1g-dev libdeflate-dev
  libspdlog-dev libfmt-dev libcli11-dev libgtest-dev libgmock-dev libbenchmark-dev
  postgresql-15 postgresql-client-15
  python3-aiosmtpd python3-jwt python3-cryptography
  libpugixml-dev
  # Fleet runs: each tenant's tar archive is written as ustar, the format pg_restore reads.
  libarchive-dev
  # S3 tests: a real radosgw on a throwaway Ceph cluster, boto3 as the independent client.
  ceph-mon ceph-osd radosgw ceph-common python3-boto3
  zstd gzip curl ca-certificates
  # age: the reference tool our age files are tested against, both ways.
  age
  clang-format clang-tidy
)
if [[ "${TB_WITH_BROWSER:-1}" == 1 ]]; then packages+=(chromium nodejs npm); fi
if [[ "${TB_WITH_BENCH:-0}" == 1 ]]; then packages+=(wrk); fi
if [[ "${TB_WITH_FUZZ:-0}" == 1 ]]; then packages+=(clang-14 libclang-rt-14-dev); fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
# node and npm may come from outside Debian on some machines: accept any working one.
if command -v node >/dev/null && command -v npm >/dev/null; then
  filtered=()
  for p in "${missing[@]}"; do [[ "$p" == nodejs || "$p" == npm ]] || filtered+=("$p"); done
  missing=("${filtered[@]}")
fi
if ((${#missing[@]} == 0)); then exit 0; fi

if [[ $(id -u) != 0 ]]; then
  echo "missing packages: ${missing[*]}; run as root or install them" >&2
  exit 1
fi
echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# --no-install-recommends keeps libboost-dev (1.74, conflicts with 1.81) out.
apt-get install -y -q --no-install-recommends "${missing[@]}"
