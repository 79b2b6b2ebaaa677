"""Uploading a message's file to the media repository, encrypted for encrypted rooms."""

from __future__ import annotations

import struct
from typing import Any

import nio

from adapters.base import DeliveryError
from adapters.matrix.errors import delivery_error
from bot.messages import Attachment

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from a PNG's IHDR chunk, without an image library."""
    if len(data) < 24 or not data.startswith(PNG_SIGNATURE) or data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", data[16:24])
    return (width, height) if width and height else None


def file_info(attachment: Attachment) -> dict[str, Any]:
    info: dict[str, Any] = {"mimetype": attachment.mime_type, "size": len(attachment.data)}
    if attachment.is_image and (size := png_size(attachment.data)):
        info["w"], info["h"] = size
    return info


async def upload(client: nio.AsyncClient, attachment: Attachment, filename: str, *,
                 encrypt: bool) -> dict[str, Any]:
    """Upload `attachment`; return the event's source: `{"url": mxc}`, or for an encrypted
    room `{"file": {...}}` with the keys to decrypt it. Raises a `DeliveryError`."""
    data = attachment.data
    response, keys = await client.upload(
        lambda *_retries: data,
        content_type="application/octet-stream" if encrypt else attachment.mime_type,
        filename=filename, filesize=len(data), encrypt=encrypt)
    if isinstance(response, nio.UploadError):
        error: DeliveryError = delivery_error(response)
        raise error
    if encrypt and keys:
        return {"file": {**keys, "url": response.content_uri}}
    return {"url": response.content_uri}
