#!/usr/bin/python3
"""Reference retrieval baselines for `deepvault kb eval`, on a BEIR-layout collection.

  xapian-ngram : Xapian's own BM25 (BM25Weight defaults) with its English stemmer and its CJK
                 n-gram mode (TermGenerator/QueryParser FLAG_CJK_NGRAM), title + text indexed.
  jieba-bm25   : jieba word segmentation (jieba.lcut) + textbook BM25 (k1 = 1.2, b = 0.75,
                 idf = ln(1 + (N - n + 0.5) / (n + 0.5))), lower-cased, punctuation dropped —
                 the way Dify, MaxKB and FastGPT search Chinese.

Metrics follow trec_eval: nDCG@10 with linear graded gains, Recall@10/@100, MRR@10, averaged over
queries with at least one relevant judgment. Needs the Debian packages python3-xapian and
python3-jieba (run with /usr/bin/python3, the interpreter they are installed for).
python3-jieba. Usage: baselines.py DIR [--json]
"""
import json
import math
import sys
import tempfile
import time
import unicodedata
from collections import Counter, defaultdict


def load(d):
    corpus = [json.loads(l) for l in open(f"{d}/corpus.jsonl", encoding="utf-8") if l.strip()]
    queries = [json.loads(l) for l in open(f"{d}/queries.jsonl", encoding="utf-8") if l.strip()]
    qrels = defaultdict(dict)
    with open(f"{d}/qrels.tsv", encoding="utf-8") as f:
        next(f)
        for line in f:
            if line.strip():
                q, doc, s = line.rstrip("\n").split("\t")
                qrels[q][doc] = int(s)
    return corpus, queries, qrels


def evaluate(run, qrels):
    n = ndcg = r10 = r100 = mrr = 0.0
    for q, judged in qrels.items():
        rel = {d for d, g in judged.items() if g > 0}
        if not rel:
            continue
        n += 1
        ranking = run.get(q, [])
        dcg = sum(max(judged.get(d, 0), 0) / math.log2(i + 2) for i, d in enumerate(ranking[:10]))
        ideal = sorted((g for g in judged.values() if g > 0), reverse=True)[:10]
        idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
        ndcg += dcg / idcg if idcg else 0
        r10 += len(rel & set(ranking[:10])) / len(rel)
        r100 += len(rel & set(ranking[:100])) / len(rel)
        for i, d in enumerate(ranking[:10]):
            if d in rel:
                mrr += 1 / (i + 1)
                break
    return {"queries": int(n), "ndcg@10": ndcg / n, "recall@10": r10 / n, "recall@100": r100 / n, "mrr@10": mrr / n}


def xapian_ngram(corpus, queries, qrels):
    import xapian
    with tempfile.TemporaryDirectory() as tmp:
        db = xapian.WritableDatabase(tmp, xapian.DB_CREATE_OR_OPEN)
        tg = xapian.TermGenerator()
        tg.set_stemmer(xapian.Stem("english"))
        tg.set_flags(xapian.TermGenerator.FLAG_CJK_NGRAM)
        ids = {}
        for d in corpus:
            doc = xapian.Document()
            tg.set_document(doc)
            tg.index_text(d.get("title") or "")
            tg.increase_termpos()
            tg.index_text(d["text"])
            ids[db.add_document(doc)] = d["_id"]
        db.commit()
        qp = xapian.QueryParser()
        qp.set_stemmer(xapian.Stem("english"))
        qp.set_stemming_strategy(xapian.QueryParser.STEM_SOME)
        qp.set_database(db)
        qp.set_default_op(xapian.Query.OP_OR)
        enquire = xapian.Enquire(db)
        enquire.set_weighting_scheme(xapian.BM25Weight())
        run = {}
        for q in queries:
            if q["_id"] not in qrels:
                continue
            flags = xapian.QueryParser.FLAG_CJK_NGRAM | xapian.QueryParser.FLAG_DEFAULT
            try:
                query = qp.parse_query(q["text"], flags)
            except xapian.QueryParserError:
                query = qp.parse_query(q["text"], xapian.QueryParser.FLAG_CJK_NGRAM)
            enquire.set_query(query)
            run[q["_id"]] = [ids[m.docid] for m in enquire.get_mset(0, 100)]
        return run


def jieba_tokens(text):
    import jieba
    out = []
    for t in jieba.lcut(text):
        t = t.strip().lower()
        if t and any(unicodedata.category(c)[0] in "LN" for c in t):
            out.append(t)
    return out


def jieba_bm25(corpus, queries, qrels, k1=1.2, b=0.75):
    import jieba
    jieba.setLogLevel(60)
    docs = [Counter(jieba_tokens((d.get("title") or "") + "\n" + d["text"])) for d in corpus]
    lens = [sum(c.values()) for c in docs]
    avg = sum(lens) / len(lens)
    df = Counter()
    postings = defaultdict(list)
    for i, c in enumerate(docs):
        for t, tf in c.items():
            df[t] += 1
            postings[t].append((i, tf))
    n = len(docs)
    run = {}
    for q in queries:
        if q["_id"] not in qrels:
            continue
        scores = defaultdict(float)
        for t, qtf in Counter(jieba_tokens(q["text"])).items():
            if t not in df:
                continue
            idf = math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5))
            for i, tf in postings[t]:
                scores[i] += qtf * idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * lens[i] / avg))
        best = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:100]
        run[q["_id"]] = [corpus[i]["_id"] for i, _ in best]
    return run


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    if len(args) != 1:
        sys.exit(__doc__)
    corpus, queries, qrels = load(args[0])
    results = {}
    for name, fn in (("xapian-ngram", xapian_ngram), ("jieba-bm25", jieba_bm25)):
        t0 = time.time()
        metrics = evaluate(fn(corpus, queries, qrels), qrels)
        metrics["seconds"] = round(time.time() - t0, 2)
        results[name] = metrics
    if "--json" in sys.argv:
        print(json.dumps(results, indent=2))
    else:
        for name, m in results.items():
            print(f"{name:14s} queries {m['queries']:5d}  nDCG@10 {m['ndcg@10']:.4f}  R@10 {m['recall@10']:.4f}  "
                  f"R@100 {m['recall@100']:.4f}  MRR@10 {m['mrr@10']:.4f}  ({m['seconds']} s)")


if __name__ == "__main__":
    main()
