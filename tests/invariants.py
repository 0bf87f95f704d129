"""The clinical invariants of CONTRACT section 4, as one checker used by several tests."""

from __future__ import annotations

from typing import Any

from haicgx import vocab

# The drugs of the DPYD guideline rules (CPIC: fluorouracil, capecitabine; DPWG also tegafur).
FLUOROPYRIMIDINES_GUIDED = {"fluorouracil", "capecitabine", "tegafur"}


def invariant_violations(rec: dict[str, Any]) -> list[str]:
    """Every broken invariant of one recommendation.json, as sentences (empty when all hold)."""
    problems: list[str] = []
    regimens = rec["regimens"]
    ranks = [r["rank"] for r in regimens]
    if sorted(ranks) != list(range(1, len(regimens) + 1)):
        problems.append(f"ranks are not unique from 1: {ranks}")
    ids = [r["regimen_id"] for r in regimens]
    if len(set(ids)) != len(ids):
        problems.append("a regimen is listed twice")
    usable = [r["rank"] for r in regimens if r["status"] in vocab.USABLE_STATUSES]
    unusable = [r["rank"] for r in regimens if r["status"] not in vocab.USABLE_STATUSES]
    if usable and unusable and min(unusable) < max(usable):
        problems.append("a contraindicated or excluded regimen ranks above a usable one")
    usable_rows = [r for r in regimens if r["status"] in vocab.USABLE_STATUSES]
    without = [r["rank"] for r in usable_rows if r["site_evidence"] == "none"]
    with_data = [r["rank"] for r in usable_rows if r["site_evidence"] != "none"]
    if without and with_data and min(without) < max(with_data):
        problems.append("a usable regimen without site evidence ranks above one with data")
    for r in usable_rows:
        if r["site_evidence"] == "none" and r["status"] == "recommended":
            problems.append(f"{r['regimen_id']}: recommended without data in the site")
    dpyd, ugt = rec["pgx"]["DPYD"], rec["pgx"]["UGT1A1"]
    # an indeterminate call's score is a bound: its rules must apply as to an assessed one
    score = dpyd["activity_score"] if dpyd["status"] != "not_assessed" else None
    ugt_poor = ugt["status"] != "not_assessed" and "Poor Metabolizer" in ugt["phenotype"]
    prior = set(rec.get("prior_drugs") or [])
    for r in regimens:
        drugs = set(r["drugs"])
        kinds = {reason["kind"] for reason in r["reasons"]}
        texts = " ".join(
            reason["text"] for reason in r["reasons"] if reason["kind"] == "dose_adjustment"
        )
        all_text = " ".join(reason["text"] for reason in r["reasons"])
        if dpyd["status"] != "assessed" and drugs & FLUOROPYRIMIDINES_GUIDED:
            if r["status"] == "recommended":
                problems.append(f"{r['regimen_id']}: recommended with DPYD {dpyd['status']}")
            if "test DPYD" not in all_text:
                problems.append(f"{r['regimen_id']}: no reason to test DPYD first")
        if ugt["status"] != "assessed" and "irinotecan" in drugs:
            if r["status"] == "recommended":
                problems.append(
                    f"{r['regimen_id']}: irinotecan recommended, UGT1A1 {ugt['status']}"
                )
            if "test UGT1A1" not in all_text:
                problems.append(f"{r['regimen_id']}: no reason to test UGT1A1 first")
        if score is not None and score <= 0.5:
            if drugs & FLUOROPYRIMIDINES_GUIDED and r["status"] != "contraindicated":
                problems.append(f"{r['regimen_id']}: DPYD score {score} but not contraindicated")
            if "floxuridine" in drugs and r["status"] == "recommended":
                problems.append(f"{r['regimen_id']}: floxuridine recommended at DPYD score {score}")
        # a contraindication from another rule (renal or hepatic function), not from DPYD
        other_rule = any(
            reason["kind"] in ("renal", "toxicity")
            and reason["kb_ids"]
            and not any(k.startswith("DPYD") for k in reason["kb_ids"])
            for reason in r["reasons"]
        )
        if score is not None and 1 <= score <= 1.5 and drugs & FLUOROPYRIMIDINES_GUIDED:
            if r["status"] == "contraindicated" and not other_rule:
                problems.append(f"{r['regimen_id']}: contraindicated at DPYD score {score}")
            if r["status"] == "recommended":
                problems.append(f"{r['regimen_id']}: recommended at DPYD score {score}")
            if "dose_adjustment" not in kinds or "50%" not in texts:
                problems.append(
                    f"{r['regimen_id']}: no 50% dose_adjustment reason at score {score}"
                )
        if ugt_poor and "irinotecan" in drugs:
            if r["status"] == "recommended":
                problems.append(
                    f"{r['regimen_id']}: irinotecan recommended for a UGT1A1 poor metabolizer"
                )
            if "dose_adjustment" not in kinds:
                problems.append(f"{r['regimen_id']}: no UGT1A1 dose_adjustment reason")
        raltitrexed = drugs == {"raltitrexed"} | (drugs & {"oxaliplatin"})
        if raltitrexed and r["status"] == "contraindicated" and not other_rule:
            # DPYD never contraindicates raltitrexed: only a renal or hepatic rule may
            problems.append(f"{r['regimen_id']}: raltitrexed contraindicated by no other rule")
        for drug in drugs & prior:
            if not any(
                reason["kind"] == "prior_failure" and drug in reason["text"]
                for reason in r["reasons"]
            ):
                problems.append(f"{r['regimen_id']}: prior failure on {drug} not given as a reason")
        for reason in r["reasons"]:
            if "kb_ids" not in reason:
                problems.append(f"{r['regimen_id']}: a reason without kb_ids")
    return problems
