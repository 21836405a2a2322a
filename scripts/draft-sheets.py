#!/usr/bin/env python3
"""Drafts the clause sheet of a model license: for each report field that
its data file settles, the sentence of its published text (ScanCode's
LicenseDB) that says so, found with the engine's own clause rules
(crates/license/data/rules/clauses.toml). A person reviews the draft before it
goes into the license's file; build.rs then checks every sentence is in the
text. Usage: draft-sheets.py data/licenses/FILE.toml [...] (prints TOML)."""
import re
import sys
import tomllib
from pathlib import Path

root = Path(__file__).resolve().parent.parent
data = root / "crates/license/data"
db = root / ".tools/licensedb/licenses"
rules = tomllib.loads((data / "rules" / "clauses.toml").read_text())
macros = {f"{{{k}}}": v for k, v in rules.pop("macros").items()}
SKIP = {"says", "not", "unless", "over"}


def compiled(name):
    pats = []
    for k, v in rules[name].items():
        if k in SKIP:
            continue
        for p in v:
            for m, e in macros.items():
                p = p.replace(m, e)
            pats.append(re.compile(p))
    return pats


def norm(s):
    s = s.lower().replace("\u201c", '"').replace("\u201d", '"').replace("\u2018", "'").replace("\u2019", "'")
    s = re.sub(r"[*_`]", "", s)
    return " ".join(s.split())


def sentences(text):
    for para in re.split(r"\n\s*\n", text):
        for s in re.split(r"(?<=[a-z)\]”\"][.;])\s+(?=[A-Z(\"“])", para):
            s = " ".join(s.split())
            # A heading or a numbered title decides nothing: a sentence has words enough.
            if len(s.split()) >= 10:
                yield s


# Which clause rules can settle each field, for a given value.
FIELD_RULES = {
    "commercial_use": {"conditional": ["mau", "revenue", "commercial_registration"],
                       "forbidden": ["research_only", "non_commercial"], "allowed": ["grant"]},
    "category": {"research-only": ["research_only"], "non-commercial": ["non_commercial"]},
    "user_threshold_mau": {"*": ["mau"]},
    "revenue_threshold_usd": {"*": ["revenue"]},
    "use_restrictions": {True: ["use_restrictions"]},
    "attribution_required": {True: ["built_with", "attribution"]},
    "derivative_naming": {True: ["naming"]},
    "output_training_restriction": {True: ["output_training"]},
    "share_alike": {True: ["share_alike"]},
    "redistribution_allowed": {"conditional": ["distribution_grant"], "allowed": ["distribution_grant"],
                               "forbidden": ["no_distribution"]},
}

for path in sys.argv[1:]:
    f = tomllib.loads(Path(path).read_text())
    texts = [(db / f"{k}.LICENSE").read_text().split("\n---", 1)[1] for k in f.get("scancode", [])]
    if not texts:
        print(f"# {path}: no ScanCode text", file=sys.stderr)
        continue
    sents = [s for t in texts[:1] for s in sentences(t)]
    out = []
    for field, by_value in FIELD_RULES.items():
        value = f["terms"].get(field)
        names = by_value.get("*" if value is not None and "*" in by_value else value)
        if not names:
            continue
        found = None
        for name in names:
            pats = compiled(name)
            hits = [s for s in sents if any(p.search(norm(s)) for p in pats)]
            # A definition ("License" means ...) names a duty without settling it.
            found = next((s for s in hits if not re.search(r'^[^.]{0,60}" (?:means|shall mean)', norm(s))), None)
            if found:
                break
        if found:
            out.append(f"{field} = {found!r}".replace("\\'", "'"))
        else:
            print(f"# {path}: no sentence for {field} = {value}", file=sys.stderr)
    print(f"# {path}\n[sheet]\n" + "\n".join(out) + "\n")
