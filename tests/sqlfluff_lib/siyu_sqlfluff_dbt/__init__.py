"""What sqlfluff's jinja templater needs of dbt to render the models (`make lint-sql`).

sqlfluff renders the models without dbt (`templater = jinja` in .sqlfluff: fast, no profile,
no database); its dbt builtins give `ref`, `source`, `var`, `config`, `is_incremental` and
`this`, and the project's macros come from dbt_project/macros. What those macros call of dbt
itself is here: `adapter.dispatch` resolves a macro to its DuckDB (else default) variant
as dbt-duckdb does, `dbt.*` gives dbt's cross-database macros in their DuckDB form, and
`target` is a DuckDB target; `var` reads the project's vars from dbt_project.yml (with an
`as_of`, as `siyu run` passes one) and `env_var` gives its default. Only the rendered SQL is
linted: none of it runs.
"""

# sqlfluff adds every name of this package to the templates' context: the imports are
# private, the public names are what the macros call
import datetime as _datetime
import pathlib as _pathlib

import yaml as _yaml
from jinja2 import pass_context as _pass_context
from jinja2.runtime import missing as _missing


class _Stub:
    # jinja's sandbox may call these
    unsafe_callable = False
    alters_data = False


class _Adapter(_Stub):
    type = "duckdb"

    @_pass_context
    def dispatch(self, context, macro_name, macro_namespace=None):
        """The `duckdb__` variant of a macro, else its `default__` one (dbt's order)."""
        for prefix in ("duckdb__", "default__"):
            macro = context.resolve_or_missing(prefix + macro_name)
            if macro is not None and macro is not _missing:
                return macro
        raise LookupError(f"adapter.dispatch: no duckdb__ or default__ macro {macro_name}")

    def quote(self, identifier):
        return f'"{identifier}"'


class _Dbt(_Stub):
    """dbt's cross-database macros, as dbt-duckdb renders them."""

    def dateadd(self, datepart, interval, from_date_or_timestamp):
        return f"date_add({from_date_or_timestamp}, interval ({interval}) {datepart})"

    def datediff(self, first_date, second_date, datepart):
        return f"date_diff('{datepart}', {first_date}::timestamp, {second_date}::timestamp)"

    def date_trunc(self, datepart, date):
        return f"date_trunc('{datepart}', {date})"

    def last_day(self, date, datepart):
        return f"cast(date_trunc('{datepart}', {date}) + interval 1 {datepart} - interval 1 day as date)"

    def type_string(self):
        return "varchar"


class _Target(_Stub):
    type = "duckdb"
    name = "dev"
    schema = "main"
    database = "siyu"
    threads = 1


def _project_vars():
    project = _pathlib.Path(__file__).resolve().parents[3] / "dbt_project" / "dbt_project.yml"
    values = dict(_yaml.safe_load(project.read_text(encoding="utf-8")).get("vars") or {})
    values["as_of"] = "2025-04-29"
    return values


_VARS = _project_vars()


class _Var(_Stub):
    def __call__(self, name, default=None):
        return _VARS.get(name, default)


class _EnvVar(_Stub):
    def __call__(self, name, default=""):
        return default


adapter = _Adapter()
dbt = _Dbt()
target = _Target()
var = _Var()
env_var = _EnvVar()
run_started_at = _datetime.datetime(2025, 4, 30, 1, 0, 0)
execute = False
