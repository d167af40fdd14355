"""Examples that ship with mltrail (``python -m mltrail.examples.quickstart``)."""
