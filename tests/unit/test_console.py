"""The terminal's own parts: durations and script lines."""

from __future__ import annotations

from datetime import timedelta

import pytest

from adapters.console.session import ScriptError, parse_duration
from tests.support import run_script


@pytest.mark.parametrize(("text", "delta"), [
    ("30m", timedelta(minutes=30)), ("25h", timedelta(hours=25)), ("2d", timedelta(days=2)),
    ("1d2h", timedelta(days=1, hours=2)),
])
def test_durations(text: str, delta: timedelta) -> None:
    assert parse_duration(text) == delta


@pytest.mark.parametrize("text", ["", "2", "2x", "h2", "1d 2x"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ScriptError):
        parse_duration(text)


async def test_bad_lines_are_reported_and_the_script_goes_on(sqlite_url: str) -> None:
    transcript = await run_script(
        "nonsense\n:fly away\ngiulia@milano: :wait 2h\ngiulia@milano: :press 3\n:wait 2x\n"
        "giulia@milano: /chi\n", sqlite_url)
    assert "  ! a line is NAME@CHAT: text, or a :directive" in transcript
    assert "  ! unknown line: :fly away" in transcript
    assert "  ! :wait cannot be said by a member" in transcript
    assert "  ! no button 3 here" in transcript
    assert "  ! not a duration: '2x'" in transcript
    assert "Sei giulia (console)." in transcript
