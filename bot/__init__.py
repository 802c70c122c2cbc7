"""What runs with Rasa: custom actions (action server), NLU components and input channels (Rasa server)."""
