#!/usr/bin/env bash
# Runs a command while BUSY_LOOPS CPU-bound loops (default 2) compete with it for the CPUs, and
# stops the loops when it ends, however it ends (failure, Ctrl-C, kill): the load of
# `make test-load`, under which tests that pass only on a quiet machine fail.
# Usage: scripts/with-busy-cpus.sh COMMAND [ARG...]; exits with the command's status.
set -euo pipefail

if [ "$#" -eq 0 ]; then
	echo "usage: $0 COMMAND [ARG...]" >&2
	exit 2
fi
loops=${BUSY_LOOPS:-2}
busy=()
command_pid=

stop() {
	local status=$?
	if [ -n "$command_pid" ] && kill -0 "$command_pid" 2>/dev/null; then
		kill "$command_pid" 2>/dev/null || true
		wait "$command_pid" 2>/dev/null || true
	fi
	if [ "${#busy[@]}" -gt 0 ]; then
		kill "${busy[@]}" 2>/dev/null || true
		wait "${busy[@]}" 2>/dev/null || true
	fi
	exit "$status"
}
trap stop EXIT
# A signal ends the script (and so runs the EXIT trap) with the status a shell gives it. The
# command runs in the background and the script waits for it, because bash runs a trap only
# once the foreground command is done: a killed script must stop the loops at once.
trap 'exit 130' INT
trap 'exit 143' TERM

for _ in $(seq "$loops"); do
	# A subshell that only spins: its pid is the loop, so killing it stops the loop.
	(while :; do :; done) &
	busy+=("$!")
done
echo "with-busy-cpus: ${loops} busy loops (pids ${busy[*]}) while: $*" >&2

"$@" &
command_pid=$!
wait "$command_pid"
