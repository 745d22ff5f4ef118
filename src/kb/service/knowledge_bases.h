// KnowledgeBases: everything the CLI and the server do with knowledge bases, over one data
// directory:
//   <data_dir>/kb/catalog.db             organisations, departments, users, KBs (catalog.h)
//   <data_dir>/kb/shards/<shard>/        one shard per department / personal-KB owner (shard.h)
//       shard.db                         documents, chunks, jobs
//       lexical/                         the Xapian index (lexical_index.h)
//   <data_dir>/kb/tmp/                   scratch space (evaluation), removed after use
// Nothing is written outside <data_dir>.
//
// Thread safety: one instance per thread (it owns a catalog connection); writers of one shard are
// serialised across processes by the index's write lock.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "deepvault/status.h"
#include "kb/analysis/analyzer.h"
#include "kb/ingest/pipeline.h"
#include "kb/search/searcher.h"
#include "kb/store/catalog.h"

namespace dv::kb {

class KnowledgeBases {
 public:
  // Creates <data_dir>/kb when absent and opens the catalog.
  static Result<std::unique_ptr<KnowledgeBases>> Open(const std::string& data_dir);

  Result<KbInfo> Create(const std::string& name, const std::string& department, const std::string& owner);
  Result<std::vector<KbInfo>> List();
  Result<KbInfo> Find(const std::string& name);
  // Documents of a KB, by source.
  Result<std::vector<DocumentRecord>> Documents(const std::string& kb);
  Result<std::vector<JobRecord>> Jobs(const std::string& kb, int limit);
  Result<IngestStats> Add(const std::string& kb, const std::vector<std::string>& paths, const IngestOptions& options);
  // Deletes the KB with all its documents.
  Status Remove(const std::string& kb);
  Status RemoveDocument(const std::string& kb, const std::string& source);
  Result<std::vector<SearchHit>> Search(const std::string& kb, const SearchRequest& request);
  // A searcher over the KB's shard, for repeated queries (benchmarks, the server).
  Result<std::unique_ptr<Searcher>> OpenSearcher(const KbInfo& kb);

  std::string ShardDir(const KbInfo& kb) const;
  // A fresh, empty scratch directory under <data_dir>/kb/tmp/.
  Result<std::string> MakeScratchDir(const std::string& prefix);
  const Analyzer& analyzer() const { return *analyzer_; }
  const std::string& data_dir() const { return data_dir_; }

 private:
  KnowledgeBases(std::string data_dir, Catalog catalog, std::unique_ptr<Analyzer> analyzer)
      : data_dir_(std::move(data_dir)), catalog_(std::move(catalog)), analyzer_(std::move(analyzer)) {}
  std::string data_dir_;
  Catalog catalog_;
  std::unique_ptr<Analyzer> analyzer_;
};

}  // namespace dv::kb
