#!/bin/sh
# Runs a command under Node >= 22. Where the node on PATH is older (Debian 12 ships Node 20, past end
# of life), fetch Node 24 LTS from the npm registry's `node-<os>-<arch>` package into a cache outside
# the repo and put it first on PATH, so npm, our scripts and every tool they start run on it.
set -eu

NODE_VERSION=24.21.0
cache_root=${MYTAEK1_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/mytaek1}

current_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$current_major" -lt 22 ]; then
  case "$(uname -s)" in Linux) os=linux ;; Darwin) os=darwin ;; *) echo "node24: unsupported OS $(uname -s)" >&2; exit 1 ;; esac
  case "$(uname -m)" in x86_64|amd64) arch=x64 ;; aarch64|arm64) arch=arm64 ;; *) echo "node24: unsupported CPU $(uname -m)" >&2; exit 1 ;; esac
  dir="$cache_root/node/$NODE_VERSION-$os-$arch"
  if [ ! -x "$dir/bin/node" ]; then
    echo "node24: node $(node -v 2>/dev/null || echo none) is too old; fetching Node $NODE_VERSION from the npm registry into $dir ..." >&2
    mkdir -p "$cache_root/node"
    tmp=$(mktemp -d "$cache_root/node/.fetch.XXXXXX")
    trap 'rm -rf "$tmp"' EXIT
    (cd "$tmp" && npm pack --silent "node-$os-$arch@$NODE_VERSION" >/dev/null && tar -xzf ./*.tgz)
    chmod +x "$tmp/package/bin/node"
    "$tmp/package/bin/node" -v >/dev/null
    # Rename into place so a half-extracted download never looks complete to a concurrent run.
    mv "$tmp/package" "$dir.partial.$$" && mv -T "$dir.partial.$$" "$dir" 2>/dev/null || rm -rf "$dir.partial.$$"
    echo "node24: ready ($("$dir/bin/node" -v))" >&2
  fi
  PATH="$dir/bin:$PATH"
  export PATH
fi
exec "$@"
