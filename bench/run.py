"""The haicgx benchmark: each figure beside its reference, measured in the same run.

    .venv/bin/python bench/run.py            # all of a-g, full size (what `make bench` runs)
    .venv/bin/python bench/run.py --quick    # the same at small sizes, for development
    .venv/bin/python bench/run.py --only a,d # a subset

a. a WES-size tumour-only VCF: haicgx.jobs.analyse_patient's analysis (check, normalise,
   annotate, match, rank: haicgx.analysis, its steps overlapping in forked processes) against bare
   `bcftools norm` + `bcftools csq` with haicgx's options, in the same process (imports excluded
   from both); the report (write_patient_report) separately;
b. a WGS-size VCF: the analysis in one child process, the report in another: wall time and peak
   memory (the report child's VmHWM; for the analysis, its own VmHWM plus twice its largest
   child's ru_maxrss, a bound), beside bare norm + csq measured the same way; the report is
   stopped past REPORT_LIMIT or REPORT_TIMEOUT;
c. panel-size patients through the whole Snakemake workflow on 2 cores, against a Snakemake run
   with one `touch {output}` job per patient;
d. the cohort record: assignments written per second by 8 concurrent writer processes;
e. the transcript facts (haicgx.transcripts) of an Ensembl-size GFF3, per process: loading the
   cached index against bare `bcftools csq` reading the same GFF3 (a one-record VCF); the
   index's one-time build beside it;
f. memory of one analysis job, summed over its processes (polled from /proc), for 50 panel
   patients and for 10 exomes, against the `mem_mb` rule analyse declares;
g. scale: the workflow of (c) at several cohort sizes (--scale, default 400 and 2,000 patients),
   the cost per patient, and where the time goes (the no-op run's scheduling, the analysis jobs
   and the cohort record from Snakemake's benchmark files).

(a), (c), (f) and (g) use the Ensembl-size GFF3 (bench/generate.py --full-gff3) unless --gff3
small; (a) is also run on the small one. The transcript index cache is kept under --work.

Inputs are generated (bench/generate.py, fixed seed) under --work (default bench/work/) and kept
for later runs. Figures are medians of --runs runs (--runs-long for b and c).
"""

from __future__ import annotations

import argparse
import copy
import json
import multiprocessing as mp
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SCHEMAS = ROOT / "src" / "haicgx" / "schemas"
PYTHON = sys.executable
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
sys.path.insert(0, str(ROOT / "src"))


FULL = {
    "wes": 50_000,
    "wgs": 5_000_000,
    "panel_patients": 1000,
    "panel_records": 300,
    "record_writers": 8,
    "record_per_writer": 125,
}
QUICK = {
    "wes": 50_000,
    "wgs": 500_000,
    "panel_patients": 20,
    "panel_records": 300,
    "record_writers": 8,
    "record_per_writer": 25,
}


# -- configuration ------------------------------------------------------------------------------


def bench_config(inputs: dict[str, Any], sheet: Path, record: Path) -> dict[str, Any]:
    """config/config.yaml (a site's template) with the benchmark's own synthetic reference, a
    sheet and a record: what jobs receive."""
    base = yaml.safe_load((ROOT / "config" / "config.yaml").read_text(encoding="utf-8"))
    config = copy.deepcopy(base)
    config["patients"] = str(sheet)
    config["reference"] = {
        "build": "GRCh38",
        "fasta": str(inputs["fasta"]),
        "gff3": str(inputs["gff3"]),
    }
    config["record"] = str(record)
    # The schema's default (the template's value too; config/demo.yaml's 5 is the demo's only).
    schema = yaml.safe_load(
        (ROOT / "src" / "haicgx" / "schemas" / "config.schema.yaml").read_text()
    )
    config["patients_per_job"] = schema["properties"]["patients_per_job"]["default"]
    return config


