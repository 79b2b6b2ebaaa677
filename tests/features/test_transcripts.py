"""Whole conversations through the terminal's script mode, compared with their transcripts.

Each `scripts/NAME.LANG.script` runs with the chat language LANG and the clock starting at
2026-12-01 10:00 (Europe/Rome); its transcript must equal `scripts/NAME.LANG.expected`.
After a deliberate change of wording, regenerate with PIAZZABOT_UPDATE_TRANSCRIPTS=1 and
read the diff before committing.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support import run_script

SCRIPTS = sorted((Path(__file__).parent / "scripts").glob("*.script"))


@pytest.mark.parametrize("script", SCRIPTS, ids=[s.stem for s in SCRIPTS])
async def test_transcript(script: Path, sqlite_url: str) -> None:
    lang = script.stem.rsplit(".", 1)[-1]
    source = script.read_text(encoding="utf-8")  # noqa: ASYNC240 (a small local file)
    transcript = await run_script(source, sqlite_url, lang=lang)
    expected = script.with_suffix(".expected")
    if os.environ.get("PIAZZABOT_UPDATE_TRANSCRIPTS") == "1":
        expected.write_text(transcript, encoding="utf-8")
    assert transcript == expected.read_text(encoding="utf-8")


async def test_same_script_same_transcript(sqlite_url: str, tmp_path: Path) -> None:
    script = (Path(__file__).parent / "scripts" / "core.it.script").read_text(encoding="utf-8")
    other = f"sqlite+aiosqlite:///{tmp_path}/other.db"
    assert await run_script(script, sqlite_url) == await run_script(script, other)
