"""The daemon's HTTP API (FastAPI): an app factory and one router per area."""
