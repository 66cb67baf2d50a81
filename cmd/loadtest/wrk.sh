#!/usr/bin/env bash
# wrk.sh: bare Gin against audited Gin (library defaults) under wrk, with
# the variants alternated round by round so that a noisy machine treats
# them alike. Every server runs the same ping handler on 127.0.0.1 in its
# own process; after each run it is stopped with SIGTERM, closes its trail
# and reports how many 2xx answers it gave and how many rows were stored.
#
#   cmd/loadtest/wrk.sh                       # 5 rounds of 10 s, -t2 -c16
#   ROUNDS=3 DURATION=5s CONNS=64 VARIANTS="bare postgres" cmd/loadtest/wrk.sh
#   GOMAXPROCS=1 cmd/loadtest/wrk.sh          # the server on one core
#   VARIANTS="bare bare-burn50 sqlite" cmd/loadtest/wrk.sh
#                                             # bare Gin beside half a core of busy work,
#                                             # a yardstick for what background CPU costs
#   BEFORE_BIN=/tmp/loadtest-before VARIANTS="bare before-sqlite sqlite" cmd/loadtest/wrk.sh
#                                             # an earlier build (go build -o ... ./cmd/loadtest
#                                             # at that commit) as variants before-*
#
# PostgreSQL comes from AUDIT_LOAD_POSTGRES (default
# postgres://postgres@127.0.0.1:5432/postgres); each run gets a scratch
# database, dropped afterwards. Needs wrk and psql.
set -euo pipefail
ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-10s}
THREADS=${THREADS:-2}
CONNS=${CONNS:-16}
VARIANTS=${VARIANTS:-"bare sqlite postgres"}
ADDR=${ADDR:-127.0.0.1:8089}
PG=${AUDIT_LOAD_POSTGRES:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/loadtest" ./cmd/loadtest

run_one() { # variant round
	local v=$1 r=$2 dsn="" db="" bin="$work/loadtest" serve=$1
	if [[ $v == before-* ]]; then
		bin=${BEFORE_BIN:?BEFORE_BIN names the earlier build for $v}
		serve=${v#before-}
	fi
	case $serve in
	sqlite | naive-sqlite) dsn="$work/$v-$r.sqlite3" ;;
	postgres | naive-postgres)
		db="audit_wrk_$$_${r}_${v//-/_}"
		psql -q "$PG" -c "CREATE DATABASE $db" >/dev/null
		dsn="${PG/\/postgres\?//$db?}"
		;;
	esac
	(cd "$work" && exec "$bin" -serve "$serve" -addr "$ADDR" -dsn "$dsn" >"$work/report.json" 2>"$work/server.log") &
	local pid=$!
	for _ in $(seq 100); do
		curl -sf "http://$ADDR/api/ping/" >/dev/null 2>&1 && break
		sleep 0.1
	done
	local out
	out=$(wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" "http://$ADDR/api/ping/")
	kill -TERM "$pid"
	wait "$pid" || true
	local rps reqs
	rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
	reqs=$(awk '/requests in/ {print $1}' <<<"$out")
	printf '| %s | %s | %s | %s |\n' "$r" "$v" "$rps" "$(tr -d '\n' <"$work/report.json")"
	local cpu
	cpu=$(grep -o '"cpu_us_per_2xx":[0-9.e+-]*' "$work/report.json" | cut -d: -f2)
	echo "$r $v $rps $reqs ${cpu:-0}" >>"$work/results"
	if [ -n "$db" ]; then psql -q "$PG" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null; fi
}

echo "wrk -t$THREADS -c$CONNS -d$DURATION, $ROUNDS rounds, server GOMAXPROCS=${GOMAXPROCS:-all cores ($(nproc))}"
echo
echo "| round | variant | req/s | server report |"
echo "|---|---|---:|---|"
for r in $(seq "$ROUNDS"); do
	for v in $VARIANTS; do
		run_one "$v" "$r"
	done
done
echo
echo "Ratio to bare Gin in the same round (median, min, max over rounds); server CPU per answered request:"
gawk '
	{ rps[$1" "$2] = $3; cpu[$1" "$2] = $5; if (!($2 in seen)) { seen[$2] = 1; order[++n] = $2 } ; rounds[$1] = 1 }
	END {
		for (i = 1; i <= n; i++) {
			v = order[i]
			m = 0; k = 0
			for (r in rounds) {
				if ((r" "v) in cpu) cpus[++k] = cpu[r" "v]
				if (v != "bare" && (r" bare") in rps && (r" "v) in rps) vals[++m] = rps[r" "v] / rps[r" bare"]
			}
			asort(cpus)
			c = sprintf("server CPU %.1f us/request (median)", cpus[int((k + 1) / 2)])
			if (v == "bare") { printf "- bare: %s\n", c; delete cpus; continue }
			asort(vals)
			printf "- %s: %.2f (%.2f to %.2f, %d rounds); %s\n", v, vals[int((m + 1) / 2)], vals[1], vals[m], m, c
			delete vals; delete cpus
		}
	}' "$work/results"
