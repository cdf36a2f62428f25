"""`huiying doctor [--fix]`: what `make test` and `make run` need on this machine, checked in one step.

- Chromium at /usr/bin/chromium (HUIYING_TEST_CHROMIUM) for the browser tests;
- a CJK font (fc-list), so pages with Chinese text render (and screenshots are readable);
- RabbitMQ answering AMQP at HUIYING_AMQP_URL (default 127.0.0.1:5672), with its management API
  (plugin rabbitmq_management, AMQP port + 10000), through which the services put their queue policies.

With `--fix` it starts an installed RabbitMQ that is down (or restarts one that no longer accepts AMQP
connections) and, as root, installs what is missing with apt-get. Without root it prints one line saying
what to install; the browser tests then skip with that reason and the rest of the tests run.
`make prereqs` runs `huiying doctor --fix`; `make test` runs `make prereqs` first.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from urllib.parse import urlparse

CHROMIUM = os.environ.get("HUIYING_TEST_CHROMIUM", "/usr/bin/chromium")
CJK_FAMILIES = ("wenquanyi", "noto sans cjk", "noto serif cjk", "source han", "droid sans fallback", "ukai", "uming")
PACKAGES = {"chromium": "chromium", "font": "fonts-wqy-microhei", "rabbitmq": "rabbitmq-server"}


@dataclass
class Finding:
    name: str
    ok: bool
    detail: str
    package: str | None = None


def have_chromium() -> Finding:
    ok = os.path.exists(CHROMIUM)
    return Finding("chromium", ok, CHROMIUM if ok else f"no chromium at {CHROMIUM}", PACKAGES["chromium"])


def have_cjk_font() -> Finding:
    if shutil.which("fc-list") is None:
        return Finding("font", False, "fc-list is missing (fontconfig)", PACKAGES["font"])
    listing = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True).stdout.lower()
    found = next((f for f in CJK_FAMILIES if f in listing), None)
    return Finding("font", found is not None, found or "no Chinese (CJK) font", PACKAGES["font"])


def amqp_address() -> tuple[str, int]:
    url = os.environ.get("HUIYING_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/").split(",")[0]
    parsed = urlparse(url.strip())
    return parsed.hostname or "127.0.0.1", parsed.port or 5672


def amqp_answers(host: str, port: int) -> bool:
    """True when the server starts an AMQP handshake (a node can be up and refuse AMQP, e.g. out of file
    handles)."""
    try:
        with socket.create_connection((host, port), timeout=5) as sock:
            sock.settimeout(5)
            sock.sendall(b"AMQP\x00\x00\x09\x01")
            return sock.recv(1) == b"\x01"
    except OSError:
        return False


def have_rabbitmq() -> Finding:
    host, port = amqp_address()
    ok = amqp_answers(host, port)
    installed = shutil.which("rabbitmq-server") is not None
    detail = f"{host}:{port}" if ok else f"RabbitMQ does not answer at {host}:{port}"
    return Finding("rabbitmq", ok, detail, None if installed else PACKAGES["rabbitmq"])


def have_management() -> Finding:
    host, port = amqp_address()
    try:
        with socket.create_connection((host, port + 10000), timeout=5):
            return Finding("management", True, f"{host}:{port + 10000}")
    except OSError:
        return Finding("management", False, f"RabbitMQ's management API does not answer at {host}:{port + 10000}")


def enable_management() -> str | None:
    """Enable the management plugin on the running local node; None once its port answers."""
    result = subprocess.run(
        ["rabbitmq-plugins", "enable", "rabbitmq_management"], capture_output=True, text=True, timeout=120
    )
    if result.returncode != 0:
        return "could not enable rabbitmq_management: " + (result.stderr.strip().splitlines() or ["failed"])[-1]
    end = time.monotonic() + 60
    while time.monotonic() < end:
        if have_management().ok:
            return None
        time.sleep(1)
    return "rabbitmq_management was enabled but its port does not answer within 60 s"


def start_rabbitmq() -> str | None:
    """Start (or restart) the machine's RabbitMQ; None when it answers, else what went wrong."""
    host, port = amqp_address()
    if host not in ("127.0.0.1", "localhost"):
        return f"RabbitMQ at {host}:{port} is not on this machine"
    if shutil.which("rabbitmq-server") is None:
        return "rabbitmq-server is not installed"
    if subprocess.run(["rabbitmq-diagnostics", "-q", "ping"], capture_output=True, timeout=60).returncode == 0:
        subprocess.run(["rabbitmqctl", "stop"], capture_output=True, timeout=60)  # up but refusing AMQP
    server = "/usr/lib/rabbitmq/bin/rabbitmq-server"
    if os.geteuid() == 0 and os.path.exists(server) and shutil.which("su"):
        # As the rabbitmq user, with the hard open-files limit: every quorum queue holds file handles.
        script = f'cd /var/lib/rabbitmq; ulimit -S -n "$(ulimit -H -n)"; {server} -detached'
        command = ["su", "rabbitmq", "-s", "/bin/sh", "-c", script]
    else:
        command = ["rabbitmq-server", "-detached"]
    subprocess.run(command, capture_output=True, timeout=60)
    end = time.monotonic() + 90
    while time.monotonic() < end:
        if amqp_answers(host, port):
            return None
        time.sleep(1)
    return "RabbitMQ did not start within 90 s (see /var/log/rabbitmq/)"


