"""The backend: channels, the hub, the console, the HTTP API, services and the system of record."""
