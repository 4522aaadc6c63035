#!/bin/bash
# Builds the before/after comments of the lead's note. BEFORE: the base commit 426e29f (unpacked
# in /tmp/base); AFTER: this branch. Both plan the same repository against one emulator.
set -euo pipefail
AFTER=/work/wt/review
BEFORE=/tmp/base
OUT=/work/wt/review-evidence
R=/tmp/evidence-repo
rm -rf "$R" && mkdir -p "$R/users"
PORT=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
cat >"$R/reconciler.yaml" <<YAML
targets:
  research:
    provider: sprig
    base_url: http://127.0.0.1:$PORT
    api_key_env: SPRIG_API_KEY
  onboarding:
    provider: usertour
    base_url: http://127.0.0.1:$PORT
    api_key_env: USERTOUR_API_KEY
users: [users/]
sensitive: [email]
YAML
python3 - "$R" <<'PY'
import sys, pathlib
repo = pathlib.Path(sys.argv[1])
ids = [f"u{n:03d}" for n in range(3, 26) if n not in (11, 17, 21)]
lines = ["defaults:", "  attributes: {csm: bob, customer: true}", "users:"]
for i in ids:
    lines += [f'  - id: "{i}"', f"    email: {i}@example.com", "    attributes: {plan: pro}"]
(repo / "users" / "team.yaml").write_text("\n".join(lines) + "\n")
others = ["users:"]
for i in ("u001", "u002", "vip-1"):
    others += [f'  - id: "{i}"', f"    email: {i}@example.com", "    attributes: {plan: free, role: member}"]
(repo / "users" / "others.yaml").write_text("\n".join(others) + "\n")
PY
export SPRIG_API_KEY=sprig-sandbox-key USERTOUR_API_KEY=ak_sandbox NO_COLOR=1
cd "$R"
PYTHONPATH=$AFTER python3 -m reconciler sandbox serve --port "$PORT" --visibility-delay-ms 0 >/tmp/evidence-emulator.log 2>&1 &
EMU=$!
trap 'kill $EMU' EXIT
sleep 2
PYTHONPATH=$AFTER python3 -m reconciler apply --yes | tail -1
# (a) one edit of team.yaml's defaults: 20 users, both targets
sed -i 's/csm: bob/csm: alice/' users/team.yaml
PYTHONPATH=$BEFORE python3 -m reconciler plan --format markdown >"$OUT/a-defaults-edit.before.md"
PYTHONPATH=$AFTER python3 -m reconciler plan --markdown-out "$OUT/a-defaults-edit.after.md" >"$OUT/a-defaults-edit.joblog.txt"
PYTHONPATH=$AFTER python3 -m reconciler apply --yes | tail -1
# (b) a masked email change (and vip-1 becomes an owner)
sed -i 's/vip-1@example.com/vip.one@example.com/' users/others.yaml
python3 - <<'PY'
import pathlib
p = pathlib.Path("users/others.yaml")
lines = p.read_text().splitlines()
i = lines.index('  - id: "vip-1"')
lines[i + 2] = "    attributes: {plan: free, role: owner}"
p.write_text("\n".join(lines) + "\n")
PY
PYTHONPATH=$BEFORE python3 -m reconciler plan --format markdown >"$OUT/b-masked-email.before.md"
PYTHONPATH=$AFTER python3 -m reconciler plan --markdown-out "$OUT/b-masked-email.after.md" >"$OUT/b-masked-email.joblog.txt"
cp users/others.yaml "$OUT/b-others.yaml"
kill $EMU; trap - EXIT
# (c) a 20,000-user create and (d) issue 23 point 8's padding, on the sandbox
S=/tmp/evidence-sandbox
rm -rf "$S" && mkdir -p "$S/users" && cd "$S"
printf 'targets:\n  local:\n    provider: sandbox\nusers: [users/]\nsensitive: [email]\nsafety:\n  max_changes: 100000\n' >reconciler.yaml
python3 -c '
import json
users = [{"id": f"u{n:05d}", "email": f"u{n:05d}@example.com", "attributes": {"n": n, "plan": "pro"}} for n in range(1, 20001)]
open("users/bulk.yaml", "w").write(json.dumps({"users": users}))'
PYTHONPATH=$BEFORE python3 -m reconciler plan --format markdown --markdown-limit 60000 >"$OUT/c-20000-create.before.md"
PYTHONPATH=$AFTER python3 -m reconciler plan --markdown-out "$OUT/c-20000-create.after.md" --out plan.json --markdown-limit 60000 >/tmp/evidence-c.log
wc -c "$OUT"/c-20000-create.*.md
rm -rf "$S" && mkdir -p "$S/users" && cd "$S"
printf 'targets:\n  local:\n    provider: sandbox\nusers: [users/]\n' >reconciler.yaml
echo '{"users": [{"id": "vip-1", "attributes": {"role": "member"}}]}' >users/vip.yaml
PYTHONPATH=$AFTER python3 -m reconciler apply --yes | tail -1
python3 -c '
import json
pads = [{"id": f"pad-{n:02d}", "attributes": {f"note_{k}": "x" * 400 + f" {n}" for k in range(5)}} for n in range(40)]
open("users/pad.yaml", "w").write(json.dumps({"users": pads}))
open("users/vip.yaml", "w").write(json.dumps({"users": [{"id": "vip-1", "attributes": {"role": "owner"}}]}))'
PYTHONPATH=$BEFORE python3 -m reconciler plan --format markdown --markdown-limit 9000 >"$OUT/d-padding.before.md"
PYTHONPATH=$AFTER python3 -m reconciler plan --markdown-out "$OUT/d-padding.after.md" --markdown-limit 9000 >/dev/null
for f in "$OUT"/d-padding.*.md; do printf '%s: vip-1 owner change outside <details>: ' "$(basename $f)"; PYTHONPATH=$AFTER python3 -c "
import sys; sys.path.insert(0, '$AFTER')
from tests.markdown_check import outside_details
print('\"owner\"' in outside_details(open('$f').read()) and 'vip-1' in outside_details(open('$f').read()))"; done
