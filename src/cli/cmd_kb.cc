// deepvault kb create|add|ls|rm|search|jobs|eval|bench: knowledge bases from the command line.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>

#include "cli/commands.h"
#include "common/utf8.h"
#include "kb/eval/beir.h"
#include "kb/ingest/prepare.h"
#include "kb/service/knowledge_bases.h"

namespace dv::cli {

namespace {

using kb::KnowledgeBases;
using nlohmann::json;

// Opens the knowledge bases of the configured data directory; reports errors through ctx.
std::unique_ptr<KnowledgeBases> OpenKbs(CliContext& ctx) {
  auto cfg = ctx.LoadConfigAndLogging();
  if (!cfg) return nullptr;
  auto kbs = KnowledgeBases::Open(cfg->GetString("data_dir"));
  if (!kbs.ok()) {
    ctx.exit_code = ReportError(kbs.status());
    return nullptr;
  }
  return std::move(kbs).value();
}

std::string Owner(const kb::KbInfo& info) {
  return info.owner.empty() ? "department " + info.department : "personal (" + info.owner + ")";
}

void PrintJson(const json& j) { std::printf("%s\n", j.dump(2, ' ', false, json::error_handler_t::replace).c_str()); }

// A one-line progress bar on standard error, only when it is a terminal.
class ProgressBar {
 public:
  ProgressBar() : tty_(::isatty(STDERR_FILENO) == 1) {}
  void Update(const kb::IngestProgress& p) {
    if (!tty_ || p.jobs_total == 0) return;
    const int width = 30;
    const int filled = static_cast<int>(width * p.jobs_done / p.jobs_total);
    std::fprintf(stderr, "\r[%s%s] %zu/%zu files, %.1f MB", std::string(static_cast<size_t>(filled), '#').c_str(),
                 std::string(static_cast<size_t>(width - filled), ' ').c_str(), p.jobs_done, p.jobs_total,
                 static_cast<double>(p.bytes_done) / 1e6);
    std::fflush(stderr);
    shown_ = true;
  }
  ~ProgressBar() {
    if (shown_) std::fprintf(stderr, "\n");
  }

