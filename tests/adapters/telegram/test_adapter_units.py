"""The adapter's pure parts: rich text to Telegram HTML and its cutting, PTB errors to the
port's errors, the command menu's form."""

from __future__ import annotations

import warnings
from datetime import timedelta
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    NetworkError,
    RetryAfter,
    TimedOut,
)

from adapters.base import Moved, Rejected, RetryLater, Unreachable
from adapters.telegram.adapter import TelegramAdapter
from adapters.telegram.admins import AdminCache
from adapters.telegram.commands_menu import bot_commands
from adapters.telegram.errors import delivery_error, is_not_modified
from adapters.telegram.render import MAX_CAPTION, render, split, utf16_len
from bot.config import ConfigError, parse_config
from bot.messages import (
    Bold,
    BulletList,
    Code,
    Italic,
    Link,
    Mention,
    Paragraph,
    RichText,
    Text,
    paragraph,
    rich,
)
from bot.runtime import build_adapters
from tests.adapters.telegram.emulator_html import parse_html


def shown(html: str) -> str:
    """What Telegram shows for `html` (and a check that Telegram accepts it)."""
    return parse_html(html, strict=True)[0]


# --- rendering -------------------------------------------------------------------------------

def test_every_string_is_escaped() -> None:
    hostile = "<b>x</b> & </a> <script> &amp; \"'"
    text = rich(paragraph(hostile, Bold((Text(hostile),))),
                BulletList(((Mention(hostile, "42", "telegram"),),)))
    html = render(text)
    assert html.count("<b>") == 1 and "<script>" not in html
    assert shown(html) == f"{hostile}{hostile}\n\n• {hostile}"


def test_styles_links_and_mentions() -> None:
    text = rich(paragraph(
        Bold((Text("a"), Italic((Text("b"),)))), Text(" "),
        Link("https://x.org/?q=1&r=\"2\"", (Text("sito"),)), Text(" "),
        Mention("Ada", "42", "telegram"), Text(" "), Mention("Bob", "@bob:x.org", "matrix"),
        Text(" "), Mention("Eve", "7", None)))
    assert render(text) == ('<b>a<i>b</i></b> <a href="https://x.org/?q=1&amp;r=&quot;2&quot;">'
                            'sito</a> <a href="tg://user?id=42">Ada</a> Bob '
                            '<a href="tg://user?id=7">Eve</a>')


def test_what_telegram_cannot_nest_or_should_not_open() -> None:
    text = rich(paragraph(
        Bold((Code("x<y"),)), Text(" "),
        Link("https://a.org", (Text("a "), Link("https://b.org", (Text("b"),)),
                               Mention(" c", "9", "telegram"))), Text(" "),
        Link("javascript:alert(1)", (Text("clic"),)), Text(" "),
        Link("http://bad url", (Text("http://bad url"),))))
    html = render(text)
    assert html == ('<code>x&lt;y</code> <a href="https://a.org">a b (https://b.org) c</a> '
                    'clic (javascript:alert(1)) http://bad url')
    assert shown(html)


def test_lists_and_lines() -> None:
    text = rich(BulletList(((Text("uno\ndue"),), (Text("tre"),))), "fine\nriga")
    assert render(text) == "• uno\n  due\n• tre\n\nfine\nriga"
    assert render(rich("", " ", "ok")) == "ok"  # empty paragraphs are left out
    assert split(rich(" ")) == []


def test_long_texts_are_cut_between_paragraphs_then_lines_then_words() -> None:
    paragraphs = [f"{i} " + "p" * 1500 for i in range(5)]
    parts = split(rich(*paragraphs))
    assert [shown(p).split("\n\n") for p in parts] == [paragraphs[:2], paragraphs[2:4],
                                                        paragraphs[4:]]
    lines = "\n".join(f"{i} " + "l" * 1000 for i in range(6))
    parts = split(rich(lines))
    assert [len(shown(p).split("\n")) for p in parts] == [4, 2]
    words = " ".join(["parola"] * 1000)
    parts = split(rich(paragraph(Bold((Text(words),)))))
    assert all(p.startswith("<b>") and p.endswith("</b>") for p in parts)
    assert [shown(p).strip() for p in parts] == [w.strip() for w in _rejoin(parts, words)]


