#!/usr/bin/env bash
# Scans every TLS listener of a freshly started Pier with testssl.sh (Debian package testssl.sh,
# command `testssl`): protocols, cipher categories, forward secrecy, server defaults and the
# vulnerability checks (-p -s -f -S -U), trusting the development CA it makes. Prints a summary per
# listener and exits 1 when any finding is above LOW.
#
# CI runs it as its own step after the tests (the scans take minutes); npm test runs the quick protocol and
# cipher checks with openssl s_client instead (test/tls/protocol-check.test.ts).
#
#   npm run build && bash scripts/tls-scan.sh            # all four TLS listeners
#   PIER_SCAN_LISTENERS="amqps" bash scripts/tls-scan.sh  # some of them
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
TESTSSL=$(command -v testssl || command -v testssl.sh || true)
if [[ -z "$TESTSSL" ]]; then
  echo "tls-scan: testssl.sh is not installed (Debian/Ubuntu: apt-get install testssl.sh)" >&2
  exit 2
fi
LISTENERS=${PIER_SCAN_LISTENERS:-"amqps kafka-tls sqs-tls https"}
work=$(mktemp -d)
pid=
cleanup() {
  [[ -n "$pid" ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

node dist/src/cli/pier.js tls dev-cert --out "$work/certs" >/dev/null
node dist/src/cli/pier.js serve --data-dir "$work/data" \
  --amqp-port off --kafka-port off --sqs-port off --http-port off --prometheus-port off \
  --amqps-port 0 --kafka-tls-port 0 --sqs-tls-port 0 --https-port 0 \
  --tls-cert "$work/certs/server.pem" --tls-key "$work/certs/server-key.pem" >"$work/pier.out" 2>"$work/pier.err" &
pid=$!
for _ in $(seq 1 100); do
  [[ $(grep -c 'listening on' "$work/pier.out" || true) -ge 4 ]] && break
  sleep 0.1
done

# The listeners are scanned side by side (each scan mostly waits on its handshakes), then summarised.
started=$(date +%s)
scans=()
for name in $LISTENERS; do
  port=$(sed -n "s/^pier: $name listening on .*:\([0-9]*\)$/\1/p" "$work/pier.out")
  if [[ -z "$port" ]]; then
    echo "tls-scan: pier did not start the $name listener:" >&2
    cat "$work/pier.out" "$work/pier.err" >&2
    exit 1
  fi
  echo "tls-scan: scanning $name on 127.0.0.1:$port"
  "$TESTSSL" --quiet --color 0 --warnings off --add-ca "$work/certs/ca.pem" -p -s -f -S -U \
    --jsonfile "$work/$name.json" "127.0.0.1:$port" >"$work/$name.txt" 2>&1 &
  scans+=($!)
done
for scan in "${scans[@]}"; do wait "$scan" || true; done

status=0
for name in $LISTENERS; do
  seconds=$(($(date +%s) - started))
  node -e '
    const [file, name, seconds] = process.argv.slice(1);
    const findings = JSON.parse(require("node:fs").readFileSync(file, "utf8"));
    const order = ["OK", "INFO", "LOW", "MEDIUM", "HIGH", "CRITICAL"];
    const counts = {};
    for (const f of findings) counts[f.severity] = (counts[f.severity] ?? 0) + 1;
    // Properties of the development certificate, not of the server: a CA-issued certificate has them.
    const certificateOnly = { cert_revocation: "the dev CA names no CRL or OCSP responder" };
    const above = findings.filter((f) => order.indexOf(f.severity) > order.indexOf("LOW") && !(f.id in certificateOnly));
    for (const f of findings.filter((f) => f.id in certificateOnly && f.severity !== "OK"))
      console.log(`  (${f.severity} ${f.id}: ${f.finding}: ${certificateOnly[f.id]}; not counted)`);
    const protocols = findings.filter((f) => /^(SSLv2|SSLv3|TLS1(_[123])?)$/.test(f.id)).map((f) => `${f.id}: ${f.finding}`);
    console.log(`${name} (${seconds} s): ${Object.entries(counts).map(([s, n]) => `${n} ${s}`).join(", ")}`);
    console.log(`  ${protocols.join("; ")}`);
    for (const f of findings.filter((f) => f.severity === "LOW")) console.log(`  LOW ${f.id}: ${f.finding}`);
    for (const f of above) console.log(`  ${f.severity} ${f.id}: ${f.finding}`);
    process.exit(above.length > 0 ? 1 : 0);
  ' "$work/$name.json" "$name" "$seconds" || status=1
done
exit $status
