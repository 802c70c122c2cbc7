"""Components of our own in the Rasa NLU pipeline (they run in .venv-rasa).

Rasa imports this package for the pipeline's components before the training graph runs: the training
hook's guarded patch (bot/nlu/training_cache.py) applies here.
"""

from bot.nlu import training_cache

training_cache.apply()
