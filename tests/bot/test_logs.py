"""JSON log lines carry the update being handled and never what a citizen typed."""

from __future__ import annotations

import json
import logging

from bot.logs import JsonFormatter, handling_update


def test_a_json_log_line_names_the_update_and_the_error_but_not_its_message() -> None:
    formatter = JsonFormatter(worker="host:8443")
    try:
        raise ValueError("not a number: 'Anna Kowalska, ul. Długa 5'")
    except ValueError as error:
        record = logging.LogRecord(
            "bot.telegram.inbox", logging.ERROR, __file__, 1, "update %s failed", (42,), None
        )
        record.exc_info = (type(error), error, error.__traceback__)
    with handling_update(42):
        line = json.loads(formatter.format(record))
    assert line["message"] == "update 42 failed"
    assert line["update_id"] == 42
    assert line["worker"] == "host:8443"
    assert line["level"] == "ERROR"
    assert line["error"] == "ValueError"
    assert line["stack"] and "test_logs.py" in line["stack"][0]
    assert "Anna" not in json.dumps(line)
    outside = json.loads(formatter.format(logging.makeLogRecord({"msg": "idle"})))
    assert "update_id" not in outside
