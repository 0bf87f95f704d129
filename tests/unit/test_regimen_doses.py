"""Structured standard doses of regimens.yaml (`doses`): each written in the schedule sentence
that cites its source, of one of the regimen's drugs, and what the dosing table makes of them."""

from __future__ import annotations

import pytest
from test_regimen_evidence import BUNDLED, bundled, regimen, write

from haicgx.doses import Dose, dose_text
from haicgx.errors import ConfigError
from haicgx.knowledge import parse_regimens


def test_every_bundled_dose_is_written_in_its_schedule_and_every_dosed_drug_has_one() -> None:
    regimens = parse_regimens(BUNDLED)[0]
    dosed = [r for r in regimens if r.doses]
    assert len(dosed) == 10  # the regimens whose schedule gives verified doses
    for item in dosed:
        for dose in item.doses:
            assert dose.drug in item.drugs and dose.written_in(item.schedule), item.regimen_id
    # the three parts of the best-known schedule, as its sentence gives them
    folfox = next(r for r in regimens if r.regimen_id == "haic_folfox")
    assert dose_text(folfox.doses_of("fluorouracil")) == (
        "400 mg/m2 bolus, then 2400 mg/m2 over 46 hours; hepatic-arterial; every 3 weeks"
    )
    lv5fu2 = next(r for r in regimens if r.regimen_id == "hai_oxaliplatin_lv5fu2")
    assert dose_text(lv5fu2.doses_of("fluorouracil"), 50) == (
        "200 mg/m2 bolus, then 300 mg/m2 over 22 hours; intravenous; days 1 and 2; every 2 weeks"
    )


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"amount": 86}, "the oxaliplatin dose 86 mg/m2 is not written in the schedule sentence"),
        ({"amount": 8.5}, "the oxaliplatin dose 8.5 mg/m2 is not written in the schedule sentence"),
        ({"unit": "mg/kg"}, "the oxaliplatin dose 85 mg/kg is not written in the schedule"),
        ({"drug": "cisplatin"}, "a dose of 'cisplatin', which is not one of the regimen's drugs"),
        ({"unit": "g"}, "regimens/0/doses/0/unit: 'g' is not one of"),
        ({"route": "intrathecal"}, "regimens/0/doses/0/route: 'intrathecal' is not one of"),
        ({"amount": -85}, "regimens/0/doses/0/amount: -85 is less than or equal to"),
        ({"days": "day 1"}, "regimens/0/doses/0/days: 'day 1' does not match"),
    ],
)
def test_a_dose_the_schedule_does_not_give_stops_the_load(tmp_path, change, problem) -> None:
    data = bundled()
    folfox = regimen(data, "haic_folfox")
    folfox["doses"][0] = {**folfox["doses"][0], **change}
    with pytest.raises(ConfigError) as caught:
        parse_regimens(write(tmp_path, data))
    assert problem in str(caught.value)
    assert "regimens/0" in str(caught.value)  # haic_folfox, the first regimen


def test_a_range_and_a_percentage() -> None:
    dose = Dose("oxaliplatin", 70, 80, "mg/m2", "hepatic-arterial", "over 2 hours", "1 and 15")
    assert dose.written_in("HAI oxaliplatin 70-80 mg/m2 over 2 hours on days 1 and 15")
    assert not dose.written_in("HAI oxaliplatin 70-90 mg/m2")
    assert dose_text([dose], 50) == "35-40 mg/m2 over 2 hours; hepatic-arterial; days 1 and 15"
