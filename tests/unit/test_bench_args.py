"""`huiying bench`: wrong arguments are one line and exit code 2; the soak's checkpoints."""

from __future__ import annotations

import pytest

from huiying import cli
from huiying.bench_measure import checkpoints, per_request


@pytest.mark.parametrize(
    ("argv", "names"),
    [
        (["bench", "-n", "-5"], "-n/--requests"),
        (["bench", "-c", "0"], "-c/--concurrency"),
        (["bench", "--rate", "0"], "--rate"),
        (["bench", "--spawn", "--soak", "500"], "--soak"),
        (["bench", "--soak", "5000"], "--spawn"),
    ],
)
def test_wrong_arguments_are_one_line(argv: list[str], names: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(argv) == 2
    out = capsys.readouterr()
    lines = (out.out + out.err).strip().splitlines()
    assert len(lines) == 1 and names in lines[0] and "Traceback" not in lines[0]


def test_soak_checkpoints() -> None:
    assert checkpoints(50_000) == [1000, 10_000, 50_000]
    assert checkpoints(1000) == [1000]
    assert checkpoints(100_000) == [1000, 10_000, 100_000]


def test_per_request_figures() -> None:
    assert per_request({"a": 1.0}, {"a": 3.0, "b": 1.0}, 4, scale=1000) == {"a": 500.0, "b": 250.0}
