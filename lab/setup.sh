#!/bin/sh
# Installs the Debian packages the cutover lab needs: openssh-server (each lab host runs its own
# sshd), openssh-client, nginx (scenario hosts proxy through it), util-linux (unshare, flock,
# setsid), curl and wget. Run as root: `sudo sh lab/setup.sh`. Idempotent: says so and does nothing when all
# are there. The lab starts its own sshd and nginx inside each host, on the host's address only;
# a system nginx or sshd listening on every address (0.0.0.0) would take those ports, so a
# system nginx this script installs is stopped and disabled, and a wildcard listener is reported.
set -eu

missing=''
[ -x /usr/sbin/sshd ] || missing="$missing openssh-server"
[ -x /usr/bin/ssh ] && [ -x /usr/bin/ssh-keygen ] || missing="$missing openssh-client"
[ -x /usr/sbin/nginx ] || missing="$missing nginx"
# Lab hosts share the controller's /usr: file.download runs curl on them; the seed's command is wget.
[ -x /usr/bin/curl ] || missing="$missing curl"
[ -x /usr/bin/wget ] || missing="$missing wget"
for tool in unshare flock setsid nsenter; do
  command -v "$tool" >/dev/null 2>&1 || {
    missing="$missing util-linux"
    break
  }
done

if [ -z "$missing" ]; then
  echo "lab/setup.sh: openssh-server, openssh-client, nginx, util-linux, curl and wget are installed; nothing to install."
else
  if [ "$(id -u)" != 0 ]; then
    echo "lab/setup.sh: missing Debian packages:$missing. Run as root: sudo sh lab/setup.sh" >&2
    exit 1
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "lab/setup.sh: missing packages:$missing, and this is not a Debian/Ubuntu system (no apt-get); install them with your package manager." >&2
    exit 1
  fi
  echo "lab/setup.sh: installing:$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2086 # one word per package
  apt-get install -y -qq --no-install-recommends $missing
  case $missing in
  *nginx*)
    # The package starts nginx on *:80 where systemd runs; the lab never uses the system one.
    if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet nginx 2>/dev/null; then
      systemctl disable --now nginx || true
      echo "lab/setup.sh: stopped and disabled the system nginx (lab hosts run their own)."
    elif [ -f /run/nginx.pid ]; then
      nginx -s quit 2>/dev/null || true
    fi
    ;;
  esac
fi

if command -v ss >/dev/null 2>&1; then
  for port in 22 80; do
    if ss -Hltn "sport = :$port" 2>/dev/null | awk '{print $4}' | grep -Eq '^(0\.0\.0\.0|\*|\[::\]):'; then
      echo "lab/setup.sh: warning: something listens on every address at port $port; lab hosts (127.0.10.x:$port) cannot bind it." >&2
      echo "  Make it listen on specific addresses (sshd: ListenAddress) or stop it while you use the lab." >&2
    fi
  done
fi
echo "lab/setup.sh: ready. Try: sudo cutover lab up --scenario comindware"
