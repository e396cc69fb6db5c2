#!/bin/sh
# The one prerequisites script: the Debian packages each use of this repository needs, installed
# when missing. `npm test`, `npm run demo`, `npm run bench` and `.ci/run` all call it first, so a
# missing tool is a set-up error said once, before anything runs, never a skipped test.
#
#   sh scripts/prerequisites.sh lab      the lab: sshd, nginx, util-linux, curl, wget, sudo and openssl
#                                        (the `deploy` login of `lab up --sudo-login`), haproxy and socat
#                                        (`lab up --scenario ecsc --balancer`) (demo, `cutover lab up`)
#   sh scripts/prerequisites.sh test     the lab + Chromium and a font (browser tests), tmux (terminal
#                                        view), GNU time (benchmark helpers), dash, zsh and fish (shell
#                                        completion tested in each), PostgreSQL (the shared state's tests
#                                        start their own server with initdb/pg_ctl), inotify-tools (wait.file)
#   sh scripts/prerequisites.sh bench    the lab + ansible-core, hyperfine, GNU time
#
# Several profiles may be named at once. As root it installs what is missing (apt-get); otherwise
# it prints the one `apt-get install` line to run and fails. Idempotent: with everything there it
# checks a few files and returns (about 10 ms).
#
# The lab starts its own sshd and nginx inside each host, on the host's address only; a system nginx
# or sshd listening on every address (0.0.0.0) would take those ports, so a system nginx this script
# installs is stopped and disabled, and a wildcard listener is reported.
set -eu

# Each requirement: "PACKAGE PATH" - the package is missing when PATH is not there.
lab_requirements='
openssh-server /usr/sbin/sshd
openssh-client /usr/bin/ssh
openssh-client /usr/bin/ssh-keygen
nginx /usr/sbin/nginx
curl /usr/bin/curl
wget /usr/bin/wget
util-linux /usr/bin/unshare
util-linux /usr/bin/flock
util-linux /usr/bin/setsid
util-linux /usr/bin/nsenter
iproute2 /usr/bin/ss
sudo /usr/bin/sudo
openssl /usr/bin/openssl
haproxy /usr/sbin/haproxy
socat /usr/bin/socat
'
test_requirements='
chromium /usr/bin/chromium
fonts-dejavu-core /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf
tmux /usr/bin/tmux
time /usr/bin/time
dash /bin/dash
zsh /usr/bin/zsh
fish /usr/bin/fish
postgresql /usr/lib/postgresql/15/bin/initdb
inotify-tools /usr/bin/inotifywait
'
bench_requirements='
ansible-core /usr/bin/ansible-playbook
hyperfine /usr/bin/hyperfine
time /usr/bin/time
'

[ $# -gt 0 ] || set -- lab
requirements=''
for profile in "$@"; do
  case $profile in
  lab) requirements="$requirements$lab_requirements" ;;
  test) requirements="$requirements$lab_requirements$test_requirements" ;;
  bench) requirements="$requirements$lab_requirements$bench_requirements" ;;
  *)
    echo "prerequisites: unknown profile \"$profile\" (expected lab, test or bench)" >&2
    exit 2
    ;;
  esac
done

missing=''
# Paths come from the lists above: no spaces, so word splitting is what we want.
# shellcheck disable=SC2086
set -f
set -- $requirements
set +f
while [ $# -ge 2 ]; do
  pkg=$1 file=$2
  shift 2
  [ -e "$file" ] && continue
  case " $missing " in *" $pkg "*) ;; *) missing="${missing:+$missing }$pkg" ;; esac
done

if [ -n "$missing" ]; then
  line="apt-get install -y --no-install-recommends $missing"
  if [ "$(id -u)" != 0 ]; then
    echo "prerequisites: missing Debian packages: $missing" >&2
    echo "  Install them once as root, then run this again:" >&2
    echo "    sudo apt-get update && sudo $line" >&2
    exit 1
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "prerequisites: missing packages: $missing, and this is not a Debian/Ubuntu system (no apt-get); install them with your package manager." >&2
    exit 1
  fi
  echo "prerequisites: installing $missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2086 # one word per package
  if ! apt-get install -y -qq --no-install-recommends $missing >/tmp/cutover-prerequisites.log 2>&1; then
    tail -n 20 /tmp/cutover-prerequisites.log >&2
    echo "prerequisites: apt-get could not install: $missing (log: /tmp/cutover-prerequisites.log). Run: $line" >&2
    exit 1
  fi
  case " $missing " in
  *" nginx "*)
    # The package starts nginx on *:80 where systemd runs; the lab never uses the system one.
    if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet nginx 2>/dev/null; then
      systemctl disable --now nginx || true
      echo "prerequisites: stopped and disabled the system nginx (lab hosts run their own)."
    elif [ -f /run/nginx.pid ]; then
      nginx -s quit 2>/dev/null || true
    fi
    ;;
  esac
  case " $missing " in
  *" haproxy "*)
    # Same for HAProxy: the lab's balancer host runs its own.
    if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet haproxy 2>/dev/null; then
      systemctl disable --now haproxy || true
    fi
    ;;
  esac
  echo "prerequisites: installed $missing"
fi

for port in 22 80; do
  if ss -Hltn "sport = :$port" 2>/dev/null | awk '{print $4}' | grep -Eq '^(0\.0\.0\.0|\*|\[::\]):'; then
    echo "prerequisites: warning: something listens on every address at port $port; lab hosts (127.0.x.y:$port) cannot bind it." >&2
    echo "  Make it listen on specific addresses (sshd: ListenAddress) or stop it while you use the lab." >&2
  fi
done
exit 0