def apt_install(packages: list[str]) -> str | None:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", *packages]):
        result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=900)
        if result.returncode != 0:
            last = (result.stderr.strip().splitlines() or ["failed"])[-1]
            return f"`{' '.join(command)}` failed: {last}"
    return None


def check() -> list[Finding]:
    rabbitmq = have_rabbitmq()
    return [have_chromium(), have_cjk_font(), rabbitmq, *([have_management()] if rabbitmq.ok else [])]


def main(fix: bool = False) -> int:
    findings = check()
    missing = [f for f in findings if not f.ok]
    if fix and missing:
        to_install = [f.package for f in missing if f.package]
        if to_install and os.geteuid() == 0 and shutil.which("apt-get"):
            print(f"huiying doctor: installing {' '.join(to_install)} ...", flush=True)
            problem = apt_install(to_install)
            if problem:
                print(f"huiying doctor: {problem}", file=sys.stderr)
        if not have_rabbitmq().ok:
            problem = start_rabbitmq()
            if problem:
                print(f"huiying doctor: {problem}", file=sys.stderr)
        if have_rabbitmq().ok and not have_management().ok and shutil.which("rabbitmq-plugins"):
            problem = enable_management()
            if problem:
                print(f"huiying doctor: {problem}", file=sys.stderr)
        findings = check()
        missing = [f for f in findings if not f.ok]
    for f in findings:
        print(f"  {'ok' if f.ok else 'MISSING':<8} {f.name:<11} {f.detail}")
    if not missing:
        print("huiying doctor: everything the tests need is here")
        return 0
    packages = " ".join(f.package for f in missing if f.package)
    advice = [f"install `sudo apt-get install {packages}`"] if packages else []
    if any(f.name == "rabbitmq" for f in missing):
        advice.append("start RabbitMQ: `rabbitmq-server -detached` (or `huiying doctor --fix` as root)")
    if any(f.name == "management" for f in missing):
        advice.append("enable its management API: `rabbitmq-plugins enable rabbitmq_management`")
    advice_text = "; ".join(advice)
    skipped = [f.name for f in missing if f.name in ("chromium", "font")]
    tail = "; the browser tests will be skipped" if "chromium" in skipped else ""
    print(f"huiying doctor: missing {', '.join(f.name for f in missing)}: {advice_text}{tail}", file=sys.stderr)
    return 1 if any(f.name in ("rabbitmq", "management") for f in missing) else 0
