"""`chat -a FILE` (repeatable): files as content parts of the user message, in OpenAI's shapes, which the
translator carries to Anthropic's blocks like any other part:

- an image (PNG, JPEG, GIF, WebP: told by its first bytes, not its name): an `image_url` part with a
  base64 data URL;
- a PDF: a `file` part with its name and `file_data` (a base64 data URL);
- UTF-8 text: a text part headed by the file's name;
- `-a https://...`: an `image_url` part with that URL (the provider fetches it; nothing is downloaded).

Anything else is refused (exit 2), naming the file and what it seems to be. An attachment may hold at
most MAX_ATTACHMENT_BYTES: the providers take requests of 32 MB, and base64 adds a third.
"""

from __future__ import annotations

import base64
import mimetypes
from pathlib import Path
from typing import Any

from protoshift.cli.exits import InputError
from protoshift.translator.checks import printable

MAX_ATTACHMENT_BYTES = 20 << 20

Part = dict[str, Any]

# First bytes -> the media type of the images Anthropic and OpenAI take.
_IMAGES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)
# First bytes of files protoshift cannot attach, to say what they are.
_OTHER_KINDS: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "a ZIP archive (or a document made of one: docx, xlsx, epub...)"),
    (b"\x1f\x8b", "gzip-compressed data"),
    (b"\x7fELF", "a program (ELF)"),
    (b"BM", "a BMP image"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"ID3", "MP3 audio"),
    (b"OggS", "Ogg audio or video"),
    (b"fLaC", "FLAC audio"),
    (b"SQLite format 3\x00", "an SQLite database"),
)
_TAKES = "images (PNG, JPEG, GIF, WebP), PDF, or UTF-8 text"


def attachment_parts(items: list[str]) -> list[Part]:
    return [attachment_part(item) for item in items]


def attachment_part(item: str) -> Part:
    if item.startswith(("https://", "http://")):
        return {"type": "image_url", "image_url": {"url": item}}
    name = printable(item)
    data = _read(Path(item), name)
    media = image_type(data)
    if media is not None:
        return {"type": "image_url", "image_url": {"url": _data_url(media, data)}}
    if data.startswith(b"%PDF-"):
        return {"type": "file", "file": {"filename": Path(item).name, "file_data": _data_url("application/pdf", data)}}
    text = _text(data)
    if text is not None:
        return {"type": "text", "text": f"File {name}:\n\n{text}"}
    raise InputError(f"-a {name}: {kind_of(data, item)} cannot be attached", hint=f"attach {_TAKES}")


def _read(path: Path, name: str) -> bytes:
    try:
        if path.is_dir():
            raise InputError(f"-a {name}: is a folder; attach its files one by one")
        size = path.stat().st_size
        if size > MAX_ATTACHMENT_BYTES:
            raise InputError(
                f"-a {name}: {size / (1 << 20):.1f} MiB; an attachment may be at most"
                f" {MAX_ATTACHMENT_BYTES >> 20} MiB (the providers take 32 MB a request, base64 adds a third)"
            )
        with path.open("rb") as fh:
            data = fh.read(MAX_ATTACHMENT_BYTES + 1)  # a file that grew since, or a pipe: still bounded
    except FileNotFoundError:
        raise InputError(f"-a {name}: no such file") from None
    except OSError as exc:
        raise InputError(f"-a {name}: cannot read: {exc.strerror or exc}") from None
    if len(data) > MAX_ATTACHMENT_BYTES:
        raise InputError(f"-a {name}: more than {MAX_ATTACHMENT_BYTES >> 20} MiB; not attached")
    return data


def image_type(data: bytes) -> str | None:
    for magic, media in _IMAGES:
        if data.startswith(magic):
            return media
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def _text(data: bytes) -> str | None:
    if b"\x00" in data:
        return None
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError:
        return None


def kind_of(data: bytes, name: str) -> str:
    """What a file that is no image, PDF or text seems to be, for the error."""
    for magic, kind in _OTHER_KINDS:
        if data.startswith(magic):
            return kind
    guessed, _ = mimetypes.guess_type(name)
    return f"{guessed} data" if guessed else "binary data (not UTF-8 text)"


def _data_url(media: str, data: bytes) -> str:
    return f"data:{media};base64,{base64.b64encode(data).decode('ascii')}"
