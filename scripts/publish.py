"""Adapter for rule publish: one patient's outputs out of its analysis job's folder, or the
patient's own failure (haicgx.outcome). A plain command rather than a Snakemake script, as it runs
once per patient: only the standard library and haicgx.outcome are imported.
usage: publish.py ANALYSED_FOLDER LOG OUTPUT..."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))  # as the Snakefile does

from haicgx.outcome import publish

analysed, log, *outputs = sys.argv[1:]
sys.exit(publish(Path(analysed), [Path(o) for o in outputs], Path(log)))
