"""rzspec: reads the code tables of proto/PROTOCOL.md (Appendix A and §6).

Every Markdown table whose last column is "C name" is normative: its first
column is the numeric code (id, code or value) and its last the C name in
backticks.  load() returns {C name: code}; rows() also returns each row's
cells by column title, so a reader can find a field by table and name.
Used by the Python node and by check_tables.py; standard library only.
"""
import re

_ROW = re.compile(r"^\|(.*)\|\s*$")


def _cells(line):
    return [c.strip() for c in _ROW.match(line).group(1).split("|")]


def rows(path):
    """Yields (header, row) for every row of every table with a C name column."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    i = 0
    while i < len(lines):
        if _ROW.match(lines[i]) and i + 1 < len(lines) and re.match(r"^\|[-| ]+\|\s*$", lines[i + 1]):
            header = _cells(lines[i])
            i += 2
            while i < len(lines) and _ROW.match(lines[i]):
                cells = _cells(lines[i])
                if header[-1] == "C name":
                    if len(cells) != len(header):
                        raise ValueError(f"{path}: row of {len(cells)} cells under a header of "
                                         f"{len(header)}: {lines[i]}")
                    yield header, cells
                i += 1
            continue
        i += 1


def _code(text):
    t = text.strip("`")
    return int(t, 16) if t.lower().startswith("0x") else int(t)


def load(path):
    """{C name: numeric code} of every normative row."""
    out = {}
    for header, cells in rows(path):
        name = cells[-1].strip("`")
        value = _code(cells[0])
        if name in out and out[name] != value:
            raise ValueError(f"{path}: {name} is {out[name]} and {value}")
        out[name] = value
    return out
