"""The Matrix adapter's pure parts, without a server: rendering and escaping, event
contents, polls, error mapping, invites and power, what inbound text holds."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import nio
import pytest

from adapters.base import Rejected, RetryLater, Unreachable
from adapters.matrix import polls
from adapters.matrix.adapter import MAX_TEXT, safe_filename
from adapters.matrix.content import edit_content, relate, text_content
from adapters.matrix.errors import delivery_error
from adapters.matrix.inbound import mentioned_users, strip_reply_fallback
from adapters.matrix.media import file_info, png_size
from adapters.matrix.render import render, render_actions, render_message, split_blocks
from adapters.matrix.rooms import creators_have_unlimited_power, creators_of, invite_allowed
from adapters.matrix.state import MAX_KEY, AdapterMemory, state_key
from bot.messages import (
    Action,
    Attachment,
    Bold,
    BulletList,
    Code,
    Italic,
    Link,
    Mention,
    Paragraph,
    PollSpec,
    RichText,
    Text,
    rich,
)
from tests.adapters.matrix.test_synapse_fixture import tiny_png

# ------------------------------------------------------------------------------ render


def test_rich_text_becomes_html_and_a_plain_body() -> None:
    text = RichText((
        Paragraph((Text("Ciao "), Bold((Text("Anna"),)), Text(", "), Italic((Text("vieni"),)),
                   Text("?\nriga"), Code("!aiuto"))),
        BulletList(((Text("uno"),), (Text("due"),))),
    ))
    out = render(text)
    assert out.html == ("<p>Ciao <strong>Anna</strong>, <em>vieni</em>?<br>riga"
                        "<code>!aiuto</code></p><ul><li>uno</li><li>due</li></ul>")
    assert out.body == "Ciao Anna, vieni?\nriga!aiuto\n\n• uno\n• due"


def test_every_user_string_is_escaped() -> None:
    hostile = '<img src=x onerror="alert(1)">&amp;'
    out = render(RichText((Paragraph((Text(hostile), Bold((Text(hostile),)), Code(hostile),
                                      Mention(hostile), Link("https://x.org", (Text(hostile),)))),
                           )))
    assert "<img" not in out.html
    assert out.html.count("&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&amp;amp;") == 5
    assert hostile in out.body  # the plain body is plain text, shown as such


def test_links_keep_only_safe_schemes() -> None:
    ok = render(rich((Link("https://example.org/?a=1&b=\"2\"", (Text("sito"),)),)))
    assert ok.html == '<p><a href="https://example.org/?a=1&amp;b=&quot;2&quot;">sito</a></p>'
    for url in ("javascript:alert(1)", "data:text/html,x", "https://a b", ""):
        bad = render(rich((Link(url, (Text("clic"),)),)))
        assert bad.html == "<p>clic</p>"


def test_matrix_mentions_are_pills_and_listed() -> None:
    out = render(rich((Mention("Anna", "@anna:example.org", "matrix"), Text(" e "),
                       Mention("Bob", "123", "telegram"), Mention("Eve", "@evil:x\"><b>"))))
    assert out.html == ('<p><a href="https://matrix.to/#/@anna:example.org">Anna</a> e '
                        "BobEve</p>")
    assert out.mentions == ("@anna:example.org",)
    content = text_content(out)
    assert content["m.mentions"] == {"user_ids": ["@anna:example.org"]}


def test_actions_show_their_text_forms_under_the_message() -> None:
    actions = [Action("Ci sono", "t1", "!partecipo 4 sì", "✅"),
               Action("Forse", "t2", "!partecipo 4 forse"),
               Action("<b>Solo</b>", "t3", emoji="👍")]
    out = render_actions(actions)
    assert out.body == "✅ Ci sono — !partecipo 4 sì\nForse — !partecipo 4 forse\n👍 <b>Solo</b>"
    assert out.html == ("<p>✅ Ci sono — <code>!partecipo 4 sì</code><br>"
                        "Forse — <code>!partecipo 4 forse</code><br>👍 &lt;b&gt;Solo&lt;/b&gt;</p>")
    whole = render_message(rich("Assemblea"), actions)
    assert whole.body.startswith("Assemblea\n\n✅ Ci sono")
    assert render_message(RichText(), actions).body == out.body


def test_long_text_is_cut_between_blocks() -> None:
    text = rich("a" * 40, "b" * 40, "c" * 150)
    parts = split_blocks(text, 100)
    assert [p.plain() for p in parts] == ["a" * 40 + "\n\n" + "b" * 40, "c" * 100, "c" * 50]
    assert split_blocks(RichText(), 100) == [RichText()]


# ----------------------------------------------------------------------------- content


def test_an_edit_has_new_content_and_a_starred_fallback() -> None:
    new = text_content(render(rich((Mention("Anna", "@anna:x.org"), Text(" ciao")))))
    relate(new, reply_to="$asked")
    edit = edit_content(new, "$original")
    assert edit["m.relates_to"] == {"rel_type": "m.replace", "event_id": "$original"}
    assert edit["body"] == "* Anna ciao" and "formatted_body" not in edit
    assert edit["m.mentions"] == {}  # nobody is pinged again by an edit
    assert edit["m.new_content"]["body"] == "Anna ciao"
    assert edit["m.new_content"]["m.mentions"] == {"user_ids": ["@anna:x.org"]}
    assert "m.relates_to" not in edit["m.new_content"]


def test_the_longest_edit_in_an_encrypted_room_fits_in_an_event() -> None:
    """64 KiB at most; nio writes JSON with ASCII escapes; megolm's base64 adds a third."""
    line = ("Perché è così? L'assemblea «del quartiere» è lunedì alle 18 — porta qualcosa "
            "da bere & mangiare! ✅ ")
    blocks = tuple(Paragraph((Bold((Text("Titolo"),)), Text(line)))
                   for _ in range(MAX_TEXT // (len(line) + 8)))
    text = RichText(blocks)
    assert len(text.plain()) <= MAX_TEXT
    actions = [Action("Ci sono", "t", "!partecipo 12345 sì", "✅")] * 4
    edit = edit_content(text_content(render_message(text, actions)), "$" + "e" * 43)
    plaintext = json.dumps({"type": "m.room.message", "content": edit, "room_id": "!" + "r" * 43},
                           separators=(",", ":"))
    assert len(plaintext) * 4 / 3 + 1000 < 65536


def test_replies_and_threads() -> None:
    assert relate({}, reply_to="$a") == {"m.relates_to": {"m.in_reply_to": {"event_id": "$a"}}}
    assert relate({}, thread_id="$root")["m.relates_to"] == {
        "rel_type": "m.thread", "event_id": "$root", "is_falling_back": True,
        "m.in_reply_to": {"event_id": "$root"}}
    assert relate({}, reply_to="$a", thread_id="$root")["m.relates_to"][
        "is_falling_back"] is False
    assert relate({"body": "x"}) == {"body": "x"}


def test_silent_messages_are_notices() -> None:
    assert text_content(render(rich("x")), notice=True)["msgtype"] == "m.notice"


# ------------------------------------------------------------------------------- polls


def test_poll_start_content() -> None:
    spec = PollSpec("Quando?", ("lun", "mar"), multiple=False, anonymous=True)
    content = polls.start_content(spec)
    assert content["m.poll.start"]["kind"] == "m.poll.undisclosed"
    assert content["org.matrix.msc3381.poll.start"]["kind"] == (
        "org.matrix.msc3381.poll.undisclosed")
    assert content["m.poll.start"]["max_selections"] == 1
    assert content["m.poll.start"]["answers"] == [{"id": "1", "m.text": "lun"},
                                                  {"id": "2", "m.text": "mar"}]
    assert content["m.text"] == content["body"] == "Quando?\n1. lun\n2. mar"
    assert polls.max_selections(PollSpec("?", ("a", "b", "c"))) == 3


def test_poll_end_content() -> None:
    content = polls.end_content("$start", "Chiuso")
    assert content["m.relates_to"] == {"rel_type": "m.reference", "event_id": "$start"}
    assert content["m.text"] == content["org.matrix.msc1767.text"] == "Chiuso"


@pytest.mark.parametrize(("answers", "limit", "chosen"), [
    (["2"], 3, (1,)),
    (["1", "3"], 3, (0, 2)),
    (["3", "1"], 1, (2,)),  # cut to max_selections first
    (["1", "1"], 3, (0,)),  # a repeated answer counts once
    (["1", "9"], 3, ()),  # an unknown answer spoils the vote
    (["01"], 3, ()),
    (["١"], 3, ()),  # digits of other scripts are not option numbers
    ([1], 3, ()),
    ([], 3, ()),  # withdrawn
    ("1", 3, ()),
])
def test_poll_responses_as_option_indexes(answers: Any, limit: int,
                                          chosen: tuple[int, ...]) -> None:
    for event_type in polls.RESPONSE_TYPES:
        content = {event_type: {"answers": answers}}
        assert polls.chosen_options(event_type, content, 3, limit) == chosen


def test_poll_response_shapes() -> None:
    assert polls.chosen_options("m.poll.response", {"m.selections": ["2"]}, 3, 3) == (1,)
    assert polls.chosen_options("m.poll.response", {}, 3, 3) == ()
    assert polls.chosen_options("m.room.message", {}, 3, 3) is None
    reference = {"m.relates_to": {"rel_type": "m.reference", "event_id": "$p"}}
    assert polls.responded_poll(reference) == "$p"
    assert polls.responded_poll({"m.relates_to": {"rel_type": "m.replace",
                                                  "event_id": "$p"}}) is None
    assert polls.responded_poll({"m.relates_to": "$p"}) is None


# ------------------------------------------------------------------------------ errors


def send_error(errcode: str, status: int | None, retry_after_ms: int | None = None
               ) -> nio.RoomSendError:
    error = nio.RoomSendError("refused", errcode, retry_after_ms)
    error.transport_response = SimpleNamespace(status=status) if status else None
    return error


def test_matrix_errors_as_delivery_errors() -> None:
    limited = delivery_error(send_error("M_LIMIT_EXCEEDED", 429, 1500))
    assert isinstance(limited, RetryLater) and limited.retry_after == 1.5
    assert isinstance(delivery_error(send_error("M_UNKNOWN", 502)), RetryLater)
    assert isinstance(delivery_error(send_error("M_UNKNOWN_TOKEN", 401)), RetryLater)
    assert isinstance(delivery_error(send_error("M_UNKNOWN", None)), RetryLater)
    gone = delivery_error(send_error("M_FORBIDDEN", 403), still_in_room=False)
    assert isinstance(gone, Unreachable)
    assert isinstance(delivery_error(send_error("M_FORBIDDEN", 403)), Rejected)
    assert isinstance(delivery_error(send_error("M_TOO_LARGE", 413)), Rejected)


# ---------------------------------------------------------------- invites and power


def test_invites_from_allowed_servers_only() -> None:
    bot = "@piazzabot:coop.example"
    assert invite_allowed("@anna:Coop.Example", ["coop.example"], bot)
    assert not invite_allowed("@anna:evil.example", ["coop.example"], bot)
    assert invite_allowed("@anna:coop.example", [], bot)  # none configured: the bot's own
    assert not invite_allowed("@anna:other.example", [], bot)
    assert invite_allowed("@anna:host:8448", ["host:8448"], bot)
    assert not invite_allowed("@anna", ["coop.example"], bot)


def test_room_creators_outrank_power_levels_from_room_version_12() -> None:
    assert [creators_have_unlimited_power(v) for v in ("1", "11", "12", "13", "x")] == [
        False, False, True, True, False]
    assert creators_have_unlimited_power("org.matrix.hydra.11")
    create = {"sender": "@a:x", "content": {"additional_creators": ["@b:x", 3]}}
    assert creators_of(create) == {"@a:x", "@b:x"}
    assert creators_of({"sender": "@a:x", "content": "bad"}) == {"@a:x"}


# --------------------------------------------------------------------------- inbound


def test_reply_fallbacks_are_dropped() -> None:
    assert strip_reply_fallback("> <@a:x> hai\n> detto\n\n!chi") == "!chi"
    assert strip_reply_fallback("!chi > tutti") == "!chi > tutti"


def test_mentions_from_intentional_mentions_or_pills() -> None:
    assert mentioned_users({"m.mentions": {"user_ids": ["@a:x", "bad", "@a:x", 4]}}) == ("@a:x",)
    html = ('<a href="https://matrix.to/#/%40b%3Ax">B</a> '
            "<a href='https://matrix.to/#/@c:y.org?via=y.org'>C</a>")
    assert mentioned_users({"formatted_body": html}) == ("@b:x", "@c:y.org")
    assert mentioned_users({"m.mentions": {}, "formatted_body": html}) == ("@b:x", "@c:y.org")
    assert mentioned_users({"m.mentions": {"user_ids": []}, "formatted_body": html}) == ()


# ----------------------------------------------------------------------- media, state


def test_images_carry_their_size() -> None:
    assert png_size(tiny_png(7, 3)) == (7, 3)
    assert png_size(b"GIF89a...") is None
    info = file_info(Attachment("g.png", "image/png", tiny_png(7, 3), is_image=True))
    assert (info["w"], info["h"], info["mimetype"]) == (7, 3, "image/png")
    assert "w" not in file_info(Attachment("a.ics", "text/calendar", b"x"))


def test_file_names_are_names_not_paths() -> None:
    assert safe_filename("../../etc/passwd") == "passwd"
    assert safe_filename("a\\b\nc.ics") == "b_c.ics"
    assert safe_filename("..") == "file"


async def test_memory_keys_fit_and_values_are_cached() -> None:
    values: dict[str, str] = {}
    reads: list[str] = []

    class Store:
        async def get(self, key: str) -> str | None:
            reads.append(key)
            return values.get(key)

        async def set(self, key: str, value: str) -> None:
            values[key] = value

    long_user = "@" + "x" * 250 + ":example.org"
    assert len(state_key("dm", long_user)) <= MAX_KEY
    assert state_key("dm", "@a:x") == "dm:@a:x"
    memory = AdapterMemory(Store())
    assert await memory.get("dm", long_user) is None
    await memory.set_json("poll", "$p", {"options": 3})
    assert await memory.get_json("poll", "$p") == {"options": 3}
    await memory.forget("poll", "$p")
    assert await memory.get_json("poll", "$p") is None
    assert await memory.get("dm", long_user) is None
    assert reads == [state_key("dm", long_user)]  # asked the store once
