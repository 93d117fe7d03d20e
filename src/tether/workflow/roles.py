"""The models of one run (planner, executor, reviewer): checked up front, opened once
and lazily, closed together. Use as ``async with Roles(ws) as roles: ...``."""

from __future__ import annotations

from types import TracebackType

from tether.config import FALLBACK, INSTALL_HINT, ROLES, ResolvedRole, RoleConfig, local_available
from tether.errors import UsageError
from tether.models.registry import build_model
from tether.models.types import Model
from tether.workflow.reviewer import ModelReviewer
from tether.workspace import Workspace

LOCAL_ROLE = ResolvedRole("executor", FALLBACK, "--model local")  # the embedded model


def role_of(choice: str | None) -> tuple[str | None, str | None]:
    """What ``--model`` means: the role whose endpoint answers (None: the embedded
    model) and a model name to ask of it (None: the role's own)."""
    if choice == "local":
        return None, None
    if choice is None or choice in ROLES:
        return choice or "executor", None
    return "executor", choice


class Roles:
    def __init__(self, ws: Workspace):
        self.ws = ws
        self._models: dict[str, Model] = {}
        self._reviewer: ModelReviewer | None = None

    def require(self, *names: str) -> None:
        """Stop with exit 2 now (not mid-run) if a role has no model or no key."""
        for name in names:
            self.ws.config.require(name)

    def config(self, name: str) -> RoleConfig:
        cfg = self.ws.config.require(name).config
        assert cfg is not None  # require() guarantees it
        return cfg

    def model(self, name: str) -> Model:
        """The role's model, built on first use and shared for the rest of the run."""
        if name not in self._models:
            self._models[name] = build_model(self.ws.config.require(name), self.ws.log)
        return self._models[name]

    def chosen(self, choice: str | None) -> tuple[Model, RoleConfig, str | None]:
        """``--model``: a role's name (default the executor), ``local`` (the embedded
        model) or a model name asked of the executor's endpoint (returned third)."""
        role, name = role_of(choice)
        if role is not None:
            return self.model(role), self.config(role), name
        if not local_available():
            raise UsageError(
                "--model local: the embedded model is not installed", hint=INSTALL_HINT
            )
        if "local" not in self._models:
            self._models["local"] = build_model(LOCAL_ROLE, self.ws.log)
        return self._models["local"], FALLBACK, None

    def label(self, choice: str | None) -> str:
        """How a certification names the model ``choice`` means (``openai/fast``)."""
        model, _, name = self.chosen(choice)
        return f"{model.info.provider}/{name or model.info.model}"

    @property
    def executor(self) -> Model:
        return self.model("executor")

    @property
    def planner(self) -> Model:
        return self.model("planner")

    def reviewer(self) -> ModelReviewer:
        """The reviewer model behind the review gate."""
        if self._reviewer is None:
            cfg = self.config("reviewer")
            self._reviewer = ModelReviewer(self.model("reviewer"), cfg.max_output_tokens)
        return self._reviewer

    async def aclose(self) -> None:
        models, self._models = list(self._models.values()), {}
        for model in models:
            await model.aclose()

    async def __aenter__(self) -> Roles:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
