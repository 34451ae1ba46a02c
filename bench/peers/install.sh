#!/usr/bin/env bash
# Installs the peer daemons that tests and benchmarks compare with or forward to, from Debian,
# without letting any of them start as a service or touch /dev/log:
#   - their libraries with apt-get (plain libraries, nothing starts);
#   - the daemons themselves unpacked with `apt-get download` + `dpkg -x` into .peers/<name>/
#     below the checkout (rsyslog and syslog-ng-core conflict as packages; unpacked they coexist).
# systemd-journald comes from the systemd package, already on Debian hosts.
#
# usage: bench/peers/install.sh [rsyslog] [syslog-ng] [journald]   (default: all)
# Prints, per peer, the path of its daemon binary. Idempotent.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
peers="$root/.peers"
want=("$@")
[ "${#want[@]}" -gt 0 ] || want=(rsyslog syslog-ng journald)
export DEBIAN_FRONTEND=noninteractive

updated=0
apt_install() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  if [ "$updated" -eq 0 ]; then apt-get update -q >&2; updated=1; fi
  apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
}

unpack() { # unpack NAME PACKAGE...
  local name=$1
  shift
  local dest="$peers/$name"
  [ -f "$dest/.done" ] && return 0
  rm -rf "$dest" && mkdir -p "$dest/debs"
  if [ "$updated" -eq 0 ]; then apt-get update -q >&2; updated=1; fi
  (cd "$dest/debs" && apt-get download "$@" >&2)
  for deb in "$dest"/debs/*.deb; do dpkg -x "$deb" "$dest"; done
  touch "$dest/.done"
}

for peer in "${want[@]}"; do
  case "$peer" in
    rsyslog)
      apt_install libestr0 libfastjson4 liblognorm5 libsystemd0 libuuid1 libzstd1 zlib1g libssl3 openssl
      unpack rsyslog rsyslog rsyslog-openssl
      echo "rsyslog $peers/rsyslog/usr/sbin/rsyslogd"
      ;;
    syslog-ng)
      apt_install libivykis0 libjson-c5 libnet1 libglib2.0-0 libpcre3 libssl3 libcap2 libwrap0 libsystemd0
      unpack syslog-ng syslog-ng-core
      echo "syslog-ng $peers/syslog-ng/usr/sbin/syslog-ng"
      ;;
    journald)
      apt_install systemd
      echo "journald /lib/systemd/systemd-journald"
      ;;
    *)
      echo "unknown peer '$peer' (rsyslog, syslog-ng, journald)" >&2
      exit 2
      ;;
  esac
done
