#!/bin/sh
# Installs the xfer binary for this machine: downloads it and SHA256SUMS, verifies the checksum,
# and refuses to install anything that does not match.
#
#   curl -fsSL <base>/install.sh | sh
#   XFER_INSTALL_BASE=<url of a release's files>  XFER_INSTALL_DIR=<dir, default ~/.local/bin>
set -eu

BASE="${XFER_INSTALL_BASE:-https://github.com/xfer-dev/xfer/releases/latest/download}"
DIR="${XFER_INSTALL_DIR:-$HOME/.local/bin}"

fail() { echo "xfer install: $*" >&2; exit 1; }

case "$(uname -s)" in
  Linux) os=linux ;;
  Darwin) os=darwin ;;
  *) fail "unsupported OS $(uname -s) (on Windows use install.ps1)" ;;
esac
case "$(uname -m)" in
  x86_64 | amd64) cpu=x64 ;;
  aarch64 | arm64) cpu=arm64 ;;
  *) fail "unsupported CPU $(uname -m)" ;;
esac
name="xfer-$os-$cpu"

if command -v curl >/dev/null 2>&1; then fetch() { curl -fsSL "$1" -o "$2"; }
elif command -v wget >/dev/null 2>&1; then fetch() { wget -q "$1" -O "$2"; }
else fail "needs curl or wget"; fi

if command -v sha256sum >/dev/null 2>&1; then sha() { sha256sum "$1" | cut -d' ' -f1; }
elif command -v shasum >/dev/null 2>&1; then sha() { shasum -a 256 "$1" | cut -d' ' -f1; }
else fail "needs sha256sum or shasum to verify the download"; fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT INT TERM
echo "downloading $name from $BASE"
fetch "$BASE/SHA256SUMS" "$tmp/SHA256SUMS" || fail "cannot download $BASE/SHA256SUMS"
fetch "$BASE/$name" "$tmp/$name" || fail "cannot download $BASE/$name"

expected="$(awk -v n="$name" '$2 == n { print $1 }' "$tmp/SHA256SUMS")"
[ -n "$expected" ] || fail "SHA256SUMS has no entry for $name"
actual="$(sha "$tmp/$name")"
[ "$actual" = "$expected" ] || fail "checksum mismatch for $name (expected $expected, got $actual): not installed"

mkdir -p "$DIR"
chmod 755 "$tmp/$name"
mv "$tmp/$name" "$DIR/xfer"
echo "installed $DIR/xfer ($("$DIR/xfer" --version 2>/dev/null || echo "version unknown"))"
case ":$PATH:" in *":$DIR:"*) ;; *) echo "note: $DIR is not on your PATH" ;; esac
