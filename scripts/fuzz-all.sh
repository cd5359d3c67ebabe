#!/usr/bin/env bash
# fuzz-all.sh runs every Fuzz* target of the module for FUZZ_TIME each, one after the other.
#
#   FUZZ_TIME=10s scripts/fuzz-all.sh              # every package (default FUZZ_TIME 10s)
#   FUZZ_TIME=10m scripts/fuzz-all.sh ./wire/...    # only these packages
#   SEED_NEW=5 scripts/fuzz-all.sh                 # also keep up to 5 new corpus entries per target
#   FUZZCHECK=0 scripts/fuzz-all.sh                # skip the coverage check (bootstrapping seeds)
#
# First it runs internal/testing/fuzzcheck, which fails when a decoding package has no Fuzz target or
# no committed seed corpus. Then, for each target, `go test -fuzz` runs for FUZZ_TIME; a crasher
# is written by the Go toolchain into the package's testdata/fuzz/<FuzzName>/ — it becomes a
# regression seed that the ordinary `go test` runs from then on; the script lists every such new
# file so that it can be committed with the fix. With SEED_NEW=N it also copies up to N inputs
# the fuzzer found interesting (from the Go build cache) into testdata/fuzz/<FuzzName>/.
#
# The summary table (package, target, executions, result) is printed at the end and written to
# FUZZ_LOG (default fuzz-summary.txt); each target's full output goes to $FUZZ_OUT/<pkg>.<target>.log
# (default a temporary directory). The exit status is non-zero when any target failed.
set -euo pipefail

cd "$(dirname "$0")/.."
FUZZ_TIME="${FUZZ_TIME:-10s}"
SEED_NEW="${SEED_NEW:-0}"
FUZZ_LOG="${FUZZ_LOG:-fuzz-summary.txt}"
FUZZ_OUT="${FUZZ_OUT:-$(mktemp -d -t smbsweep-fuzz.XXXXXX)}"
GO="${GO:-go}"
mkdir -p "$FUZZ_OUT"
if [ "$#" -eq 0 ]; then set -- ./...; fi

if [ "${FUZZCHECK:-1}" != 0 ]; then
	echo "fuzz: checking that every decoding package has a Fuzz target (internal/testing/fuzzcheck)"
	"$GO" test -count=1 ./internal/testing/fuzzcheck
fi

cache="$("$GO" env GOCACHE)/fuzz"
module="$("$GO" list -m)"
failed=0
total=0
new_files=()
summary=()
before="$(mktemp)"
trap 'rm -f "$before"' EXIT

for pkg in $("$GO" list "$@"); do
	if ! listing="$("$GO" test -list '^Fuzz' "$pkg" 2>&1)"; then
		echo "fuzz: cannot list the tests of $pkg:"
		echo "$listing"
		failed=1
		continue
	fi
	targets="$(grep -E '^Fuzz' <<<"$listing" || true)"
	[ -z "$targets" ] && continue
	dir="$("$GO" list -f '{{.Dir}}' "$pkg")"
	rel="${pkg#"$module"/}"
	for t in $targets; do
		total=$((total + 1))
		corpus="$dir/testdata/fuzz/$t"
		ls "$corpus" 2>/dev/null | sort >"$before" || true
		log="$FUZZ_OUT/${rel//\//_}.$t.log"
		echo "fuzz: $rel $t ($FUZZ_TIME)"
		result=ok
		if ! "$GO" test -run '^$' -fuzz "^$t\$" -fuzztime "$FUZZ_TIME" "$pkg" >"$log" 2>&1; then
			result=FAIL
			failed=1
			tail -n 30 "$log"
		fi
		# The last progress line carries the total executions: "fuzz: elapsed: 10s, execs: 123456 (...)".
		execs="$(grep -oE 'execs: [0-9]+' "$log" | tail -n 1 | awk '{print $2}')"
		for f in $(ls "$corpus" 2>/dev/null | sort | comm -13 "$before" - || true); do
			new_files+=("$corpus/$f")
			echo "fuzz: new crasher kept as a regression seed: ${corpus#"$PWD"/}/$f"
		done
		if [ "$SEED_NEW" -gt 0 ] && [ -d "$cache/$pkg/$t" ]; then
			mkdir -p "$corpus"
			n=0
			for f in $(ls -t "$cache/$pkg/$t"); do
				[ "$n" -ge "$SEED_NEW" ] && break
				if [ ! -e "$corpus/$f" ]; then
					cp "$cache/$pkg/$t/$f" "$corpus/$f"
					n=$((n + 1))
				fi
			done
			[ "$n" -gt 0 ] && echo "fuzz: kept $n new corpus entries in ${corpus#"$PWD"/}"
		fi
		summary+=("$(printf '%-22s %-34s %14s  %s' "$rel" "$t" "${execs:-?}" "$result")")
	done
done

{
	echo "fuzz summary: $total targets, FUZZ_TIME=$FUZZ_TIME, $(date -u +%Y-%m-%dT%H:%M:%SZ), go $("$GO" env GOVERSION)"
	printf '%-22s %-34s %14s  %s\n' package target execs result
	printf '%s\n' "${summary[@]}"
} | tee "$FUZZ_LOG"
echo "fuzz: logs in $FUZZ_OUT"
if [ "${#new_files[@]}" -gt 0 ]; then
	echo "fuzz: ${#new_files[@]} new crashers were added as regression seeds; fix the bugs and commit:"
	printf '  %s\n' "${new_files[@]}"
fi
[ "$total" -gt 0 ] && [ "$failed" -eq 0 ]
