"""The members and what they do: territories with a group each, a setup, then a burst.

The setup (the bot up, nobody killing it) binds each group to its territory, lets each
group's administrator propose three ideas and two meetups a week ahead (a dinner answered
with the card's buttons, a lunch answered with /partecipo), and in the first territory sets
reminders 10 minutes ahead and plans a meetup whose reminder falls due a few seconds later:
the scheduled job that must survive the kills.

The burst is every member, in a random interleaving that keeps each member's own order:
`/territorio` in private first, then ideas (each with a marker no other text has),
support for the administrator's ideas, a button on the dinner card and /partecipo for the
lunch. Every command changes something and is answered in the member's private chat with
a text that names what it did (`l'idea #12`, `vale per Roma`…), so an answer maps back to
its update; a button is answered by its callback query.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from tests.resilience.platform import Call, RecordingEmulator

ZONE = ZoneInfo("Europe/Rome")
TERRITORIES = ("Milano", "Roma", "Torino", "Bologna", "Napoli", "Firenze")
FIRST_MEMBER = 1001
FIRST_GROUP = -1001000000100
ANSWER_WORDS = {"going": "sì", "maybe": "forse", "no": "no"}
BUTTONS = {"going": "Ci sono", "maybe": "Forse", "no": "Non vengo"}
SETUP_IDEAS = 3
REMINDER_MINUTES = 10
REMINDER_LEAD = timedelta(seconds=8)  # the least time between planning and the reminder
ANSWER_WITHIN = 30.0  # seconds for the bot to answer a setup command

_IDEA_NUMBER = re.compile(r"l'idea #(\d+)")
_MEETUP_NUMBER = re.compile(r"incontro n\. (\d+)")


@dataclass(frozen=True)
class Place:
    """A territory and its group chat; the first member administers the group."""

    name: str
    chat_id: int
    members: tuple[int, ...]

    @property
    def admin(self) -> int:
        return self.members[0]


@dataclass(frozen=True)
class World:
    places: tuple[Place, ...]

    @classmethod
    def build(cls, members: int, territories: int) -> World:
        ids = range(FIRST_MEMBER, FIRST_MEMBER + members)
        return cls(tuple(
            Place(TERRITORIES[index], FIRST_GROUP - index,
                  tuple(m for n, m in enumerate(ids) if n % territories == index))
            for index in range(territories)))

    @property
    def members(self) -> list[int]:
        return sorted(m for place in self.places for m in place.members)

    def place_of(self, member: int) -> Place:
        return next(place for place in self.places if member in place.members)

    def populate(self, emu: RecordingEmulator) -> None:
        for member in self.members:
            emu.add_user(member, f"Socio{member}", username=f"socio{member}")
        for place in self.places:
            emu.add_chat(place.chat_id, "supergroup", f"Piazza {place.name}",
                         admins=[place.admin], members=place.members[1:])


@dataclass
class Action:
    """One thing a member does; `inject` hands it to the platform."""

    kind: str  # territorio | idea | sostengo | partecipo | press
    member: int
    chat: int
    text: str = ""
    target: int | None = None  # the idea or meetup number
    answer: str | None = None  # going | maybe | no
    marker: str | None = None  # an idea's unique word
    territory: str | None = None
    message_id: int | None = None  # the card under which a button is pressed
    data: str | None = None  # the button's callback data
    update_id: int | None = None
    query_id: str | None = None

    def inject(self, emu: RecordingEmulator) -> None:
        if self.kind == "press":
            assert self.message_id is not None and self.data is not None
            update = emu.inject_callback(self.chat, self.member, self.message_id, self.data)
            self.query_id = update["callback_query"]["id"]
        else:
            update = emu.inject_message(self.chat, self.member, self.text)
        self.update_id = update["update_id"]


@dataclass(frozen=True)
class Card:
    meetup: int
    chat_id: int
    message_id: int
    buttons: dict[str, str]  # answer → callback data


@dataclass(frozen=True)
class Reminder:
    meetup: int
    title: str
    chat_id: int
    organiser: int
    due: datetime  # aware UTC


@dataclass
class Stage:
    """What the setup made, by territory name."""

    ideas: dict[str, list[int]] = field(default_factory=dict)
    dinners: dict[str, Card] = field(default_factory=dict)
    lunches: dict[str, int] = field(default_factory=dict)
    reminder: Reminder | None = None


# --- texts --------------------------------------------------------------------------------

def pseudo_word(rng: random.Random, syllables: int = 3) -> str:
    """A made-up word: random texts share almost no trigrams, so no idea looks like another
    (the bot would ask "publish anyway?" instead of publishing)."""
    return "".join(rng.choice("bcdfglmnprstvz") + rng.choice("aeiou")
                   for _ in range(syllables))


def idea_text(rng: random.Random, marker: str) -> str:
    words = " ".join(pseudo_word(rng) for _ in range(4))
    return f"{words.capitalize()} {marker}"


def local_date(moment: datetime) -> str:
    local = moment.astimezone(ZONE)
    return f"{local.day}/{local.month}/{local.year}"


# --- the setup ----------------------------------------------------------------------------

async def ask(emu: RecordingEmulator, chat: int, member: int, text: str,
              expect: Callable[[str], bool], where: int | None = None) -> Call:
    """`member` writes `text` in `chat`; the first message the bot then sends to `where`
    (default: the same chat) whose text passes `expect`."""
    where = chat if where is None else where
    before = len(emu.accepted)

    def answer() -> Call | None:
        return next((call for call in emu.accepted[before:]
                     if call.method == "sendMessage" and call.chat_id == where
                     and expect(call.result.get("text", ""))), None)

    emu.inject_message(chat, member, text)
    await emu.wait_for(lambda: answer() is not None, ANSWER_WITHIN)
    found = answer()
    assert found is not None
    return found


def _number(pattern: re.Pattern[str], call: Call) -> int:
    match = pattern.search(call.result["text"])
    assert match, call.result["text"]
    return int(match.group(1))


async def _meetup(emu: RecordingEmulator, place: Place, title: str, when: str) -> Card:
    """The administrator plans a meetup; its card (number, buttons) once it is posted."""
    card = await ask(emu, place.chat_id, place.admin, f"/incontro {title} | {when} | Sede",
                     lambda text: text.startswith(f"📅 {title}\n"))
    message = emu.messages[(place.chat_id, card.result["message_id"])]
    assert message.reply_markup is not None
    labels = {button["text"]: button["callback_data"]
              for row in message.reply_markup["inline_keyboard"] for button in row}
    return Card(_number(_MEETUP_NUMBER, card), place.chat_id, message.message_id,
                {answer: labels[label] for answer, label in BUTTONS.items()})


async def prepare(emu: RecordingEmulator, world: World, rng: random.Random,
                  now: datetime) -> Stage:
    """The setup, with the bot up; returns what the burst needs. The reminder is planned
    first, so that the wait for it overlaps the rest."""
    stage = Stage()
    week = local_date(now + timedelta(days=7))
    for place in world.places:
        await ask(emu, place.chat_id, place.admin, f"/territorio {place.name}",
                  lambda text, name=place.name: f"territorio {name}" in text)
    stage.reminder = await _plan_reminder(emu, world.places[0])
    for place in world.places:
        await ask(emu, place.admin, place.admin, f"/territorio {place.name}",
                  lambda text, name=place.name: f"vale per {name}" in text)
        stage.ideas[place.name] = [
            _number(_IDEA_NUMBER, await ask(
                emu, place.admin, place.admin,
                f"/idea {idea_text(rng, f'setup{place.admin}x{n}')} #spazi",
                lambda text: text.startswith("Fatto: l'idea #")))
            for n in range(SETUP_IDEAS)]
        stage.dinners[place.name] = await _meetup(emu, place, f"Cena {place.name}",
                                                  f"{week} alle 19:00")
        lunch = await _meetup(emu, place, f"Pranzo {place.name}", f"{week} alle 13:00")
        stage.lunches[place.name] = lunch.meetup
    return stage


async def _plan_reminder(emu: RecordingEmulator, place: Place) -> Reminder:
    """/promemoria 10m, then a meetup starting 10 minutes after the next whole minute that
    is at least `REMINDER_LEAD` away (times are written to the minute)."""
    await ask(emu, place.chat_id, place.admin, f"/promemoria {REMINDER_MINUTES}m",
              lambda text: text.startswith("Fatto:"))
    earliest = datetime.now(ZONE) + REMINDER_LEAD
    due = earliest.replace(second=0, microsecond=0) + timedelta(minutes=1)
    starts = due + timedelta(minutes=REMINDER_MINUTES)
    title = f"Promemoria {place.name}"
    card = await _meetup(emu, place, title, f"{local_date(starts)} alle {starts:%H:%M}")
    return Reminder(card.meetup, title, place.chat_id, place.admin,
                    due.astimezone(ZoneInfo("UTC")))


# --- the burst ----------------------------------------------------------------------------

def burst(world: World, stage: Stage, rng: random.Random, ideas_each: int) -> list[Action]:
    """Every member's actions, interleaved at random, each member's order kept."""
    queues = [_member_actions(world.place_of(m), m, stage, rng, ideas_each)
              for m in world.members]
    merged: list[Action] = []
    while any(queues):
        weights = [len(queue) for queue in queues]
        queue = rng.choices(queues, weights)[0]
        merged.append(queue.pop(0))
    return merged


def choose_territory(place: Place, member: int) -> Action:
    """`member` chooses the territory in private (what they do there then counts for it)."""
    return Action("territorio", member, member, f"/territorio {place.name}",
                  territory=place.name)


def propose(place: Place, member: int, marker: str, rng: random.Random) -> Action:
    """`member` proposes an idea in private; its card goes to the territory's group."""
    return Action("idea", member, member, f"/idea {idea_text(rng, marker)} #bandi",
                  marker=marker, territory=place.name)


def _member_actions(place: Place, member: int, stage: Stage, rng: random.Random,
                    ideas_each: int) -> list[Action]:
    admin = member == place.admin
    actions = [propose(place, member, f"k{member}x{n}", rng) for n in range(ideas_each)]
    if not admin:  # the administrator proposed those ideas and organises those meetups
        actions += [Action("sostengo", member, member, f"/sostengo {idea}", target=idea)
                    for idea in stage.ideas[place.name]]
        actions += [_press(stage.dinners[place.name], member, rng.choice(list(BUTTONS))),
                    _rsvp(stage.lunches[place.name], member, rng.choice(list(ANSWER_WORDS)))]
    rng.shuffle(actions)
    if not admin:  # the administrators chose their territory in the setup
        actions.insert(0, choose_territory(place, member))
    return actions


def _press(card: Card, member: int, answer: str) -> Action:
    return Action("press", member, card.chat_id, target=card.meetup, answer=answer,
                  message_id=card.message_id, data=card.buttons[answer])


def _rsvp(meetup: int, member: int, answer: str) -> Action:
    return Action("partecipo", member, member, f"/partecipo {meetup} {ANSWER_WORDS[answer]}",
                  target=meetup, answer=answer)
