"""The photo rules channels apply before the hub (the check, its polite refusals), offered by the hub.

Channels reach data only through the hub, so they take these from here rather than from a service.
"""

from backend.services.attachments import (
    PHOTO_ONLY_TEXT,
    AttachmentFile,
    UploadRejected,
    check_image,
    too_large_text,
)

__all__ = ["PHOTO_ONLY_TEXT", "AttachmentFile", "UploadRejected", "check_image", "too_large_text"]
