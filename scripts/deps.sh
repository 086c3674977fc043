#!/usr/bin/env bash
# Installs the Debian packages Meekijk's tests need: an X server for the
# agent to capture, a browser for the console, and the X libraries the agent
# links. As root it installs what is missing; otherwise it says what to run.
set -euo pipefail

packages=(
	xvfb            # the X display the end-to-end tests start
	xdotool x11-utils xterm x11-apps  # drive and inspect that display
	chromium        # the console's browser in end-to-end tests
	libx11-dev libxtst-dev  # the agent's input injection (robotgo) links -lX11 -lXtst
	libxext-dev libxdamage-dev  # the agent's screen capture links -lXext (MIT-SHM) -lXdamage
	x11-xserver-utils  # xrandr: the capture tests resize Xvfb's screen
	gcc libc6-dev   # cgo: the agent's OpenH264 encoder
	fonts-dejavu-core  # readable text in screenshots
	iproute2        # ip netns: the connectivity tests' separate hosts
	coturn          # turnutils_uclient: a TURN client by others, to check ours against
	x11vnc          # the peer make bench compares with
	novnc websockify  # make bench views x11vnc through noVNC in the same browser
	xclip           # the agent's clipboard sharing (robotgo calls xclip on X11)
	default-jre-headless libsaxonhe-java  # Saxon runs the Peppol Schematrons over the invoices the tests write
	rsyslog         # receives audit checkpoints in a test (started on 127.0.0.1 with its own config)
	gcc-mingw-w64-x86-64 g++-mingw-w64-x86-64  # make agent-windows: cross-build agent.exe (cgo, OpenH264)
	wine wine64     # the Windows end-to-end test runs agent.exe under Wine
	osslsigncode    # make sign-agent: Authenticode signature, checked by the tests
	postgresql      # the store's PostgreSQL tests start their own cluster (internal/pgtest)
	haproxy         # the sample load-balancer configuration (deploy/haproxy.cfg) is checked with haproxy -c
)

missing=()
# The JavaScript type check (scripts/typecheck.sh) runs TypeScript from npm;
# a machine whose Node.js came from elsewhere already has npm.
command -v npm >/dev/null || missing+=(nodejs npm)
for p in "${packages[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing+=("$p")
	fi
done

if [ ${#missing[@]} -eq 0 ]; then
	echo "deps: all test packages present"
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing Debian packages: ${missing[*]}" >&2
	echo "deps: install them with: sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
	exit 1
fi

echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"

# The tests need only coturn's client. Its server stays off: the sysvinit
# script starts nothing unless /etc/default/coturn sets TURNSERVER_ENABLED,
# but under systemd the package enables and starts coturn.service, a TURN
# server on every interface. Stop it when this script brought it in.
if [[ " ${missing[*]} " == *" coturn "* ]] && [ -d /run/systemd/system ]; then
	systemctl disable --now coturn.service
fi
# Likewise Debian's own PostgreSQL cluster: the tests start theirs on a free port.
if [[ " ${missing[*]} " == *" postgresql "* ]] && [ -d /run/systemd/system ]; then
	systemctl disable --now postgresql.service
fi
