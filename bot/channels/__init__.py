"""Rasa input channels of ours; loaded by the Rasa server (.venv-rasa), so they import only Rasa."""
