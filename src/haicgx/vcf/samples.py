"""The samples: which column is the tumour and which the matched normal."""

from __future__ import annotations

import re
from pathlib import Path

from haicgx.vcf.facts import fail

_TUMOR_SAMPLE = re.compile(r"^##tumou?r_sample=(.+)$", re.IGNORECASE)
_NORMAL_SAMPLE = re.compile(r"^##normal_sample=(.+)$", re.IGNORECASE)


def choose_sample(
    patient: str, path: Path, samples: list[str], header_lines: list[str], wanted: str | None
) -> str:
    """The tumour sample: the sheet's choice, else a ##tumor_sample= line, else the only sample."""
    if wanted:
        if wanted not in samples:
            raise fail(
                patient,
                path,
                f"tumour_sample {wanted!r} is not in the file "
                f"(samples: {', '.join(samples) or 'none'})",
            )
        return wanted
    for line in header_lines:
        if m := _TUMOR_SAMPLE.match(line):
            name = m[1].strip()
            if name not in samples:
                raise fail(patient, path, f"##tumor_sample={name} names no sample of the file")
            return name
    if len(samples) == 1:
        return samples[0]
    if not samples:
        raise fail(patient, path, "no sample column: a tumour sample with genotypes is needed")
    raise fail(
        patient,
        path,
        f"{len(samples)} samples ({', '.join(samples)}) and no tumour_sample in the sheet or "
        "##tumor_sample= header line",
    )


def choose_normal(
    patient: str,
    path: Path,
    samples: list[str],
    header_lines: list[str],
    wanted: str | None,
    tumour: str,
) -> str | None:
    """The matched normal: the sheet's choice, else a ##normal_sample= line, else none."""
    name, said = wanted, "normal_sample"
    if not name:
        line = next((m for ln in header_lines if (m := _NORMAL_SAMPLE.match(ln))), None)
        name, said = (line[1].strip(), "##normal_sample=") if line else (None, "")
    if not name:
        return None
    if name not in samples:
        raise fail(
            patient,
            path,
            f"{said} {name!r} is not a sample of the file "
            f"(samples: {', '.join(samples) or 'none'})",
        )
    if name == tumour:
        raise fail(patient, path, f"{said} {name!r} is also the tumour sample")
    return name


def unused_samples_warning(samples: list[str], tumour: str, normal: str | None) -> list[str]:
    others = [s for s in samples if s not in (tumour, normal)]
    if not others or normal is not None:
        return [f"samples not read: {', '.join(others)}"] if others else []
    return [
        f"the file has other samples ({', '.join(others)}) and no matched normal was named: "
        "germline pharmacogenes were read from the tumour sample; if one of them is the "
        "matched normal, name it in the sheet's normal_sample column"
    ]
