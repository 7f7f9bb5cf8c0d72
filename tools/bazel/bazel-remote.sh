#!/usr/bin/env bash
# tools/bazel/bazel-remote.sh build
#     Builds bazel-remote (a remote cache, from the Go module proxy) once into
#     $MODHASHES_BAZEL_HOME/bazel-remote and prints its path.
# tools/bazel/bazel-remote.sh start DIR
#     Starts it on 127.0.0.1 with its cache in DIR, waits until it listens and
#     prints "PID GRPC_PORT". The caller stops it by PID.
set -euo pipefail
BAZEL_REMOTE_VERSION=v1.3.3
home=${MODHASHES_BAZEL_HOME:-/var/tmp/modhashes-bazel}
bin=$home/bazel-remote/bazel-remote-$BAZEL_REMOTE_VERSION

case ${1:-} in
build)
	if [ ! -x "$bin" ]; then
		tmp=$(mktemp -d)
		trap 'rm -rf "$tmp"' EXIT
		src=$(cd "$tmp" && go mod download -json "github.com/buchgr/bazel-remote@$BAZEL_REMOTE_VERSION" |
			sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
		mkdir -p "$(dirname "$bin")"
		(cd "$src" && GOFLAGS=-mod=mod go build -o "$bin.tmp" .)
		mv "$bin.tmp" "$bin"
	fi
	echo "$bin"
	;;
start)
	dir=${2:?usage: bazel-remote.sh start DIR}
	[ -x "$bin" ] || "$0" build >/dev/null
	free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
	grpc=$(free_port)
	http=$(free_port)
	mkdir -p "$dir"
	"$bin" --host 127.0.0.1 --port "$http" --grpc_port "$grpc" --dir "$dir" --max_size 8 \
		>"$dir.log" 2>&1 </dev/null &
	pid=$!
	for _ in $(seq 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$grpc") 2>/dev/null && { echo "$pid $grpc"; exit 0; }
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.2
	done
	cat "$dir.log" >&2
	echo "bazel-remote did not start" >&2
	exit 1
	;;
*)
	echo "usage: bazel-remote.sh build | start DIR" >&2
	exit 2
	;;
esac
