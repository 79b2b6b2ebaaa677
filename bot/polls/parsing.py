"""What a facilitator writes after /sondaggio, checked and understood.

    /sondaggio DOMANDA | OPZIONE | OPZIONE [...] [| chiude: QUANDO] [| anonimo]
               [| modo: sì-forse-no] [| risultati: alla chiusura] [| luogo: DOVE]

The first field is the question; a field that starts with a known setting name and a
colon (or is `anonimo`) is a setting, in either language; every other field is an option.
Options are read as dates as meetup dates are (`bot.dates`): when all of them are moments,
it is a date poll, shown in full in each chat's language; otherwise it is a plain poll
with the options as typed. Each check refuses with a short explanation and an example.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.commands import fields as split_fields
from bot.context import Context
from bot.dates import WhenError, parse_when
from bot.dates_text import refuse_when
from bot.meetups import fields as meetup_fields
from bot.polls.scoring import PICK, YNM

MAX_QUESTION = 200
MAX_OPTION = 100
MIN_OPTIONS, MAX_OPTIONS = 2, 10
DEFAULT_OPEN = timedelta(days=7)
BEFORE_FIRST_DATE = timedelta(days=1)  # a date poll closes by default a day before its first
MIN_OPEN = timedelta(hours=1)  # ... as long as that leaves it open at least this long

_SETTING = re.compile(r"^([^\W\d_]+)\s*:\s*(.*)$", re.S)
_NUMBER = re.compile(r"^\d+(?:[.,]\d+)?$")
# A reason `parse_when` gives for text that was clearly meant as a moment.
_DATE_MISTAKES = ("weekday", "gap", "past", "too_far")

CLOSES = {"chiude", "chiusura", "scade", "scadenza", "fino", "closes", "close", "deadline",
          "until", "ends"}
MODE = {"modo", "mode"}
RESULTS = {"risultati", "results"}
PLACE = {"luogo", "dove", "place", "where"}
ANONYMOUS = {"anonimo", "anonima", "anonymous", "anon", "segreto", "secret"}
_YNM_WORDS = {"siforseno", "siseserveno", "sinoforse", "yesmaybeno", "yesifneedbeno", "ynm",
              "rallly", "framadate"}
_PICK_WORDS = {"scelta", "normale", "pick", "choice", "default", "standard"}
_HIDDEN_WORDS = {"allachiusura", "allafine", "chiusura", "fine", "nascosti", "atclosing",
                 "atclose", "closing", "attheend", "end", "hidden", "onclose"}
_SHOWN_WORDS = {"sempre", "subito", "visibili", "always", "visible", "live"}


@dataclass
class OptionDraft:
    label: str
    starts_at: datetime | None = None


@dataclass
class Draft:
    question: str
    options: list[OptionDraft] = field(default_factory=list)
    mode: str = PICK
    anonymous: bool = False
    hidden_results: bool = False
    closes_at: datetime | None = None
    place: str | None = None
    # Every option is a day without a time: a plain poll, but the facilitator may have
    # meant a date poll (the confirmation says how to make one).
    days_without_time: bool = False

    @property
    def kind(self) -> str:
        return "date" if self.options and all(o.starts_at for o in self.options) else "text"


def fold(text: str) -> str:
    """Lower case, no accents, letters only: how setting names and values are compared."""
    text = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in text if ch.isalpha())


def example(ctx: Context) -> str:
    return ctx.cmd("sondaggio " + ctx.t.p_(
        "When shall we meet? | Saturday 12 December at 7pm | Sunday 13 December at 6pm"))


def usage_refusal(ctx: Context) -> None:
    ctx.fail("Write the question and at least two options, separated by |. Example: "
             "<b>{example}</b>. You can add <b>{closes}</b>, <b>{anonymous}</b>, <b>{mode}</b> "
             "or <b>{results}</b>.", example=example(ctx),
             closes=ctx.t.p_("| closes: Friday at 6pm"), anonymous=ctx.t.p_("| anonymous"),
             mode=ctx.t.p_("| mode: yes-maybe-no"), results=ctx.t.p_("| results: at closing"))


def parse(ctx: Context, args: str) -> Draft:
    """The poll the facilitator described, or a refusal (`ctx.fail`)."""
    parts = [p for p in split_fields(args) if p]
    if len(parts) < 1 + MIN_OPTIONS:
        usage_refusal(ctx)
    draft = Draft(_question(ctx, parts[0]))
    seen: set[str] = set()
    raw_options: list[str] = []
    for part in parts[1:]:
        name = _setting_name(part)
        if name is None:
            raw_options.append(part)
            continue
        if name in seen:
            ctx.fail("<b>{setting}</b> is there twice: write it once.", setting=part[:60])
        seen.add(name)
        _apply_setting(ctx, draft, name, part)
    if not MIN_OPTIONS <= len(raw_options) <= MAX_OPTIONS:
        ctx.fail("A poll has from {min} to {max} options; this one has {n}. Example: "
                 "<b>{example}</b>", min=MIN_OPTIONS, max=MAX_OPTIONS, n=len(raw_options),
                 example=example(ctx))
    draft.options = _options(ctx, draft, raw_options)
    draft.closes_at = _deadline(ctx, draft)
    return draft


def _question(ctx: Context, raw: str) -> str:
    text = meetup_fields.tidy(raw)
    if len(text) > MAX_QUESTION:
        ctx.fail("A question is at most {max} characters (this one has {n}).",
                 max=MAX_QUESTION, n=len(text))
    return text


def _setting_name(part: str) -> str | None:
    """Which setting a field is (`closes`, `mode`, …), or None for an option."""
    if fold(part) in ANONYMOUS:
        return "anonymous"
    match = _SETTING.match(part.strip())
    if match is None:
        return None
    key = fold(match.group(1))
    for name, keys in (("closes", CLOSES), ("mode", MODE), ("results", RESULTS),
                       ("place", PLACE), ("anonymous", ANONYMOUS)):
        if key in keys:
            return name
    return None


def _apply_setting(ctx: Context, draft: Draft, name: str, part: str) -> None:
    match = _SETTING.match(part.strip())
    value = match.group(2).strip() if match else ""
    if name == "anonymous":
        if value and fold(value) not in {"si", "yes"}:
            ctx.fail("<b>{setting}</b>: write just <b>{anonymous}</b>.", setting=part[:60],
                     anonymous=ctx.t.p_("| anonymous"))
        draft.anonymous = True
    elif name == "mode":
        wanted = fold(value)
        if wanted not in _YNM_WORDS | _PICK_WORDS:
            ctx.fail("I don't know the mode “{mode}”. Write <b>{ynm}</b> for yes, if need be "
                     "or no on each option; without it, members choose the options they like.",
                     mode=value[:40], ynm=ctx.t.p_("| mode: yes-maybe-no"))
        draft.mode = YNM if wanted in _YNM_WORDS else PICK
    elif name == "results":
        wanted = fold(value)
        if wanted not in _HIDDEN_WORDS | _SHOWN_WORDS:
            ctx.fail("Write <b>{hidden}</b> to keep the counts hidden until the poll closes.",
                     hidden=ctx.t.p_("| results: at closing"))
        draft.hidden_results = wanted in _HIDDEN_WORDS
    elif name == "place":
        draft.place = meetup_fields.place(ctx, value)
    else:
        draft.closes_at = _when(ctx, value)


def _when(ctx: Context, raw: str) -> datetime:
    text = meetup_fields.tidy(raw)
    try:
        return parse_when(text, ctx.t.locale, ctx.zone, ctx.now)
    except WhenError as error:
        refuse_when(ctx, error, text)


def _options(ctx: Context, draft: Draft, raw: list[str]) -> list[OptionDraft]:
    labels = [meetup_fields.tidy(text) for text in raw]
    for number, label in enumerate(labels, 1):
        if len(label) > MAX_OPTION:
            ctx.fail("Option {number} is too long: at most {max} characters (it has {n}).",
                     number=number, max=MAX_OPTION, n=len(label))
    results: list[datetime | WhenError] = []
    for label in labels:
        if _NUMBER.match(label):
            results.append(WhenError("unknown"))  # "2 | 3 | 4" are numbers, not days
            continue
        try:
            results.append(parse_when(label, ctx.t.locale, ctx.zone, ctx.now))
        except WhenError as error:
            results.append(error)
    moments = [r for r in results if isinstance(r, datetime)]
    errors = [(label, r) for label, r in zip(labels, results, strict=True)
              if isinstance(r, WhenError)]
    # A date meant and mistyped is explained; a poll of plain text stays plain text.
    meant = [(label, e) for label, e in errors if e.reason in _DATE_MISTAKES
             or (moments and e.reason == "no_time")]
    if meant:
        refuse_when(ctx, meant[0][1], meant[0][0])
    if len(moments) == len(labels):
        if len(set(moments)) < len(moments):
            ctx.fail("Two options are the same moment: each date must be different.")
        return [OptionDraft(label, moment) for label, moment in zip(labels, moments,
                                                                       strict=True)]
    folded = [label.casefold() for label in labels]
    for number, label in enumerate(folded, 1):
        if folded.index(label) != number - 1:
            ctx.fail("Option {number} repeats option {first}: each option must be different.",
                     number=number, first=folded.index(label) + 1)
    draft.days_without_time = all(e.reason == "no_time" for _, e in errors) and not moments
    return [OptionDraft(label) for label in labels]


def _deadline(ctx: Context, draft: Draft) -> datetime:
    """The deadline given, checked; or the default: in 7 days, or a day before the first
    date of a date poll if that is sooner (to leave time to organise the meetup)."""
    first = min((o.starts_at for o in draft.options if o.starts_at), default=None)
    if draft.closes_at is not None:
        if first is not None and draft.closes_at > first:
            ctx.fail("The poll must close before its first date ({first}). Example: "
                     "<b>{example}</b>", first=ctx.t.when(first, ctx.zone),
                     example=ctx.t.p_("| closes: Friday at 6pm"))
        return draft.closes_at
    closes = ctx.now + DEFAULT_OPEN
    if first is not None:
        closes = min(closes, first - BEFORE_FIRST_DATE)
    if closes < ctx.now + MIN_OPEN:
        ctx.fail("The first date is close: say when the poll closes, for example "
                 "<b>{example}</b>", example=ctx.t.p_("| closes: today at 6pm"))
    return closes
