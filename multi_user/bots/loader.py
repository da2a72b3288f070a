"""Finding bots: by name (built-in examples, ``<data>/bots/NAME.py``, entry points in group
``mt5_desk.bots``) or by file path (``/path/bot.py`` or ``/path/bot.py:ClassName``).

Loading runs the bot's module: the worker does it (and the ``bots list`` command); the GUI process
never imports a bot.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType
from typing import Any

from multi_user.bots.base import Bot
from multi_user.errors import BadInput

GROUP = "mt5_desk.bots"
EXAMPLES = Path(__file__).resolve().parent / "examples"


def user_dir(data_dir: Path | str | None) -> Path | None:
    return Path(data_dir) / "bots" if data_dir else None


def _from_module(module: ModuleType, cls_name: str | None, where: str) -> type[Bot]:
    if cls_name:
        cls = getattr(module, cls_name, None)
        if not (inspect.isclass(cls) and issubclass(cls, Bot)):
            raise BadInput(f"{where} has no bot class {cls_name!r}")
        return cls
    found = [c for c in vars(module).values()
             if inspect.isclass(c) and issubclass(c, Bot) and c is not Bot and c.__module__ == module.__name__]
    if len(found) != 1:
        names = ", ".join(c.__name__ for c in found)
        raise BadInput(f"{where} defines {len(found)} bot classes ({names or 'none'}); "
                       "name one as FILE.py:ClassName" if found else f"{where} defines no subclass of Bot")
    return found[0]


def _load_file(path: Path, cls_name: str | None) -> type[Bot]:
    if not path.is_file():
        raise BadInput(f"no bot file {path}")
    mod_name = f"mt5_desk_bot_{path.stem}_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(mod_name, path)
    if spec is None or spec.loader is None:
        raise BadInput(f"{path} is not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[mod_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(mod_name, None)
        raise BadInput(f"{path} could not be loaded: {type(exc).__name__}: {exc}") from exc
    return _from_module(module, cls_name, str(path))


def _entry_points() -> dict[str, Any]:
    return {ep.name: ep for ep in entry_points(group=GROUP)}


def bot_name(cls: type[Bot], fallback: str) -> str:
    return cls.name or fallback


def load_bot(spec: str, data_dir: Path | str | None = None) -> tuple[str, type[Bot]]:
    """The bot ``spec`` names, as (its name, its class); a clear BadInput when there is none."""
    if not isinstance(spec, str) or not spec.strip():
        raise BadInput("name a bot: a name from `bots list` or a FILE.py path")
    spec = spec.strip()
    path_part, _, cls_name = spec.partition(".py:")
    if spec.endswith(".py") or cls_name:
        path = Path(path_part if cls_name else spec[:-3]).with_suffix(".py").expanduser()
        cls = _load_file(path, cls_name or None)
        return bot_name(cls, path.stem), cls
    if not spec.replace("_", "").replace("-", "").isalnum():
        raise BadInput(f"{spec!r} is neither a bot name nor a .py file")
    folder = user_dir(data_dir)
    for candidate in ([folder / f"{spec}.py"] if folder else []) + [EXAMPLES / f"{spec}.py"]:
        if candidate.is_file():
            cls = _load_file(candidate, None)
            return bot_name(cls, spec), cls
    ep = _entry_points().get(spec)
    if ep is not None:
        try:
            obj = ep.load()
        except Exception as exc:
            raise BadInput(f"bot {spec!r} ({ep.value}) could not be loaded: {type(exc).__name__}: {exc}") from exc
        if not (inspect.isclass(obj) and issubclass(obj, Bot)):
            raise BadInput(f"entry point {spec!r} ({ep.value}) is not a subclass of Bot")
        return bot_name(obj, spec), obj
    raise BadInput(f"no bot named {spec!r}; `bots list` shows the bots there are")


def describe(name: str, cls: type[Bot], source: str) -> dict[str, Any]:
    return {"name": name, "source": source, "description": (cls.description or inspect.getdoc(cls) or "").strip(),
            "interval": cls.interval, "timeframe": cls.timeframe, "bars": cls.on_bar is not Bot.on_bar,
            "symbols": list(cls.symbols),
            "params": {k: p.describe() for k, p in cls.params.items()}}


def available(data_dir: Path | str | None = None) -> list[dict[str, Any]]:
    """Every bot found by name, with its parameters; one that fails to load is listed with its error."""
    names: dict[str, str] = {p.stem: f"example {p.name}" for p in sorted(EXAMPLES.glob("*.py"))
                             if not p.name.startswith("_")}
    names.update({ep: f"entry point {e.value}" for ep, e in _entry_points().items() if ep not in names})
    folder = user_dir(data_dir)
    if folder and folder.is_dir():
        names.update({p.stem: str(p) for p in sorted(folder.glob("*.py")) if not p.name.startswith("_")})
    out = []
    for spec, source in sorted(names.items()):
        try:
            name, cls = load_bot(spec, data_dir)
            out.append(describe(name, cls, source))
        except BadInput as exc:
            out.append({"name": spec, "source": source, "error": str(exc), "params": {}})
    return out
