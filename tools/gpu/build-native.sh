#!/usr/bin/env bash
# Builds TorchSharp 0.107.0's libLibTorchSharp.so from the bundle's native/ sources against the libtorch whose lib
# folder is $1 (a pip install's site-packages/torch/lib), on every core, and puts it in app/ in place of the shipped
# one (kept as libLibTorchSharp.so.shipped). With cmake and Torch's CMake package as TorchSharp builds it; newer
# libtorch headers warn where 2.10's did not, so warnings are not errors. Where Torch's CMake package cannot be
# configured (a CUDA build of torch looks for a matching CUDA toolkit), the same sources are compiled with g++ and
# the flags TorchSharp's CMakeLists uses. Log: native-build/build.log.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
lib=$(cd "$1" && pwd)
torch=$(dirname "$lib")
src="$here/native/src/Native"
[ -d "$src" ] || { echo "build-native: no sources in $src (the bundle was made without TORCHSHARP_NATIVE)"; exit 1; }
work="${NATIVE_BUILD_DIR:-$here/native-build}"
rm -rf "$work" && mkdir -p "$work" && cp -r "$src" "$work/src"
sed -i 's/^\s*add_definitions(-Werror).*$/# -Werror dropped: newer libtorch headers warn/' "$work/src/CMakeLists.txt"
jobs=$(nproc)
start=$(date +%s)
built=""
if command -v cmake >/dev/null && timeout 120 cmake -S "$work/src" -B "$work/cmake" -DCMAKE_BUILD_TYPE=Release \
     -DLIBTORCH_PATH="$torch/share/cmake/Torch" -DCMAKE_PREFIX_PATH="$torch/share/cmake" >"$work/build.log" 2>&1; then
  echo "build-native: cmake against $torch, $jobs jobs"
  if cmake --build "$work/cmake" --target LibTorchSharp -j "$jobs" >>"$work/build.log" 2>&1; then
    built=$(find "$work/cmake" -name libLibTorchSharp.so | head -1)
  else
    echo "build-native: the cmake build failed:"; grep -m 20 -E "error|Error" "$work/build.log" || tail -30 "$work/build.log"
  fi
else
  echo "build-native: cmake could not configure Torch; its log ends:"; tail -12 "$work/build.log" || true
fi
if [ -z "$built" ]; then
  echo "build-native: compiling with g++ directly, $jobs jobs"
  mkdir -p "$work/obj"
  flags="-std=c++17 -O2 -fPIC -fvisibility=hidden -fstack-protector-strong -D_GLIBCXX_USE_CXX11_ABI=1 -D__LINUX__"
  flags="$flags -D_NO_ASYNCRTIMP -D_NO_PPLXIMP -w -I$torch/include -I$torch/include/torch/csrc/api/include"
  export flags work
  # A file that does not compile against this libtorch is named and left out: TorchSharp binds each native function
  # when it is first called, so only the functions of that file would then be missing.
  ls "$work"/src/LibTorchSharp/*.cpp | xargs -P "$jobs" -I{} sh -c \
    'g++ $flags -c "$1" -o "$work/obj/$(basename "$1").o" 2>"$work/obj/$(basename "$1").log" ||
       { echo "build-native: $(basename "$1") does not compile against this libtorch, left out:";
         grep -m 3 "error" "$work/obj/$(basename "$1").log"; }' _ {}
  gcc -O2 -fPIC -c "$work/src/LibTorchSharp/crc32c.c" -o "$work/obj/crc32c.o"
  g++ -shared -o "$work/libLibTorchSharp.so" "$work"/obj/*.o -L"$lib" -ltorch -ltorch_cpu -lc10 \
    -Wl,-Bsymbolic -Wl,-Bsymbolic-functions -Wl,-rpath,'$ORIGIN/' 2>>"$work/build.log"
  built="$work/libLibTorchSharp.so"
fi
strip --strip-unneeded "$built" 2>/dev/null || true
[ -f "$here/app/libLibTorchSharp.so.shipped" ] || mv "$here/app/libLibTorchSharp.so" "$here/app/libLibTorchSharp.so.shipped"
cp "$built" "$here/app/libLibTorchSharp.so"
echo "build-native: built in $(( $(date +%s) - start )) s: $(du -h "$built" | cut -f1), installed in app/"
