"""Meetups as iCalendar (RFC 5545) files, made with icalendar.

Each meetup keeps one UID for life; an edit raises SEQUENCE and a cancellation sets
STATUS:CANCELLED, so a calendar app that imports the file again updates the event instead
of adding a second one. Times carry their TZID (the territory's zone) with a VTIMEZONE
that covers the years around the meetups.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from datetime import date, datetime, timedelta, tzinfo

from icalendar import Calendar, Event, vCalAddress, vText

from bot.i18n import Translator
from bot.meetups.fields import online_url
from bot.messages import Attachment
from storage.models.meetups import Meetup

DURATION = timedelta(hours=2)  # meetups have no end time; calendars need one
PRODID = "-//piazzabot//meetups//EN"
MIME = "text/calendar"


def _event(meetup: Meetup, organiser: str, zone: tzinfo, t: Translator,
           now: datetime) -> Event:
    organiser = t.names(organiser)  # a forgotten organiser is "a member" (bot.i18n.ANONYMOUS)
    start = meetup.starts_at.astimezone(zone)
    event = Event()
    event.add("uid", meetup.uid)
    event.add("dtstamp", now)
    event.add("created", meetup.created_at)
    event.add("last-modified", meetup.updated_at)
    event.add("sequence", meetup.sequence)
    event.add("dtstart", start)
    event.add("dtend", start + DURATION)
    event.add("summary", meetup.title)
    event.add("location", meetup.place)
    lines = [meetup.description] if meetup.description else []
    lines.append(t.p_("Organised by {name}", name=organiser))
    event.add("description", "\n\n".join(lines))
    address = vCalAddress(f"urn:x-piazzabot:member:{meetup.organiser_id}")
    address.params["cn"] = vText(organiser)
    event.add("organizer", address)
    if url := online_url(meetup.place):
        event.add("url", url)
    event.add("status", "CANCELLED" if meetup.status == "cancelled" else "CONFIRMED")
    return event


def calendar_bytes(meetups: Sequence[tuple[Meetup, str]], zone: tzinfo, t: Translator,
                   now: datetime, name: str) -> bytes:
    """One VCALENDAR with a VEVENT per (meetup, organiser name)."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", str(zone))
    for meetup, organiser in meetups:
        calendar.add_component(_event(meetup, organiser, zone, t, now))
    years = [m.starts_at.year for m, _ in meetups] or [now.year]
    calendar.add_missing_timezones(first_date=date(min(years) - 1, 1, 1),
                                   last_date=date(max(years) + 2, 1, 1))
    return calendar.to_ical()


def filename(stem: str) -> str:
    """A safe file name: letters, digits and dashes, then `.ics`."""
    ascii_stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    safe = re.sub(r"[^a-z0-9]+", "-", ascii_stem.casefold()).strip("-")
    return f"{safe or 'calendar'}.ics"


def attachment(meetups: Sequence[tuple[Meetup, str]], zone: tzinfo, t: Translator,
               now: datetime, name: str, stem: str) -> Attachment:
    return Attachment(filename(stem), MIME, calendar_bytes(meetups, zone, t, now, name))