def _rejoin(parts: list[str], words: str) -> list[str]:
    """The same words, cut where the parts were cut."""
    out, rest = [], words
    for part in parts:
        size = len(shown(part))
        out.append(rest[:size])
        rest = rest[size:]
    assert rest == ""
    return out


def test_a_single_word_longer_than_a_message_is_cut_hard() -> None:
    parts = split(rich(paragraph(Italic((Text("x" * 9000),)))))
    assert [len(shown(p)) for p in parts] == [4096, 4096, 808]
    assert all(p.startswith("<i>") and p.endswith("</i>") for p in parts)


def test_captions_and_utf16() -> None:
    parts = split(rich("c" * 3000), first_limit=MAX_CAPTION)
    assert [len(shown(p)) for p in parts] == [1024, 1976]
    emoji = "😀" * 2100  # 4,200 UTF-16 units
    parts = split(rich(emoji))
    assert [utf16_len(shown(p)) for p in parts] == [4096, 104]
    assert utf16_len("\ud800") == 1  # a lone surrogate does not break the count


inline = st.recursive(
    st.builds(Text, st.text(max_size=60)) | st.builds(Code, st.text(max_size=20)),
    lambda inner: st.one_of(
        st.builds(Bold, st.tuples(inner, inner)),
        st.builds(Italic, st.tuples(inner)),
        st.builds(Link, st.sampled_from(["https://x.org/?a=<b>&c", "javascript:x", ""]),
                  st.tuples(inner)),
        st.builds(Mention, st.text(max_size=10), st.sampled_from(["42", None, "@x:y"]),
                  st.sampled_from(["telegram", None, "matrix"]))),
    max_leaves=6)
texts = st.lists(st.one_of(
    st.builds(Paragraph, st.lists(inline, max_size=5).map(tuple)),
    st.builds(BulletList, st.lists(st.lists(inline, max_size=3).map(tuple), max_size=3)
              .map(tuple))), max_size=8).map(lambda blocks: RichText(tuple(blocks)))


@settings(max_examples=300, deadline=None)
@given(texts, st.sampled_from([40, 200, 1024, 4096]))
def test_any_text_becomes_valid_parts_that_fit(text: RichText, limit: int) -> None:
    parts = split(text, first_limit=limit, limit=limit)
    for part in parts:
        assert utf16_len(shown(part)) <= limit  # parses as Telegram would, and fits
    whole = "".join("".join(shown(p).split()) for p in parts)
    assert whole == "".join(shown(render(text)).split())  # nothing lost, nothing added


# --- errors ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("error", "kind", "text"), [
    (BadRequest("Bad Request: chat not found"), Rejected, "sendMessage: Chat not found"),
    (Forbidden("Forbidden: bot was blocked by the user"), Unreachable,
     "sendMessage: Forbidden: bot was blocked by the user"),
    (NetworkError("Bad Gateway (502). Parsing the server response b'<html>' failed"),
     RetryLater, "sendMessage: Bad Gateway (502)"),
    (TimedOut(), RetryLater, "sendMessage: Timed out"),
    (Conflict("Conflict: terminated by other getUpdates request"), RetryLater,
     "sendMessage: Conflict: terminated by other getUpdates request"),
    (ChatMigrated(-100123), Moved, "sendMessage: group migrated to -100123"),
])
def test_errors_become_the_ports_errors(error: Exception, kind: type, text: str) -> None:
    mapped = delivery_error(error, "sendMessage")  # type: ignore[arg-type]
    assert type(mapped) is kind and str(mapped) == text
    if isinstance(mapped, Moved):
        assert mapped.new_chat_id == "-100123"


