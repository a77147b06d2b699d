"""Settings: pydantic models fed by a YAML file, ``EDGE_RUNTIME_*`` environment variables
and command-line flags, in rising order of priority (flags win). This is the one place
that order is decided: ``ModelSettings`` for the commands that load a model,
``Settings`` (the same, plus the daemon's own) for ``edge-runtime serve``."""

from __future__ import annotations

from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from edge_runtime.encode import OVERLAY_ALPHA
from edge_runtime.errors import SettingsError
from edge_runtime.options import ModelOptions
from edge_runtime.secrets import read_secret
from edge_runtime.suggest import did_you_mean
from edge_runtime.yaml_files import read_yaml_mapping
from edge_runtime.zones import MAX_PAIRS, MAX_ZONES, ZoneSpec

__all__ = ["ModelSettings", "Settings", "SettingsError", "is_loopback", "read_yaml_mapping"]
S = TypeVar("S", bound="ModelSettings")


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 and localhost; anything else reaches the network."""
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


# The YAML file's settings for the ``load`` in progress (a context variable: concurrent
# loads in threads never see each other's file). pydantic-settings' own
# YamlConfigSettingsSource reads the file itself; ``read_yaml_mapping`` bounds its size and
# depth and turns every problem into one line, so the parsed mapping goes to the library's
# dict source instead.
_YAML: ContextVar[dict[str, Any] | None] = ContextVar("edge_runtime_yaml", default=None)


MQTT_MAX_QUEUED = 1000
MAX_PREFIX = 256  # characters; the topics built on a prefix stay far below MQTT's 65,535 bytes


def _topic_prefix(value: str | None) -> str | None:
    """A topic prefix publishes can use: no wildcards (``+``, ``#``), no NUL, not empty,
    at most ``MAX_PREFIX`` characters."""
    if value is None:
        return value
    if not value.strip("/"):
        raise ValueError("must not be empty")
    bad = sorted({c for c in value if c in "+#\x00"})
    if bad:
        raise ValueError(
            f"must not contain {', '.join(repr(c) for c in bad)} (MQTT wildcards and NUL "
            "are not allowed in the topics a client publishes to)"
        )
    if len(value) > MAX_PREFIX:
        raise ValueError(f"is {len(value)} characters; at most {MAX_PREFIX}")
    return value


TopicPrefix = Annotated[str, AfterValidator(_topic_prefix)]


class MqttSettings(BaseModel):
    """The ``mqtt`` setting."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    host: str = Field(min_length=1, pattern=r"^\S+$", description="the broker's address")
    port: int = Field(1883, ge=1, le=65535, description="the broker's port")
    username: str | None = Field(None, description="the broker's user")
    password_file: Path | None = Field(None, description="file holding the user's password")
    tls: bool = Field(False, description="connect with TLS (the system's CA certificates)")
    topic_prefix: TopicPrefix | None = Field(None, description="default: edge-runtime/<device id>")
    qos: int = Field(1, ge=0, le=2, description="MQTT QoS of events and shares")
    device_id: str | None = Field(None, description="default: the host name")
    stats_interval_s: float = Field(
        5.0, gt=0, description="shares are published at most this often"
    )
    discovery_prefix: TopicPrefix = Field(
        "homeassistant", description="Home Assistant MQTT discovery's prefix"
    )
    max_queued: int = Field(
        MQTT_MAX_QUEUED,
        ge=1,
        description="events and shares waiting for the broker; more are dropped",
    )

    @model_validator(mode="after")
    def _password_needs_a_user(self) -> MqttSettings:
        if self.password_file is not None and not self.username:
            raise ValueError("mqtt.password_file needs mqtt.username (the broker's user)")
        return self


class ModelSettings(BaseSettings, ModelOptions):
    """The model options (``ModelOptions``' fields) from flags, the environment and YAML."""

    model_config = SettingsConfigDict(env_prefix="EDGE_RUNTIME_", extra="forbid", frozen=True)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, env_settings, InitSettingsSource(settings_cls, _YAML.get() or {})

    @classmethod
    def load(cls: type[S], config_file: Path | None = None, **flags: Any) -> S:
        """Merge the YAML file, the environment and the flags that were given (not None).

        Raises ``SettingsError`` with every problem, one per line.
        """
        data = read_yaml_mapping(config_file) if config_file is not None else {}
        given = {k: v for k, v in flags.items() if v is not None}
        token = _YAML.set(data)
        try:
            return cls(**given)
        except ValidationError as exc:
            lines = []
            for err in exc.errors():
                name = ".".join(str(p) for p in err["loc"])
                if not name:
                    lines.append(str(err["msg"]).removeprefix("Value error, "))
                    continue
                top = str(err["loc"][0])  # mean.2 comes from wherever mean came from
                origin = (
                    "flag"
                    if top in given
                    else "config file"
                    if top in data
                    else f"EDGE_RUNTIME_{top.upper()}"
                )
                hint = did_you_mean(cls, err["loc"]) if err["type"] == "extra_forbidden" else ""
                msg = str(err["msg"]).removeprefix("Value error, ")
                lines.append(f"{name} ({origin}): {msg}{hint}")
            raise SettingsError("invalid settings: " + "; ".join(lines)) from exc
        except ValueError as exc:  # e.g. an environment value that is not valid JSON
            raise SettingsError(f"invalid settings: {exc}") from exc
        finally:
            _YAML.reset(token)


class Settings(ModelSettings):
    """Every setting of ``edge-runtime serve`` (see ``systemd/edge-runtime.yaml``): the
    model options, then the daemon's own."""

    host: str = Field("127.0.0.1", description="bind address")
    port: int = Field(8080, ge=0, le=65535, description="TCP port; 0 picks a free one")
    source: str | None = Field(
        None,
        description="picamera2[:N], opencv:N, /dev/videoN, rtsp://..., a video file, an image "
        "folder or glob, synthetic; none: uploads only",
    )
    source_fps: float | None = Field(None, gt=0, description="pace of replayed sources")
    warmup_runs: int = Field(2, ge=0, description="blank invokes before /readyz turns 200")
    max_upload_bytes: int = Field(16 * 1024 * 1024, ge=1024, description="largest upload")
    max_pixels: int = Field(40_000_000, ge=1, description="largest image, in pixels")
    overlay_alpha: float = Field(
        OVERLAY_ALPHA, ge=0.0, le=1.0, description="the stream overlay's opacity"
    )
    max_overlay_pixels: int = Field(
        8_000_000, ge=1, description="larger overlays are sent reduced (the mask never is)"
    )
    jpeg_quality: int = Field(80, ge=1, le=95, description="the stream's JPEG quality")
    source_retry_initial_s: float = Field(
        0.5, gt=0, description="first wait before reopening a failed source"
    )
    source_retry_max_s: float = Field(10.0, gt=0, description="longest wait (back-off)")
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        "info", description="debug adds the access log"
    )
    token: SecretStr | None = Field(None, description="bearer token (prefer token_file)")
    token_file: Path | None = Field(None, description="file holding the bearer token")
    insecure_no_auth: bool = Field(False, description="allow a non-loopback bind with no token")
    allowed_hosts: list[str] | None = Field(
        None,
        description="Host header names the daemon answers to ('*': any); default: loopback "
        "names when bound to loopback (DNS-rebinding guard), any name otherwise",
    )
    max_inflight: int = Field(2, ge=1, description="uploads being segmented at once")
    max_waiting: int = Field(8, ge=0, description="uploads queued; more get 503 at once")
    request_timeout_s: float = Field(10.0, gt=0, description="deadline for a queued upload")
    zones: list[ZoneSpec] = Field(
        default_factory=list,
        max_length=MAX_ZONES,
        description="polygons (0..1 image coordinates) whose watched classes make events",
    )
    events_dir: Path | None = Field(
        None, description="event snapshots; default: $STATE_DIRECTORY/events under systemd"
    )
    events_max_count: int = Field(500, ge=1, description="events kept (oldest deleted)")
    events_max_bytes: int = Field(100 * 2**20, ge=1024, description="bytes kept in events_dir")
    mqtt: MqttSettings | None = Field(None, description="publish zone events and shares")
    inference_timeout_s: float = Field(
        10.0, gt=0, description="an invoke running longer marks the daemon stuck (watchdog)"
    )
    camera_stall_timeout_s: float = Field(
        30.0,
        gt=0,
        description="a camera frame in processing longer makes the daemon unready, whatever "
        "part of the work is stuck (progress watchdog)",
    )

    @model_validator(mode="after")
    def _bounded_zones(self) -> Settings:
        pairs = sum(len(z.classes) for z in self.zones)
        if pairs > MAX_PAIRS:
            raise ValueError(
                f"zones watch {pairs} (zone, class) pairs; at most {MAX_PAIRS} (each is a "
                "metric series and a pass over every frame)"
            )
        return self

    @model_validator(mode="after")
    def _secure_by_default(self) -> Settings:
        if self.token is None and self.token_file is not None:
            try:
                text = read_secret(self.token_file, "token_file")
            except SettingsError as exc:
                raise ValueError(str(exc)) from exc  # reported with the other problems
            object.__setattr__(self, "token", SecretStr(text))
        if self.token is not None:
            text = self.token.get_secret_value().strip()
            if len(text) < 16 or any(c.isspace() for c in text):
                raise ValueError("the token must be at least 16 characters, with no spaces")
            object.__setattr__(self, "token", SecretStr(text))
        if self.token is None and not self.insecure_no_auth and not is_loopback(self.host):
            raise ValueError(
                f"binding to {self.host} exposes the daemon to the network: set a token "
                "(EDGE_RUNTIME_TOKEN or --token-file FILE), or pass --insecure-no-auth"
            )
        return self
