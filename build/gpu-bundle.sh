#!/usr/bin/env bash
# `make gpu-bundle`: Orchestrator for a machine with no .NET and no NuGet feed, but with a Python PyTorch
# installation whose libtorch (CPU or CUDA) it then runs on. One compressed file, dist/orchestrator-gpu-bundle.tar.xz:
#   app/            a self-contained publish of the CLI (the worker is the same program): the .NET runtime inside,
#                   libtorch left out (the host's is used; a bundled one would be found first), TorchSharp's
#                   libLibTorchSharp.so as the build patched it (build/GlibcxxCompat.cs)
#   experiments/    the specs;  data/  the fortunes corpus and the plot font, which such hosts rarely have
#   native/         TorchSharp 0.107.0's native sources (TORCHSHARP_NATIVE), to rebuild libLibTorchSharp.so
#                   against the host's libtorch when the shipped one does not match it (tools/gpu/build-native.sh)
#   orchestrator.sh the entry point;  libtorch.sh, build-native.sh, gpu-check.sh, twin.py, hf_check.py  from
#                   tools/gpu/, and tools/hf_tiny.py
#   source-commit.txt  the commit the bundle was built from (provenance without a git repository)
# Variables: BUNDLE_DIR (dist), BUNDLE_COMPRESS (xz|gz), TORCHSHARP_NATIVE (../shared/gpu/torchsharp-native-0.107.0).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${BUNDLE_DIR:-dist}
native=${TORCHSHARP_NATIVE:-../shared/gpu/torchsharp-native-0.107.0}
compress=${BUNDLE_COMPRESS:-xz}
stage="$out/orchestrator"
rm -rf "$stage" && mkdir -p "$stage"

echo "gpu-bundle: publishing the CLI (self-contained, linux-x64)"
dotnet publish src/Orchestrator.Cli/Orchestrator.Cli.csproj -c Release -r linux-x64 --self-contained \
  -p:Torch=cpu -o "$stage/app" -nologo -v:q >/dev/null
( cd "$stage/app"
  # libtorch's own files (and test back-ends it ships) go; LibTorchSharp stays.
  rm -f libtorch.so libtorch_*.so libc10*.so libgomp-*.so* libshm.so libaoti_custom_ops.so libbackend_with_compiler.so \
        libjitbackend_test.so libnnapi_backend.so libtorchbind_test.so ./*.pdb createdump
  test -f libLibTorchSharp.so )

cp -r experiments "$stage/"
mkdir -p "$stage/data"
fortunes=/usr/share/games/fortunes
[ -d "$fortunes" ] || fortunes=.cache/fortunes/usr/share/games/fortunes
[ -d "$fortunes" ] || { echo "gpu-bundle: the fortunes corpus is missing: run make setup" >&2; exit 1; }
mkdir -p "$stage/.cache/fortunes/usr/share/games" && cp -r "$fortunes" "$stage/.cache/fortunes/usr/share/games/"
for f in /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf /usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf \
         .cache/fonts/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf \
         .cache/fonts/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf; do
  [ -f "$f" ] && cp "$f" "$stage/data/"
done
[ -f "$stage/data/DejaVuSans.ttf" ] || { echo "gpu-bundle: DejaVu Sans is missing: run make setup" >&2; exit 1; }

if [ -d "$native/src/Native" ]; then
  mkdir -p "$stage/native" && cp -r "$native/src" "$native/LICENSE.txt" "$stage/native/"
else
  echo "gpu-bundle: warning: no TorchSharp native sources at $native (TORCHSHARP_NATIVE): the bundle cannot" \
       "rebuild libLibTorchSharp.so for a libtorch other than 2.10" >&2
fi
cp tools/gpu/orchestrator.sh tools/gpu/libtorch.sh tools/gpu/build-native.sh tools/gpu/gpu-check.sh \
   tools/gpu/twin.py tools/gpu/hf_check.py tools/hf_tiny.py "$stage/"
chmod +x "$stage"/*.sh
commit=$(git rev-parse HEAD 2>/dev/null || echo unknown)
dirty=$(git status --porcelain --untracked-files=no 2>/dev/null | head -1)
echo "$commit${dirty:+ dirty}" > "$stage/source-commit.txt"

case $compress in
  xz) file="$out/orchestrator-gpu-bundle.tar.xz"; tar -C "$out" -cf - orchestrator | xz -T0 -6 > "$file" ;;
  gz) file="$out/orchestrator-gpu-bundle.tar.gz"; tar -C "$out" -czf "$file" orchestrator ;;
  *) echo "gpu-bundle: BUNDLE_COMPRESS must be xz or gz, got '$compress'" >&2; exit 2 ;;
esac
rm -rf "$stage"
echo "gpu-bundle: $file ($(du -h "$file" | cut -f1)), commit $commit${dirty:+ (uncommitted changes)}"
