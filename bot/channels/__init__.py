"""Rasa input channels of ours; loaded by the Rasa server (.venv-rasa), so they import only Rasa.

Rasa imports them (credentials.yml) before Sanic serves: bot.rasa_tuning's guarded patches apply here.
"""

from bot import rasa_tuning

rasa_tuning.apply()
