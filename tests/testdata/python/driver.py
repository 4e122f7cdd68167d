"""Runs one Automation API operation on the Python example's program as an inline program, for
tests/python_test.go:

    python driver.py up|preview|refresh|destroy

with E2E_PROGRAM_DIR (examples/python), E2E_PROJECT, E2E_STACK, E2E_WORK_DIR and
E2E_SECRET_CONFIG (a JSON object of config keys to set as secrets) in the environment.
Progress goes to stderr; the result is one JSON line on stdout: {changes, outputs}, with secret
outputs' values replaced by "[secret]".
"""

import json
import os
import sys

from pulumi import automation as auto


def main() -> None:
    op = sys.argv[1] if len(sys.argv) > 1 else ""
    # Import the example's own module, as its __main__.py does.
    sys.path.insert(0, os.environ["E2E_PROGRAM_DIR"])
    from program import edge_secrets

    stack = auto.create_or_select_stack(
        stack_name=os.environ["E2E_STACK"],
        project_name=os.environ["E2E_PROJECT"],
        program=edge_secrets,
        work_dir=os.environ["E2E_WORK_DIR"],
    )
    config = json.loads(os.environ.get("E2E_SECRET_CONFIG") or "{}")
    if config:
        stack.set_all_config({k: auto.ConfigValue(value=v, secret=True) for k, v in config.items()})

    def on_output(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    outputs = {}
    if op == "up":
        res = stack.up(on_output=on_output)
        changes = res.summary.resource_changes
        outputs = res.outputs
    elif op == "preview":
        changes = stack.preview(on_output=on_output).change_summary
    elif op == "refresh":
        changes = stack.refresh(on_output=on_output).summary.resource_changes
    elif op == "destroy":
        changes = stack.destroy(on_output=on_output).summary.resource_changes
    else:
        sys.exit(f"unknown operation {op!r}: use up, preview, refresh or destroy")

    result = {
        # Operation names may come as OpType enum members: keep their string values.
        "changes": {getattr(k, "value", k): n for k, n in (changes or {}).items()},
        "outputs": {k: "[secret]" if o.secret else o.value for k, o in outputs.items()},
    }
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
