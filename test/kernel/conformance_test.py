"""The official Jupyter kernel conformance suite (jupyter_kernel_test) against the tokenlab kernel.

Run through test/kernel/conformance.test.ts, which installs the kernelspec into a temp prefix and
points JUPYTER_PATH at it: /usr/bin/python3 -m unittest -v conformance_test
"""

import unittest

import jupyter_kernel_test


class TokenlabKernelTests(jupyter_kernel_test.KernelTests):
    kernel_name = "tokenlab"
    language_name = "typescript"
    file_extension = ".ts"

    code_hello_world = 'console.log("hello, world")'
    code_stderr = 'console.error("an error line")'

    completion_samples = [
        {"text": "Math.flo", "matches": {"floor"}},
        {"text": "const zebraStripes = 1;\nzebraStr", "matches": {"zebraStripes"}},
    ]

    complete_code_samples = ["const a = 1;", "function f() {\n  return 1;\n}", "1 + 1"]
    incomplete_code_samples = ["function f() {", "const xs = [1,", "if (true) {\n  console.log(1);"]
    invalid_code_samples = ["const = 1;", "let 5x = 3;", "function ) {}"]

    code_execute_result = [
        {"code": "6 * 7", "result": "42"},
        {"code": '"to" + "ken"', "result": "'token'"},
        {"code": "[1, 2, 3].map((x) => x * 2)", "result": "[ 2, 4, 6 ]"},
    ]

    code_display_data = [
        {"code": 'display({"text/html": "<b>bold</b>"})', "mime": "text/html"},
        {"code": 'display("plain")', "mime": "text/plain"},
    ]

    code_generate_error = 'throw new Error("expected failure")'

    code_inspect_sample = "Math.max"

    code_history_pattern = "6 * 7"
    supported_history_operations = ("tail", "range", "search")

    code_clear_output = "clearOutput()"


if __name__ == "__main__":
    unittest.main()
