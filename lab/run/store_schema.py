"""The store's tables as a new database gets them; `Store._migrate` brings older databases up to them."""

FUNCTIONS_TABLE = """
CREATE TABLE IF NOT EXISTS functions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL,
    model TEXT NOT NULL,
    probe TEXT NOT NULL,
    setting TEXT NOT NULL,
    mode TEXT NOT NULL,
    instance INTEGER NOT NULL,
    call_id INTEGER,
    code TEXT,
    verdict TEXT,
    detail TEXT,
    examples TEXT NOT NULL,
    fits_examples INTEGER,
    memorised INTEGER NOT NULL,
    held_out_failed TEXT NOT NULL,
    sample INTEGER NOT NULL DEFAULT 0,
    round INTEGER NOT NULL DEFAULT 0,
    chosen INTEGER NOT NULL DEFAULT 1,
    UNIQUE (run_id, model, probe, setting, mode, instance, sample, round)
);
"""

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    plan TEXT NOT NULL,
    plan_hash TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT,
    total_items INTEGER NOT NULL,
    created REAL NOT NULL,
    started REAL,
    finished REAL,
    versions TEXT,
    pid INTEGER,
    name TEXT
);
CREATE TABLE IF NOT EXISTS calls (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL,
    cache_key TEXT NOT NULL,
    model TEXT NOT NULL,
    messages TEXT NOT NULL,
    params TEXT NOT NULL,
    response TEXT,
    prompt_tokens INTEGER NOT NULL DEFAULT 0,
    completion_tokens INTEGER NOT NULL DEFAULT 0,
    cost REAL NOT NULL DEFAULT 0,
    latency REAL NOT NULL DEFAULT 0,
    error TEXT,
    cached INTEGER NOT NULL DEFAULT 0,
    created REAL NOT NULL,
    finish_reason TEXT
);
CREATE INDEX IF NOT EXISTS calls_cache ON calls (cache_key) WHERE error IS NULL;
CREATE INDEX IF NOT EXISTS calls_run ON calls (run_id);
{functions}
CREATE TABLE IF NOT EXISTS items (
    run_id TEXT NOT NULL,
    model TEXT NOT NULL,
    probe TEXT NOT NULL,
    setting TEXT NOT NULL,
    default_world INTEGER NOT NULL,
    mode TEXT NOT NULL,
    instance INTEGER NOT NULL,
    case_index INTEGER NOT NULL,
    input TEXT NOT NULL,
    expected TEXT NOT NULL,
    predicted TEXT,
    correct INTEGER NOT NULL,
    error TEXT,
    detail TEXT,
    call_id INTEGER,
    function_id INTEGER,
    created REAL NOT NULL,
    consistent_worlds INTEGER,
    shots INTEGER,
    noise REAL,
    PRIMARY KEY (run_id, model, probe, setting, mode, instance, case_index)
);
CREATE INDEX IF NOT EXISTS items_function ON items (function_id);
CREATE TABLE IF NOT EXISTS custom_probes (
    name TEXT PRIMARY KEY,
    definition TEXT NOT NULL,
    pool TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS kept_statistics (
    run_id TEXT NOT NULL,
    version TEXT NOT NULL,
    marker TEXT NOT NULL,
    name TEXT NOT NULL,
    payload BLOB NOT NULL,
    PRIMARY KEY (run_id, name)
);
""".replace("{functions}", FUNCTIONS_TABLE.strip())
