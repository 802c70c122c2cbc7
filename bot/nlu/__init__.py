"""Components of our own in the Rasa NLU pipeline (they run in .venv-rasa)."""
