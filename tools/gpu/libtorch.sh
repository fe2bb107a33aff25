# Sourced by orchestrator.sh: points the loader at the host's libtorch and makes sure TorchSharp's native library
# matches it. TorchSharp's libLibTorchSharp.so calls libtorch's C++ API, so it must be built against the same
# libtorch (the shipped one: 2.10.0). `ldd -r` lists the symbols it needs that this libtorch lacks; if there are
# any, libLibTorchSharp.so is rebuilt from the bundled sources against this libtorch (build-native.sh) and put in
# place of the shipped one, which is kept as libLibTorchSharp.so.shipped.
here=${here:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}
if [ -z "${LIBTORCH_LIB:-}" ]; then
  LIBTORCH_LIB=$(python3 -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))' \
    2>/dev/null) || { echo "orchestrator.sh: no libtorch: install PyTorch for python3 or set LIBTORCH_LIB" >&2; exit 1; }
fi
[ -f "$LIBTORCH_LIB/libtorch_cpu.so" ] || { echo "orchestrator.sh: no libtorch_cpu.so in $LIBTORCH_LIB" >&2; exit 1; }
export LIBTORCH_LIB
export LD_LIBRARY_PATH="$LIBTORCH_LIB${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

libtorch_abi_missing() { ldd -r "$here/app/libLibTorchSharp.so" 2>&1 | grep -c "undefined symbol" || true; }
missing=$(libtorch_abi_missing)
if [ "$missing" != 0 ]; then
  echo "orchestrator.sh: libLibTorchSharp.so does not match the libtorch in $LIBTORCH_LIB ($missing undefined" \
       "symbols): building it against that libtorch" >&2
  bash "$here/build-native.sh" "$LIBTORCH_LIB" >&2 || exit 1
  missing=$(libtorch_abi_missing)
  [ "$missing" = 0 ] || { echo "orchestrator.sh: the rebuilt libLibTorchSharp.so still lacks $missing symbols" >&2; exit 1; }
fi
