"""The lab's one door for the command line and the app: plans, runs, results, exports, probes, models.

`lab.cli` and the app's `ui/` package import this package and nothing else of the project, so a change
inside `lab/run`, `lab/results` or `lab/models` is absorbed here. Modules that load pandas, plotly or
litellm are imported inside the functions that need them: `python -m lab cases` and `prompt` start
without them. `ItemDetail`, `Progress`, `CompareBy` and `PairedResult` are named here for annotations
only. Names imported `X as X` are re-exported as they are.

The functions live in `catalog` (probes, models, modes, presets), `runs`, `results`, `exports` and
`compare`; this module is their one surface.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lab.api.catalog import (
    GENERATOR_KINDS,
    GENERATOR_TEMPLATE,
    LEGEND_KINDS,
    MAPPING_TEMPLATE,
    TYPED_KEY_PREFIX,
    WORLDS,
    CompiledProbe,
    CustomProbe,
    CustomProbeError,
    ModeLegend,
    PresetPlan,
    PythonInputs,
    delete_probe,
    describe_model,
    export_probe,
    held_out_cases,
    import_probe,
    install_saved_probes,
    is_typed_key,
    key_is_unset,
    mode_label,
    mode_legend,
    model_label,
    model_spec,
    preset_plans,
    probe_families,
    probe_json,
    prompt_units,
    run_succeeded,
    save_probe,
    saved_probes,
    terminal_text,
    try_probe,
    typed_key_env,
)
from lab.api.compare import (
    compare_choices,
    compare_items,
    pair_id,
    pair_label,
    report_html,
)
from lab.api.exports import (
    export_parquet,
    items_parquet,
)
from lab.api.oracle import (
    oracle_summary,
    oracle_timeline,
)
from lab.api.results import (
    UNRECORDED_CELL_NOTE,
    ResultSet,
    ResultTables,
    TruncationAdvice,
    browse_items,
    candidate_table,
    change_marker,
    chart_config,
    charts_html,
    count_items,
    export_items,
    export_summary,
    format_summary,
    functions_frame,
    item_detail,
    item_facets,
    item_key,
    item_page,
    items_csv,
    open_item,
    outcome_choices,
    overview_figure,
    overview_rows,
    overview_sorts,
    result_figures,
    result_items,
    result_set,
    result_tables,
    summary_csv,
    summary_frame,
    truncation_advice,
    unrecorded_cells,
    unrecorded_summary,
)
from lab.api.runinfo import (
    ProgressSample,
    determinism_note,
    eta_text,
    run_determinism,
    smoke_test_note,
)
from lab.api.runs import (
    check_cost_cap,
    check_models,
    cost_estimate,
    cost_rows,
    delete_run,
    effective_status,
    execute_run,
    get_run,
    mode_accuracy,
    precision_warnings,
    prepare_run,
    rename_run,
    run_progress,
    runs_frame,
    start_background_run,
    stop_run,
)
from lab.models import (
    DEFAULT_MODEL,
    ModelSpec,
)
from lab.models.batch import (
    batch_unsupported,
)
from lab.models.replay import (
    recorded_models,
)
from lab.presets import (
    list_presets,
)
from lab.results.query import (
    SORTS,
    STORED_ORDER,
    ItemQuery,
)
from lab.run.batch import (
    BatchOptions,
)
from lab.run.labels import (
    NAME_LIMIT,
)
from lab.run.plan import (
    MAX_QUERIES,
    MAX_ROUNDS,
    MAX_SAMPLES,
    MAX_SUBMISSIONS,
    QUICK_MODES,
    RunError,
    RunPlan,
    default_temperature,
    estimated_calls,
    parse_noise,
    parse_shots,
    quick_plan,
    total_items,
)
from lab.run.store import (
    RunRecord,
    Store,
    default_db_path,
)
from lab.tasks.modes import (
    MODE_ORDER,
    MODES,
    Framing,
    ModeError,
)
from lab.tasks.oracle import (
    DEFAULT_QUERIES,
    DEFAULT_SUBMISSIONS,
)
from lab.tasks.oracle import (
    Speaker as OracleSpeaker,
)
from lab.tasks.oracle import (
    Turn as OracleTurn,
)
from probes import (
    Case,
    ProbeError,
    ProbeFamily,
    Setting,
    parse_spec,
)

if TYPE_CHECKING:  # for annotations only: these modules load pandas
    from lab.results.browse import Facets as Facets
    from lab.results.browse import ItemPage as ItemPage
    from lab.results.compare import PairedResult as PairedResult
    from lab.results.detail import ItemDetail as ItemDetail

__all__ = [
    "DEFAULT_MODEL",
    "DEFAULT_QUERIES",
    "DEFAULT_SUBMISSIONS",
    "GENERATOR_KINDS",
    "GENERATOR_TEMPLATE",
    "LEGEND_KINDS",
    "MAPPING_TEMPLATE",
    "MAX_QUERIES",
    "MAX_ROUNDS",
    "MAX_SAMPLES",
    "MAX_SUBMISSIONS",
    "MODES",
    "MODE_ORDER",
    "NAME_LIMIT",
    "QUICK_MODES",
    "SORTS",
    "STORED_ORDER",
    "TYPED_KEY_PREFIX",
    "UNRECORDED_CELL_NOTE",
    "WORLDS",
    "BatchOptions",
    "Case",
    "CompiledProbe",
    "CustomProbe",
    "CustomProbeError",
    "Framing",
    "ItemQuery",
    "ModeError",
    "ModeLegend",
    "ModelSpec",
    "OracleSpeaker",
    "OracleTurn",
    "PresetPlan",
    "ProbeError",
    "ProbeFamily",
    "ProgressSample",
    "PythonInputs",
    "ResultSet",
    "ResultTables",
    "RunError",
    "RunPlan",
    "RunRecord",
    "Setting",
    "Store",
    "TruncationAdvice",
    "batch_unsupported",
    "browse_items",
    "candidate_table",
    "change_marker",
    "chart_config",
    "charts_html",
    "check_cost_cap",
    "check_models",
    "compare_choices",
    "compare_items",
    "cost_estimate",
    "cost_rows",
    "count_items",
    "default_db_path",
    "default_temperature",
    "delete_probe",
    "delete_run",
    "describe_model",
    "determinism_note",
    "effective_status",
    "estimated_calls",
    "eta_text",
    "execute_run",
    "export_items",
    "export_parquet",
    "export_probe",
    "export_summary",
    "format_summary",
    "functions_frame",
    "get_run",
    "held_out_cases",
    "import_probe",
    "install_saved_probes",
    "is_typed_key",
    "item_detail",
    "item_facets",
    "item_key",
    "item_page",
    "items_csv",
    "items_parquet",
    "key_is_unset",
    "list_presets",
    "mode_accuracy",
    "mode_label",
    "mode_legend",
    "model_label",
    "model_spec",
    "open_item",
    "oracle_summary",
    "oracle_timeline",
    "outcome_choices",
    "overview_figure",
    "overview_rows",
    "overview_sorts",
    "pair_id",
    "pair_label",
    "parse_noise",
    "parse_shots",
    "parse_spec",
    "precision_warnings",
    "prepare_run",
    "preset_plans",
    "probe_families",
    "probe_json",
    "prompt_units",
    "quick_plan",
    "recorded_models",
    "rename_run",
    "report_html",
    "result_figures",
    "result_items",
    "result_set",
    "result_tables",
    "run_determinism",
    "run_progress",
    "run_succeeded",
    "runs_frame",
    "save_probe",
    "saved_probes",
    "smoke_test_note",
    "start_background_run",
    "stop_run",
    "summary_csv",
    "summary_frame",
    "terminal_text",
    "total_items",
    "truncation_advice",
    "try_probe",
    "typed_key_env",
    "unrecorded_cells",
    "unrecorded_summary",
]
