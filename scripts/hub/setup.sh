#!/usr/bin/env bash
# Set up rnn-lab for a class: a JupyterHub single-user image, Binder, Codespaces, a shared server.
# The Dockerfile and .devcontainer/devcontainer.json call only this script; tests/hub.test.mjs runs
# each of the Dockerfile's RUN lines. Every part can be run again: it redoes nothing that is done and
# never removes or overwrites what it did not write.
#
#   setup.sh system    as root, in the course checkout (e.g. /opt/rnn-lab): Debian packages for Jupyter
#                      (only those missing), checks Node ≥ 20, `npm ci` (builds the library; skipped when
#                      node_modules was installed from the same package-lock.json by the same Node), and
#                      the kernel "TypeScript (rnn-lab)" in $PREFIX/share/jupyter (default /usr/local:
#                      every user's Jupyter lists it, no JUPYTER_PATH). Notebooks in any folder import
#                      'rnn-lab', @tensorflow/tfjs and danfojs-node from this checkout (the kernel sets
#                      NODE_PATH). Then it asks that Jupyter which kernels it sees, as a user with an
#                      empty home would: the kernel must be among them.
#   setup.sh account   as root: the notebook user NB_USER (default jovyan) with uid NB_UID (default 1000)
#                      and home NB_HOME (default /home/$NB_USER), as Binder requires. A user of that name
#                      with that uid is kept; the node images' user "node" holding the uid is renamed
#                      (inside an image build); any other account holding it is an error, never renamed.
#   setup.sh user      as the student: copies the lessons and the homework (student versions) into
#                      $RNN_LAB_USER_DIR (default ~/rnn-lab) as plain files; see scripts/hub/copy-course.mjs.
#
# Settings (environment): PREFIX, RNN_LAB_PYTHON (the Python with Jupyter, default /usr/bin/python3),
# NB_USER, NB_UID, NB_HOME, RNN_LAB_USER_DIR. `npm run setup:hub -- system|account|user` runs the same.
set -euo pipefail

COURSE="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PREFIX="${PREFIX:-/usr/local}"
PY="${RNN_LAB_PYTHON:-/usr/bin/python3}"
# Debian bookworm packages: the classic Notebook and nbconvert/nbclient (what `npm run course` and the
# grader use), ipykernel, jupyter-client (the `jupyter kernelspec` command), and jupyterhub for
# `jupyterhub-singleuser`, the command JupyterHub's spawners start.
DEBS=(jupyter-notebook jupyter-nbconvert python3-nbclient python3-ipykernel jupyter-client jupyterhub)
USAGE="usage: scripts/hub/setup.sh system|account|user   (npm run setup:hub -- system|account|user)"

say() { echo "rnn-lab setup: $*"; }
die() { echo "rnn-lab setup: $*" >&2; exit 1; }

need_root() {
  [ "$(id -u)" -eq 0 ] || die "'setup.sh $1' installs for every user and must run as root (got uid $(id -u)); a student runs 'setup.sh user'"
}

check_node() {
  command -v node >/dev/null 2>&1 || die "Node.js is not on PATH. rnn-lab needs Node ≥ 20 (Debian bookworm's nodejs is 18): use a node:20-bookworm (or newer) base image, or install Node from nodejs.org / NodeSource"
  local major
  major="$(node -p 'process.versions.node.split(".")[0]')"
  [ "$major" -ge 20 ] || die "Node $(node --version) at $(command -v node) is too old: rnn-lab needs Node ≥ 20 (package.json engines). Put a newer Node first on PATH"
  command -v npm >/dev/null 2>&1 || die "npm is not on PATH (it comes with Node ≥ 20 from nodejs.org and the node images)"
}

