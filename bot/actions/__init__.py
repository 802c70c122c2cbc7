"""Custom actions of the carrier's bot; rasa-sdk registers every Action subclass in these modules."""
