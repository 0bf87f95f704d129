"""Trial endpoints from SDTM follow-up data: RECIST 1.1, survival, adverse events.

See docs/endpoints.md.

Modules: ``sdtm`` (finding and validating the domain files), ``dates`` (partial dates),
``population`` (who is analysed, in which cohort and regimen, from when), ``recist`` (the RECIST
1.1 rules), ``responses`` (per-visit responses from measurements or RS), ``survival`` (PFS, OS,
Kaplan-Meier), ``stats`` (exact intervals), ``adverse`` (AE tables), ``adam`` (ADRS, ADTTE,
ADAE), ``summary`` (endpoints.json), ``plots`` and ``report`` (the HTML), ``run`` (all of it).
"""

from pathlib import Path

# Where `haicgx endpoints` writes unless told otherwise (the workflow's rule writes there too).
DEFAULT_OUT = Path("results") / "endpoints"
