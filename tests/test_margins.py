"""helpers.margins: how far each claim was from failing (and tools/claim_margins.py)."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from helpers import margins
from helpers.check import ClaimError, claim

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("left", "op", "right", "expected"),
    [
        (3, ">", 1, 2),
        (3, ">=", 1, 2),
        (1, "<", 3, 2),
        (3, "<=", 1, -2),
        ([1, 5], ">", 0, 1),
    ],
)
def test_margin_is_the_signed_room_left(left, op, right, expected):
    assert margins.margin(left, op, right) == pytest.approx(expected)


def test_margin_refuses_other_comparisons():
    with pytest.raises(ValueError, match="op must be one of"):
        margins.margin(1, "==", 1)


def _records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_nothing_is_recorded_unless_asked(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv(margins.LOG, raising=False)
    monkeypatch.chdir(tmp_path)
    claim("two is more than one", 2 > 1)
    assert list(tmp_path.iterdir()) == []
    assert capsys.readouterr().out == "CLAIM HOLDS: two is more than one\n"


def test_each_comparison_of_a_claim_is_recorded(tmp_path, monkeypatch):
    log = tmp_path / "claims.jsonl"
    monkeypatch.setenv(margins.LOG, str(log))
    accuracy, maps = 0.95, np.array([0.2, 0.4])
    claim(
        "accurate, and every map above a tenth",
        bool(accuracy >= 0.9 and (maps > 0.1).all()),
    )
    claim("a generator has no sides to measure", all(m > 0 for m in maps))
    claim("chained", 0.5 < accuracy <= 1)
    first, second, third = _records(log)
    assert first["holds"] and first["claim"] == "accurate, and every map above a tenth"
    assert [(t["left"], t["op"], t["right"]) for t in first["terms"]] == [
        ("accuracy", ">=", "0.9"),
        ("maps", ">", "0.1"),
    ]
    assert [t["margin"] for t in first["terms"]] == pytest.approx([0.05, 0.1])
    assert [t["relative"] for t in first["terms"]] == pytest.approx(
        [0.05 / 0.95, 0.1 / 0.4]
    )
    assert second["terms"] == []
    assert [t["margin"] for t in third["terms"]] == pytest.approx([0.45, 0.05])


def test_two_claims_on_one_line_each_get_their_own_sides(tmp_path, monkeypatch):
    log = tmp_path / "claims.jsonl"
    monkeypatch.setenv(margins.LOG, str(log))
    a, b = 3.0, 10.0
    _ = [claim("a is over 1", a > 1), claim("b is over 2", b > 2)]  # one line
    first, second = _records(log)
    assert first["terms"][0]["margin"] == pytest.approx(2.0)
    assert second["terms"][0]["margin"] == pytest.approx(8.0)


def test_tensor_sides_are_measured(tmp_path, monkeypatch):
    torch = pytest.importorskip("torch")
    log = tmp_path / "claims.jsonl"
    monkeypatch.setenv(margins.LOG, str(log))
    weights = torch.tensor([0.2, 0.3], requires_grad=True)
    claim("every weight above a tenth", bool((weights > 0.1).all()))
    (entry,) = _records(log)
    assert entry["terms"][0]["margin"] == pytest.approx(0.1)


def test_a_broken_log_never_decides_a_claim(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(margins.LOG, str(tmp_path / "no" / "such" / "folder.jsonl"))
    claim("two is more than one", 2 > 1)
    out, err = capsys.readouterr()
    assert out == "CLAIM HOLDS: two is more than one\n"
    assert "no margin recorded" in err


def test_a_failed_claim_is_recorded_before_it_raises(tmp_path, monkeypatch):
    log = tmp_path / "claims.jsonl"
    monkeypatch.setenv(margins.LOG, str(log))
    drop = 0.02
    with pytest.raises(ClaimError):
        claim("the drop is over 0.05", drop > 0.05)
    (entry,) = _records(log)
    assert not entry["holds"]
    assert entry["terms"][0]["margin"] == pytest.approx(-0.03)


def test_the_tool_lists_the_tightest_claim_first(tmp_path):
    runs = []
    for name, close in (("t1", 0.01), ("t4", 0.2)):
        run = tmp_path / f"{name}.jsonl"
        entries = [
            {
                "claim": "close",
                "holds": True,
                "terms": [{"relative": close, "margin": close / 10}],
            },
            {"claim": "far", "holds": True, "terms": [{"relative": 0.5, "margin": 0.05}]},
            {
                "claim": "nan",
                "holds": True,
                "terms": [{"relative": float("nan"), "margin": 0.0}],
            },
            {"claim": "unmeasured", "holds": True, "terms": []},
        ]
        run.write_text("".join(json.dumps(e) + "\n" for e in entries))
        runs.append(str(run))
    out = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "claim_margins.py"), *runs],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rows = [
        line for line in out.splitlines() if line.startswith("| ") and "claim |" not in line
    ]
    assert [row.split(" | ")[1] for row in rows] == ["nan", "close", "far"]  # NaN: failed
    assert rows[1].endswith("| +0.010 | +0.200 | +0.010 | +0.001 |")
    assert "3 claims measured; 1 without a comparison to measure" in out
    assert "unmeasured" in out.split("measured;")[1]
