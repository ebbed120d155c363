"""Instance variables (``$vars``): read by every workflow, written only by staff (API or admin)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from workflows.errors import InvalidInput
from workflows.models import Variable


def variables_map() -> dict[str, str]:
    """Every variable, key → value (what ``$vars`` shows a run)."""
    return dict(Variable.objects.values_list("key", "value"))


def _checked(variable: Variable) -> Variable:
    try:
        variable.full_clean(validate_unique=False)
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        raise InvalidInput(" ".join(messages), field=field) from None
    return variable


def _saved(variable: Variable) -> Variable:
    try:
        with transaction.atomic():
            variable.save()
    except IntegrityError:  # the unique key, also when two requests race
        raise InvalidInput(f"a variable with key {variable.key!r} already exists", field="key") from None
    return variable


def variable_create(*, key: str, value: str) -> Variable:
    """Create a variable; a bad or taken key → :class:`InvalidInput` naming ``key``."""
    return _saved(_checked(Variable(key=key, value=value)))


def variable_update(*, variable: Variable, key: str | None = None, value: str | None = None) -> Variable:
    """Change a variable's value and/or key (runs started later see the change)."""
    if key is not None:
        variable.key = key
    if value is not None:
        variable.value = value
    return _saved(_checked(variable))


def variable_delete(*, variable: Variable) -> None:
    """Delete a variable; ``$vars.<key>`` is ``undefined`` in runs started later."""
    variable.delete()
