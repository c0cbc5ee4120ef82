#!/usr/bin/env bash
# Runs every Samsa test: unit, integration and interop with real Kafka clients.
# Installs the client peers it needs (Debian packages) when they are missing; under CI=true a peer that
# is still missing makes the interop tests fail rather than skip. Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")"

# prometheus: only its promtool is used (checks the /metrics scrape); its service is not wanted running.
# burrow (lag monitoring, issue 18) needs zookeeper for its own coordination; Samsa needs none.
# chromium: the web console's browser test drives it headless with playwright-core (clients/js).
debian_packages=(kcat python3-kafka python3-confluent-kafka python3-snappy python3-lz4 python3-zstandard prometheus burrow zookeeper chromium)
missing=()
for p in "${debian_packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing client peers: ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq >/dev/null && \
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null || \
    echo "warning: could not install ${missing[*]}; interop tests that need them will fail"
  if [[ " ${missing[*]} " == *" prometheus "* ]]; then
    $sudo_cmd systemctl disable --now prometheus >/dev/null 2>&1 || true
  fi
fi

# kafkajs and its codec plugins for the interop tests, pinned by package.json and the committed package-lock.json;
# npm ci runs only when a pinned package is missing from node_modules or installed at another version.
js_dir=tests/Samsa.Interop.Tests/clients/js
if command -v npm >/dev/null 2>&1; then
  if ! (cd "$js_dir" && node -e '
      for (const [name, version] of Object.entries(require("./package.json").dependencies)) {
        try { if (require(`./node_modules/${name}/package.json`).version !== version) process.exit(1); } catch { process.exit(1); }
      }' 2>/dev/null); then
    (cd "$js_dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) || echo "warning: npm ci failed; the kafkajs interop test will fail"
  fi
else
  echo "warning: npm is missing (apt-get install nodejs npm); the kafkajs interop test will fail"
fi

results=.test-out
rm -rf "$results"
mkdir -p "$results"

if ! dotnet build Samsa.slnx -c Release -nologo -v q -clp:ErrorsOnly; then
  echo "build failed"
  echo "0 passed, 1 failed"
  exit 1
fi

# One project at a time, each with its own results file (two trx files written in the same second would collide).
test_exit=0
for project in tests/*/*.Tests.csproj; do
  name=$(basename "$project" .csproj)
  dotnet test "$project" -c Release --no-build -nologo -v q \
    --results-directory "$results" --logger "trx;LogFileName=$name.trx" --logger "console;verbosity=minimal" || test_exit=1
  [ -f "$results/$name.trx" ] || { echo "error: $name produced no results"; test_exit=1; }
done

passed=0
failed=0
for trx in "$results"/*.trx; do
  [ -f "$trx" ] || continue
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)
  p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters")
  f=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")
  passed=$((passed + ${p:-0}))
  failed=$((failed + ${f:-0}))
done
if [ "$test_exit" -ne 0 ] && [ "$failed" -eq 0 ]; then
  # A test host that crashed or a project that did not run counts as a failure.
  failed=1
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
