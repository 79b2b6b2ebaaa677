"""Every string the bot says exists in Italian; the catalogs hold nothing the code lost."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from bot.i18n import LOCALE_DIR, render_template, translator
from bot.messages import Bold, Mention, Text

ROOT = Path(__file__).resolve().parents[2]
KEYWORDS = {"_": None, "p_": None, "N_": None, "fail": None, "n_": (1, 2)}


def code_messages() -> set[str | tuple[str, ...]]:
    found: set[str | tuple[str, ...]] = set()
    for package in ("bot", "adapters", "scheduler"):
        for _file, _line, message, _comments, _context in extract_from_dir(
                ROOT / package, keywords=KEYWORDS, comment_tags=()):
            found.add(message)
    return found


def italian_catalog() -> dict[str | tuple[str, ...], object]:
    entries: dict[str | tuple[str, ...], object] = {}
    for po in sorted((LOCALE_DIR / "it" / "LC_MESSAGES").glob("*.po")):
        with po.open("rb") as fp:
            for message in read_po(fp, locale="it"):
                if message.id:
                    key = tuple(message.id) if isinstance(message.id, list | tuple) else message.id
                    entries[key] = message.string
    return entries


def test_every_message_is_translated_to_italian() -> None:
    catalog = italian_catalog()
    missing = [m for m in code_messages() if not catalog.get(m)]
    assert not missing, f"untranslated: {missing}"


def test_no_obsolete_translations() -> None:
    obsolete = set(italian_catalog()) - code_messages()
    assert not obsolete, f"in the catalog but not in the code: {obsolete}"


def test_translations_keep_placeholders_and_markup() -> None:
    import re

    token = re.compile(r"\{[a-z_]+\}|</?[bi]>")
    for msgid, msgstr in italian_catalog().items():
        if isinstance(msgid, str) and isinstance(msgstr, str):
            assert sorted(token.findall(msgid)) == sorted(token.findall(msgstr)), msgid


def test_template_values_are_never_parsed_as_markup() -> None:
    nodes = render_template("Hi <b>{name}</b>", {"name": "<b>x</b>{name}"})
    assert nodes == (Text("Hi "), Bold((Text("<b>x</b>{name}"),)))


def test_a_run_of_plain_text_is_one_node() -> None:
    """A template's pieces and its plain values join: fewer nodes to store and send."""
    someone = Mention("Ada", user_id="7", platform="telegram")
    nodes = render_template("Poll no. {n} by {who}, {author}: <b>{a}{b}</b>.",
                            {"n": 3, "who": someone, "author": (Text("me"), Text("!")),
                             "a": "x", "b": Text("y")})
    assert nodes == (Text("Poll no. 3 by "), someone, Text(", me!: "),
                     Bold((Text("xy"),)), Text("."))


def test_dates_in_full_in_both_languages() -> None:
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    moment = datetime(2026, 12, 5, 18, 0, tzinfo=UTC)
    rome = ZoneInfo("Europe/Rome")
    assert translator("it").when(moment, rome) == "sabato 5 dicembre 2026, ore 19:00"
    assert translator("en").when(moment, rome) == "Saturday 5 December 2026, at 19:00"
