"""kustomize/README.md gives what a user expects (issue 11, item 9), rendered by real Kustomize.

- "Change model" changes the model label too, on the pods and on the selector;
- "Method 2: compose from scratch" gives only what the example asks for: no 0-replica
  prefill Deployment and no prefill PodMonitor.
"""

from __future__ import annotations

from pathlib import Path

from test_library import (add_snippet, build, by_kind_name, checkout, my_deployment, pod_labels,  # noqa: F401
                          readme_block, run_shell, workload)


def test_change_model_sets_the_model_label_on_pods_and_selector(my_deployment: Path) -> None:  # noqa: F811
    snippet = readme_block("Change model", "yaml")
    assert "modelLabel=" in snippet
    label = next(line.split("=", 1)[1] for line in snippet.splitlines() if "modelLabel=" in line)
    add_snippet(my_deployment, snippet)
    decode = workload(build(my_deployment), "decode")
    assert pod_labels(decode)["llm-d.ai/model"] == label
    assert decode["spec"]["selector"]["matchLabels"]["llm-d.ai/model"] == label
    assert "facebook" not in label


def test_method2_has_no_prefill_objects_and_only_the_decode_podmonitor(checkout: Path) -> None:  # noqa: F811
    run_shell(readme_block("Method 2: compose from scratch", "bash"), checkout)
    objects = build(checkout / "kustomize" / "overlays" / "my-custom-deployment")
    names = sorted(by_kind_name(objects))
    assert names == [("Deployment", "modelservice-decode"), ("PodMonitor", "modelservice-decode-podmonitor"),
                     ("ServiceAccount", "modelservice")]
    assert not [o for o in objects if "prefill" in o["metadata"]["name"]]
    assert workload(objects, "decode")["spec"]["replicas"] == 2
