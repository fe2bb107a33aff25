# Sourced by tools/sweep-old-new.sh and tools/bench-old-new.sh: clones the repository twice into a fresh folder
# $work (old, new), checks out $old and $new and builds each with `make setup`. Needs old, new and name set.
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=$(mktemp -d "/tmp/$name.XXXXXX")
for which in old new; do
  rev=$([ "$which" = old ] && echo "$old" || echo "$new")
  git clone -q "$repo" "$work/$which" && git -C "$work/$which" checkout -q "$rev"
  (cd "$work/$which" && make setup > "$work/$which-setup.log" 2>&1) || { echo "setup of $rev failed"; exit 1; }
done
