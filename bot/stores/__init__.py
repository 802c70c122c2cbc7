"""Storage Rasa is configured to use (endpoints.yml): the tracker store."""
