"""Recognising commands and splitting their arguments."""

from __future__ import annotations

import pytest

from bot.commands import fields, split_command, words


@pytest.mark.parametrize(("text", "expected"), [
    ("/territorio Milano", ("territorio", "Milano")),
    ("/Territorio   Reggio Emilia  ", ("territorio", "Reggio Emilia")),
    ("/territorio@PiazzaBot Milano", ("territorio", "Milano")),
    ("/aiuto@piazzabot", ("aiuto", "")),
    ("!territorio Milano", ("territorio", "Milano")),
    ("/idea prima riga\nseconda riga", ("idea", "prima riga\nseconda riga")),
])
def test_commands_are_recognised(text: str, expected: tuple[str, str]) -> None:
    assert split_command(text, prefixes="/!", bot_username="PiazzaBot") == expected


@pytest.mark.parametrize("text", [
    "ciao", "", "/", "/ spazio", "//doppio", "/territorio@AltroBot Milano", "/comando-strano",
    "/" + "x" * 40, "!territorio Milano",
])
def test_not_our_commands(text: str) -> None:
    assert split_command(text, prefixes="/", bot_username="PiazzaBot") is None


def test_fields_split_on_bars_and_keep_quoted_bars() -> None:
    assert fields('Cena | venerdì alle 19 | "Bar | Ristorante" |  ') == [
        "Cena", "venerdì alle 19", "Bar | Ristorante", ""]
    assert fields("") == []
    assert fields("solo") == ["solo"]


def test_words_tolerate_unbalanced_quotes() -> None:
    assert words('it "due parole"') == ["it", "due parole"]
    assert words('it "aperta') == ["it", '"aperta']
