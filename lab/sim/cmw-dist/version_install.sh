#!/bin/bash
# Comindware Business Application Platform @VERSION@: installs this version on the node it runs on,
# under /var/www/.cmw_version/@VERSION@ (instances switch to it with instance_upgrade.sh).
# Usage: cd CMW_deb_@VERSION@/scripts && bash version_install.sh
set -euo pipefail

VERSION='@VERSION@'
SCRIPTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PAYLOAD="$SCRIPTS_DIR/../platform"
VERSIONS_DIR=/var/www/.cmw_version
TARGET="$VERSIONS_DIR/$VERSION"

if [ "$(id -u)" -ne 0 ]; then
  echo "version_install.sh: run it as root" >&2
  exit 1
fi
if [ ! -f "$PAYLOAD/VERSION" ]; then
  echo "version_install.sh: the platform files are missing in $PAYLOAD: unpack the whole archive 5.0-cbap-$VERSION.deb.tar.gz again" >&2
  exit 1
fi
if [ -f "$TARGET/VERSION" ] && [ "$(cat "$TARGET/VERSION")" = "$VERSION" ]; then
  echo "Version $VERSION is already installed in $TARGET"
  exit 0
fi

echo "Installing Comindware Business Application Platform $VERSION into $TARGET"
mkdir -p "$VERSIONS_DIR"
staging="$VERSIONS_DIR/.installing-$VERSION.$$"
rm -rf "$staging"
cp -R "$PAYLOAD" "$staging"
rm -rf "$TARGET"
mv "$staging" "$TARGET"
echo "Version $VERSION installed."
