#!/usr/bin/python3
"""Quick measurement behind the choice of the lexical index (docs/KNOWLEDGE_BASE.md).

Indexes the same pre-analysed terms (character bigrams of each Chinese paragraph, lower-cased
words otherwise) of a Markdown folder into SQLite FTS5 (space-separated terms, bm25() ranking)
and into Xapian (BM25Weight), then runs the same OR queries (12-character stretches sampled from
the text) against both and reports index time, index size and query latency percentiles.

Usage: fts5_vs_xapian.py FOLDER [MAX_FILES]   (Debian python3-xapian; run with /usr/bin/python3)
"""
import os
import random
import re
import sqlite3
import sys
import tempfile
import time

import xapian


def terms(text):
    out = []
    for run in re.findall(r"[\u4e00-\u9fff]+|[A-Za-z0-9]+", text):
        if "\u4e00" <= run[0] <= "\u9fff":
            out.extend(run[i:i + 2] for i in range(max(1, len(run) - 1)))
        else:
            out.append(run.lower())
    return out


def du(path):
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs)


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p * len(xs)))]


def main():
    folder = sys.argv[1]
    limit = int(sys.argv[2]) if len(sys.argv) > 2 else 400
    paras = []
    for d, _, fs in sorted(os.walk(folder)):
        for f in sorted(fs):
            if f.endswith(".md") and limit > 0:
                limit -= 1
                text = open(os.path.join(d, f), encoding="utf-8", errors="replace").read()
                paras.extend(p for p in text.split("\n\n") if p.strip())
    docs = [" ".join(terms(p)) for p in paras]
    rng = random.Random(7)
    queries = []
    for _ in range(1000):
        p = paras[rng.randrange(len(paras))]
        s = rng.randrange(max(1, len(p) - 12))
        queries.append(terms(p[s:s + 12]))
    queries = [q for q in queries if q]
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.time()
        con = sqlite3.connect(os.path.join(tmp, "fts.db"))
        con.execute("CREATE VIRTUAL TABLE t USING fts5(body, tokenize='unicode61')")
        con.executemany("INSERT INTO t(body) VALUES (?)", ((d,) for d in docs))
        con.commit()
        fts_index = time.time() - t0
        lat = []
        for q in queries:
            expr = " OR ".join('"%s"' % w for w in set(q))
            t = time.time()
            con.execute("SELECT rowid FROM t WHERE t MATCH ? ORDER BY bm25(t) LIMIT 10", (expr,)).fetchall()
            lat.append((time.time() - t) * 1000)
        print(f"fts5   : {len(docs)} paragraphs indexed in {fts_index:.2f} s, {du(tmp) / 1e6:.1f} MB; "
              f"query p50 {pct(lat, .5):.2f} ms p99 {pct(lat, .99):.2f} ms")
        con.close()
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.time()
        db = xapian.WritableDatabase(tmp, xapian.DB_CREATE_OR_OPEN)
        for d in docs:
            doc = xapian.Document()
            for i, w in enumerate(d.split()):
                doc.add_posting(w, i + 1)
            db.add_document(doc)
        db.commit()
        xap_index = time.time() - t0
        enquire = xapian.Enquire(db)
        enquire.set_weighting_scheme(xapian.BM25Weight(1.2, 0, 1, 0.75, 0.5))
        lat = []
        for q in queries:
            t = time.time()
            enquire.set_query(xapian.Query(xapian.Query.OP_OR, list(set(q))))
            enquire.get_mset(0, 10)
            lat.append((time.time() - t) * 1000)
        print(f"xapian : {len(docs)} paragraphs indexed in {xap_index:.2f} s, {du(tmp) / 1e6:.1f} MB; "
              f"query p50 {pct(lat, .5):.2f} ms p99 {pct(lat, .99):.2f} ms")


if __name__ == "__main__":
    main()