debian_packages() {
  local missing=()
  "$PY" -c 'import notebook, nbconvert, nbclient, ipykernel' 2>/dev/null || missing+=(jupyter-notebook jupyter-nbconvert python3-nbclient python3-ipykernel)
  command -v jupyter-kernelspec >/dev/null 2>&1 || missing+=(jupyter-client)
  command -v jupyterhub-singleuser >/dev/null 2>&1 || missing+=(jupyterhub)
  if [ ${#missing[@]} -eq 0 ]; then say "Jupyter packages present (${DEBS[*]})"; return; fi
  command -v apt-get >/dev/null 2>&1 || die "missing ${missing[*]} and no apt-get: install Jupyter (notebook, nbconvert, nbclient, ipykernel, jupyterhub) for $PY yourself"
  say "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Debian's nodejs (18) may have come with jupyterhub; the Node on PATH must still be ≥ 20.
  check_node
}

npm_install() {
  local stamp="$COURSE/node_modules/.rnn-lab-setup" want
  want="$(cat "$COURSE/package-lock.json" | sha256sum | cut -d' ' -f1) node $(node --version)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -e "$COURSE/dist/index.js" ]; then
    say "node_modules is current (installed from this package-lock.json by node $(node --version)); npm ci skipped"
    return
  fi
  say "npm ci in $COURSE"
  # npm ci also runs the package's prepare script: the library is built to dist/.
  (cd "$COURSE" && npm ci --no-audit --no-fund)
  echo "$want" > "$stamp"
}

# Whether $PREFIX/share/jupyter is on the data path of $PY's Jupyter (asked before anything is installed,
# so a PREFIX no user's Jupyter would read is refused at once, not after npm ci).
check_prefix() {
  local want="$PREFIX/share/jupyter" paths
  paths="$(env -u JUPYTER_PATH -u JUPYTER_DATA_DIR HOME=/nonexistent "$PY" -c \
    'from jupyter_core.paths import jupyter_path; print("\n".join(p for p in jupyter_path() if not p.startswith("/nonexistent")))' 2>/dev/null)" || return 0   # no Jupyter yet: checked after install
  while IFS= read -r p; do
    [ "$(readlink -m "$p")" = "$(readlink -m "$want")" ] && return 0
  done <<< "$paths"
  die "PREFIX=$PREFIX: Jupyter of $PY does not read $want, so no user would see the kernel there. Use a PREFIX on its data path ($(echo $paths | tr ' ' ',')) — /usr/local for the system Python — or, for a throw-away install, a venv: $PY -m venv --system-site-packages DIR; PREFIX=DIR RNN_LAB_PYTHON=DIR/bin/python setup.sh system (then start Jupyter as DIR/bin/python -m notebook: the venv has no jupyter command of its own)"
}

system_kernel() {
  (cd "$COURSE" && RNN_LAB_PYTHON="$PY" node scripts/kernel.mjs install --prefix "$PREFIX")
  chmod -R a+rX "$PREFIX/share/jupyter/kernels/rnn-lab"
  # Ask Jupyter, as a user with an empty home and no JUPYTER_PATH would, where the kernel is.
  local home found
  home="$(mktemp -d)"
  found="$(env -u JUPYTER_PATH -u JUPYTER_DATA_DIR -u JUPYTER_CONFIG_DIR HOME="$home" "$PY" -c \
    'from jupyter_client.kernelspec import KernelSpecManager; print(KernelSpecManager().find_kernel_specs().get("rnn-lab", ""))')" || found=""
  rm -rf "$home"
  local want="$PREFIX/share/jupyter/kernels/rnn-lab"
  if [ "$(readlink -f "$found" 2>/dev/null)" != "$(readlink -f "$want")" ]; then
    die "Jupyter of $PY does not list $want (it lists rnn-lab at '${found:-nowhere}'): PREFIX must be on its data path (python -m jupyter --paths), e.g. /usr/local or that Python's sys.prefix"
  fi
  say "every user's Jupyter ($PY) lists the kernel \"TypeScript (rnn-lab)\" at $want"
}

system_part() {
  need_root system
  check_node
  check_prefix
  debian_packages
  check_prefix
  npm_install
  system_kernel
  say "system part done: course in $COURSE, Node $(node --version), kernel in $PREFIX/share/jupyter/kernels/rnn-lab"
}

account_part() {
  need_root account
  local user="${NB_USER:-jovyan}" uid="${NB_UID:-1000}"
  local home="${NB_HOME:-/home/$user}"
  case "$uid" in ''|*[!0-9]*) die "NB_UID must be a number; got '$uid'";; esac
  [ "$uid" -ne 0 ] || die "NB_UID 0 is root: the notebook user must be an ordinary account (Binder uses 1000)"
  local by_name by_uid
  by_name="$(getent passwd "$user" | cut -d: -f3 || true)"
  by_uid="$(getent passwd "$uid" | cut -d: -f1 || true)"
  if [ -n "$by_name" ]; then
    [ "$by_name" = "$uid" ] || die "user $user exists with uid $by_name, not $uid; choose another NB_USER or NB_UID"
    # An existing account keeps its own home: nothing is created or handed over elsewhere.
    local own
    own="$(getent passwd "$user" | cut -d: -f6)"
    if [ -n "${NB_HOME:-}" ] && [ "$(readlink -m "$NB_HOME")" != "$(readlink -m "$own")" ]; then
      die "user $user exists with home $own, not NB_HOME=$NB_HOME; setup.sh does not move an existing account's home: leave NB_HOME unset or set it to $own"
    fi
    say "user $user (uid $uid) exists, home $own"
    return
  elif [ "$by_uid" = node ]; then
    # The node images ship a user "node" with uid 1000, the uid Binder requires for the notebook user. Only
    # that image user is renamed: any other account holding the uid is somebody's (a shared server's).
    say "renaming the node image's user node (uid $uid) to $user, home $home"
    usermod --login "$user" --home "$home" --move-home "$by_uid"
    if getent group "$by_uid" >/dev/null && ! getent group "$user" >/dev/null; then groupmod --new-name "$user" "$by_uid"; fi
  elif [ -n "$by_uid" ]; then
    die "uid $uid belongs to user $by_uid; setup.sh never renames or moves an existing account (only the node images' user 'node'): choose another NB_UID, or NB_USER=$by_uid to use that account"
  else
    say "creating user $user (uid $uid), home $home"
    useradd --uid "$uid" --create-home --home-dir "$home" --shell /bin/bash "$user"
  fi
  mkdir -p "$home"
  chown "$uid" "$home"
}

user_part() {
  [ "$(id -u)" -ne 0 ] || [ -n "${RNN_LAB_USER_DIR:-}" ] || die "'setup.sh user' copies the course into the student's home: run it as the student, not root (or set RNN_LAB_USER_DIR)"
  check_node
  node "$COURSE/scripts/hub/copy-course.mjs"
}

case "${1:-}" in
  system) [ $# -eq 1 ] || die "'system' takes no arguments; got: ${*:2}"; system_part ;;
  account) [ $# -eq 1 ] || die "'account' takes no arguments (NB_USER, NB_UID, NB_HOME come from the environment); got: ${*:2}"; account_part ;;
  user) [ $# -eq 1 ] || die "'user' takes no arguments; got: ${*:2}"; user_part ;;
  -h|--help) echo "$USAGE" ;;
  '') echo "$USAGE" >&2; exit 2 ;;
  *) echo "rnn-lab setup: unknown part '$1'" >&2; echo "$USAGE" >&2; exit 2 ;;
esac
