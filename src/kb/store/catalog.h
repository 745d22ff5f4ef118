// The catalog: organisations, departments, knowledge bases and users. One small SQLite database
// (<data_dir>/kb/catalog.db); the documents themselves live in shards (shard.h), one per
// department and one per owner of personal KBs.
//
// Thread safety: a Catalog is one SQLite connection; use it from one thread at a time.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "deepvault/status.h"
#include "kb/store/sqlite.h"

namespace dv::kb {

struct KbInfo {
  int64_t id = 0;
  std::string name;
  std::string organisation;
  std::string department;  // empty for a personal KB
  std::string owner;       // user name of a personal KB; empty for a department KB
  std::string shard;       // shard directory name: "dept-<id>" or "user-<id>"
  int64_t created_at = 0;  // Unix seconds
};

// A KB, department, organisation or user name: 1..100 bytes of valid UTF-8, no control
// characters, no '/' or '\\', not starting with '.' or '-'.
Status ValidateName(std::string_view kind, std::string_view name);

class Catalog {
 public:
  // Opens or creates the catalog at `path` and migrates it to the newest schema. The default
  // organisation "default" exists after the first open.
  static Result<Catalog> Open(const std::string& path);

  // Creates a KB in `department` (created on demand in the default organisation) or, when `owner`
  // is non-empty, a personal KB of that user (created on demand). Exactly one of the two must be
  // given. AlreadyExists when the name is taken.
  Result<KbInfo> CreateKb(const std::string& name, const std::string& department,
                          const std::string& owner);
  Result<KbInfo> FindKb(const std::string& name);
  Result<std::vector<KbInfo>> ListKbs();
  // Removes the KB row. The caller removes its documents from the shard first.
  Status DeleteKb(const std::string& name);

  sql::Database& db() { return db_; }

  static constexpr int kSchemaVersion = 2;

 private:
  explicit Catalog(sql::Database db) : db_(std::move(db)) {}
  Result<int64_t> EnsureDepartment(const std::string& department);
  Result<int64_t> EnsureUser(const std::string& user);
  sql::Database db_;
};

// The catalog migrations, exposed so tests can build a database at an older version.
const sql::Migration* CatalogMigrations(size_t* count);

}  // namespace dv::kb
