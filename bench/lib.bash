# bench/lib.bash: what bench/run and bench/profile share: a scratch
# directory removed on exit, the build, and starting and stopping servers
# on free loopback ports. Source it; it runs nothing but the setup below.
#
# Every process started here is killed when the script exits, however it
# exits (the EXIT trap), and every port is asked of the kernel (port 0), so
# that two runs, or a run and the test suite, never collide.

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
REV=${REV:-}
tmp=$(mktemp -d /tmp/rcache-bench.XXXXXX)
OUT=${OUT:-$tmp/out}
mkdir -p "$OUT"
bin=$tmp/bin
pids=()
declare -A pid_of port_of

cleanup() {
	local p
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${pids[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	pids=()
	if [[ $OUT == "$tmp"/* ]] && [[ -n $(ls -A "$OUT" 2>/dev/null) ]]; then
		rm -rf "$bin" "$tmp/src" "$tmp/pprof.go" "$tmp/overlay.json" # keep the results
	else
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

log() { printf '%s  %s\n' "$(date +%T)" "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}

# need_servers makes sure redis-benchmark and redis-server are installed.
need_servers() {
	command -v redis-benchmark >/dev/null || die "redis-benchmark not found (apt-get install redis-tools)"
	command -v redis-server >/dev/null && return 0
	log "installing redis-server"
	# Debian's package also starts a service on 6379; nothing here uses it.
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null ||
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; } ||
		die "could not install redis-server"
}

# build [pprof]: build $bin/rcache (from the working tree, or from git
# revision $REV) and $bin/loadgen. With "pprof", rcache is built with one
# more file, through go build -overlay so that the tree is not touched,
# that serves net/http/pprof on $RCACHE_PPROF when that is set.
build() {
	local src=$root flags=()
	mkdir -p "$bin"
	if [[ -n $REV ]]; then
		src=$tmp/src
		mkdir -p "$src"
		git -C "$root" archive "$REV" | tar -x -C "$src"
	fi
	if [[ ${1:-} == pprof ]]; then
		cat >"$tmp/pprof.go" <<-'EOF'
			package main

			import (
				"net"
				"net/http"
				_ "net/http/pprof"
				"os"
			)

			// Added by bench/profile for profiling only: serve
			// http.DefaultServeMux, where net/http/pprof registers, on
			// $RCACHE_PPROF.
			func init() {
				addr := os.Getenv("RCACHE_PPROF")
				if addr == "" {
					return
				}
				ln, err := net.Listen("tcp", addr)
				if err != nil {
					panic(err)
				}
				go http.Serve(ln, nil)
			}
		EOF
		printf '{"Replace": {"%s": "%s"}}\n' "$src/cmd/rcache/zz_bench_pprof.go" "$tmp/pprof.go" >"$tmp/overlay.json"
		flags=(-overlay "$tmp/overlay.json")
	fi
	log "building rcache from ${REV:-the working tree}${1:+ with pprof}, and bench/loadgen"
	(cd "$src" && go build "${flags[@]}" -o "$bin/rcache" ./cmd/rcache) || die "build rcache failed"
	go build -o "$bin/loadgen" ./bench/loadgen || die "build loadgen failed"
}

# machine_info describes the machine, the build and the versions.
machine_info() {
	local dirty=""
	# Uncommitted Go changes outside bench/ (bench/ does not go into rcache).
	[[ -z $REV && -n $(git -C "$root" status --porcelain -- '*.go' ':(exclude)bench') ]] && dirty=" + uncommitted changes"
	echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "commit: $(git -C "$root" rev-parse --short HEAD)${REV:+ (built from $REV)}$dirty"
	echo "cpu: $(nproc) x $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
	echo "memory: $(free -g | awk '/^Mem:/ {print $2 " GiB"}')"
	echo "kernel: $(uname -r)"
	echo "go: $(go version | cut -d' ' -f3-)"
	echo "redis-server: $(redis-server --version | cut -d' ' -f3-4)"
	echo "redis-benchmark: $(redis-benchmark --version)"
	echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
}

# free_ports N prints N distinct free loopback ports on one line.
free_ports() { "$bin/loadgen" ports "$1" | paste -sd' '; }

# wait_ready NAME: wait until the server NAME answers PING.
wait_ready() {
	local name=$1
	for _ in $(seq 200); do
		kill -0 "${pid_of[$name]}" 2>/dev/null || {
			tail -20 "$OUT/$name.log" >&2
			die "$name exited"
		}
		[[ $(redis-cli -p "${port_of[$name]}" ping 2>/dev/null) == PONG ]] && return 0
		sleep 0.05
	done
	die "$name does not answer PING on port ${port_of[$name]}"
}

# start_rcache NAME PORT PEERPORT [FLAGS...]: start an rcache node; its
# stderr (the log, and gctrace lines under GODEBUG=gctrace=1) goes to
# $OUT/NAME.log.
start_rcache() {
	local name=$1 port=$2 pport=$3
	shift 3
	"$bin/rcache" --addr "127.0.0.1:$port" --peer-addr "127.0.0.1:$pport" --log-level warn "$@" 2>"$OUT/$name.log" &
	pid_of[$name]=$!
	port_of[$name]=$port
	pids+=("$!")
	wait_ready "$name"
}

# start_redis NAME PORT: start redis-server without persistence.
start_redis() {
	local name=$1 port=$2
	redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
		--logfile "$OUT/$name.log" >/dev/null &
	pid_of[$name]=$!
	port_of[$name]=$port
	pids+=("$!")
	wait_ready "$name"
}

# start_mapserver NAME PORT: start a Go map behind redcon (loadgen
# mapserver), the reference for what Go and redcon reach.
start_mapserver() {
	local name=$1 port=$2
	"$bin/loadgen" mapserver -listen "127.0.0.1:$port" >/dev/null 2>"$OUT/$name.log" &
	pid_of[$name]=$!
	port_of[$name]=$port
	pids+=("$!")
	wait_ready "$name"
}

# stop NAME...: stop servers and wait for them to exit (SIGKILL after 10s).
stop() {
	local name p q keep
	for name in "$@"; do
		kill "${pid_of[$name]}" 2>/dev/null || true
	done
	for name in "$@"; do
		p=${pid_of[$name]}
		for _ in $(seq 200); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.05
		done
		kill -9 "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
		keep=()
		for q in "${pids[@]}"; do
			[[ $q != "$p" ]] && keep+=("$q")
		done
		pids=("${keep[@]}")
	done
}

# track PID: kill PID on exit too (a load generator in the background).
track() { pids+=("$1"); }

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/${pid_of[$1]}/status"; }
hwm_kb() { awk '/^VmHWM:/ {print $2}' "/proc/${pid_of[$1]}/status"; }
# info NAME SECTION FIELD prints one INFO field of the server NAME.
info() { redis-cli -p "${port_of[$1]}" info "$2" | tr -d '\r' | awk -F: -v f="$3" '$1 == f {print $2}'; }
dbsize() { redis-cli -p "${port_of[$1]}" dbsize; }

# fill NAME LOADGEN-FILL-FLAGS...: fill the server NAME with loadgen (keys
# as redis-benchmark -r names them) and record the rate in $OUT/fills.txt.
fill() {
	local name=$1 line
	shift
	line=$("$bin/loadgen" fill -addr "127.0.0.1:${port_of[$name]}" "$@") || die "fill $name failed"
	echo "$name $*: $line" >>"$OUT/fills.txt"
	log "$name: $line"
}

# median prints the median of the numbers on stdin ("nan" for none).
median() {
	sort -g | awk '{a[NR] = $1} END {
		if (NR == 0) print "nan"; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2
	}'
}
