#!/usr/bin/env bash
# Builds a real librdkafka share consumer (KIP-932) for test/compat/share-consumer-librdkafka.test.ts.
# Debian's librdkafka (2.0.2) has none; librdkafka 2.15 has one in preview, and its source ships in
# the npm package @confluentinc/kafka-javascript 1.10.1 (deps/librdkafka), which is fetched from the npm
# registry (integrity checked), built as a static library without TLS/SASL/compression extras, and
# linked with test/compat/share-consumer/share_check.c. Output: .cache/share-client/share_check
# (idempotent: nothing is done when it is already built from the same source). Needs gcc and make.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PACKAGE=@confluentinc/kafka-javascript@1.10.1
INTEGRITY=sha512-KVePUBn21EqCVP9mfxzEuM3SYJHHEF7X+iiC2e43QQgDSyEaksInmCGooT3w5q+cNAdkSCrK71j0ICfqoSqZLw==
OUT=.cache/share-client
SOURCE=test/compat/share-consumer/share_check.c
mkdir -p "$OUT"
STAMP="$INTEGRITY $(sha256sum "$SOURCE" | cut -d' ' -f1)"
if [[ -x $OUT/share_check && -f $OUT/stamp && "$(cat "$OUT/stamp")" == "$STAMP" ]]; then
  echo "share client: up to date ($OUT/share_check)"
  exit 0
fi
if [[ ! -f $OUT/lib/librdkafka.a || "$(cat "$OUT/lib/integrity" 2>/dev/null)" != "$INTEGRITY" ]]; then
  echo "share client: fetching $PACKAGE from the npm registry"
  rm -rf "$OUT/pack" "$OUT/lib" && mkdir -p "$OUT/pack" "$OUT/lib/librdkafka"
  (cd "$OUT/pack" && npm pack --silent "$PACKAGE" >/dev/null)
  tarball=$(ls "$OUT"/pack/*.tgz)
  actual="sha512-$(node -e 'process.stdout.write(require("node:crypto").createHash("sha512").update(require("node:fs").readFileSync(process.argv[1])).digest("base64"))' "$tarball")"
  if [[ $actual != "$INTEGRITY" ]]; then
    echo "share client: $tarball has integrity $actual, expected $INTEGRITY: refusing to build it" >&2
    exit 1
  fi
  tar xzf "$tarball" -C "$OUT/pack"
  src=$OUT/pack/package/deps/librdkafka
  echo "share client: configuring librdkafka ($(grep -o 'RD_KAFKA_VERSION 0x[0-9a-f]*' "$src/src/rdkafka.h"))"
  (cd "$src" && ./configure --disable-ssl --disable-gssapi --disable-curl --disable-zstd --disable-zlib \
    --disable-lz4-ext --disable-regex-ext >../../../configure-output.txt 2>&1) || { tail -20 "$OUT/pack/configure-output.txt" >&2; exit 1; }
  echo "share client: building librdkafka.a (a few minutes on 2 cores)"
  make -s -j"$(nproc)" -C "$src/src" librdkafka.a >"$OUT/make.log" 2>&1 || { tail -30 "$OUT/make.log" >&2; exit 1; }
  cp "$src/src/librdkafka.a" "$OUT/lib/"
  cp "$src/src/rdkafka.h" "$OUT/lib/librdkafka/"
  echo "$INTEGRITY" >"$OUT/lib/integrity"
  rm -rf "$OUT/pack"
fi
gcc -O1 -Wall -Werror -o "$OUT/share_check" "$SOURCE" -I"$OUT/lib" "$OUT/lib/librdkafka.a" -lm -ldl -lpthread -lrt
echo "$STAMP" >"$OUT/stamp"
echo "share client: built $OUT/share_check"
