"""Known contig lengths of the supported human builds (primary assembly), for the build check."""

from __future__ import annotations

from haicgx.knowledge import normalise_chrom

_NAMES = [str(i) for i in range(1, 23)] + ["X", "Y", "M"]

_GRCH38 = [
    248956422, 242193529, 198295559, 190214555, 181538259, 170805979, 159345973, 145138636,
    138394717, 133797422, 135086622, 133275309, 114364328, 107043718, 101991189, 90338345,
    83257441, 80373285, 58617616, 64444167, 46709983, 50818468, 156040895, 57227415, 16569,
]  # fmt: skip
_GRCH37 = [
    249250621, 243199373, 198022430, 191154276, 180915260, 171115067, 159138663, 146364022,
    141213431, 135534747, 135006516, 133851895, 115169878, 107349540, 102531392, 90354753,
    81195210, 78077248, 59128983, 63025520, 48129895, 51304566, 155270560, 59373566, 16569,
]  # fmt: skip


def _both_namings(lengths: list[int]) -> dict[str, int]:
    table: dict[str, int] = {}
    for name, length in zip(_NAMES, lengths, strict=True):
        table[name] = length
        table[f"chr{name}"] = length
    table["MT"] = table["M"]
    return table


# The primary contigs of each build with UCSC-style names, in karyotype order (chr1..chr22, chrX,
# chrY, chrM), for files that write a full header.
PRIMARY_CONTIGS: dict[str, dict[str, int]] = {
    "GRCh38": {f"chr{name}": length for name, length in zip(_NAMES, _GRCH38, strict=True)},
    "GRCh37": {f"chr{name}": length for name, length in zip(_NAMES, _GRCH37, strict=True)},
}

KNOWN_CONTIG_LENGTHS: dict[str, dict[str, int]] = {
    "GRCh38": _both_namings(_GRCH38),
    "GRCh37": _both_namings(_GRCH37),
}
# UCSC hg19 keeps the older mitochondrial sequence (NC_001807, 16,571 bp) where GRCh37 and b37 have
# the revised Cambridge sequence (16,569 bp); the nuclear chromosomes are the same. Both are GRCh37.
OTHER_MITOCHONDRIA = {"GRCh37": frozenset({16571})}


def length_fits(build: str, name: str, length: int, expected: int) -> bool:
    """Whether a contig's declared length is the build's (the hg19 chrM counted as GRCh37).

    >>> length_fits("GRCh37", "chrM", 16571, 16569), length_fits("GRCh38", "chrM", 16571, 16569)
    (True, False)
    """
    if length == expected:
        return True
    return normalise_chrom(name) == "M" and length in OTHER_MITOCHONDRIA.get(build, ())


def identify_build(lengths: dict[str, int]) -> str | None:
    """The build whose primary contigs agree with the given lengths, or None.

    chrM is left out: its length is the same in both builds.

    >>> identify_build({"chr1": 248956422})
    'GRCh38'
    >>> identify_build({"1": 249250621, "2": 243199373})
    'GRCh37'
    >>> identify_build({"chr1": 1000}) is None
    True
    """
    votes: dict[str, int] = {}
    for build, table in KNOWN_CONTIG_LENGTHS.items():
        for name, length in lengths.items():
            if normalise_chrom(name) == "M":
                continue
            if table.get(name) == length:
                votes[build] = votes.get(build, 0) + 1
    if not votes:
        return None
    return max(votes, key=lambda b: votes[b])
