"""Model instances made without ``Model.__init__``, for the paths that make thousands at a time
(imports, reindexing, the benchmark generator): ``__init__`` walks every field of the model and
sends two signals for each instance, which cost more than inserting the row.

``unsaved(model, **values)`` is ``model(**values)``: the same unsaved instance, every field not
given at its default (a callable default called for each instance), a related instance given by
its field's name cached on it like ``__init__`` does. ``loaded(model, values)`` is what
``Model.from_db`` makes of a row read as values. Both fall back to ``__init__`` for a model with
``pre_init``/``post_init`` receivers (none of Kehu's has any), whose work they would skip."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.db import models
from django.db.models.base import ModelState
from django.db.models.signals import post_init, pre_init

M = TypeVar("M", bound=models.Model)


class _Plan:
    """What ``__init__`` would set on a new instance of a model, worked out once."""

    __slots__ = ("attnames", "computed", "fixed", "foreign", "relations")

    def __init__(self, model: type[models.Model]) -> None:
        self.fixed: dict[str, Any] = {}  # attname -> a default that is the same every time
        self.computed: list[tuple[str, Callable[[], Any]]] = []  # attname -> how to make it
        for field in model._meta.concrete_fields:
            if field.has_db_default() or (field.has_default() and callable(field.default)):  # type: ignore[attr-defined]
                self.computed.append((field.attname, field.get_default))
            else:
                self.fixed[field.attname] = field.get_default()
        self.attnames = frozenset(field.attname for field in model._meta.concrete_fields)
        self.relations = frozenset(field.name for field in model._meta.concrete_fields if field.is_relation)
        # Plain foreign keys: name -> (attname, the related model, its attname they hold)
        self.foreign: dict[str, tuple[str, type[models.Model], str]] = {
            field.name: (field.attname, field.related_model, field.target_field.attname)  # type: ignore[attr-defined, misc]
            for field in model._meta.concrete_fields
            if type(field) is models.ForeignKey and isinstance(field.related_model, type)
        }


_plans: dict[type[models.Model], _Plan] = {}


def _plain(model: type[models.Model]) -> bool:
    if not (pre_init.receivers or post_init.receivers):  # none at all: the usual case, at once
        return True
    return not (pre_init.has_listeners(model) or post_init.has_listeners(model))


def unsaved(model: type[M], /, **values: Any) -> M:
    """``model(**values)`` (values by attname, or a related instance by its field's name)
    without ``Model.__init__``'s per-field work; see the module's docstring."""
    if not _plain(model):
        return model(**values)
    plan = _plans.get(model)
    if plan is None:
        plan = _plans[model] = _Plan(model)
    obj = model.__new__(model)
    obj._state = ModelState()
    given = obj.__dict__
    given.update(plan.fixed)
    for attname, default in plan.computed:
        if attname not in values:
            given[attname] = default()
    for name, value in values.items():
        if name in plan.attnames:
            given[name] = value
        elif name in plan.foreign and (value is None or isinstance(value, plan.foreign[name][1])):
            attname, _related, key = plan.foreign[name]  # what the descriptor does, less its checks
            given[attname] = None if value is None else getattr(value, key)
            obj._state.fields_cache[name] = value
        elif name in plan.relations:
            setattr(obj, name, value)  # the descriptor sets the id and caches the instance
        else:
            raise TypeError(f"{model.__name__}() got unexpected keyword arguments: '{name}'")
    return obj


def loaded(model: type[M], values: dict[str, Any], *, using: str = "default") -> M:
    """The instance ``Model.from_db`` makes of ``values`` (by attname, as read from database
    ``using``) without ``Model.__init__``: the fields not read are deferred (loaded on access)."""
    if not _plain(model):
        return model.from_db(using, list(values), list(values.values()))
    obj = model.__new__(model)
    obj.__dict__.update(values)
    state = obj._state = ModelState()
    state.adding, state.db = False, using
    return obj
