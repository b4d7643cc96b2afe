"""JUnit XML: one testcase per object, a failure for each object that is not equal."""

from __future__ import annotations

from typing import TYPE_CHECKING

from migrate.compare import ObjectResult, Result, Status
from migrate.reporters.base import Reporter, difference_line

if TYPE_CHECKING:
    import xml.etree.ElementTree as ET

SUITE = "helm-to-kustomize verify"


class JunitReporter(Reporter):
    name = "junit"
    suffix = ".xml"

    def render(self, result: Result) -> str:
        import xml.etree.ElementTree as ET  # here: most runs write no JUnit

        failures = str(len(result.not_equal()))
        tests = str(len(result.objects))
        root = ET.Element("testsuites", name=SUITE, tests=tests, failures=failures, errors="0")
        suite = ET.SubElement(root, "testsuite", name=SUITE, tests=tests, failures=failures, errors="0", skipped="0")
        properties = ET.SubElement(suite, "properties")
        ET.SubElement(properties, "property", name="namespace", value=result.namespace or "")
        ET.SubElement(properties, "property", name="rules", value=",".join(result.rules))
        for obj in result.objects:
            _testcase(suite, obj)
        if result.notes or result.hints:
            ET.SubElement(suite, "system-out").text = "\n".join(
                [*(f"note: {note}" for note in result.notes), *(f"hint: {hint}" for hint in result.hints)])
        ET.indent(root)
        return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _testcase(suite: ET.Element, obj: ObjectResult) -> None:
    import xml.etree.ElementTree as ET

    case = ET.SubElement(suite, "testcase", classname=obj.kind, name=obj.id)
    if obj.status is Status.EQUAL:
        return
    failure = ET.SubElement(case, "failure", type=obj.status.value, message=_message(obj))
    failure.text = "\n".join(difference_line(diff) for diff in obj.differences)


def _message(obj: ObjectResult) -> str:
    if obj.status is Status.DIFFERENT:
        count = len(obj.differences)
        return f"{obj.id}: {count} difference{'s' if count != 1 else ''}"
    return f"{obj.id}: {obj.status.label}"
