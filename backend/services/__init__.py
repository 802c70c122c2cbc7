"""Service layer: functions that take a session and keyword arguments and return domain objects."""
