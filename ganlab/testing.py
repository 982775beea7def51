"""ganlab's pytest plugin for plugin authors, under the name its ``pytest11`` entry point and
plugin authors' suites use; it lives in ``ganlab.conformance.pytest_plugin``."""

from ganlab.conformance.pytest_plugin import (  # noqa: F401  (pytest finds the hooks by name here)
    ARGUMENT,
    MARKER,
    ContractCase,
    _contract_without_marker,
    contract_cases,
    pytest_configure,
    pytest_generate_tests,
    pytest_report_header,
)
