"""``did you mean``: through nested models, lists and optionals; silent when nothing is close."""

from __future__ import annotations

from pydantic import BaseModel

from edge_runtime.suggest import did_you_mean


class Zone(BaseModel):
    name: str
    classes: list[str]


class Mqtt(BaseModel):
    host: str
    topic_prefix: str


class Config(BaseModel):
    threads: int
    zones: list[Zone]
    mqtt: Mqtt | None = None


def test_top_level_nested_and_in_lists() -> None:
    assert did_you_mean(Config, ["thread"]) == " (did you mean 'threads'?)"
    assert did_you_mean(Config, ["mqtt", "topic_prefx"]) == " (did you mean 'topic_prefix'?)"
    assert did_you_mean(Config, ["zones", 3, "clases"]) == " (did you mean 'classes'?)"


def test_nothing_close_or_no_model_there() -> None:
    assert did_you_mean(Config, ["completely_else"]) == ""
    assert did_you_mean(Config, ["threads", "x"]) == ""  # an int has no keys
    assert did_you_mean(Config, ["zones", 0]) == ""
