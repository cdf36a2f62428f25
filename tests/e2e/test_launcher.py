"""`huiying run` (what `make run` runs) as a user drives it: start, use, Ctrl-C, restart with the data kept,
and one-line answers to operator mistakes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import psutil
import pytest

from tests.e2e.conftest import delete_stack_topology, stack_env
from tests.support import free_port, wait_sync

REQUEST = {
    "service_code": "care_visit",
    "description": "独居老人，希望社区上门看看",
    "location": {"address": "7号楼3单元101"},
    "resident": {"name": "赵奶奶", "phone": "13700137000", "language": "zh-CN"},
}


def start_run(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "huiying.cli", "run"], env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT
    )


def up(proc: subprocess.Popen[bytes], log: Path, *urls: str) -> bool:
    if proc.poll() is not None:
        pytest.fail(f"huiying run exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
    return all(ready(url) for url in urls)


def ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_run_serves_stops_cleanly_on_ctrl_c_and_keeps_data_across_restarts(tmp_path: Path, amqp_url: str) -> None:
    env = stack_env(tmp_path, HUIYING_EMBEDDED_ENGINE="sqlite", HUIYING_LOG_LEVEL="WARNING")
    intake = f"http://127.0.0.1:{env['HUIYING_INTAKE_PORT']}"
    notify = f"http://127.0.0.1:{env['HUIYING_NOTIFY_PORT']}"
    log = tmp_path / "run.log"

    proc = start_run(env, log)
    try:
        wait_sync(
            lambda: up(proc, log, intake, notify) and "Huiying is running" in log.read_text(),
            timeout=90,
            what="the stack and its banner",
        )
        assert intake in log.read_text()
        children = psutil.Process(proc.pid).children(recursive=True)
        assert len(children) == 6  # three databases, three services

        code = httpx.post(f"{intake}/v1/requests", json=REQUEST, headers={"X-API-Key": "dev-web-key"}).json()[
            "tracking_code"
        ]
        wait_sync(
            lambda: len(httpx.get(f"{notify}/v1/inbox/{code}").json().get("messages", [])) == 2,
            timeout=60,
            what="two inbox messages",
        )
        proc.send_signal(signal.SIGINT)  # Ctrl-C
        assert proc.wait(60) == 0
        assert "stopped cleanly" in log.read_text()
        assert not [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
        assert sorted(p.name for p in (tmp_path / "var").iterdir() if p.suffix == ".sqlite") == [
            "intake.sqlite",
            "notify.sqlite",
            "routing.sqlite",
        ]
    finally:
        if proc.poll() is None:
            proc.kill()

    proc = start_run(env, log)
    try:
        wait_sync(lambda: up(proc, log, intake), timeout=90, what="the restarted stack")
        track = httpx.get(f"{intake}/v1/track/{code}").json()
        assert track["status"] == "dispatched" and track["team"]["id"] == "community_work_group"
        assert len(httpx.get(f"{notify}/v1/inbox/{code}").json()["messages"]) == 2
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(60) == 0
        delete_stack_topology(env)


def test_run_says_in_one_line_how_to_start_a_missing_broker(tmp_path: Path) -> None:
    env = stack_env(tmp_path, HUIYING_AMQP_URL=f"amqp://guest:guest@127.0.0.1:{free_port()}/")
    result = subprocess.run(
        [sys.executable, "-m", "huiying.cli", "run"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "rabbitmq-server -detached" in lines[0] and "guest:***@" in lines[0]


@pytest.mark.parametrize(
    ("uri", "expected"),
    [("http://nowhere", "must start with mongodb://"), ("mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=300", "")],
)
def test_serve_says_in_one_line_what_is_wrong_with_the_database(tmp_path: Path, uri: str, expected: str) -> None:
    env = {**stack_env(tmp_path), "HUIYING_INTAKE_MONGODB_URI": uri, "HUIYING_MONGODB_TIMEOUT_MS": "300"}
    env.pop("PYTHONWARNINGS", None)
    result = subprocess.run(
        [sys.executable, "-m", "huiying.cli", "serve", "intake"],
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "HUIYING_INTAKE_MONGODB_URI" in lines[0] and "make run" in lines[0] and expected in lines[0]


def test_prod_mode_with_dev_secrets_refuses_to_start(tmp_path: Path) -> None:
    env = {**stack_env(tmp_path), "HUIYING_MODE": "prod"}
    result = subprocess.run(
        [sys.executable, "-m", "huiying.cli", "serve", "routing"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert "HUIYING_JWT_SECRET still has its dev default" in result.stderr
    assert os.linesep not in result.stderr.strip()


def children_serving(proc: subprocess.Popen[bytes], service: str, port: str) -> list[psutil.Process]:
    return [
        c
        for c in psutil.Process(proc.pid).children(recursive=True)
        if c.is_running()
        and c.status() != psutil.STATUS_ZOMBIE
        and f"serve {service} --port {port}" in " ".join(c.cmdline())
    ]


def test_run_with_replicas_prints_every_url_restarts_a_killed_service_and_a_second_run_names_the_taken_port(
    tmp_path: Path, amqp_url: str
) -> None:
    env = stack_env(tmp_path, HUIYING_LOG_LEVEL="WARNING")
    base = {s: int(env[f"HUIYING_{s.upper()}_PORT"]) for s in ("intake", "routing", "notify")}
    intake, routing = f"http://127.0.0.1:{base['intake']}", f"http://127.0.0.1:{base['routing']}"
    second_routing = f"http://127.0.0.1:{base['routing'] + 100}"
    log = tmp_path / "run.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "huiying.cli", "run", "--replicas", "2"],
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )
    try:
        wait_sync(
            lambda: (
                up(proc, log, intake, routing, second_routing, f"http://127.0.0.1:{base['intake'] + 100}")
                and "Huiying is running" in log.read_text()
            ),
            timeout=120,
            what="two replicas of each service and the banner",
        )
        banner = log.read_text()
        for url in (
            f"{intake}/",
            f"{routing}/console/",
            f"{routing}/console/ledger",
            *(f"http://127.0.0.1:{p}/docs" for p in base.values()),
            second_routing,
        ):
            assert url in banner, url
        assert "dev-password" in banner and "supervisor" in banner and "restarted with back-off" in banner
        assert len(psutil.Process(proc.pid).children(recursive=True)) == 9  # three databases, six services

        # A second `huiying run` on the same ports: one line naming the port and the process holding it.
        second = subprocess.run(
            [sys.executable, "-m", "huiying.cli", "run"], env=env, capture_output=True, text=True, timeout=60
        )
        assert second.returncode == 1
        lines = second.stderr.strip().splitlines()
        assert len(lines) == 1, second.stderr
        assert f"port {base['intake']} (intake) is taken by pid " in lines[0] and "huiying.cli serve intake" in lines[0]

        # kill -9 of one replica: the stack stays up, the replica is restarted and serves again.
        [victim] = children_serving(proc, "routing", str(base["routing"] + 100))
        victim.kill()
        wait_sync(
            lambda: (
                "routing-2 exited with code -9; restarting it in" in log.read_text()
                and "routing-2 restarted (restart 1" in log.read_text()
            ),
            timeout=30,
            what="the restart notice",
        )
        wait_sync(lambda: up(proc, log, second_routing), timeout=60, what="the restarted replica")
        assert [c.pid for c in children_serving(proc, "routing", str(base["routing"] + 100))] != [victim.pid]
        assert proc.poll() is None
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(60) == 0
        delete_stack_topology(env)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["bench", "-n", "-5"], "huiying bench: argument -n/--requests: must be greater than 0, not -5"),
        (["chaos", "--rate", "0"], "huiying chaos: argument --rate: must be greater than 0, not 0"),
        (["run", "--replicas", "x"], "huiying run: argument --replicas: 'x' is not a number"),
        (["dlq", "no-such-queue"], "huiying dlq: there is no queue "),
        (["cluster", "kill", "--dir", "/nonexistent/cluster"], "huiying cluster: no cluster in /nonexistent/cluster"),
    ],
)
def test_cli_mistakes_get_one_line_and_no_traceback(
    tmp_path: Path, amqp_url: str, argv: list[str], expected: str
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "huiying.cli", *argv],
        env=stack_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(expected), result.stderr


def test_doctor_says_in_one_line_what_to_install_and_lets_the_rest_run(tmp_path: Path, amqp_url: str) -> None:
    env = {**stack_env(tmp_path), "HUIYING_TEST_CHROMIUM": str(tmp_path / "no-chromium")}
    result = subprocess.run(
        [sys.executable, "-m", "huiying.cli", "doctor"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0  # RabbitMQ answers: the tests can run, the browser tests skip
    assert "MISSING  chromium" in result.stdout and "ok       rabbitmq" in result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "sudo apt-get install chromium" in lines[0] and "browser tests will be skipped" in lines[0]

    env["HUIYING_AMQP_URL"] = f"amqp://guest:guest@127.0.0.1:{free_port()}/"
    result = subprocess.run(
        [sys.executable, "-m", "huiying.cli", "doctor"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert "missing chromium, rabbitmq" in line and "rabbitmq-server -detached" in line
