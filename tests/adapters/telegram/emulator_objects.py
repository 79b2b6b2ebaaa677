"""State records of the Bot API emulator and their Bot API (JSON) representations.

Every ``to_api`` method returns the dict Telegram itself would send, with the fields that
python-telegram-bot 22.8 *requires* to de-serialise (see the notes on each builder).
Optional fields are omitted rather than sent as ``null``, like Telegram does.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any

JSONDict = dict[str, Any]

#: Member statuses as they appear in the Bot API ("kicked" is PTB's ``BANNED``).
MEMBER_STATUSES = ("creator", "administrator", "member", "restricted", "left", "kicked")


@dataclass
class Upload:
    """One file part of a multipart request, exactly as the client sent it."""

    filename: str
    mime_type: str
    data: bytes


@dataclass
class EmuUser:
    id: int
    first_name: str
    username: str | None = None
    last_name: str | None = None
    language_code: str | None = None
    is_bot: bool = False
    started_bot: bool = True
    blocked_bot: bool = False

    def to_api(self) -> JSONDict:
        user: JSONDict = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        for key in ("last_name", "username", "language_code"):
            if getattr(self, key):
                user[key] = getattr(self, key)
        return user


@dataclass
class EmuChat:
    id: int
    type: str
    title: str | None = None
    username: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    is_forum: bool = False
    creator: int | None = None
    admins: list[int] = field(default_factory=list)
    members: set[int] = field(default_factory=set)
    bot_kicked: bool = False
    #: the supergroup this group was upgraded to (sends here are refused with its id)
    migrated_to: int | None = None
    #: forum topics: thread id -> topic name
    topics: dict[int, str] = field(default_factory=dict)

    @property
    def is_group(self) -> bool:
        return self.type in ("group", "supergroup")

    def to_api(self) -> JSONDict:
        chat: JSONDict = {"id": self.id, "type": self.type}
        for key in ("title", "username", "first_name", "last_name"):
            if getattr(self, key):
                chat[key] = getattr(self, key)
        if self.is_forum:
            chat["is_forum"] = True
        return chat

    def full_info(self) -> JSONDict:
        """``ChatFullInfo`` for getChat.

        PTB 22.8 requires ``accent_color_id``, ``max_reaction_count`` and
        ``accepted_gift_types`` (an object of five booleans) on top of ``id`` and ``type``.
        """
        info = self.to_api()
        info.update(
            accent_color_id=abs(self.id) % 7,
            max_reaction_count=11,
            accepted_gift_types={
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        )
        if self.is_group:
            info["permissions"] = {"can_send_messages": True, "can_send_polls": True}
        return info

    def status_of(self, user_id: int) -> str:
        if user_id == self.creator:
            return "creator"
        if user_id in self.admins:
            return "administrator"
        if user_id in self.members or (self.type == "private" and user_id == self.id):
            return "member"
        return "left"


_ADMIN_RIGHTS = (
    "can_manage_chat", "can_delete_messages", "can_manage_video_chats", "can_restrict_members",
    "can_promote_members", "can_change_info", "can_invite_users", "can_post_stories",
    "can_edit_stories", "can_delete_stories", "can_pin_messages",
)
_RESTRICTED_RIGHTS = (
    "can_change_info", "can_invite_users", "can_pin_messages", "can_send_polls",
    "can_send_other_messages", "can_add_web_page_previews", "can_manage_topics",
    "can_send_audios", "can_send_documents", "can_send_photos", "can_send_videos",
    "can_send_video_notes", "can_send_voice_notes", "can_edit_tag", "can_react_to_messages",
)


def member_json(user: JSONDict, status: str, chat_type: str = "supergroup") -> JSONDict:
    """A ``ChatMember`` of any status with every field PTB 22.8 requires for it.

    ``administrator`` needs 12 booleans (``can_be_edited`` ... ``can_delete_stories``);
    ``restricted`` needs 19 including ``can_edit_tag`` and ``can_react_to_messages``;
    ``kicked`` needs ``until_date`` (0 = forever).
    """
    if status not in MEMBER_STATUSES:
        raise ValueError(f"unknown chat member status {status!r}")
    member: JSONDict = {"status": status, "user": user}
    if status == "creator":
        member["is_anonymous"] = False
    elif status == "administrator":
        member.update(dict.fromkeys(_ADMIN_RIGHTS, True))
        member.update(can_be_edited=False, is_anonymous=False)
        if chat_type == "supergroup":
            member["can_manage_topics"] = True
    elif status == "restricted":
        member.update(dict.fromkeys(_RESTRICTED_RIGHTS, False))
        member.update(is_member=True, can_send_messages=True, until_date=0)
    elif status == "kicked":
        member["until_date"] = 0
    return member


@dataclass
class StoredFile:
    """An uploaded document or photo; downloadable through getFile + the file URL."""

    file_id: str
    file_unique_id: str
    kind: str  # "document" | "photo"
    file_name: str
    mime_type: str
    data: bytes
    file_path: str
    width: int = 0
    height: int = 0

    @property
    def size(self) -> int:
        return len(self.data)

    def document_json(self) -> JSONDict:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_name": self.file_name,
            "mime_type": self.mime_type,
            "file_size": self.size,
        }

    def photo_sizes_json(self) -> list[JSONDict]:
        """Telegram returns several sizes; the emulator a thumbnail and the original."""
        scale = min(1.0, 90 / max(self.width, self.height, 1))
        thumb = {
            "file_id": self.file_id + "_s",
            "file_unique_id": self.file_unique_id + "_s",
            "width": max(1, round(self.width * scale)),
            "height": max(1, round(self.height * scale)),
            "file_size": self.size,
        }
        full = {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "width": self.width,
            "height": self.height,
            "file_size": self.size,
        }
        return [thumb, full]

    def file_json(self) -> JSONDict:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.size,
            "file_path": self.file_path,
        }


@dataclass
class StoredPoll:
    id: str
    question: str
    options: list[str]
    chat_id: int
    message_id: int
    is_anonymous: bool = True
    type: str = "regular"
    allows_multiple_answers: bool = False
    allows_revoting: bool = True
    members_only: bool = False
    is_closed: bool = False
    open_period: int | None = None
    close_date: int | None = None
    correct_option_ids: list[int] = field(default_factory=list)
    explanation: str | None = None
    #: user id -> chosen option indexes
    votes: dict[int, list[int]] = field(default_factory=dict)

    def voter_counts(self) -> list[int]:
        counts = [0] * len(self.options)
        for chosen in self.votes.values():
            for index in chosen:
                counts[index] += 1
        return counts

    def to_api(self) -> JSONDict:
        """``Poll``: PTB 22.8 requires ``allows_revoting`` and ``members_only`` on the poll
        and ``persistent_id`` on every option (Bot API 9.6 / 10.0)."""
        poll: JSONDict = {
            "id": self.id,
            "question": self.question,
            "options": [
                {"text": text, "voter_count": count, "persistent_id": str(index)}
                for index, (text, count) in enumerate(zip(self.options, self.voter_counts(),
                                                          strict=True))
            ],
            "total_voter_count": sum(1 for chosen in self.votes.values() if chosen),
            "is_closed": self.is_closed,
            "is_anonymous": self.is_anonymous,
            "type": self.type,
            "allows_multiple_answers": self.allows_multiple_answers,
            "allows_revoting": self.allows_revoting,
            "members_only": self.members_only,
        }
        if self.open_period:
            poll["open_period"] = self.open_period
        if self.close_date:
            poll["close_date"] = self.close_date
        if self.correct_option_ids:
            poll["correct_option_ids"] = self.correct_option_ids
        if self.explanation:
            poll["explanation"] = self.explanation
        return poll


@dataclass
class StoredMessage:
    """A message as the emulator keeps it; ``emu.messages`` holds the current state.

    ``text`` is what Telegram stores (markup stripped); ``html`` the source the bot sent with
    ``parse_mode=HTML`` (``None`` otherwise). The same split exists for captions.
    """

    chat_id: int
    message_id: int
    date: int
    from_user: JSONDict | None
    text: str | None = None
    html: str | None = None
    parse_mode: str | None = None
    entities: list[JSONDict] = field(default_factory=list)
    caption: str | None = None
    caption_html: str | None = None
    caption_entities: list[JSONDict] = field(default_factory=list)
    reply_markup: JSONDict | None = None
    thread_id: int | None = None
    reply_to_message_id: int | None = None
    link_preview_options: JSONDict | None = None
    disable_notification: bool = False
    document: StoredFile | None = None
    photo: StoredFile | None = None
    poll_id: str | None = None
    edit_date: int | None = None
    deleted: bool = False
    outgoing: bool = False
    #: extra top-level Message fields (service messages, e.g. ``forum_topic_created``)
    extra: JSONDict = field(default_factory=dict)

    @property
    def key(self) -> tuple[int, int]:
        return (self.chat_id, self.message_id)

    def content_json(self) -> JSONDict:
        """The content part of the Message (everything that does not depend on other state)."""
        content: JSONDict = dict(self.extra)
        if self.text is not None:
            content["text"] = self.text
            if self.entities:
                content["entities"] = self.entities
        if self.caption:
            content["caption"] = self.caption
            if self.caption_entities:
                content["caption_entities"] = self.caption_entities
        if self.document:
            content["document"] = self.document.document_json()
        if self.photo:
            content["photo"] = self.photo.photo_sizes_json()
        if self.reply_markup and "inline_keyboard" in self.reply_markup:
            # Telegram echoes only inline keyboards back in Message.reply_markup.
            content["reply_markup"] = self.reply_markup
        if self.link_preview_options:
            content["link_preview_options"] = self.link_preview_options
        if self.edit_date:
            content["edit_date"] = self.edit_date
        return content


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of a PNG, GIF or JPEG image, ``None`` for anything else."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return width, height
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return width, height
    if data.startswith(b"\xff\xd8"):
        return _jpeg_size(data)
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    index = 2
    while index + 9 < len(data):
        if data[index] != 0xFF:
            return None
        marker = data[index + 1]
        segment_length = struct.unpack(">H", data[index + 2:index + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[index + 5:index + 9])
            return width, height
        index += 2 + segment_length
    return None