def write_sheet(path: Path, rows: list[tuple[str, Path, str]]) -> None:
    lines = ["patient_id\tvcf\tprimary_site"] + [f"{p}\t{v}\t{s}" for p, v, s in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


SITES = ("colorectal", "gastric", "pancreatic", "biliary", "breast", "hcc", "other")


# -- (a) and (b): one patient, haicgx against bare bcftools -------------------------------------


def bare_bcftools(vcf: Path, fasta: Path, gff3: Path, work: Path) -> float:
    """bcftools norm + csq with the options haicgx uses (annotate.py), through pysam."""
    from pysam import bcftools

    work.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    norm = work / "norm.bcf"
    bcftools.norm(
        "-m",
        "-any",
        "-Ou",
        "-o",
        str(norm),
        "-f",
        str(fasta),
        "-c",
        "e",
        str(vcf),
        catch_stdout=False,
    )
    bcftools.csq(
        "-f",
        str(fasta),
        "-g",
        str(gff3),
        "-s",
        "-",
        "-l",
        "--force",
        "-Ob",
        "-o",
        str(work / "csq.bcf"),
        str(norm),
        catch_stdout=False,
    )
    return time.perf_counter() - start


def haicgx_patient(
    inputs: dict[str, Any], vcf: Path, work: Path, *, report: bool, site: str = "colorectal"
) -> dict[str, float]:
    """`haicgx.jobs.analyse_patient` on one patient, as an analysis job calls it, timed by stage."""
    from haicgx import jobs

    if work.exists():
        shutil.rmtree(work)
    out = work / "results" / "patients" / "BENCH"
    work.mkdir(parents=True)
    sheet = work / "patients.tsv"
    write_sheet(sheet, [("BENCH", vcf, site)])
    config = bench_config(inputs, sheet, work / "record.sqlite")
    times: dict[str, Any] = {}
    start = time.perf_counter()
    run = jobs.load_run(config, workdir=work, root=ROOT)
    times["load_run"] = time.perf_counter() - start
    jobs.analyse_patient(
        run.patients["BENCH"],
        settings=run.settings,
        kb=run.knowledge,
        cohorts=run.cohorts,
        folder=out,
        report=report,
        timings=times,
    )
    rec = json.loads((out / "recommendation.json").read_text(encoding="utf-8"))
    times["records_passing"] = rec["qc"]["records_passing"]
    times["matches"] = sum(1 for _ in (out / "matches.tsv").open()) - 1
    return times


def bench_a(inputs: dict[str, Any], work: Path, runs: int) -> dict[str, Any]:
    # Imported before the clock runs, for both sides: import cost is part of (c), not of (a).
    import haicgx.annotate
    import haicgx.evaluate
    import haicgx.jobs
    import haicgx.report  # noqa: F401
    from haicgx.transcripts import TranscriptIndex, forget_cached_indexes

    # The GFF3's transcript index is built once per GFF3 (timed by (e)); each run below loads it
    # from the cache folder as a new analysis job would.
    TranscriptIndex.for_gff3(inputs["gff3"])
    bare, ours, rep, parts = [], [], [], []
    for i in range(runs):
        bare.append(
            bare_bcftools(inputs["wes"], inputs["fasta"], inputs["gff3"], work / f"bare{i}")
        )
        forget_cached_indexes()  # no index kept in this process from the previous run
        t = haicgx_patient(inputs, inputs["wes"], work / f"haicgx{i}", report=True)
        ours.append(t["analyse"])
        rep.append(t["report"])
        parts.append(t)
        print(
            f"  (a) run {i + 1}/{runs}: bcftools {bare[-1]:.2f} s, haicgx {ours[-1]:.2f} s, "
            f"report {rep[-1]:.2f} s",
            file=sys.stderr,
        )
    return {
        "bare": statistics.median(bare),
        "haicgx": statistics.median(ours),
        "report": statistics.median(rep),
        "passing": parts[-1]["records_passing"],
        "matches": parts[-1]["matches"],
        "transcripts": len(TranscriptIndex.for_gff3(inputs["gff3"]).transcripts),
        "runs": runs,
    }


def _rss(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def child(
    kind: str, args: list[str], *, limit: int | None = None, timeout: float | None = None
) -> tuple[float, int, dict[str, Any] | None]:
    """Run this file in a child process; return its wall time, peak RSS (bytes) and JSON output.

    With a limit (bytes of RSS) or a timeout (s), the child is stopped when it passes either and
    the output is None: the machine is shared, so a runaway child must not take it down.
    """
    start = time.perf_counter()
    out = tempfile.TemporaryFile()  # noqa: SIM115  read after the child ends
    proc = subprocess.Popen([PYTHON, __file__, "--child", kind, *args], stdout=out)
    stopped = None
    peak = 0  # the highest RSS seen while polling (used when the child is stopped)
    while True:
        pid, status = os.waitpid(proc.pid, os.WNOHANG)
        if pid:
            break
        elapsed = time.perf_counter() - start
        peak = max(peak, _rss(proc.pid))
        if limit and peak > limit:
            stopped = f"stopped at {limit / 2**30:.0f} GiB RSS after {elapsed:.0f} s"
        elif timeout and elapsed > timeout:
            stopped = f"stopped after {elapsed:.0f} s"
        if stopped:
            proc.kill()
            _, status = os.waitpid(proc.pid, 0)
            break
        time.sleep(0.1)
    wall = time.perf_counter() - start
    proc.returncode = 0  # reaped by os.waitpid
    if stopped:
        print(f"  child {kind}: {stopped}", file=sys.stderr)
        return wall, peak, {"stopped": stopped}
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"bench: child {kind} failed ({os.waitstatus_to_exitcode(status)})")
    out.seek(0)
    data = json.loads(out.read())
    # The child's own high-water mark (VmHWM, after exec): ru_maxrss would include the RSS the
    # child inherited from this process at fork.
    return wall, data.pop("vmhwm"), data


REPORT_LIMIT = 8 * 2**30  # RSS at which the WGS report is stopped (the target is 1.5 GiB)
REPORT_TIMEOUT = 300.0  # s; the target for the whole run is 180 s


def bench_b(inputs: dict[str, Any], work: Path, runs: int) -> dict[str, Any]:
    spec = json.dumps({k: str(v) for k, v in inputs.items() if k in ("fasta", "gff3", "wgs")})
    keys = ("pipeline", "pipeline_rss", "report", "report_rss", "bare", "bare_rss")
    got: dict[str, list] = {k: [] for k in keys}
    parts, stopped = [], None
    for i in range(runs):
        wall, peak, _ = child("bare", [spec, str(work / f"bare{i}")])
        got["bare"].append(wall)
        got["bare_rss"].append(peak)
        shutil.rmtree(work / f"bare{i}", ignore_errors=True)
        wall, peak, t = child("pipeline", [spec, str(work / f"haicgx{i}")])
        got["pipeline"].append(wall)
        got["pipeline_rss"].append(peak)
        parts.append(t)
        wall, peak, r = child(
            "report", [spec, str(work / f"haicgx{i}")], limit=REPORT_LIMIT, timeout=REPORT_TIMEOUT
        )
        got["report"].append(wall)
        got["report_rss"].append(peak)
        stopped = stopped or (r or {}).get("stopped")
        print(
            f"  (b) run {i + 1}/{runs}: bcftools {got['bare'][-1]:.1f} s "
            f"{got['bare_rss'][-1] / 2**20:.0f} MiB; haicgx analysis "
            f"{got['pipeline'][-1]:.1f} s {got['pipeline_rss'][-1] / 2**20:.0f} MiB {t}; "
            f"report {wall:.1f} s {peak / 2**20:.0f} MiB {r}",
            file=sys.stderr,
        )
        shutil.rmtree(work / f"haicgx{i}", ignore_errors=True)
    med = {k: statistics.median(v) for k, v in got.items()}
    return {
        **med,
        "haicgx": med["pipeline"] + med["report"],
        "rss": max(med["pipeline_rss"], med["report_rss"]),
        "report_stopped": stopped,
        "passing": parts[-1]["records_passing"],
        "runs": runs,
    }


def _vmhwm() -> int:
    """Peak memory of this process and the children it ran at the same time, in bytes.

    An analysis runs up to three processes at once (haicgx.analysis: the checks, bcftools, the
    evaluation; csq in a grandchild): this is an upper bound, this process's own peak (VmHWM)
    plus twice the largest child's (ru_maxrss of RUSAGE_CHILDREN, which counts the pages a
    forked child shares with its parent again).
    """
    import resource

    own = 0
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            own = int(line.split()[1]) * 1024
    return own + 2 * resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024


def run_child(kind: str, spec: str, work: str) -> None:
    inputs = {k: Path(v) for k, v in json.loads(spec).items()}
    if kind == "index":  # (e): `work` is the cache folder
        import haicgx.evaluate  # noqa: F401  what an analysis job has imported by then
        from haicgx.transcripts import TranscriptIndex

        before = _rss(os.getpid())
        start = time.perf_counter()
        index = TranscriptIndex.for_gff3(inputs["gff3"], Path(work))
        seconds = time.perf_counter() - start
        count = len(index.transcripts)
        print(json.dumps({"index": seconds, "transcripts": count, "rss_before": before,
                          "vmhwm": _vmhwm()}))  # fmt: skip
    elif kind == "csq-gff3":  # (e): csq on one record, i.e. reading the GFF3
        from pysam import bcftools

        Path(work).mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        bcftools.csq("-f", str(inputs["fasta"]), "-g", str(inputs["gff3"]), "-s", "-", "-l",
                     "--force", "-Ob", "-o", str(Path(work) / "csq.bcf"), str(inputs["one"]),
                     catch_stdout=False)  # fmt: skip
        print(json.dumps({"csq": time.perf_counter() - start, "vmhwm": _vmhwm()}))
    elif kind == "bare":
        bare_bcftools(inputs["wgs"], inputs["fasta"], inputs["gff3"], Path(work))
        print(json.dumps({"vmhwm": _vmhwm()}))
    elif kind == "pipeline":
        t = haicgx_patient(inputs, inputs["wgs"], Path(work), report=False)
        print(json.dumps({**{k: round(v, 2) for k, v in t.items()}, "vmhwm": _vmhwm()}))
    else:
        from haicgx.knowledge import load_knowledge
        from haicgx.report import write_patient_report

        out = Path(work) / "results" / "patients" / "BENCH"
        knowledge = ROOT / "src" / "haicgx" / "data" / "knowledge"  # the bundled set
        kb = load_knowledge(knowledge / "biomarkers.tsv", knowledge / "regimens.yaml")
        start = time.perf_counter()
        write_patient_report(out, html_path=out / "report.html", pdf_path=out / "report.pdf", kb=kb)
        print(json.dumps({"report": round(time.perf_counter() - start, 2), "vmhwm": _vmhwm()}))


# -- (c) the whole workflow on many panel patients ----------------------------------------------

NOOP_SNAKEFILE = """\
PATIENTS = [line.split("\\t")[0] for line in open("patients.tsv").read().splitlines()[1:]]


rule all:
    input:
        expand("noop/{patient}.done", patient=PATIENTS),


rule noop:
    output:
        "noop/{patient}.done",
    shell:
        "touch {output}"
"""


def bench_c(inputs: dict[str, Any], work: Path, runs: int, cores: int) -> dict[str, Any]:
    panel = inputs["panel"]
    ours, noop, parts = [], [], []
    for i in range(runs):
        for kind, times in (("noop", noop), ("haicgx", ours)):
            wd = work / f"{kind}{i}"
            shutil.rmtree(wd, ignore_errors=True)
            wd.mkdir(parents=True)
            rows = [(f"P{n:04d}", vcf, SITES[n % len(SITES)]) for n, vcf in enumerate(panel)]
            write_sheet(wd / "patients.tsv", rows)
            if kind == "noop":
                (wd / "Snakefile").write_text(NOOP_SNAKEFILE, encoding="utf-8")
                cmd = [SNAKEMAKE, "-s", str(wd / "Snakefile"), "-d", str(wd)]
            else:
                config = bench_config(inputs, wd / "patients.tsv", wd / "results" / "record.sqlite")
                config["patients"] = "patients.tsv"
                config["record"] = "results/cohort_record.sqlite"
                (wd / "bench.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
                cmd = [
                    SNAKEMAKE,
                    "-s",
                    str(ROOT / "Snakefile"),
                    "-d",
                    str(wd),
                    "--configfile",
                    str(ROOT / "config" / "config.yaml"),
                    str(wd / "bench.yaml"),
                ]
            cmd += ["--cores", str(cores), "-q"]
            start = time.perf_counter()
            result = subprocess.run(cmd, cwd=wd, capture_output=True, text=True)
            times.append(time.perf_counter() - start)
            if result.returncode != 0:
                print(result.stdout[-3000:], result.stderr[-3000:], file=sys.stderr)
                raise SystemExit(f"bench: the {kind} Snakemake run failed in {wd}")
            if kind == "haicgx":
                done = len(list((wd / "results" / "patients").glob("*/report.pdf")))
                if done != len(panel):
                    raise SystemExit(f"bench: only {done} of {len(panel)} reports in {wd}")
                parts.append(_job_seconds(wd))
                print(f"  (c) {kind}: {parts[-1]}", file=sys.stderr)
            print(f"  (c) run {i + 1}/{runs}: {kind} {times[-1]:.1f} s", file=sys.stderr)
        if i < runs - 1:
            shutil.rmtree(work / f"haicgx{i}", ignore_errors=True)
    return {
        "haicgx": statistics.median(ours),
        "noop": statistics.median(noop),
        "patients": len(panel),
        "runs": runs,
        **parts[ours.index(statistics.median_low(ours))],
    }


def _job_seconds(wd: Path) -> dict[str, Any]:
    """Wall seconds of the analysis jobs (summed) and of the cohort record job, from the
    benchmark files Snakemake writes for them."""

    def seconds(path: Path) -> float:
        header, values = path.read_text(encoding="utf-8").splitlines()[:2]
        return float(dict(zip(header.split("\t"), values.split("\t"), strict=True))["s"])

    analyse = [seconds(p) for p in (wd / "benchmarks" / "analyse").glob("*.tsv")]
    cohort = wd / "benchmarks" / "cohort.tsv"
    return {
        "analyse_jobs": len(analyse),
        "analyse_s": sum(analyse),
        "cohort_s": seconds(cohort) if cohort.exists() else None,
    }


# -- (e) the transcript facts against csq reading the same GFF3 ---------------------------------


def one_record_vcf(source: Path, out: Path) -> Path:
    """The first record of `source` alone: csq's cost on it is reading the GFF3."""
    import pysam

    with (
        pysam.VariantFile(str(source)) as vin,
        pysam.VariantFile(str(out), "w", header=vin.header) as vout,
    ):
        vout.write(next(iter(vin)))
    return out


def bench_e(inputs: dict[str, Any], work: Path, runs: int) -> dict[str, Any]:
    work.mkdir(parents=True, exist_ok=True)
    vcf = one_record_vcf(inputs["wes"], work / "one.vcf")
    fresh = work / "cache"
    spec = json.dumps({"fasta": str(inputs["fasta"]), "gff3": str(inputs["gff3"]), "one": str(vcf)})
    _, build_rss, built = child("index", [spec, str(fresh)])
    csq, csq_rss, load, load_rss = [], [], [], []
    for i in range(runs):
        _, peak, bare = child("csq-gff3", [spec, str(work / f"csq{i}")])
        csq_rss.append(peak)
        _, rss, loaded = child("index", [spec, str(fresh)])
        csq.append(bare["csq"])
        load.append(loaded["index"])
        load_rss.append(rss - loaded["rss_before"])
        print(
            f"  (e) run {i + 1}/{runs}: csq on one record {csq[-1]:.2f} s "
            f"{csq_rss[-1] / 2**20:.0f} MiB; index load "
            f"{load[-1]:.3f} s, +{load_rss[-1] / 2**20:.0f} MiB",
            file=sys.stderr,
        )
    return {
        "csq": statistics.median(csq),
        "csq_rss": statistics.median(csq_rss),
        "load": statistics.median(load),
        "load_rss": statistics.median(load_rss),
        "build": built["index"],
        "build_rss": build_rss - built["rss_before"],
        "transcripts": loaded["transcripts"],
        "runs": runs,
    }


# -- (f) memory of one analysis job, summed over its processes ----------------------------------


def _tree_rss(root: int, match: bytes) -> int:
    """VmRSS summed over the processes under `root` whose command line holds `match` (a job's
    script), with every process they started (forked children keep the command line too)."""
    parent: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
                parent[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                pass
    children: dict[int, list[int]] = {}
    for pid, ppid in parent.items():
        children.setdefault(ppid, []).append(pid)
    total, stack = 0, [(root, False)]
    while stack:
        pid, inside = stack.pop()
        if not inside:
            try:
                inside = match in Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
        if inside:
            total += _rss(pid)
        stack.extend((c, inside) for c in children.get(pid, []))
    return total


def declared_mem_mb() -> int:
    """The mem_mb rule analyse declares for a first attempt (rules/analyse.smk)."""
    import re

    text = (ROOT / "rules" / "analyse.smk").read_text(encoding="utf-8")
    found = re.search(r"mem_mb=memory\((\d+)\)", text)
    if found is None:
        raise SystemExit("bench: no mem_mb=memory(N) in rules/analyse.smk")
    return int(found[1])


def workflow_run(
    inputs: dict[str, Any], wd: Path, rows: list[tuple[str, Path, str]], cores: int, **extra: Any
) -> tuple[float, int]:
    """The whole workflow in `wd` on `rows`; its wall time and the highest RSS summed over one
    analysis job's processes (polled every 50 ms)."""
    shutil.rmtree(wd, ignore_errors=True)
    wd.mkdir(parents=True)
    write_sheet(wd / "patients.tsv", rows)
    config = bench_config(inputs, wd / "patients.tsv", wd / "results" / "record.sqlite")
    config.update(patients="patients.tsv", record="results/cohort_record.sqlite", **extra)
    (wd / "bench.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    cmd = [SNAKEMAKE, "-s", str(ROOT / "Snakefile"), "-d", str(wd), "--configfile",
           str(ROOT / "config" / "config.yaml"), str(wd / "bench.yaml"),
           "--cores", str(cores), "-q"]  # fmt: skip
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=wd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, _tree_rss(proc.pid, b"analyse.py"))
        time.sleep(0.05)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        print(proc.stdout.read().decode()[-3000:], file=sys.stderr)  # type: ignore[union-attr]
        raise SystemExit(f"bench: the Snakemake run failed in {wd}")
    return wall, peak


def bench_f(inputs: dict[str, Any], work: Path) -> dict[str, Any]:
    out: dict[str, Any] = {"declared_mb": declared_mem_mb()}
    exomes = [(f"E{n:02d}", inputs["wes"], SITES[n % len(SITES)]) for n in range(10)]
    panels = [(f"P{n:04d}", v, SITES[n % len(SITES)]) for n, v in enumerate(inputs["panel"][:50])]
    for name, rows in (("panels", panels), ("exomes", exomes)):
        wall, peak = workflow_run(inputs, work / name, rows, cores=1, patients_per_job=len(rows))
        bench = next((work / name / "benchmarks" / "analyse").glob("*.tsv"))
        header, values = bench.read_text(encoding="utf-8").splitlines()[:2]
        snake = dict(zip(header.split("\t"), values.split("\t"), strict=True))
        out[name] = {
            "patients": len(rows),
            "peak": peak,
            "snakemake_max_rss_mb": float(snake["max_rss"]),
            "job_s": float(snake["s"]),
            "wall": wall,
        }
        print(
            f"  (f) {len(rows)} {name} in one job: {peak / 2**20:.0f} MiB summed over its "
            f"processes (Snakemake's benchmark: max_rss {snake['max_rss']} MB), job "
            f"{snake['s']} s",
            file=sys.stderr,
        )
        shutil.rmtree(work / name, ignore_errors=True)
    return out


# -- (g) the cost per patient at two cohort sizes ------------------------------------------------


def bench_g(inputs: dict[str, Any], work: Path, sizes: list[int], cores: int) -> dict:
    out = {}
    for n in sizes:
        subset = {**inputs, "panel": inputs["panel"][:n]}
        out[n] = bench_c(subset, work / f"n{n}", 1, cores)
        shutil.rmtree(work / f"n{n}", ignore_errors=True)
    return out


# -- (d) the cohort record under 8 concurrent writers -------------------------------------------


def _writer(db: str, writer: int, count: int, start_at: float, queue: mp.Queue) -> None:
    from haicgx import record
    from haicgx.cohorts import load_cohorts

    cohorts = load_cohorts(ROOT / "config" / "cohorts.yaml")
    cohort_of = {"colorectal": "CRC", "gastric": "UGI", "breast": "BREAST", "hcc": "HCC"}
    work = []
    for n in range(count):
        site = ("colorectal", "gastric", "breast", "hcc")[n % 4]
        patient = f"W{writer}P{n:04d}"
        rec = {
            "patient_id": patient,
            "primary_site": site,
            "cohort": cohort_of[site],
            "regimens": [
                {"rank": 1, "regimen_id": "haic_folfox"},
                {"rank": 2, "regimen_id": "haic_fuop"},
            ],
            "provenance": {"pipeline_version": "0.1.0", "generated_at": "2026-11-25T10:00:00Z"},
        }
        work.append((rec, record.recommendation_digest(rec)))
    while time.time() < start_at:
        time.sleep(0.001)
    begin = time.perf_counter()
    for rec, digest in work:
        record.record_recommendation(
            db,
            recommendation=rec,
            vcf_sha256="a" * 64,
            recommendation_sha256=digest,
            knowledge_sha256="b" * 64,
            pipeline_version="0.1.0",
            cohorts=cohorts,
        )
    queue.put((begin, time.perf_counter()))


def bench_d(work: Path, runs: int, writers: int, per_writer: int) -> dict[str, Any]:
    from haicgx import record

    rates = []
    for i in range(runs):
        db = work / f"record{i}.sqlite"
        for f in work.glob(f"record{i}.sqlite*"):
            f.unlink()
        work.mkdir(parents=True, exist_ok=True)
        ctx = mp.get_context("spawn")
        queue = ctx.Queue()
        start_at = time.time() + 3.0  # every writer started and imported before the clock runs
        procs = [
            ctx.Process(target=_writer, args=(str(db), w, per_writer, start_at, queue))
            for w in range(writers)
        ]
        for p in procs:
            p.start()
        spans = [queue.get() for _ in procs]
        for p in procs:
            p.join()
            if p.exitcode != 0:
                raise SystemExit("bench: a record writer failed")
        wall = max(e for _, e in spans) - min(b for b, _ in spans)
        total = len(record.history(db))
        if total != writers * per_writer:
            raise SystemExit(f"bench: {total} rows in the record, {writers * per_writer} written")
        rates.append(total / wall)
        print(f"  (d) run {i + 1}/{runs}: {total} assignments in {wall:.2f} s", file=sys.stderr)
    return {
        "rate": statistics.median(rates),
        "writers": writers,
        "per_writer": per_writer,
        "runs": runs,
    }


# -- the table ----------------------------------------------------------------------------------


def machine() -> str:
    cpu = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal"):
            mem = int(line.split()[1]) * 1024
    return (
        f"{os.cpu_count()} CPUs ({cpu}), {mem / 2**30:.1f} GiB, Python "
        f"{platform.python_version()}, {platform.system()} {platform.release()}"
    )


def table(results: dict[str, Any], sizes: dict[str, Any]) -> str:
    rows = [("", "measure", "haicgx", "reference", "figure", "target", "met")]
    if "a" in results:
        a = results["a"]
        ratio = a["haicgx"] / a["bare"]
        rows.append(
            (
                "a",
                f"WES {sizes['wes']:,} records: norm+annotate+match+rank (median of {a['runs']}),"
                f" GFF3 of {a['transcripts']:,} transcripts",
                f"{a['haicgx']:.2f} s",
                f"bcftools norm+csq {a['bare']:.2f} s",
                f"{ratio:.1f}x",
                "<= 2.5x",
                "yes" if ratio <= 2.5 else "NO",
            )
        )
        rows.append(
            (
                "a",
                f"WES report HTML+PDF ({a['passing']:,} passing variants)",
                f"{a['report']:.2f} s",
                "",
                f"{a['report']:.2f} s",
                "<= 2 s",
                "yes" if a["report"] <= 2 else "NO",
            )
        )
    if "a_small" in results:
        a = results["a_small"]
        ratio = a["haicgx"] / a["bare"]
        rows.append(
            (
                "a",
                f"  the same with the small GFF3 ({a['transcripts']:,} transcripts)",
                f"{a['haicgx']:.2f} s",
                f"bcftools norm+csq {a['bare']:.2f} s",
                f"{ratio:.1f}x",
                "<= 2.5x",
                "yes" if ratio <= 2.5 else "NO",
            )
        )
    if "b" in results:
        b = results["b"]
        gib = b["rss"] / 2**30
        stopped = b["report_stopped"]
        wall = f"{b['haicgx']:.1f} s" if not stopped else f"> {b['haicgx']:.0f} s"
        rows.append(
            (
                "b",
                f"WGS {sizes['wgs']:,} records end to end, wall (median of {b['runs']})",
                wall,
                "",
                wall,
                "<= 180 s",
                "yes" if b["haicgx"] <= 180 and not stopped else "NO",
            )
        )
        ratio = b["pipeline"] / b["bare"]
        rows.append(
            (
                "b",
                "  of which the analysis",
                f"{b['pipeline']:.1f} s",
                f"bcftools norm+csq {b['bare']:.1f} s",
                f"{ratio:.1f}x",
                "<= 2.5x",
                "yes" if ratio <= 2.5 else "NO",
            )
        )
        rows.append(
            (
                "b",
                f"  of which report ({b['passing']:,} passing variants)",
                f"{b['report']:.1f} s" + (f" ({stopped})" if stopped else ""),
                "",
                "",
                "",
                "",
            )
        )
        peak = f"{gib:.2f} GiB" if not stopped else f"> {gib:.1f} GiB"
        rows.append(
            (
                "b",
                "WGS peak memory (analysis: bound on its processes; report)",
                peak,
                f"bcftools {b['bare_rss'] / 2**30:.2f} GiB",
                peak,
                "<= 1.5 GiB",
                "yes" if gib <= 1.5 and not stopped else "NO",
            )
        )
        rows.append(
            (
                "b",
                "  of which the analysis",
                f"{b['pipeline_rss'] / 2**30:.2f} GiB",
                "",
                "",
                "",
                "",
            )
        )
    if "c" in results:
        c = results["c"]
        ratio = c["haicgx"] / c["noop"]
        rows.append(
            (
                "c",
                f"{c['patients']:,} panel patients x {sizes['panel_records']} records, "
                f"snakemake --cores {sizes['cores']} (median of {c['runs']})",
                f"{c['haicgx']:.1f} s",
                f"no-op Snakemake {c['noop']:.1f} s",
                f"{ratio:.1f}x",
                "<= 6x",
                "yes" if ratio <= 6 else "NO",
            )
        )
    if "d" in results:
        d = results["d"]
        rows.append(
            (
                "d",
                f"cohort record, {d['writers']} writers x {d['per_writer']} patients "
                f"(median of {d['runs']})",
                f"{d['rate']:.0f} /s",
                "",
                f"{d['rate']:.0f} /s",
                ">= 500 /s",
                "yes" if d["rate"] >= 500 else "NO",
            )
        )
    if "e" in results:
        e = results["e"]
        share = e["load"] / e["csq"]
        rows.append(
            (
                "e",
                f"transcript facts of {e['transcripts']:,} transcripts, per process: cached index"
                f" load, +{e['load_rss'] / 2**20:.0f} MiB (median of {e['runs']})",
                f"{e['load']:.3f} s",
                f"csq reading the GFF3 {e['csq']:.2f} s, {e['csq_rss'] / 2**20:.0f} MiB",
                f"{share:.0%}",
                "<= 20%",
                "yes" if share <= 0.2 else "NO",
            )
        )
        rows.append(
            (
                "e",
                f"  the index built once per GFF3 (+{e['build_rss'] / 2**20:.0f} MiB at its peak)",
                f"{e['build']:.1f} s",
                "",
                "",
                "",
                "",
            )
        )
    if "f" in results:
        f = results["f"]
        for name in ("panels", "exomes"):
            m = f[name]
            mb = m["peak"] / 2**20
            rows.append(
                (
                    "f",
                    f"one analysis job of {m['patients']} {name}: RSS summed over its processes"
                    f" (job {m['job_s']:.1f} s)",
                    f"{mb:.0f} MiB",
                    f"declared mem_mb {f['declared_mb']}",
                    f"{mb / f['declared_mb']:.0%}",
                    "<= 100%",
                    "yes" if mb <= f["declared_mb"] else "NO",
                )
            )
    if "g" in results:
        g = results["g"]
        order = sorted(g, key=int)
        small, large = order[0], order[-1]
        per = {n: g[n]["haicgx"] / int(n) for n in g}
        for n in order:
            r = g[n]
            cohort = "" if r["cohort_s"] is None else f", cohort record {r['cohort_s']:.1f} s"
            rows.append(
                (
                    "g",
                    f"{int(n):,} panel patients: {per[n] * 1000:.0f} ms per patient (analysis "
                    f"jobs {r['analyse_s']:.0f} s in {r['analyse_jobs']}{cohort})",
                    f"{r['haicgx']:.1f} s",
                    f"no-op Snakemake {r['noop']:.1f} s",
                    f"{r['haicgx'] / r['noop']:.1f}x",
                    "",
                    "",
                )
            )
        ratio = per[large] / per[small]
        rows.append(
            (
                "g",
                f"cost per patient at {int(large):,} against {int(small):,}",
                "",
                "",
                f"{ratio:.2f}x",
                "<= 1.5x",
                "yes" if ratio <= 1.5 else "NO",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [
        "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in rows
    ]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def panel_patients(sizes: dict[str, Any], only: set[str]) -> int:
    """How many panel VCFs the chosen measurements need."""
    need = [sizes["panel_patients"] if "c" in only else 0, 50 if "f" in only else 0]
    if "g" in only:
        need.append(max(sizes["scale"]))
    return max(need)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (see QUICK)")
    parser.add_argument(
        "--only", default="a,b,c,d,e,f,g", help="comma-separated subset of a,b,c,d,e,f,g"
    )
    parser.add_argument(
        "--gff3", choices=("full", "small"), default="full", help="the GFF3 of a, c, f and g"
    )
    parser.add_argument("--work", type=Path, default=HERE / "work", help="scratch folder")
    parser.add_argument("--runs", type=int, default=5, help="runs of a and d (median)")
    parser.add_argument(
        "--runs-long", type=int, default=None, help="runs of b and c (default 1 full, 3 quick)"
    )
    parser.add_argument("--cores", type=int, default=2)
    for key in FULL:
        parser.add_argument(f"--{key.replace('_', '-')}", type=int, default=None)
    parser.add_argument(
        "--scale", help="cohort sizes of (g), comma-separated (default 400,2000; quick 20,60)"
    )
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_child(*args.child)
        return
    sizes = dict(QUICK if args.quick else FULL)
    for key in FULL:
        if getattr(args, key) is not None:
            sizes[key] = getattr(args, key)
    sizes["cores"] = args.cores
    sizes["scale"] = [
        int(n) for n in (args.scale or ("20,60" if args.quick else "400,2000")).split(",")
    ]
    only = set(args.only.split(","))
    runs_long = args.runs_long or (3 if args.quick else 1)
    work = args.work.resolve()
    print(f"bench: generating inputs under {work}", file=sys.stderr)
    start = time.perf_counter()
    # In a child process, so that this process never holds the genome: a child forked from a
    # large parent would start with the parent's RSS in its ru_maxrss.
    made = subprocess.run(
        [PYTHON, str(HERE / "generate.py"), str(work / "inputs"),
         "--wes", str(sizes["wes"] if only & {"a", "e", "f"} else 0),
         "--wgs", str(sizes["wgs"] if "b" in only else 0),
         "--panel-patients", str(panel_patients(sizes, only)),
         "--panel-records", str(sizes["panel_records"]),
         *(["--full-gff3"] if args.gff3 == "full" or "e" in only else [])],
        check=True, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    inputs = {k: [Path(p) for p in v] if isinstance(v, list) else Path(v)
              for k, v in json.loads(made.stdout).items()}  # fmt: skip
    print(f"bench: inputs ready in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    # The transcript index cache (haicgx.transcripts) under the scratch folder, for this process
    # and every workflow it runs; (e) times a fresh one.
    os.environ["HAICGX_CACHE_DIR"] = str(work / "cache")
    small = dict(inputs)
    if args.gff3 == "full" or "e" in only:
        inputs["gff3"] = inputs.pop("gff3_full")
    results: dict[str, Any] = {}
    load_before = os.getloadavg()[0]
    scratch = Path(tempfile.mkdtemp(prefix="runs-", dir=work))
    try:
        if "e" in only:
            results["e"] = bench_e(inputs, scratch / "e", args.runs)
        if "a" in only:
            big = inputs if args.gff3 == "full" else {**inputs, "gff3": small["gff3"]}
            results["a"] = bench_a(big, scratch / "a", args.runs)
            if args.gff3 == "full":
                results["a_small"] = bench_a(small, scratch / "a", args.runs)
        if "b" in only:
            results["b"] = bench_b(inputs, scratch / "b", runs_long)
        shared = inputs if args.gff3 == "full" else {**inputs, "gff3": small["gff3"]}
        if "f" in only:
            results["f"] = bench_f(shared, scratch / "f")
        if "c" in only:
            sub = {**shared, "panel": shared["panel"][: sizes["panel_patients"]]}
            results["c"] = bench_c(sub, scratch / "c", runs_long, args.cores)
        if "g" in only:
            results["g"] = bench_g(shared, scratch / "g", sizes["scale"], args.cores)
        if "d" in only:
            results["d"] = bench_d(
                scratch / "d", args.runs, sizes["record_writers"], sizes["record_per_writer"]
            )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    load = f"1-min load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after"
    print(f"haicgx benchmark ({'quick' if args.quick else 'full'}): {machine()}; {load}")
    print(table(results, sizes))
    if args.json:
        args.json.write_text(json.dumps({"sizes": sizes, "results": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
