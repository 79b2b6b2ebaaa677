"""Rich text and messages survive the outbox's JSON round trip."""

from __future__ import annotations

from bot.messages import (
    Action,
    Attachment,
    Bold,
    BulletList,
    Code,
    Italic,
    Link,
    Mention,
    OutMessage,
    PollSpec,
    Text,
    join,
    message_from_json,
    message_to_json,
    paragraph,
    rich,
)


def test_round_trip() -> None:
    message = OutMessage(
        text=rich(paragraph("a ", Bold((Text("b"), Italic((Text("c"),)))), Code("d")),
                  BulletList(((Link("https://x.org", (Text("x"),)),), (Mention("Giulia", "7"),)))),
        actions=((Action("Ci sono", "tok1", "/partecipo 1 sì", "✅"),),),
        key="meetup:1", attachment=Attachment("a.ics", "text/calendar", b"\x00BEGIN"),
        poll=PollSpec("Quando?", ("lun", "mar"), multiple=True), reply_to="55", silent=True)
    assert message_from_json(message_to_json(message)) == message


def test_plain_text() -> None:
    text = rich("uno", BulletList(((Text("a"),), (Link("https://x.org", (Text("x"),)),))))
    assert text.plain() == "uno\n\n• a\n• x (https://x.org)"


def test_pieces_of_plain_text_make_one_node() -> None:
    lines = [(Text("1. "), Text("lun")), (Bold((Text("2"),)), Text(". mar"))]
    assert join(lines, "\n") == (Text("1. lun\n"), Bold((Text("2"),)), Text(". mar"))
    assert paragraph("a", Text("b"), Code("c"), "d").children == (Text("ab"), Code("c"), Text("d"))
