"""How an idea looks: its card in the territory's chats, and its line in a list.

The card is one keyed message per chat (`idea:{id}`): posting a new version edits it in
place on every platform of the territory, so the status, the answer and the number of
supporters are always the current ones.
"""

from __future__ import annotations

from bot.i18n import N_, Translator
from bot.ideas.parsing import shorten
from bot.ideas.store import IdeaView
from bot.messages import Bold, Inline, Italic, OutMessage, RichText, Text, rich
from bot.outbox import Button, Outbox, Target
from storage.models import Territory

SUPPORT_EMOJI = "👍"

STATUS_NAMES = {
    "new": N_("new"),
    "discussing": N_("under discussion"),
    "adopted": N_("adopted"),
    "set_aside": N_("set aside"),
}


def card_key(idea_id: int) -> str:
    return f"idea:{idea_id}"


def status_name(t: Translator, status: str) -> str:
    return t.gettext(STATUS_NAMES[status])


def themes_text(themes: tuple[str, ...] | list[str]) -> str:
    return " ".join(f"#{theme}" for theme in themes)


def supporters_text(t: Translator, count: int) -> tuple[Inline, ...]:
    return t.n_("{n} supporter", "{n} supporters", count)


def card_text(t: Translator, view: IdeaView, territory: Territory) -> RichText:
    """The idea in full: what the card shows and what `/idea N` starts with."""
    idea = view.idea
    byline = t._("by {author}", author=view.author)
    if view.themes:
        byline += (Text(" · " + themes_text(view.themes)),)
    state = t._("Status: <b>{status}</b>", status=status_name(t, idea.status))
    state += (Text(" · "), *supporters_text(t, view.supporters))
    blocks: list[tuple[Inline, ...]] = [
        (Bold(t._("💡 Idea #{id}", id=idea.id)), Text(f" · {territory.name}")),
        (Text(idea.text),),
        byline,
        state,
    ]
    if idea.answer:
        blocks.append(t._("Facilitators' answer: <i>{answer}</i>", answer=idea.answer))
    return rich(*blocks)


def hidden_text(t: Translator, view: IdeaView) -> RichText:
    if view.idea.hidden == "reports":
        return rich(t._("Idea #{id} was reported by members: it is hidden until a facilitator "
                        "reviews it.", id=view.idea.id))
    return rich(t._("Idea #{id} was hidden by the facilitators.", id=view.idea.id))


def line(t: Translator, view: IdeaView) -> tuple[Inline, ...]:
    """One idea in a list: number, text (shortened), supporters, status, themes."""
    idea = view.idea
    parts: list[Inline] = [Bold((Text(f"#{idea.id}"),)), Text(" " + shorten(idea.text)),
                           Text(f" — {view.supporters} {SUPPORT_EMOJI} · "),
                           Italic((Text(status_name(t, idea.status)),))]
    if view.themes:
        parts.append(Text(" · " + themes_text(view.themes)))
    return tuple(parts)


async def card(outbox: Outbox, target: Target, view: IdeaView,
               territory: Territory) -> OutMessage:
    """The card for one chat, with its actions (none while the idea is hidden)."""
    key = card_key(view.idea.id)
    if view.idea.hidden:
        return OutMessage(hidden_text(target.t, view), key=key)
    ident = view.idea.id
    buttons = await outbox.actions(target, [
        Button("idea.support", {"idea": ident}, target.t.p_("I support 👍"),
               command=f"sostengo {ident}", emoji=SUPPORT_EMOJI),
        Button("idea.withdraw", {"idea": ident}, target.t.p_("Withdraw support"),
               command=f"ritiro {ident}"),
    ], key=key)
    return OutMessage(card_text(target.t, view, territory), actions=(tuple(buttons),),
                      key=key)


async def post_card(outbox: Outbox, view: IdeaView, territory: Territory) -> int:
    """Post (or edit) the card in every chat of the territory; returns how many chats."""
    targets = await outbox.territory_targets(territory)
    for target in targets:
        await outbox.post(target, await card(outbox, target, view, territory))
    return len(targets)
