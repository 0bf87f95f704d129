"""`PgxCollector`: the germline calls at pharmacogene positions, collected while the VCF streams
past (which allele each record spells, which positions the germline sample called, structural
variants over a gene), then turned into one `PgxCall` per gene."""

from __future__ import annotations

from collections import defaultdict

from haicgx.genotype import SampleCall, read_genotype
from haicgx.knowledge import KnowledgeBase, KnowledgeRow, normalise_chrom, trim_allele
from haicgx.pgx.calls import (
    Key,
    Observation,
    PgxCall,
    Position,
    allele_key,
    allele_label,
    alternative_readings,
    germline_notes,
    lowering_row,
)
from haicgx.pgx.dpyd import activity_score, dpyd_notes, dpyd_phenotype, dpyd_text, resolve_hapb3
from haicgx.pgx.genes import DPYD, GENE_DRUGS, GENE_TEST, HAPB3, PHARMACOGENES, UGT1A1
from haicgx.pgx.repeat import RepeatAllele, indel_bases
from haicgx.pgx.ugt1a1 import (
    repeat_notes,
    ugt1a1_diplotype,
    ugt1a1_haplotype_notes,
    ugt1a1_haplotypes,
    ugt1a1_text,
)


class PgxCollector:
    """Collects the germline calls at pharmacogene positions while the VCF streams past.

    `has_normal`: the VCF carries a matched normal sample, from which the genotypes are read.
    """

    def __init__(self, kb: KnowledgeBase, build: str, *, has_normal: bool = False) -> None:
        self.kb = kb
        self.build = build
        self.source = "normal" if has_normal else "tumour"
        self.alleles: dict[Key, KnowledgeRow] = {}
        self.repeats: list[RepeatAllele] = []
        self.rows: dict[str, list[KnowledgeRow]] = {}
        self.windows: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for gene in PHARMACOGENES:
            rows = kb.allele_rows(gene, build)
            self.rows[gene] = rows
            for row in rows:
                self.alleles[allele_key(row)] = row
                repeat = RepeatAllele.of(row)
                if repeat is not None:
                    self.repeats.append(repeat)
        # Where a record can matter at all: each gene's allele positions, widened by the longest
        # repeat shift. Most records of a tumour VCF are elsewhere and are let past at the cost
        # of one comparison.
        reach = max((r.window for r in self.repeats), default=0)
        for rows in self.rows.values():
            if rows:
                positions = [allele_key(r)[1] for r in rows]
                self.windows[allele_key(rows[0])[0]].append(
                    (min(positions) - reach, max(positions) + reach)
                )
        self.position_names: dict[Position, str] = {}
        for row in self.alleles.values():
            where = allele_key(row)[:2]
            self.position_names.setdefault(where, f"{where[0]}:{where[1]} ({allele_label(row)})")
        self.called: set[Position] = set()
        self.reference_positions: set[Position] = set()
        self.observations: dict[str, list[Observation]] = {g: [] for g in PHARMACOGENES}
        self.unplaced: dict[str, list[str]] = {g: [] for g in PHARMACOGENES}
        self.source_notes: dict[str, list[str]] = {g: [] for g in PHARMACOGENES}
        self.structural_notes: dict[str, list[str]] = {g: [] for g in PHARMACOGENES}

    def may_matter(self, chrom: str, pos: int, length: int = 1) -> bool:
        """Whether a record at chrom:pos spanning `length` bases touches a pharmacogene window."""
        windows = self.windows.get(normalise_chrom(chrom))
        if not windows:
            return False
        return any(start <= pos + length and pos <= end for start, end in windows)

    def mark_read(
        self, chrom: str, pos: int, call: SampleCall | None, end: int | None = None
    ) -> None:
        """A record without a variant allele (a reference call, or a gVCF block to `end`): its
        allele positions count as called when the germline sample has a call there."""
        if call is None or not call.informative:
            return
        plain = normalise_chrom(chrom)
        reference = call.gt is not None and all(a == 0 for a in call.gt)
        for where in self._positions_within(plain, pos, end or pos):
            self.called.add(where)
            if reference:
                self.reference_positions.add(where)

    def structural(self, chrom: str, pos: int, end: int, alt: str) -> None:
        """A structural-variant record left out of the evaluation: where it overlaps a gene's
        allele span, a deletion or copy loss may remove an allele, so the call cannot be firm."""
        for gene in self._genes_spanning(chrom, pos, end):
            self.structural_notes[gene].append(
                f"A structural variant ({alt} at {chrom}:{pos}-{end}) overlaps {gene}; "
                "haicgx does not evaluate structural variants, and a deletion or copy loss "
                f"there can remove an allele: the call is indeterminate. Test "
                f"{GENE_TEST[gene]} before {GENE_DRUGS[gene]}."
            )

    def unusable(self, chrom: str, pos: int, end: int, reason: str) -> None:
        """A record left out because its alleles cannot be evaluated (haicgx.vcf.Unusable):
        within a gene's allele span it may have carried an allele, so the call cannot be firm."""
        for gene in self._genes_spanning(chrom, pos, end):
            self.structural_notes[gene].append(
                f"The record at {chrom}:{pos}, within {gene}, was left out: {reason}. It may "
                f"have carried an allele: the call is indeterminate. Test {GENE_TEST[gene]} "
                f"before {GENE_DRUGS[gene]}."
            )

    def _genes_spanning(self, chrom: str, pos: int, end: int) -> list[str]:
        """The genes whose allele positions (first to last) overlap pos..end."""
        plain = normalise_chrom(chrom)
        out = []
        for gene, rows in self.rows.items():
            places = [allele_key(r)[1] for r in rows if allele_key(r)[0] == plain]
            if places and pos <= max(places) and end >= min(places):
                out.append(gene)
        return out

    def _positions_within(self, plain: str, start: int, end: int) -> list[Position]:
        if end == start:
            return [(plain, start)] if (plain, start) in self.position_names else []
        return [p for p in self.position_names if p[0] == plain and start <= p[1] <= end]

    def offer(
        self,
        *,
        chrom: str,
        pos: int,
        ref: str,
        alt: str,
        germline: SampleCall,
        tumour: SampleCall | None = None,
        filters: list[str],
        left_aligned: bool = False,
    ) -> None:
        """Look at one biallelic record. `germline` is the sample the genotype is read from (the
        normal when there is one); `tumour` is the tumour sample beside a normal, else None.

        `left_aligned` says the records were normalised against the reference (bcftools norm -f):
        then only the written form can be the allele, and shifted spellings are not looked for.
        """
        if not self.may_matter(chrom, pos, len(ref)):
            return
        plain = normalise_chrom(chrom)
        found = self._find(plain, pos, ref, alt, left_aligned)
        row, matched_as = found if found else (None, "")
        call, source = germline, self.source
        if not germline.informative and tumour is not None and tumour.informative:
            call, source = tumour, "tumour"  # the normal has no call here: the safer fallback
            if row is not None:
                self.source_notes[row.gene].append(
                    f"{allele_label(row)}: the normal sample has no call at {chrom}:{pos}; read "
                    "from the tumour sample instead."
                )
        if not call.informative:
            return
        more = row is None or row.allele_function != "increased_function"
        genotype = read_genotype(call, lower_activity_more_copies=more)
        self.called.add((plain, pos))
        if row is None:
            if genotype.copies:
                self._note_unplaced(plain, pos, ref, alt)
            return
        self.called.add(allele_key(row)[:2])  # a shifted spelling calls the allele's own position
        if genotype.copies == 0:
            if genotype.reference:
                self.reference_positions.add(allele_key(row)[:2])
            if source == "normal" and tumour is not None:
                self._somatic_only(row, tumour, chrom, pos)
            return
        notes = list(genotype.notes)
        if matched_as == "repeat_shift":
            a = row.alteration
            notes.append(
                f"matched through the right-shifted repeat spelling {chrom}:{pos} {ref}>{alt} of "
                f"the left-aligned {a.chrom}:{a.pos} {a.ref}>{a.alt}; the VCF was not normalised "
                "against a reference, so the repeat tract itself was not checked"
            )
        if source == "normal" and tumour is not None and tumour.informative:
            in_tumour = read_genotype(tumour, lower_activity_more_copies=more)
            if in_tumour.copies == 0:
                notes.append(
                    f"carried by the normal sample ({genotype.text}) but not seen in the tumour "
                    f"({in_tumour.text}, allele fraction {tumour.vaf}): possible loss of "
                    "heterozygosity in the tumour; the germline call from the normal is used"
                )
        self._add(
            Observation(
                row=row,
                chrom=chrom,
                pos=pos,
                ref=ref,
                alt=alt,
                call=call,
                copies=genotype.copies,
                phased_haplotypes=genotype.haplotypes,
                filters=[f for f in filters if f != "PASS"],
                matched_as=matched_as,
                source=source,
                alternative=genotype.alternative,
                ambiguous=genotype.ambiguous,
                notes=notes,
            )
        )

    def _somatic_only(self, row: KnowledgeRow, tumour: SampleCall, chrom: str, pos: int) -> None:
        """A table allele the tumour carries and the normal does not: somatic, not germline."""
        if tumour.informative and read_genotype(tumour).copies > 0:
            self.source_notes[row.gene].append(
                f"{allele_label(row)} is seen in the tumour ({tumour.text}, allele fraction "
                f"{tumour.vaf}) but not in the normal sample at {chrom}:{pos}: read as somatic, "
                "which does not change the patient's germline genotype."
            )

    def _find(
        self, plain: str, pos: int, ref: str, alt: str, left_aligned: bool
    ) -> tuple[KnowledgeRow, str] | None:
        """The table's allele this record spells, and how: exact, trimmed or repeat_shift."""
        row = self.alleles.get((plain, pos, ref, alt))
        if row is not None:
            return row, "exact"
        tpos, tref, talt = trim_allele(pos, ref, alt)
        row = self.alleles.get((plain, tpos, tref, talt))
        if row is not None:
            return row, "trimmed"
        if left_aligned:
            return None
        for repeat in self.repeats:
            if repeat.shifted(plain, tpos, tref, talt):
                return repeat.row, "repeat_shift"
        return None

    def _note_unplaced(self, plain: str, pos: int, ref: str, alt: str) -> None:
        """An indel in the repeat of a table allele that is none of its alleles: say so."""
        tpos, tref, talt = trim_allele(pos, ref, alt)
        if indel_bases(tref, talt) is None:
            return
        for repeat in self.repeats:
            if repeat.near(plain, tpos):
                self.unplaced[repeat.row.gene].append(
                    f"The indel {plain}:{pos} {ref}>{alt} lies in the repeat of "
                    f"{repeat.row.allele_name} but matches no allele of the knowledge table: "
                    "genotype this region by a validated method."
                )
                return

    def _add(self, observation: Observation) -> None:
        """Keep one observation per allele: two spellings of one allele are one call."""
        gene = observation.row.gene
        for i, seen in enumerate(self.observations[gene]):
            if seen.row.kb_id == observation.row.kb_id:
                keep = max(seen, observation, key=lambda o: o.copies)
                keep.notes.append(
                    f"written twice in the VCF ({seen.chrom}:{seen.pos} {seen.ref}>{seen.alt} and "
                    f"{observation.chrom}:{observation.pos} {observation.ref}>{observation.alt}): "
                    "counted once; confirm the genotype"
                )
                self.observations[gene][i] = keep
                return
        self.observations[gene].append(observation)

    def call(self) -> dict[str, PgxCall]:
        return {DPYD: self._call_dpyd(), UGT1A1: self._call_ugt1a1()}

    # -- evidence of genotyping -----------------------------------------------------------------

    def _coverage(self, gene: str) -> tuple[list[str], list[str], bool]:
        """Positions called and missing (named), and whether every position that could lower
        the activity was called (HapB3's causal SNP and its proxy count as one)."""
        rows = self.rows[gene]
        positions = sorted({allele_key(r)[:2] for r in rows}, key=lambda p: p[1])
        called = [p for p in positions if p in self.called]
        missing = [p for p in positions if p not in self.called]
        hapb3 = HAPB3.get(self.build)
        loci: dict[Key, set[Position]] = defaultdict(set)
        for r in rows:
            if lowering_row(r):
                key = allele_key(r)
                loci[hapb3[0] if hapb3 and key == hapb3[1] else key].add(key[:2])
        complete = all(places & self.called for places in loci.values())
        names = self.position_names
        return [names[p] for p in called], [names[p] for p in missing], complete

    def _not_assessed(self, gene: str, called: list[str], missing: list[str]) -> PgxCall | None:
        """The call of a gene this VCF cannot speak to, or None when it can."""
        if not self.rows[gene]:
            why = (
                f"The knowledge table has no {gene} allele definitions for {self.build}, so "
                f"{gene} was not assessed on this build"
            )
        elif not called:
            why = (
                f"None of the {len(missing)} {gene} allele-defining positions has a call in the "
                f"{self.source} sample: a variant-only VCF reports no reference calls, so absence "
                f"of a record is not a reference genotype, and {gene} was not assessed"
            )
        else:
            return None
        note = f"{why}. Test {GENE_TEST[gene]} before {GENE_DRUGS[gene]}."
        return PgxCall(gene, "not_assessed", None, [], [note], positions_missing=missing)

    def _status(
        self, gene: str, observations: list[Observation], complete: bool, missing: list[str]
    ) -> tuple[str, list[str]]:
        notes = []
        if not complete:
            shown = "; ".join(missing[:6]) + (
                f" and {len(missing) - 6} more" if len(missing) > 6 else ""
            )
            notes.append(
                f"{len(missing)} {gene} allele-defining position(s) have no call ({shown}): an "
                "allele there can be neither confirmed nor excluded, so the call is indeterminate "
                f"and can only overstate the activity. Test {GENE_TEST[gene]} before "
                f"{GENE_DRUGS[gene]}."
            )
        ambiguous = [o for o in observations if o.ambiguous]
        for o in ambiguous:
            notes.append(
                f"{allele_label(o.row)}: zygosity could not be told from the file; confirm it."
            )
        notes += self.structural_notes[gene]
        firm = complete and not ambiguous and not self.structural_notes[gene]
        return ("assessed" if firm else "indeterminate"), notes

    # -- DPYD -------------------------------------------------------------------------------

    def _call_dpyd(self) -> PgxCall:
        called, missing, complete = self._coverage(DPYD)
        if (none := self._not_assessed(DPYD, called, missing)) is not None:
            return none
        observations = self.observations[DPYD]
        notes: list[str] = []
        counted = resolve_hapb3(observations, self.build, self.reference_positions, notes)
        score = activity_score(counted)
        status, more = self._status(DPYD, counted, complete, missing)
        notes = more + notes
        notes += dpyd_notes(counted, self.build)
        notes += germline_notes(observations)
        notes += alternative_readings(
            counted, lambda obs: f"activity score {dpyd_text(activity_score(obs))}"
        )
        notes += self.source_notes[DPYD] + self.unplaced[DPYD]
        key = dpyd_phenotype(score)
        shown = score if status == "assessed" or score < 2 else None
        call = PgxCall(
            DPYD,
            status,
            key if shown is not None else None,
            observations,
            notes,
            activity_score=shown,
            genotype_source=self.source,
            positions_called=called,
            positions_missing=missing,
        )
        if shown is not None:  # what was found can only overstate the activity
            call.rules = [
                r
                for r in self.kb.rules_for(DPYD)
                if r.alteration.level == "activity_score"
                and (bounds := r.alteration.score_range) is not None
                and bounds[0] <= score <= bounds[1]
            ]
        return call

    # -- UGT1A1 -----------------------------------------------------------------------------

    def _call_ugt1a1(self) -> PgxCall:
        called, missing, complete = self._coverage(UGT1A1)
        if (none := self._not_assessed(UGT1A1, called, missing)) is not None:
            return none
        observations = self.observations[UGT1A1]
        status, notes = self._status(UGT1A1, observations, complete, missing)
        notes += germline_notes(observations)
        haplotypes, more = ugt1a1_haplotypes(observations)
        notes += more
        diplotype, key = ugt1a1_diplotype(haplotypes)
        notes += ugt1a1_haplotype_notes(haplotypes, diplotype, key)
        notes += repeat_notes(self.repeats, self.called, observations, haplotypes, key)
        notes += alternative_readings(observations, ugt1a1_text)
        notes += self.source_notes[UGT1A1] + self.unplaced[UGT1A1]
        if key == "indeterminate_metabolizer":
            status = "indeterminate"
        call = PgxCall(
            UGT1A1,
            status,
            key,
            observations,
            notes,
            diplotype=diplotype,
            genotype_source=self.source,
            positions_called=called,
            positions_missing=missing,
        )
        call.rules = [
            r
            for r in self.kb.rules_for(UGT1A1)
            if r.alteration.level == "phenotype" and r.alteration.phenotype == key
        ]
        return call
