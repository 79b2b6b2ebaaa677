"""A forgotten member's name is a marker, shown as "un socio" / "a member" to each reader."""

from __future__ import annotations

from bot.i18n import ANONYMOUS, translator
from bot.messages import Mention, OutMessage, Text, message_from_json, message_to_json, rich
from bot.outbox import _shown_names
from bot.sanitize import clean


def test_the_marker_reads_in_the_reader_s_language() -> None:
    names = f"giulia, {ANONYMOUS}, marco"
    assert translator("it").names(names) == "giulia, un socio, marco"
    assert translator("en").names(names) == "giulia, a member, marco"
    assert translator("it").names("giulia") == "giulia"


def test_no_member_can_take_the_marker_as_name() -> None:
    assert ANONYMOUS not in clean(ANONYMOUS)


def test_every_string_of_an_outgoing_message_is_shown() -> None:
    message = OutMessage(rich((Text(f"Ci sono: {ANONYMOUS}"), Mention(ANONYMOUS))))
    stored = message_from_json(_shown_names(message_to_json(message), translator("it")))
    assert stored.text.plain() == "Ci sono: un socioun socio"