 private:
  bool tty_;
  bool shown_ = false;
};

std::string Highlight(const kb::SearchHit& hit, bool tty) {
  std::string out;
  size_t pos = 0;
  for (const auto& [b, e] : hit.highlights) {
    out += hit.snippet.substr(pos, b - pos);
    out += tty ? "\033[1;31m" : "\u00ab";
    out += hit.snippet.substr(b, e - b);
    out += tty ? "\033[0m" : "\u00bb";
    pos = e;
  }
  out += hit.snippet.substr(pos);
  for (char& c : out) {
    if (c == '\n') c = ' ';
  }
  return out;
}

struct SearchFlags {
  std::string kb, query;
  size_t k = 10;
  bool json = false;
  std::vector<std::string> types, tags;
  std::string after, before;
  double k1 = 1.2, b = 0.75;
};

struct EvalFlags {
  std::string dir, mode = "lexical";
  bool json = false;
  double k1 = 1.2, b = 0.75;
  int chunk_tokens = 400;
  int threads = 2;
};

struct AddFlags {
  std::string kb;
  std::vector<std::string> paths, tags;
  int threads = 2;
  int chunk_tokens = 400;
  bool json = false;
  size_t commit_chunks = kb::IngestOptions().index_commit_chunks;
};

}  // namespace

void RegisterKb(CLI::App& app, CliContext& ctx) {
  auto* kbcmd = app.add_subcommand("kb", "Knowledge bases: ingest documents and search them");
  kbcmd->require_subcommand(1);

  // --- create ---------------------------------------------------------------------------------
  {
    auto* cmd = kbcmd->add_subcommand("create", "Create a knowledge base of a department or a personal one");
    auto name = std::make_shared<std::string>();
    auto dept = std::make_shared<std::string>();
    auto user = std::make_shared<std::string>();
    cmd->add_option("NAME", *name, "Knowledge base name")->required();
    auto* d = cmd->add_option("--department", *dept, "Department that owns it (default: general)");
    auto* p = cmd->add_option("--personal", *user, "User whose personal knowledge base it is");
    d->excludes(p);
    cmd->callback([&ctx, name, dept, user] {
      auto kbs = OpenKbs(ctx);
      if (!kbs) return;
      std::string department = *dept;
      if (department.empty() && user->empty()) department = "general";
      auto info = kbs->Create(*name, department, *user);
      if (!info.ok()) {
        ctx.exit_code = ReportError(info.status());
        return;
      }
      std::printf("created knowledge base %s (%s)\n", info->name.c_str(), Owner(*info).c_str());
    });
  }

  // --- add ------------------------------------------------------------------------------------
  {
    auto* cmd = kbcmd->add_subcommand("add", "Add files and folders (recursively) to a knowledge base");
    auto f = std::make_shared<AddFlags>();
    cmd->add_option("KB", f->kb, "Knowledge base")->required();
    cmd->add_option("PATH", f->paths, "Files or folders")->required();
    cmd->add_option("--tag", f->tags, "Tag the added documents (repeatable)");
    cmd->add_option("--threads", f->threads, "Extraction/analysis threads")->check(CLI::Range(1, 64));
    cmd->add_option("--chunk-tokens", f->chunk_tokens, "Chunk token budget")->check(CLI::Range(64, 8192));
    cmd->add_option("--commit-chunks", f->commit_chunks, "Commit the index after this many new chunks")
        ->check(CLI::Range(size_t{1}, size_t{1000000}));
    cmd->add_flag("--json", f->json, "Print the result as JSON");
    cmd->callback([&ctx, f] {
      auto kbs = OpenKbs(ctx);
      if (!kbs) return;
      kb::IngestOptions options;
      options.index_commit_chunks = f->commit_chunks;
      auto tags = kb::NormalizeTags(f->tags);
      if (!tags.ok()) {
        ctx.exit_code = ReportError(tags.status());
        return;
      }
      options.tags = *tags;
      options.threads = f->threads;
      options.chunker.max_tokens = f->chunk_tokens;
      options.chunker.overlap_tokens = f->chunk_tokens / 10;
      ProgressBar bar;
      options.on_progress = [&bar](const kb::IngestProgress& p) { bar.Update(p); };
      const auto t0 = std::chrono::steady_clock::now();
      auto stats = kbs->Add(f->kb, f->paths, options);
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (!stats.ok()) {
        ctx.exit_code = ReportError(stats.status());
        return;
      }
      if (f->json) {
        PrintJson(json{{"jobs", stats->jobs}, {"added", stats->added}, {"updated", stats->updated},
                       {"unchanged", stats->unchanged}, {"failed", stats->failed},
                       {"attachments", stats->attachments}, {"chunks", stats->chunks},
                       {"bytes", stats->bytes}, {"seconds", seconds}, {"errors", stats->errors}});
      } else {
        std::printf("%zu files: %zu added, %zu updated, %zu unchanged, %zu failed; %zu chunks; %.1f MB in %.2f s (%.2f MB/s)\n",
                    stats->jobs, stats->added, stats->updated, stats->unchanged, stats->failed, stats->chunks,
                    static_cast<double>(stats->bytes) / 1e6, seconds,
                    seconds > 0 ? static_cast<double>(stats->bytes) / 1e6 / seconds : 0.0);
        for (const std::string& e : stats->errors) std::fprintf(stderr, "deepvault: %s\n", e.c_str());
      }
      if (stats->failed > 0) ctx.exit_code = 1;
    });
  }

  // --- ls -------------------------------------------------------------------------------------
  {
    auto* cmd = kbcmd->add_subcommand("ls", "List knowledge bases, or the documents of one");
    auto name = std::make_shared<std::string>();
    auto as_json = std::make_shared<bool>(false);
    cmd->add_option("KB", *name, "Knowledge base whose documents to list");
    cmd->add_flag("--json", *as_json, "Print JSON");
    cmd->callback([&ctx, name, as_json] {
      auto kbs = OpenKbs(ctx);
      if (!kbs) return;
      if (name->empty()) {
        auto list = kbs->List();
        if (!list.ok()) {
          ctx.exit_code = ReportError(list.status());
          return;
        }
        json out = json::array();
        for (const kb::KbInfo& info : *list) {
          auto docs = kbs->Documents(info.name);
          const size_t n = docs.ok() ? docs->size() : 0;
          if (*as_json) {
            out.push_back({{"name", info.name}, {"department", info.department}, {"owner", info.owner},
                           {"shard", info.shard}, {"documents", n}});
          } else {
            std::printf("%-24s %-32s %zu documents\n", info.name.c_str(), Owner(info).c_str(), n);
          }
        }
        if (*as_json) PrintJson(out);
        return;
      }
      auto docs = kbs->Documents(*name);
      if (!docs.ok()) {
        ctx.exit_code = ReportError(docs.status());
        return;
      }
      json out = json::array();
      for (const kb::DocumentRecord& d : *docs) {
        if (*as_json) {
          out.push_back({{"id", d.id}, {"source", d.source}, {"title", d.title}, {"type", d.doc_type},
                         {"bytes", d.size_bytes}, {"chunks", d.chunk_count}, {"sha256", d.sha256},
                         {"tags", kb::SplitTags(d.tags)}, {"date", d.doc_date}});
        } else {
          std::printf("%-10s %6lld chunks  %s\n", d.doc_type.c_str(), static_cast<long long>(d.chunk_count),
                      d.source.c_str());
        }
      }
      if (*as_json) PrintJson(out);
    });
  }

  // --- rm -------------------------------------------------------------------------------------
  {
    auto* cmd = kbcmd->add_subcommand("rm", "Remove a knowledge base, or one document from it");
    auto name = std::make_shared<std::string>();
    auto doc = std::make_shared<std::string>();
    cmd->add_option("KB", *name, "Knowledge base")->required();
    cmd->add_option("DOC", *doc, "Document source path (as listed by kb ls KB)");
    cmd->callback([&ctx, name, doc] {
      auto kbs = OpenKbs(ctx);
      if (!kbs) return;
      Status s = doc->empty() ? kbs->Remove(*name) : kbs->RemoveDocument(*name, *doc);
      if (!s.ok()) {
        ctx.exit_code = ReportError(s);
        return;
      }
      std::printf("removed %s\n", doc->empty() ? name->c_str() : doc->c_str());
    });
  }

  // --- search ---------------------------------------------------------------------------------
  {
    auto* cmd = kbcmd->add_subcommand("search", "Search a knowledge base (BM25; \"quoted phrases\" must match)");
    auto f = std::make_shared<SearchFlags>();
    cmd->add_option("KB", f->kb, "Knowledge base")->required();
    cmd->add_option("QUERY", f->query, "Query text")->required();
    cmd->add_option("-k", f->k, "Number of results")->check(CLI::Range(1, 1000));
    cmd->add_flag("--json", f->json, "Print JSON");
    cmd->add_option("--type", f->types, "Only documents of this type (markdown, pdf, ...; repeatable)");
    cmd->add_option("--tag", f->tags, "Only documents with this tag (repeatable)");
    cmd->add_option("--after", f->after, "Only documents dated on or after YYYY-MM-DD");
    cmd->add_option("--before", f->before, "Only documents dated on or before YYYY-MM-DD");
    cmd->add_option("--k1", f->k1, "BM25 k1")->check(CLI::Range(0.0, 100.0));
    cmd->add_option("--b", f->b, "BM25 b")->check(CLI::Range(0.0, 1.0));
    cmd->callback([&ctx, f] {
      auto kbs = OpenKbs(ctx);
      if (!kbs) return;
      kb::SearchRequest req;
      req.query = f->query;
      req.k = f->k;
      req.doc_types = f->types;
      auto tags = kb::NormalizeTags(f->tags);
      if (!tags.ok()) {
        ctx.exit_code = ReportError(tags.status());
        return;
      }
      req.tags = *tags;
      req.date_from = f->after;
      req.date_to = f->before;
      req.k1 = f->k1;
      req.b = f->b;
      const auto t0 = std::chrono::steady_clock::now();
      auto hits = kbs->Search(f->kb, req);
      const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      if (!hits.ok()) {
        ctx.exit_code = ReportError(hits.status());
        return;
      }
      if (f->json) {
        json out = json::array();
        for (const kb::SearchHit& h : *hits) {
          json hl = json::array();
          for (const auto& [b, e] : h.highlights) hl.push_back({b, e});
          out.push_back({{"score", h.score}, {"source", h.source}, {"title", h.title}, {"type", h.doc_type},
                         {"heading_path", h.heading_path}, {"page", h.page}, {"chunk_id", h.chunk_id},
                         {"char_start", h.char_start}, {"char_end", h.char_end}, {"snippet", h.snippet},
                         {"highlights", hl}});
        }
        PrintJson(json{{"query", f->query}, {"took_ms", ms}, {"hits", out}});
        return;
      }
      const bool tty = ::isatty(STDOUT_FILENO) == 1;
      if (hits->empty()) std::printf("no results\n");
      for (size_t i = 0; i < hits->size(); ++i) {
        const kb::SearchHit& h = (*hits)[i];
        std::printf("%zu. [%.3f] %s", i + 1, h.score, h.source.c_str());
        if (!h.heading_path.empty()) std::printf("  § %s", h.heading_path.c_str());
        if (h.page > 0) std::printf("  p.%d", h.page);
        std::printf("\n   %s\n", Highlight(h, tty).c_str());
      }
    });
  }

  // --- jobs -----------------------------------------------------------------------------------
  {
    auto* cmd = kbcmd->add_subcommand("jobs", "Show the ingestion jobs of a knowledge base");
    auto name = std::make_shared<std::string>();
    auto limit = std::make_shared<int>(50);
    auto as_json = std::make_shared<bool>(false);
    cmd->add_option("KB", *name, "Knowledge base")->required();
    cmd->add_option("-n", *limit, "Most recent N jobs")->check(CLI::Range(1, 1000000));
    cmd->add_flag("--json", *as_json, "Print JSON");
    cmd->callback([&ctx, name, limit, as_json] {
      auto kbs = OpenKbs(ctx);
      if (!kbs) return;
      auto jobs = kbs->Jobs(*name, *limit);
      if (!jobs.ok()) {
        ctx.exit_code = ReportError(jobs.status());
        return;
      }
      json out = json::array();
      for (const kb::JobRecord& j : *jobs) {
        if (*as_json) {
          out.push_back({{"id", j.id}, {"source", j.source}, {"state", kb::JobStateName(j.state)},
                         {"progress", j.progress}, {"error", j.error}});
        } else {
          std::printf("%6lld %-10s %3.0f%%  %s%s%s\n", static_cast<long long>(j.id),
                      std::string(kb::JobStateName(j.state)).c_str(), j.progress * 100, j.source.c_str(),
                      j.error.empty() ? "" : "  — ", j.error.c_str());
        }
      }
      if (*as_json) PrintJson(out);
    });
  }

  // --- eval -----------------------------------------------------------------------------------
  {
    auto* cmd = kbcmd->add_subcommand("eval", "Evaluate retrieval on a BEIR-layout collection (corpus/queries/qrels)");
    auto f = std::make_shared<EvalFlags>();
    cmd->add_option("DIR", f->dir, "Collection folder")->required();
    cmd->add_option("--mode", f->mode, "Retrieval mode")->check(CLI::IsMember({"lexical"}));
    cmd->add_flag("--json", f->json, "Print JSON");
    cmd->add_option("--k1", f->k1, "BM25 k1")->check(CLI::Range(0.0, 100.0));
    cmd->add_option("--b", f->b, "BM25 b")->check(CLI::Range(0.0, 1.0));
    cmd->add_option("--chunk-tokens", f->chunk_tokens, "Chunk token budget")->check(CLI::Range(64, 8192));
    cmd->add_option("--threads", f->threads, "Ingestion threads")->check(CLI::Range(1, 64));
    cmd->callback([&ctx, f] {
      auto kbs = OpenKbs(ctx);
      if (!kbs) return;
      auto collection = kb::LoadBeirCollection(f->dir);
      if (!collection.ok()) {
        ctx.exit_code = ReportError(collection.status());
        return;
      }
      auto scratch = kbs->MakeScratchDir("eval");
      if (!scratch.ok()) {
        ctx.exit_code = ReportError(scratch.status());
        return;
      }
      kb::EvalOptions options;
      options.k1 = f->k1;
      options.b = f->b;
      options.ingest.threads = f->threads;
      options.ingest.chunker.max_tokens = f->chunk_tokens;
      options.ingest.chunker.overlap_tokens = f->chunk_tokens / 10;
      auto report = kb::RunLexicalEval(*collection, *scratch, kbs->analyzer(), options);
      std::error_code ec;
      std::filesystem::remove_all(*scratch, ec);
      if (!report.ok()) {
        ctx.exit_code = ReportError(report.status());
        return;
      }
      const kb::EvalMetrics& m = report->metrics;
      if (f->json) {
        PrintJson(json{{"queries", m.queries}, {"ndcg@10", m.ndcg10}, {"recall@10", m.recall10},
                       {"recall@100", m.recall100}, {"mrr@10", m.mrr10}, {"documents", report->documents},
                       {"chunks", report->chunks}, {"ingest_seconds", report->ingest_seconds},
                       {"query_p50_ms", report->query_p50_ms}, {"query_p99_ms", report->query_p99_ms}});
      } else {
        std::printf("%s: %zu queries, %zu documents (%zu chunks)\n", f->dir.c_str(), m.queries, report->documents,
                    report->chunks);
        std::printf("nDCG@10 %.4f  Recall@10 %.4f  Recall@100 %.4f  MRR@10 %.4f\n", m.ndcg10, m.recall10,
                    m.recall100, m.mrr10);
        std::printf("ingest %.2f s; query p50 %.2f ms, p99 %.2f ms\n", report->ingest_seconds, report->query_p50_ms,
                    report->query_p99_ms);
      }
    });
  }

  // --- bench ----------------------------------------------------------------------------------
  {
    auto* cmd = kbcmd->add_subcommand("bench", "Measure search latency with queries sampled from the KB's own text");
    auto name = std::make_shared<std::string>();
    auto count = std::make_shared<int>(1000);
    auto k = std::make_shared<size_t>(10);
    auto as_json = std::make_shared<bool>(false);
    cmd->add_option("KB", *name, "Knowledge base")->required();
    cmd->add_option("-n", *count, "Number of queries")->check(CLI::Range(1, 1000000));
    cmd->add_option("-k", *k, "Results per query")->check(CLI::Range(1, 1000));
    cmd->add_flag("--json", *as_json, "Print JSON");
    cmd->callback([&ctx, name, count, k, as_json] {
      auto kbs = OpenKbs(ctx);
      if (!kbs) return;
      auto info = kbs->Find(*name);
      if (!info.ok()) {
        ctx.exit_code = ReportError(info.status());
        return;
      }
      auto searcher = kbs->OpenSearcher(*info);
      if (!searcher.ok()) {
        ctx.exit_code = ReportError(searcher.status());
        return;
      }
      // Queries: a 4..16 character stretch of a random chunk (seeded, reproducible).
      std::vector<std::string> queries;
      {
        auto st = (*searcher)->shard().db().Prepare(
            "SELECT c.text FROM chunks c JOIN documents d ON d.id = c.doc_id WHERE d.kb_id = ? ORDER BY c.id");
        if (!st.ok()) {
          ctx.exit_code = ReportError(st.status());
          return;
        }
        st->Bind(1, info->id);
        std::vector<std::string> texts;
        for (;;) {
          auto row = st->Step();
          if (!row.ok()) {
            ctx.exit_code = ReportError(row.status());
            return;
          }
          if (!*row) break;
          texts.push_back(st->ColumnText(0));
        }
        if (texts.empty()) {
          ctx.exit_code = ReportError(FailedPrecondition("knowledge base " + *name + " has no chunks to sample queries from"));
          return;
        }
        std::mt19937_64 rng(20240601);
        for (int i = 0; i < *count; ++i) {
          const std::u32string cps = utf8::ToCodePoints(texts[rng() % texts.size()]);
          const size_t len = std::min<size_t>(cps.size(), 4 + rng() % 13);
          const size_t start = cps.size() > len ? rng() % (cps.size() - len) : 0;
          queries.push_back(utf8::FromCodePoints(cps.substr(start, len)));
        }
      }
      std::vector<double> ms;
      size_t total_hits = 0;
      for (const std::string& q : queries) {
        kb::SearchRequest req;
        req.query = q;
        std::replace(req.query.begin(), req.query.end(), '"', ' ');
        req.k = *k;
        const auto t0 = std::chrono::steady_clock::now();
        auto hits = (*searcher)->Search(info->id, req);
        ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
        if (!hits.ok()) {
          ctx.exit_code = ReportError(hits.status());
          return;
        }
        total_hits += hits->size();
      }
      std::sort(ms.begin(), ms.end());
      auto pct = [&](double p) { return ms[std::min(ms.size() - 1, static_cast<size_t>(p * static_cast<double>(ms.size())))]; };
      if (*as_json) {
        PrintJson(json{{"queries", ms.size()}, {"p50_ms", pct(0.5)}, {"p95_ms", pct(0.95)}, {"p99_ms", pct(0.99)},
                       {"max_ms", ms.back()}, {"mean_hits", static_cast<double>(total_hits) / static_cast<double>(ms.size())}});
      } else {
        std::printf("%zu queries (k=%zu, with snippets): p50 %.2f ms, p95 %.2f ms, p99 %.2f ms, max %.2f ms\n",
                    ms.size(), *k, pct(0.5), pct(0.95), pct(0.99), ms.back());
      }
    });
  }
}

}  // namespace dv::cli
