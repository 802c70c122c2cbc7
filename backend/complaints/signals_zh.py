"""The old path of the Chinese reader, kept while bot/actions/complaint_parsing.py imports it from here."""

from backend.complaints.signals.chinese import chinese_number

__all__ = ["chinese_number"]
