"""What the complaint and hand-over tests' shipper says, and the first offer the bot answers with."""

from __future__ import annotations

DELAY_STORY = "EA100000034CN was supposed to be in Beijing two days ago and nobody told me anything"
VOUCHER = (
    "I'm sorry your shipment is late. We'll give it priority handling and keep you updated at every step, "
    "and as an apology you'll receive a voucher of 36.00 CNY for your next shipment."
)
