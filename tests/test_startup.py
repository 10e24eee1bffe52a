"""What every command pays before it does anything: the models built at import."""

from __future__ import annotations

import importlib
import pkgutil

from pydantic import BaseModel

import auditor


def _models() -> list[type[BaseModel]]:
    """Every pydantic model of the package, each of its modules imported."""
    for module in pkgutil.walk_packages(auditor.__path__, "auditor."):
        if not module.name.endswith("__main__"):  # that one runs the command line
            importlib.import_module(module.name)
    found, todo = [], [BaseModel]
    while todo:
        for model in todo.pop().__subclasses__():
            todo.append(model)
            if model.__module__.startswith("auditor."):
                found.append(model)
    return found


def test_no_model_field_defaults_to_the_builtin_list() -> None:
    """pydantic reads each default factory's signature whenever a model using it is built,
    which for the builtin `list` means parsing its text (auditor/models.py, `empty_list`)."""
    models = _models()
    assert len(models) > 50
    slow = [f"{model.__module__}.{model.__qualname__}.{name}" for model in models
            for name, info in model.model_fields.items() if info.default_factory is list]
    assert not slow, f"use models.empty_list: {slow}"
