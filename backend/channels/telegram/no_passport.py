"""Imports python-telegram-bot without the cryptography package, which it loads only for Telegram Passport.

telegram/_passport/credentials.py imports `cryptography` when it is installed (it is in .venv: the test
tools need it) to decrypt Telegram Passport data, inside a try/except ImportError that otherwise sets
CRYPTO_INSTALLED = False. This bot never asks a shipper for Passport data, and that import alone costs
the backend about 7 MiB of RSS (36 modules and the Rust bindings). A None entry in sys.modules makes that
one import raise ImportError, the case the library handles; the entry is removed again at once, so
anything else in the process can still import cryptography. When cryptography is already loaded (another
user came first) nothing is blocked. backend/channels/telegram/__init__.py imports this module first.
"""

from __future__ import annotations

import sys

if "cryptography" not in sys.modules and "telegram" not in sys.modules:
    sys.modules["cryptography"] = None  # type: ignore[assignment]
    try:
        import telegram  # noqa: F401
    finally:
        del sys.modules["cryptography"]
