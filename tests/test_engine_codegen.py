"""The generated per-rule filters pick exactly the images the compiled closures pick."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

from auditor.engine import load_rules
from auditor.engine.codegen import compile_filter
from auditor.models import Inventory

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from synth import generate  # the benchmark's generator of varied images


def test_generated_filters_agree_with_closures_on_synthetic_images() -> None:
    inventory = Inventory.model_validate(generate(2000, seed=3))
    images = [image for region in inventory.regions for image in region.images]
    today = date(2026, 11, 27)
    for rule in load_rules([], builtin=True).rules:
        when, require = rule.compiled(today)
        expected = [i for i in images if (when is None or when.pred(i)) and not require.pred(i)]
        assert expected, f"{rule.id} fails no synthetic image: the test would prove nothing"
        generated = compile_filter(rule.when, rule.require, rule.params, today)(images)
        assert [i.ImageId for i in generated] == [i.ImageId for i in expected], rule.id
