#!/usr/bin/env python3
"""The table bench/run.sh prints (and its --json), from the figures file.

  report.py FIGURES_TSV NOTES_TXT JSON_OUT|"" META_JSON

FIGURES_TSV: one measurement a line, tab-separated:
  key  side  round  value  unit  better  base_key  target  label
side is "new", "old" (A/B run) or "base" (a baseline, measured once);
value is a number or a text such as "unavailable: <why>"; better is "higher",
"lower" or "-"; base_key names the figure this one is divided by (looked up
on the same side first, then among the baselines); target is "" or
[ab]OP NUMBER (e.g. ">=0.6" on the ratio to base_key, or on the value when
there is no base_key; "ab>=1.5" on new / old).

Per figure and side the rounds' median is shown. Only ratios are comparable
between runs: the machine is shared and noisy.
"""
from __future__ import annotations

import datetime
import json
import operator
import socket
import statistics
import sys

OPS = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt}


def num(s: str):
    try:
        return float(s)
    except ValueError:
        return None


def fmt(x) -> str:
    if x is None:
        return "-"
    if isinstance(x, str):
        return x
    return f"{x:.0f}" if abs(x) >= 1000 else f"{x:.4g}"


def main() -> int:
    figs_file, notes_file, json_out, meta_file = sys.argv[1:5]
    meta = json.load(open(meta_file))
    figs: dict[str, dict] = {}
    for line in open(figs_file):
        if not line.strip():
            continue
        key, side, rnd, value, unit, better, base_key, target, label = line.rstrip("\n").split("\t")
        f = figs.setdefault(key, {"key": key, "label": label, "unit": unit, "better": better,
                                  "base_key": base_key, "target": target, "values": {}, "texts": {}})
        v = num(value)
        if v is None:
            f["texts"].setdefault(side, value)
        else:
            f["values"].setdefault(side, []).append(v)
    notes = [l.strip() for l in open(notes_file) if l.strip()]
    ab = meta.get("baseline_rev") is not None

    def median(key: str, side: str):
        f = figs.get(key)
        if f is None:
            return None
        vals = f["values"].get(side) or f["values"].get("base")
        return statistics.median(vals) if vals else None

    def ratio(a, b):
        return a / b if a is not None and b not in (None, 0) else None

    out = []
    for f in figs.values():
        sides = [s for s in ("base", "new", "old") if s in f["values"] or s in f["texts"]]
        main_side = "base" if sides == ["base"] else "new"
        new = median(f["key"], main_side) if f["values"].get(main_side) else f["texts"].get(main_side)
        old = median(f["key"], "old") if f["values"].get("old") else f["texts"].get("old")
        base = median(f["base_key"], main_side) if f["base_key"] else None
        r_new = ratio(new if not isinstance(new, str) else None, base)
        r_old = ratio(old if not isinstance(old, str) else None, median(f["base_key"], "old")) \
            if f["base_key"] else None
        ab_ratio = ratio(new if not isinstance(new, str) else None, old if not isinstance(old, str) else None)
        verdict = "-"
        t = f["target"]
        if t:
            subject = ab_ratio if t.startswith("ab") else (r_new if f["base_key"] else new)
            spec = t[2:] if t.startswith("ab") else t
            op = next(o for o in (">=", "<=", ">", "<") if spec.startswith(o))
            if isinstance(subject, (int, float)):
                verdict = "met" if OPS[op](subject, float(spec[len(op):])) else "not met"
        out.append({"key": f["key"], "figure": f["label"], "unit": f["unit"], "better": f["better"],
                    "value": new, "rounds": len(f["values"].get(main_side, [])),
                    "old": old, "new_over_old": ab_ratio, "base_key": f["base_key"] or None,
                    "baseline": base, "ratio": r_new, "old_ratio": r_old, "target": t or None,
                    "verdict": verdict})

    hdr = ["figure", "unit", "better", "value"] + (["old", "new/old"] if ab else []) + \
        ["baseline", "value/baseline"] + (["old/baseline"] if ab else []) + ["target", "verdict"]
    table = [hdr]
    for o in out:
        base_txt = "-" if o["baseline"] is None else f"{fmt(o['baseline'])} ({figs[o['base_key']]['unit']})"
        row = [o["figure"], o["unit"], o["better"] if o["better"] != "-" else "", fmt(o["value"])]
        if ab:
            row += [fmt(o["old"]), fmt(o["new_over_old"])]
        row += [base_txt, fmt(o["ratio"])]
        if ab:
            row += [fmt(o["old_ratio"])]
        row += [o["target"] or "", o["verdict"] if o["target"] else ""]
        table.append(row)
    w = [max(len(r[i]) for r in table) for i in range(len(hdr))]
    left = {0, 1, 2, len(hdr) - 2, len(hdr) - 1, hdr.index("baseline")}
    for i, r in enumerate(table):
        cells = [c.ljust(w[j]) if j in left else c.rjust(w[j]) for j, c in enumerate(r)]
        print("  ".join(cells).rstrip())
        if i == 0:
            print("  ".join("-" * x for x in w))
    if ab:
        print(f"new = this tree, old = {meta['baseline_rev']}; median of {meta['rounds']} round(s) each, "
              "interleaved new, old, ...; new/old < 1 is better where 'better' says lower")
    for n in notes:
        print("note:", n)
    if json_out:
        doc = {"date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
               "host": socket.gethostname(), **meta, "figures": out, "notes": notes}
        with open(json_out, "w") as fh:
            json.dump(doc, fh, indent=2)
            fh.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
