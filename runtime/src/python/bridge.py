"""MBT's Python bridge: runs a project's `lib.module.function` hooks for the Rust runtime.

Run as `python -c <this text> MODE WORKDIR FUNCTION...` with the project directory first on
`sys.path`. WORKDIR holds `context.json` and the input (`input.parquet`, or `input.json` for
metrics); the result is written there (`output.parquet` or `output.json`). Frames are exchanged
as Parquet, read and written with pandas + pyarrow.

Exit codes the runtime maps to messages: 0 ok, 3 a dependency (pandas/pyarrow) is missing,
4 the module or function does not exist, 5 the function returned the wrong type,
anything else: the function raised (its traceback is on stderr).
"""

import importlib
import json
import os
import sys


def fail(code, message):
    sys.stderr.write("MBT-BRIDGE: " + message + "\n")
    sys.exit(code)


def resolve(reference):
    module_name, _, function_name = reference.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        missing = error.name or ""
        if module_name == missing or module_name.startswith(missing + "."):
            fail(4, f"module `{module_name}` not found under {sys.path[0]}")
        raise  # the module exists but one of its own imports is missing: show its traceback
    function = getattr(module, function_name, None)
    if not callable(function):
        fail(4, f"module `{module_name}` ({module.__file__}) has no function `{function_name}`")
    return function


def require_pandas():
    try:
        import pandas
        import pyarrow  # noqa: F401  (pandas reads and writes Parquet through it)
    except ImportError as error:
        fail(3, f"`{error.name}` is not installed for {sys.executable}: "
                f"run `{sys.executable} -m pip install pandas pyarrow`, or set MBT_PYTHON "
                "to an interpreter that has them")
    return pandas


def main():
    mode, workdir, *functions = sys.argv[1:]
    with open(os.path.join(workdir, "context.json"), encoding="utf-8") as file:
        context = json.load(file)

    if mode == "metric":
        with open(os.path.join(workdir, "input.json"), encoding="utf-8") as file:
            data = json.load(file)
        value = resolve(functions[0])(data["y_true"], data["y_score"])
        try:
            value = float(value)
        except (TypeError, ValueError):
            fail(5, f"`{functions[0]}` returned {type(value).__name__}, expected a number")
        with open(os.path.join(workdir, "output.json"), "w", encoding="utf-8") as file:
            json.dump({"value": value}, file)
        return

    pandas = require_pandas()
    frame = pandas.read_parquet(os.path.join(workdir, "input.parquet"))

    if mode == "transform":
        for reference in functions:
            result = resolve(reference)(frame, context)
            if not isinstance(result, pandas.DataFrame):
                fail(5, f"`{reference}` returned {type(result).__name__}, expected a pandas DataFrame")
            frame = result
        frame.to_parquet(os.path.join(workdir, "output.parquet"), index=False)
    elif mode == "validate":
        result = resolve(functions[0])(frame, context)
        if isinstance(result, bool):
            result = (result, "")
        if not (isinstance(result, tuple) and len(result) == 2):
            fail(5, f"`{functions[0]}` returned {type(result).__name__}, expected (passed, message)")
        passed, message = result
        with open(os.path.join(workdir, "output.json"), "w", encoding="utf-8") as file:
            json.dump({"passed": bool(passed), "message": str(message)}, file)
    else:
        fail(2, f"unknown bridge mode `{mode}`")


main()
# Leave without interpreter finalization: Arrow's C++ thread pools can abort the process
# ("terminate called without an active exception") while Python tears down under load, after
# the work is done and written.
sys.stdout.flush()
sys.stderr.flush()
os._exit(0)
