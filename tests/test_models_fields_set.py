"""Images given the same fields share one fields set; assigning a field never leaks to others."""

from __future__ import annotations

from auditor.models import Image


def test_same_fields_share_one_set_and_assignment_unshares() -> None:
    first = Image.model_validate({"ImageId": "m-1", "Status": "Available", "Extra": 1})
    second = Image.model_validate({"ImageId": "m-2", "Status": "Deprecated", "Extra": 2})
    assert first.model_fields_set is second.model_fields_set
    first.ImageName = "renamed"
    assert first.model_fields_set == {"ImageId", "Status", "Extra", "ImageName"}
    assert second.model_fields_set == {"ImageId", "Status", "Extra"}
    third = Image.model_validate({"ImageId": "m-3", "Status": "Available", "Extra": 3})
    assert third.model_fields_set == {"ImageId", "Status", "Extra"}
    assert third.model_dump(exclude_unset=True) == {"ImageId": "m-3", "Status": "Available",
                                                     "Extra": 3}
