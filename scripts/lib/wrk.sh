# Shared by the policy-server benchmarks: wrk POSTs $DIR/review.json.
# shellcheck shell=bash

# Writes $1/post.lua, which makes wrk POST $1/review.json.
write_post_lua() {
  cat > "$1/post.lua" <<EOF2
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = io.open("$1/review.json", "rb")
wrk.body = f:read("*a")
f:close()
EOF2
}

# Requests per second of $2 (a URL) with $1/post.lua, for SECONDS_PER_RUN.
wrk_rps() {
  wrk -t 2 -c 4 -d "${SECONDS_PER_RUN}s" -s "$1/post.lua" "$2" |
    awk '/^Requests\/sec:/ {print $2}'
}

# The median of the arguments.
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
