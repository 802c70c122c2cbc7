"""Custom actions of the carrier's bot; rasa-sdk registers every Action subclass in these modules.

The action server (`python -m rasa_sdk --actions bot.actions`, tools/stack.py) imports this package before
it serves; building the complaint text pipeline (spaCy) here makes the first complaint as fast as the rest.
"""

from backend.complaints.signals import warm_up

warm_up()