@pytest.mark.parametrize("env", ["true", ""])
def test_retry_after_in_either_form(env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", env)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PTB's own deprecation notice for the int form
        for value in (7, timedelta(seconds=7)):
            mapped = delivery_error(RetryAfter(value), "sendMessage")
            assert isinstance(mapped, RetryLater) and mapped.retry_after == 7.0


def test_not_modified_is_recognised() -> None:
    assert is_not_modified(BadRequest("Bad Request: message is not modified: specified new"))
    assert not is_not_modified(BadRequest("Bad Request: message to edit not found"))


# --- the command menu ------------------------------------------------------------------------

def test_the_menu_keeps_to_telegrams_form() -> None:
    menu = [("territorio", "Collega  la chat\n a un territorio"), ("Bad-Name", "x"),
            ("vuoto", "   "), ("lungo", "d" * 300)] + [(f"c{i}", "x") for i in range(120)]
    commands = bot_commands(menu)
    assert len(commands) == 100
    assert (commands[0].command, commands[0].description) == (
        "territorio", "Collega la chat a un territorio")
    assert commands[1].command == "lungo" and len(commands[1].description) == 256


# --- configuration ---------------------------------------------------------------------------

@pytest.mark.parametrize(("webhook", "problem"), [
    ({"secret_token": "abc"}, "webhook.url: required in webhook mode"),
    ({"url": "http://bot.example.org/hook", "secret_token": "abc"},
     "webhook.url: Telegram calls only https:// addresses"),
    ({"url": "https://bot.example.org/hook"}, "webhook.secret_token: required in webhook mode"),
    ({"url": "https://bot.example.org/hook", "secret_token": "non va bene!"},
     "webhook.secret_token: required in webhook mode"),
])
def test_webhook_mode_needs_an_https_url_and_a_secret(webhook: dict[str, str],
                                                      problem: str) -> None:
    with pytest.raises(ConfigError) as refused:
        parse_config({"telegram": {"enabled": True, "token": "1:x", "mode": "webhook",
                                   "webhook": webhook}})
    assert any(problem in line for line in refused.value.problems), refused.value.problems
    good = {"url": "https://bot.example.org/hook", "secret_token": "Abc_123-x"}
    parse_config({"telegram": {"enabled": True, "token": "1:x", "mode": "webhook",
                               "webhook": good}})


# --- the administrators' cache ---------------------------------------------------------------

class CountingBot:
    """Stands in for PTB's Bot: answers getChatAdministrators and counts the calls."""

    def __init__(self) -> None:
        self.admins = {-100: [1, 2]}
        self.calls = 0

    async def get_chat_administrators(self, chat_id: int) -> list[SimpleNamespace]:
        self.calls += 1
        if chat_id not in self.admins:
            raise BadRequest("Bad Request: chat not found")
        return [SimpleNamespace(user=SimpleNamespace(id=uid)) for uid in self.admins[chat_id]]


async def test_admins_are_cached_for_a_while_and_forgotten_on_request() -> None:
    now = [0.0]
    bot = CountingBot()
    cache = AdminCache(bot, ttl=300, clock=lambda: now[0])  # type: ignore[arg-type]
    assert await cache.is_admin(-100, 1) and not await cache.is_admin(-100, 3)
    bot.admins[-100].append(3)
    now[0] = 299.0
    assert not await cache.is_admin(-100, 3) and bot.calls == 1
    now[0] = 300.0
    assert await cache.is_admin(-100, 3) and bot.calls == 2
    bot.admins[-100].remove(3)
    cache.forget(-100)
    assert not await cache.is_admin(-100, 3) and bot.calls == 3
    assert not await cache.is_admin(-555, 1)  # Telegram cannot say: not an administrator
    assert not await cache.is_admin(-555, 1) and bot.calls == 5  # and that is not kept


def test_the_runtime_builds_the_adapter_when_enabled() -> None:
    config = parse_config({"console": {"enabled": False},
                           "telegram": {"enabled": True, "token": "1:x"}})
    [adapter] = build_adapters(config)
    assert isinstance(adapter, TelegramAdapter) and adapter.platform == "telegram"
    assert adapter.command_hint("rsvp 4 sì") == "/rsvp 4 sì"
    assert build_adapters(parse_config({"console": {"enabled": False}})) == []
