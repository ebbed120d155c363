"""The limits every evaluation runs under (module constants, so tests and hosts can read them)."""

MAX_TEMPLATE_LENGTH = 64 * 1024  # characters of one parameter template
MAX_NESTING = 64  # brackets, calls, unary chains: keeps the parser's recursion shallow
MAX_AST_DEPTH = 200  # the compiled closure tree (long `a + b + c ...` chains count too)
MAX_STEPS = 1_000_000  # function calls and builtin loop work per evaluation
MAX_SECONDS = 1.0  # wall clock per evaluation, checked every CHECK_EVERY steps
CHECK_EVERY = 1024
MAX_CALL_DEPTH = 32  # nested arrow-function calls (blocks `(f => f(f))(f => f(f))`)
MAX_STRING = 10 * 1024 * 1024  # characters in one string value
MAX_ARRAY = 1_000_000  # elements in one array value
MAX_ALLOCATED = 64 * 1024 * 1024  # characters + elements produced by big builtins, summed
MAX_REGEX_SUBJECT = 1024 * 1024  # characters a regular expression may scan (with the timer guard)
MAX_REGEX_SUBJECT_UNGUARDED = 20_000  # ... outside the main thread, where no timer can stop it
MAX_LINEAGE_HOPS = 10_000  # pairedItem hops when resolving `$('Node').item`
TEMPLATE_CACHE_SIZE = 4096
