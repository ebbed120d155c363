"""Parameter templates (``=Hello {{ $json.name }}``): splitting, compiling once, evaluating per item."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from workflows.engine.expressions import limits
from workflows.engine.expressions.compiler import compile_expression
from workflows.engine.expressions.errors import Abort, ExpressionError, JSError
from workflows.engine.expressions.parser import parse
from workflows.engine.expressions.runtime import Runtime
from workflows.engine.expressions.values import UNDEFINED, HostObject, JSFunction, check_string, to_string, truthy

if TYPE_CHECKING:
    from workflows.engine.context import NodeContext

Run = Callable[[Runtime], Any]
SNIPPET = 200


@dataclass(slots=True, frozen=True)
class CompiledTemplate:
    run: Run | None
    error: Abort | None


def split_template(text: str) -> list[tuple[bool, str]]:
    """``[(is_code, text), ...]`` as n8n splits: the first ``}}`` closes, ``\\}}`` escapes it."""
    chunks: list[tuple[bool, str]] = []
    buffer: list[str] = []
    code = False
    i = 0
    n = len(text)
    while i < n:
        token = "}}" if code else "{{"
        j = text.find(token, i)
        if j < 0:
            buffer.append(text[i:])
            break
        if j > i and text[j - 1] == "\\":
            buffer.append(text[i : j + 2])
            i = j + 2
            continue
        buffer.append(text[i:j])
        chunk = "".join(buffer)
        chunks.append((code, chunk.replace("\\}}", "}}", 1) if code else chunk))
        buffer = []
        code = not code
        i = j + 2
    if buffer or code:
        chunk = "".join(buffer)
        chunks.append((code, chunk.replace("\\}}", "}}", 1) if code else chunk))
    return chunks


@functools.lru_cache(maxsize=limits.TEMPLATE_CACHE_SIZE)
def compile_template(template: str) -> CompiledTemplate:
    """Parse and compile a template once; errors are cached too, so a bad template fails fast."""
    try:
        return CompiledTemplate(_build(template[1:] if template.startswith("=") else template), None)
    except Abort as exc:
        return CompiledTemplate(None, exc)
    except RecursionError:
        return CompiledTemplate(None, Abort("expression is nested too deeply"))


def _build(body: str) -> Run:
    chunks = split_template(body)
    if not chunks:
        return lambda rt: ""
    if len(chunks) == 1 and not chunks[0][0]:
        text = chunks[0][1]
        return lambda rt: text
    if len(chunks) == 1 and chunks[0][0]:
        chunks.insert(0, (False, ""))
    if len(chunks) == 2 and chunks[0] == (False, ""):
        return _single(compile_expression(parse(chunks[1][1])))
    parts: list[str | Run] = []
    for is_code, text in chunks:
        if is_code:
            parts.append(compile_expression(parse(text)))
        elif text:
            parts.append(text)
    return _mixed(parts)


def _single(fn: Run) -> Run:
    def run(rt: Runtime) -> Any:
        try:
            value = fn(rt)
        except JSError:
            return None  # n8n: a runtime error inside {{ }} makes the value undefined
        t = type(value)
        if t is str or t is int or t is bool or value is None:
            return value
        return to_python(value, rt.dirty)

    return run


def _mixed(parts: list[str | Run]) -> Run:
    def run(rt: Runtime) -> Any:
        out: list[str] = []
        for part in parts:
            if type(part) is str:
                out.append(part)
                continue
            try:
                value = part(rt)  # type: ignore[operator]
            except JSError:
                continue
            t = type(value)
            if t is str:
                out.append(value)
            elif truthy(value) or value is False or ((t is int or t is float) and value == 0):
                out.append(to_string(value))
        return check_string(rt, "".join(out))

    return run


def to_python(value: Any, deep: bool) -> Any:
    """The value handed to nodes: ``undefined`` → None, NaN/±Infinity → None (as JSON stores
    them), dates → ISO strings. Containers are walked only when the expression built some
    (``deep``); data read from items never holds JavaScript-only values."""
    t = type(value)
    if t is float:
        return value if value == value and value not in (float("inf"), float("-inf")) else None
    if value is UNDEFINED:
        return None
    if isinstance(value, HostObject):
        return value.to_python()
    if deep and (t is list or t is dict):
        return _deep(value)
    return value


def _deep(value: Any) -> Any:
    t = type(value)
    if t is list:
        copied: list[Any] | None = None
        for i, item in enumerate(value):
            new = _deep(item)
            if new is not item:
                if copied is None:
                    copied = list(value)
                copied[i] = new
        return value if copied is None else copied
    if t is dict:
        pairs = [
            (key, _DROP if item is UNDEFINED or isinstance(item, JSFunction) else _deep(item))
            for key, item in value.items()
        ]
        if all(new is value[key] for key, new in pairs):
            return value
        return {key: new for key, new in pairs if new is not _DROP}
    if t is float or value is UNDEFINED or isinstance(value, HostObject):
        return to_python(value, False)
    return value


_DROP = object()


def evaluate_template(template: str, ctx: NodeContext, item_index: int, path: str) -> Any:
    """Evaluate a parameter template for one item (the engine's ``Evaluator``).

    ``=...`` with a single ``{{ expr }}`` and nothing around it returns the raw value; otherwise
    the pieces are joined as n8n does (``null``/``undefined`` render empty). Raises
    :class:`ExpressionError` naming the node, the parameter and the expression.
    """
    if len(template) > limits.MAX_TEMPLATE_LENGTH:
        raise _error(
            f"expression is too long ({len(template):,} characters; the limit is {limits.MAX_TEMPLATE_LENGTH:,})",
            ctx,
            path,
            template,
            item_index,
        )
    compiled = compile_template(template)
    if compiled.run is None:
        assert compiled.error is not None
        raise _error(compiled.error.message, ctx, path, template, item_index, compiled.error.description)
    rt = Runtime(ctx, item_index)
    try:
        return compiled.run(rt)
    except Abort as exc:
        raise _error(exc.message, ctx, path, template, item_index, exc.description) from None
    except RecursionError:
        raise _error("expression is nested too deeply", ctx, path, template, item_index) from None
    except MemoryError:
        raise _error("expression ran out of memory", ctx, path, template, item_index) from None
    except ExpressionError:
        raise
    except Exception as exc:  # a bug of ours must fail the node cleanly, never the worker
        message = f"internal error while evaluating the expression ({type(exc).__name__}: {exc})"
        raise _error(message, ctx, path, template, item_index) from exc


def _error(
    reason: str, ctx: NodeContext, path: str, template: str, item_index: int, description: str | None = None
) -> ExpressionError:
    snippet = template if len(template) <= SNIPPET else template[:SNIPPET] + "…"
    return ExpressionError(
        f"{reason} (node {ctx.name!r}, parameter {path!r}, expression {snippet!r})",
        description=description,
        item_index=item_index,
        extra={"parameter": path, "expression": snippet},
    )
