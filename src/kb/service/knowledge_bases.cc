#include "kb/service/knowledge_bases.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>

namespace dv::kb {

namespace fs = std::filesystem;

Result<std::unique_ptr<KnowledgeBases>> KnowledgeBases::Open(const std::string& data_dir) {
  if (data_dir.empty()) return InvalidArgument("data_dir is empty");
  std::error_code ec;
  const fs::path root = fs::path(data_dir) / "kb";
  fs::create_directories(root / "shards", ec);
  if (ec) return PermissionDenied("cannot create " + (root / "shards").string() + ": " + ec.message());
  DV_ASSIGN_OR_RETURN(Catalog catalog, Catalog::Open((root / "catalog.db").string()));
  DV_ASSIGN_OR_RETURN(std::unique_ptr<Analyzer> analyzer, Analyzer::Create());
  return std::unique_ptr<KnowledgeBases>(new KnowledgeBases(data_dir, std::move(catalog), std::move(analyzer)));
}

std::string KnowledgeBases::ShardDir(const KbInfo& kb) const {
  return (fs::path(data_dir_) / "kb" / "shards" / kb.shard).string();
}

Result<std::string> KnowledgeBases::MakeScratchDir(const std::string& prefix) {
  static std::atomic<int> counter{0};
  const auto now = std::chrono::steady_clock::now().time_since_epoch().count();
  const fs::path dir = fs::path(data_dir_) / "kb" / "tmp" /
                       (prefix + "-" + std::to_string(::getpid()) + "-" + std::to_string(now) + "-" +
                        std::to_string(counter++));
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return PermissionDenied("cannot create scratch directory " + dir.string() + ": " + ec.message());
  return dir.string();
}

Result<KbInfo> KnowledgeBases::Create(const std::string& name, const std::string& department, const std::string& owner) {
  return catalog_.CreateKb(name, department, owner);
}

Result<std::vector<KbInfo>> KnowledgeBases::List() { return catalog_.ListKbs(); }
Result<KbInfo> KnowledgeBases::Find(const std::string& name) { return catalog_.FindKb(name); }

Result<std::vector<DocumentRecord>> KnowledgeBases::Documents(const std::string& name) {
  DV_ASSIGN_OR_RETURN(KbInfo kb, catalog_.FindKb(name));
  DV_ASSIGN_OR_RETURN(Shard shard, Shard::Open(ShardDbPath(ShardDir(kb))));
  return shard.ListDocuments(kb.id);
}

Result<std::vector<JobRecord>> KnowledgeBases::Jobs(const std::string& name, int limit) {
  DV_ASSIGN_OR_RETURN(KbInfo kb, catalog_.FindKb(name));
  DV_ASSIGN_OR_RETURN(Shard shard, Shard::Open(ShardDbPath(ShardDir(kb))));
  return shard.ListJobs(kb.id, limit);
}

Result<IngestStats> KnowledgeBases::Add(const std::string& name, const std::vector<std::string>& paths,
                                        const IngestOptions& options) {
  DV_ASSIGN_OR_RETURN(KbInfo kb, catalog_.FindKb(name));
  DV_ASSIGN_OR_RETURN(std::unique_ptr<ShardWriter> writer, ShardWriter::Open(ShardDir(kb), analyzer_.get()));
  return writer->AddFiles(kb.id, paths, options);
}

Status KnowledgeBases::Remove(const std::string& name) {
  DV_ASSIGN_OR_RETURN(KbInfo kb, catalog_.FindKb(name));
  {
    DV_ASSIGN_OR_RETURN(std::unique_ptr<ShardWriter> writer, ShardWriter::Open(ShardDir(kb), analyzer_.get()));
    DV_RETURN_IF_ERROR(writer->RemoveKb(kb.id));
  }
  return catalog_.DeleteKb(name);
}

Status KnowledgeBases::RemoveDocument(const std::string& name, const std::string& source) {
  DV_ASSIGN_OR_RETURN(KbInfo kb, catalog_.FindKb(name));
  DV_ASSIGN_OR_RETURN(std::unique_ptr<ShardWriter> writer, ShardWriter::Open(ShardDir(kb), analyzer_.get()));
  return writer->RemoveDocument(kb.id, source);
}

Result<std::unique_ptr<Searcher>> KnowledgeBases::OpenSearcher(const KbInfo& kb) {
  return Searcher::Open(ShardDir(kb), analyzer_.get());
}

Result<std::vector<SearchHit>> KnowledgeBases::Search(const std::string& name, const SearchRequest& request) {
  DV_RETURN_IF_ERROR(ValidateSearchRequest(request));
  DV_ASSIGN_OR_RETURN(KbInfo kb, catalog_.FindKb(name));
  DV_ASSIGN_OR_RETURN(std::unique_ptr<Searcher> searcher, OpenSearcher(kb));
  return searcher->Search(kb.id, request);
}

}  // namespace dv::kb
