"""Files shippers send (photos of damage): checked by content, kept in the upload store, attached."""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.domain import OPEN_TICKET_STATUSES
from backend.i18n import N_, t
from backend.models import Attachment, Ticket
from backend.services.conversations import ensure_conversation
from backend.services.tickets import record_ticket_event, update_ticket
from backend.storage import InvalidKey, StoreUnavailable, UploadStore
from backend.storage.directory import DirectoryStore

logger = logging.getLogger(__name__)

# Image types we accept, recognised by their first bytes (never by the file name or a claimed type).
_SIGNATURES: tuple[tuple[bytes, int, str, str], ...] = (
    (b"\xff\xd8\xff", 0, "image/jpeg", "jpg"),
    (b"\x89PNG\r\n\x1a\n", 0, "image/png", "png"),
    (b"GIF87a", 0, "image/gif", "gif"),
    (b"GIF89a", 0, "image/gif", "gif"),
    (b"WEBP", 8, "image/webp", "webp"),
)
# How a message that is only a photo appears in the transcript (the photo is its attachment).
PHOTO_ONLY_TEXT = "[photo]"


class UploadRejected(ValueError):
    """The file is not an image we accept, or too large; the message says which, politely, in the
    shipper's language (`text`); str() is the English."""

    def __init__(self, msgid: str, **params: Any) -> None:
        self.msgid, self.params = msgid, params
        super().__init__(t("en", msgid, **params))

    def text(self, language: str | None) -> str:
        return t(language, self.msgid, **self.params)


def sniff_image(data: bytes) -> tuple[str, str] | None:
    """(content type, extension) of a JPEG, PNG, GIF or WebP image, from its bytes; else None."""
    for magic, offset, content_type, extension in _SIGNATURES:
        if data[offset : offset + len(magic)] == magic and (offset == 0 or data[:4] == b"RIFF"):
            return content_type, extension
    return None


TOO_LARGE = N_("That file is larger than {size} MB. Could you send a smaller photo?")


