"""Shared fixtures: the test knowledge sets and the demo run. Helpers are in support.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import MINI_KNOWLEDGE

from haicgx.knowledge import KnowledgeBase, load_knowledge
from haicgx.paths import KNOWLEDGE_DIR


@pytest.fixture(scope="session", autouse=True)
def transcript_cache(tmp_path_factory):
    """The transcript index cache (haicgx.transcripts) in the session's scratch, never the
    user's home; inherited by the workflows the tests run."""
    import os

    os.environ["HAICGX_CACHE_DIR"] = str(tmp_path_factory.mktemp("haicgx-cache"))


@pytest.fixture
def synthetic_reference_for_test_files(monkeypatch):
    """Let the tests' own VCFs (the bad corpus, PharmCAT's files, tiny written ones) use the
    synthetic demo genome, which the pipeline refuses for any VCF that is not a demo file
    (haicgx.vcf.refuse_synthetic_reference, tested in tests/unit/test_demo_reference_guard.py).
    The tests need its real bases at the demo and pharmacogene positions."""
    from haicgx.vcf import inspection

    monkeypatch.setattr(inspection, "refuse_synthetic_reference", lambda *args, **kwargs: None)


@pytest.fixture(scope="session")
def mini_kb() -> KnowledgeBase:
    """A small knowledge set written for the tests (independent of the curated one)."""
    return load_knowledge(MINI_KNOWLEDGE / "biomarkers.tsv", MINI_KNOWLEDGE / "regimens.yaml")


@pytest.fixture(scope="session")
def bundled_kb() -> KnowledgeBase:
    return load_knowledge(KNOWLEDGE_DIR / "biomarkers.tsv", KNOWLEDGE_DIR / "regimens.yaml")


@pytest.fixture(scope="session")
def demo(tmp_path_factory) -> Path:
    """A working directory where the whole demo cohort has run once (integration tests)."""
    from demo_workflow import run_demo

    return run_demo(tmp_path_factory.mktemp("demo"))
