#!/bin/bash
# Comindware Business Application Platform @VERSION@: switches an instance to an installed version,
# migrates its database and starts its services.
# Usage: bash instance_upgrade.sh -n=<instanceName> -vp=/var/www/.cmw_version/<version>
#
# The instance's version is recorded in /var/lib/comindware/<instance>/version and the database's in
# <db.workDir>/schema.version, so a backup of /var/lib/comindware/<instance> plus the instance config
# restores the previous version (its files stay installed under /var/www/.cmw_version).
set -euo pipefail

usage() {
  echo "usage: instance_upgrade.sh -n=<instanceName> -vp=<versionPath, e.g. /var/www/.cmw_version/@VERSION@>" >&2
  exit 2
}

name=''
version_path=''
for arg in "$@"; do
  case "$arg" in
    -n=* | --name=*) name="${arg#*=}" ;;
    -vp=* | --versionPath=*) version_path="${arg#*=}" ;;
    -h | --help) usage ;;
    *)
      echo "instance_upgrade.sh: unknown argument: $arg" >&2
      usage
      ;;
  esac
done
[ -n "$name" ] && [ -n "$version_path" ] || usage

config="/usr/share/comindware/configs/instance/$name.yml"
data="/var/lib/comindware/$name"
version_path="${version_path%/}"
if [ ! -f "$config" ]; then
  echo "instance_upgrade.sh: there is no instance $name on this node ($config not found); see instance_list.sh" >&2
  exit 1
fi
if [ ! -f "$version_path/VERSION" ]; then
  echo "instance_upgrade.sh: no version is installed in $version_path: run version_install.sh of that version first" >&2
  exit 1
fi
new=$(cat "$version_path/VERSION")
if [ "$version_path" != "/var/www/.cmw_version/$new" ]; then
  echo "instance_upgrade.sh: $version_path holds version $new, which version_install.sh installs in /var/www/.cmw_version/$new: use that path" >&2
  exit 1
fi
old=$(cat "$data/version" 2>/dev/null || echo none)
if [ "$old" != none ] && [ "$(printf '%s\n%s\n' "$old" "$new" | sort -V | tail -n 1)" != "$new" ]; then
  echo "instance_upgrade.sh: instance $name is at $old, newer than $new; downgrades are not supported: restore the backup of $data and $config instead" >&2
  exit 1
fi

# Value of a flat `key: value` directive of the instance config (quotes and trailing comment removed).
directive() {
  local key_pattern
  key_pattern=$(printf '%s' "$1" | sed 's/\./\\./g')
  sed -n "s/^${key_pattern}:[[:space:]]*//p" "$config" | head -n 1 |
    sed -e 's/[[:space:]][[:space:]]*#.*$//' -e 's/[[:space:]]*$//' -e "s/^[\"']//" -e "s/[\"']\$//"
}

workdir=$(directive db.workDir)
if [ -z "$workdir" ]; then
  echo "instance_upgrade.sh: db.workDir is not set in $config" >&2
  exit 1
fi

echo "Upgrading instance $name: $old -> $new"
for unit in "apigateway$name" "comindware$name" "adapterhost$name"; do
  if systemctl is-active "$unit" >/dev/null 2>&1; then
    echo "Stopping $unit"
    systemctl stop "$unit"
  fi
done

echo "Migrating database $workdir to $new"
mkdir -p "$workdir"
echo "$new" >"$workdir/schema.version"
echo "$new" >"$data/version"

hold_lock=$(directive db.holdLock)
if [ "${hold_lock,,}" = true ]; then
  touch "$workdir/hold.lock"
  echo "db.holdLock is true: created $workdir/hold.lock; the platform will not load until it is removed"
fi
cluster_activation=$(directive db.waitForClusterActivation)
activation_file=$(directive db.waitForFileActivation)
if [ "${cluster_activation,,}" = true ] && [ -n "$activation_file" ]; then
  rm -f "$activation_file"
  echo "db.waitForClusterActivation is true: the platform will wait until $activation_file exists"
fi

echo "Starting apigateway$name comindware$name adapterhost$name"
systemctl start "apigateway$name" "comindware$name" "adapterhost$name"
echo "Instance $name upgraded to $new."