def too_large_text(max_bytes: int, language: str | None = "en") -> str:
    return t(language, TOO_LARGE, size=max_bytes // (1024 * 1024))


def check_image(data: bytes, *, max_bytes: int) -> tuple[str, str]:
    """(content type, extension) of an image we take; raises UploadRejected with a polite reason."""
    if not data:
        raise UploadRejected(N_("The file was empty. Could you send the photo again?"))
    if len(data) > max_bytes:
        raise UploadRejected(TOO_LARGE, size=max_bytes // (1024 * 1024))
    sniffed = sniff_image(data)
    if sniffed is None:
        raise UploadRejected(
            N_("I can only take photos (JPEG, PNG, GIF or WebP). Could you send it as a photo?")
        )
    return sniffed


# A stored photo cannot be read because its store is unreachable (the route answers 503, not "gone").
PHOTO_STORE_DOWN = N_("The photo cannot be loaded just now: its store is not reachable. Try again later.")
# The store could not keep the photo (a disk error, S3 down): the shipper hears it and may send it again.
STORE_FAILED = N_("Sorry, I couldn't save that photo just now. Could you send it again in a few minutes?")


def store_of(store: UploadStore | None, upload_dir: Path | None) -> UploadStore:
    """The store to use: the one given, else a directory store at `upload_dir` (callers of old)."""
    if store is not None:
        return store
    if upload_dir is None:
        raise TypeError("an upload store or an upload_dir is needed")
    return DirectoryStore(upload_dir)


@dataclass(frozen=True)
class AttachmentFile:
    """A stored photo's bytes and checked type, as a route serves it."""

    data: bytes
    content_type: str


def attachment_file(
    session: Session,
    attachment_id: int,
    *,
    store: UploadStore | None = None,
    upload_dir: Path | None = None,
    conversation_id: str | None = None,
    max_bytes: int = 10 * 1024 * 1024,
) -> AttachmentFile | None:
    """The bytes of a stored photo, or None when the store has none (or, when `conversation_id` is given,
    when the photo belongs to another conversation).

    Read in the caller's thread (the store blocks). A store that cannot be reached raises
    StoreUnavailable: the route says so politely rather than calling the photo gone.
    """
    attachment = session.get(Attachment, attachment_id)
    if attachment is None or (conversation_id is not None and attachment.conversation_id != conversation_id):
        return None
    # The row's size was checked at upload; a larger object than that (or than the limit) is not ours.
    limit = max(max_bytes, attachment.size or 0)
    try:
        # A stored path never leads out of the store's place; a tampered row must not either.
        data = store_of(store, upload_dir).read(attachment.path, max_bytes=limit)
    except InvalidKey:
        return None
    # Served as the type its bytes show, the same check as at upload; anything else is not served.
    sniffed = sniff_image(data) if data else None
    if data is None or sniffed is None:
        return None
    return AttachmentFile(data=data, content_type=sniffed[0])


def open_complaint(session: Session, conversation_id: str) -> Ticket | None:
    """The conversation's newest complaint ticket that is not yet resolved, or None."""
    return session.scalars(
        select(Ticket)
        .where(
            Ticket.conversation_id == conversation_id,
            Ticket.kind == "complaint",
            Ticket.status.in_(OPEN_TICKET_STATUSES),
        )
        .order_by(Ticket.created_at.desc(), Ticket.id.desc())
        .limit(1)
    ).first()


_JPEG_APP1 = 0xE1  # EXIF (GPS position, camera, time taken) and XMP live in APP1 segments
_JPEG_SCAN = 0xDA  # start of scan: entropy-coded image data follows to the end


def without_exif(data: bytes) -> bytes:
    """A JPEG without its APP1 segments (EXIF with the GPS position, XMP); any other bytes unchanged.

    Walks the JPEG's marker segments up to the image data and copies all but APP1; a file whose
    segments do not add up is returned as it was (it was checked as a JPEG by its first bytes only).
    """
    if not data.startswith(b"\xff\xd8"):
        return data
    kept = bytearray(data[:2])
    at = 2
    while at + 4 <= len(data):
        if data[at] != 0xFF:
            return data
        marker = data[at + 1]
        if marker == 0xFF:  # a fill byte before the marker
            at += 1
            continue
        if marker in (_JPEG_SCAN, 0xD9):
            kept += data[at:]
            return bytes(kept)
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:  # markers without a length
            kept += data[at : at + 2]
            at += 2
            continue
        length = int.from_bytes(data[at + 2 : at + 4], "big")
        if length < 2 or at + 2 + length > len(data):
            return data
        if marker != _JPEG_APP1:
            kept += data[at : at + 2 + length]
        at += 2 + length
    return data


@dataclass(frozen=True)
class StoredUpload:
    """A checked photo already in the upload store, waiting to be recorded on its message."""

    path: str  # the store's key: <conversation folder>/<content hash>.<extension>
    sha256: str
    size: int
    content_type: str


def put_upload(
    *,
    conversation_id: str,
    data: bytes,
    max_bytes: int,
    store: UploadStore | None = None,
    upload_dir: Path | None = None,
) -> StoredUpload:
    """Check one file and put it in the upload store, outside any database transaction.

    The store may be a remote service (S3): a transaction held open across its upload would keep a
    pooled connection (and, on SQLite, the database's one write lock) for as long as the upload takes.
    The key is the content's hash, so a file whose message is then not recorded (a rolled-back
    transaction, a replay) is the same object when it comes again, not a second one.
    Raises UploadRejected: not an accepted image, too large, or the store cannot keep it (STORE_FAILED).
    """
    content_type, extension = check_image(data, max_bytes=max_bytes)
    # Where the photo was taken (and with what) is the shipper's own business: never stored.
    data = without_exif(data)
    digest = hashlib.sha256(data).hexdigest()
    # One folder per conversation; the name is the content's hash, so a resent photo is one file.
    folder = re.sub(r"[^A-Za-z0-9_-]", "_", conversation_id)
    relative = f"{folder}/{digest}.{extension}"
    try:
        store_of(store, upload_dir).save(relative, data)
    except StoreUnavailable as error:
        # One line, no traceback: the store's trouble is the operator's, the shipper hears STORE_FAILED.
        logger.warning("photo for %s not stored: %s", conversation_id, error)
        raise UploadRejected(STORE_FAILED) from None
    return StoredUpload(path=relative, sha256=digest, size=len(data), content_type=content_type)


def record_attachment(
    session: Session, *, conversation_id: str, upload: StoredUpload, message_id: int | None = None
) -> Attachment:
    """Record a stored photo on its message and attach it to the open complaint, which then has it."""
    ensure_conversation(session, conversation_id)
    ticket = open_complaint(session, conversation_id)
    attachment = Attachment(
        conversation_id=conversation_id,
        message_id=message_id,
        ticket_id=ticket.id if ticket else None,
        sha256=upload.sha256,
        size=upload.size,
        content_type=upload.content_type,
        path=upload.path,
    )
    session.add(attachment)
    session.flush()
    if ticket is not None:
        _note_photo(session, ticket, attachment)
    return attachment


def store_attachment(
    session: Session,
    *,
    conversation_id: str,
    data: bytes,
    max_bytes: int,
    store: UploadStore | None = None,
    upload_dir: Path | None = None,
    message_id: int | None = None,
) -> Attachment:
    """Check, save and record one file in one call (for callers whose store is a local directory).

    Raises UploadRejected (the polite STORE_FAILED) when the store cannot keep it; nothing is recorded.
    """
    upload = put_upload(
        conversation_id=conversation_id, data=data, max_bytes=max_bytes, store=store, upload_dir=upload_dir
    )
    return record_attachment(session, conversation_id=conversation_id, upload=upload, message_id=message_id)


def _note_photo(session: Session, ticket: Ticket, attachment: Attachment) -> None:
    data = {"attachment_id": attachment.id, "sha256": attachment.sha256, "size": attachment.size}
    if ticket.photo_status != "received" and ticket.category == "damage":
        update_ticket(
            session,
            number=ticket.number,
            expected_version=None,
            actor="shipper",
            action="photo_received",
            photo_status="received",
        )
    else:
        record_ticket_event(
            session, number=ticket.number, actor="shipper", action="photo_received", data=data
        )


def adopt_attachments(session: Session, *, conversation_id: str, ticket: Ticket) -> int:
    """Attach the conversation's photos sent before the ticket existed (during the complaint form)."""
    loose = list(
        session.scalars(
            select(Attachment).where(
                Attachment.conversation_id == conversation_id, Attachment.ticket_id.is_(None)
            )
        )
    )
    for attachment in loose:
        attachment.ticket_id = ticket.id
    session.flush()
    for attachment in loose:
        record_ticket_event(
            session,
            number=ticket.number,
            actor="shipper",
            action="photo_received",
            data={"attachment_id": attachment.id, "sha256": attachment.sha256, "size": attachment.size},
        )
    return len(loose)


def count_attachments(session: Session, conversation_id: str) -> int:
    """How many files this conversation has sent."""
    return int(
        session.scalar(
            select(func.count()).select_from(Attachment).where(Attachment.conversation_id == conversation_id)
        )
        or 0
    )
