"""Short recalls of a reason's text: its head (before the first ": "), its summary in the HTML's
ranked table, and heads that tell apart reasons the PDF's shared block lists together."""

from __future__ import annotations

# A shared reason is recalled on each of its rows by a short head: the text before its first
# ": " when that is at most this long, else the whole text when that is, else the kind alone.
REASON_HEAD_MAX = 72
# A reason without such a head is recalled in the HTML's ranked table by its first words.
REASON_SUMMARY_WORDS = 12


def reason_head(text: str) -> str:
    """A short recall of a reason's text for a row that points to the shared block.

    >>> reason_head("Creatinine clearance not given: check renal function before oxaliplatin.")
    'Creatinine clearance not given'
    >>> reason_head("The disease progressed on oxaliplatin.")
    'The disease progressed on oxaliplatin.'
    >>> reason_head("x" * 100)
    ''
    >>> reason_head("DPYD indeterminate (Indeterminate (activity score 0: Poor)): test DPYD.")
    'DPYD indeterminate (Indeterminate (activity score 0: Poor))'
    """
    head = _head_of(text)
    if head != text and len(head) <= REASON_HEAD_MAX:
        return head
    return text if len(text) <= REASON_HEAD_MAX else ""


def _head_of(text: str) -> str:
    """The text before its first ": " outside brackets (the whole text if there is none)."""
    depth = 0
    for index, char in enumerate(text):
        if char in "([":
            depth += 1
        elif char in ")]":
            depth = max(depth - 1, 0)
        elif char == ":" and depth == 0 and text[index + 1 : index + 2] == " ":
            return text[:index]
    return text


def reason_summary(text: str) -> str:
    """A reason in short for the HTML's ranked table (in full on the regimen's card): its head
    (see reason_head), else its first REASON_SUMMARY_WORDS words.

    >>> reason_summary("Creatinine clearance not given: check renal function before oxaliplatin.")
    'Creatinine clearance not given'
    >>> reason_summary("Bevacizumab, given in every arm of this trial, increased the biliary "
    ...                "toxicity of HAI floxuridine with dexamethasone in a randomised phase 2.")
    'Bevacizumab, given in every arm of this trial, increased the biliary toxicity …'
    """
    head = reason_head(text)
    if head:
        return head
    words = text.split()
    more = " …" if len(words) > REASON_SUMMARY_WORDS else ""
    return " ".join(words[:REASON_SUMMARY_WORDS]) + more


def distinct_heads(head: str, texts: list[str]) -> list[str]:
    """Heads that tell apart reasons whose plain head is the same (one per text, in order).

    Each head is followed by the fewest words, from just before where the texts start to
    differ, that no other text has there; if a text needs more than REASON_HEAD_MAX characters
    for that (or another text is equal to it), its head is left empty.

    >>> distinct_heads("DPYD not assessed", ["DPYD not assessed: test before fluorouracil.",
    ...                                      "DPYD not assessed: test before floxuridine."])
    ['DPYD not assessed … before fluorouracil.', 'DPYD not assessed … before floxuridine.']
    >>> distinct_heads("A", ["A: to x, cohort in y (1).", "A: to z, trial", "A: to z, cohort"])
    ['A … to x, …', 'A … to z, trial', 'A … to z, cohort']
    >>> distinct_heads("A", ["A: same", "A: same"])
    ['', '']
    """
    words = [text.split() for text in texts]
    common = 0
    while all(len(w) > common for w in words) and len({w[common] for w in words}) == 1:
        common += 1
    start = max(common - 1, len(head.split()))
    heads = []
    for index, own in enumerate(words):
        others = [w for other, w in enumerate(words) if other != index]
        new = ""
        for end in range(start + 1, len(own) + 1):
            if all(w[start:end] != own[start:end] for w in others):
                tail = " ".join(own[start:end]) + (" …" if end < len(own) else "")
                new = f"{head} … {tail}" if len(tail) <= REASON_HEAD_MAX else ""
                break
        heads.append(new)
    return heads
