#include "kb/store/catalog.h"

#include <ctime>

#include "common/utf8.h"

namespace dv::kb {

namespace {

// v1: organisations, departments, KBs; a personal KB names its owner in kbs.owner.
// v2: users become rows of their own; kbs.owner_user_id replaces the owner name.
const sql::Migration kMigrations[] = {
    {1, R"sql(
CREATE TABLE organisations (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL
);
CREATE TABLE departments (
  id INTEGER PRIMARY KEY,
  organisation_id INTEGER NOT NULL REFERENCES organisations(id),
  name TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  UNIQUE (organisation_id, name)
);
CREATE TABLE kbs (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  department_id INTEGER REFERENCES departments(id),
  owner TEXT,
  created_at INTEGER NOT NULL,
  CHECK ((department_id IS NULL) <> (owner IS NULL))
);
)sql"},
    {2, R"sql(
CREATE TABLE users (
  id INTEGER PRIMARY KEY,
  organisation_id INTEGER NOT NULL REFERENCES organisations(id),
  name TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL
);
INSERT INTO organisations (name, created_at)
  SELECT 'default', strftime('%s','now') WHERE NOT EXISTS (SELECT 1 FROM organisations);
INSERT INTO users (organisation_id, name, created_at)
  SELECT (SELECT min(id) FROM organisations), owner, min(created_at)
  FROM kbs WHERE owner IS NOT NULL GROUP BY owner;
CREATE TABLE kbs_v2 (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  department_id INTEGER REFERENCES departments(id),
  owner_user_id INTEGER REFERENCES users(id),
  created_at INTEGER NOT NULL,
  CHECK ((department_id IS NULL) <> (owner_user_id IS NULL))
);
INSERT INTO kbs_v2 (id, name, department_id, owner_user_id, created_at)
  SELECT k.id, k.name, k.department_id, u.id, k.created_at
  FROM kbs k LEFT JOIN users u ON u.name = k.owner;
DROP TABLE kbs;
ALTER TABLE kbs_v2 RENAME TO kbs;
)sql"},
};

int64_t Now() { return static_cast<int64_t>(std::time(nullptr)); }

constexpr const char* kSelectKb = R"sql(
SELECT k.id, k.name, coalesce(o1.name, o2.name, ''), coalesce(d.name, ''), coalesce(u.name, ''),
       k.department_id, k.owner_user_id, k.created_at
FROM kbs k
LEFT JOIN departments d ON d.id = k.department_id
LEFT JOIN organisations o1 ON o1.id = d.organisation_id
LEFT JOIN users u ON u.id = k.owner_user_id
LEFT JOIN organisations o2 ON o2.id = u.organisation_id
)sql";

KbInfo ReadKb(const sql::Statement& st) {
  KbInfo kb;
  kb.id = st.ColumnInt(0);
  kb.name = st.ColumnText(1);
  kb.organisation = st.ColumnText(2);
  kb.department = st.ColumnText(3);
  kb.owner = st.ColumnText(4);
  kb.shard = st.ColumnIsNull(5) ? "user-" + std::to_string(st.ColumnInt(6))
                                : "dept-" + std::to_string(st.ColumnInt(5));
  kb.created_at = st.ColumnInt(7);
  return kb;
}

}  // namespace

const sql::Migration* CatalogMigrations(size_t* count) {
  *count = sizeof(kMigrations) / sizeof(kMigrations[0]);
  return kMigrations;
}

Status ValidateName(std::string_view kind, std::string_view name) {
  std::string what(kind);
  if (name.empty()) return InvalidArgument(what + " name is empty");
  if (name.size() > 100) return InvalidArgument(what + " name is longer than 100 bytes");
  if (!utf8::IsValid(name)) return InvalidArgument(what + " name is not valid UTF-8");
  if (name[0] == '.' || name[0] == '-') {
    return InvalidArgument(what + " name \"" + std::string(name) + "\" must not start with '.' or '-'");
  }
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f || c == '/' || c == '\\') {
      return InvalidArgument(what + " name \"" + utf8::Sanitize(name) +
                             "\" contains a control character, '/' or '\\'");
    }
  }
  return Status::Ok();
}

Result<Catalog> Catalog::Open(const std::string& path) {
  DV_ASSIGN_OR_RETURN(sql::Database db, sql::Database::Open(path));
  size_t count = 0;
  const sql::Migration* migrations = CatalogMigrations(&count);
  DV_RETURN_IF_ERROR(sql::Migrate(db, migrations, count, "catalog"));
  DV_RETURN_IF_ERROR(db.Exec(
      "INSERT INTO organisations (name, created_at) SELECT 'default', strftime('%s','now') "
      "WHERE NOT EXISTS (SELECT 1 FROM organisations)"));
  return Catalog(std::move(db));
}

Result<int64_t> Catalog::EnsureDepartment(const std::string& department) {
  DV_RETURN_IF_ERROR(ValidateName("department", department));
  DV_ASSIGN_OR_RETURN(sql::Statement ins, db_.Prepare(
      "INSERT OR IGNORE INTO departments (organisation_id, name, created_at) "
      "VALUES ((SELECT min(id) FROM organisations), ?, ?)"));
  DV_RETURN_IF_ERROR(ins.Bind(1, department).Bind(2, Now()).Run());
  DV_ASSIGN_OR_RETURN(sql::Statement sel, db_.Prepare(
      "SELECT id FROM departments WHERE name = ? AND organisation_id = (SELECT min(id) FROM organisations)"));
  sel.Bind(1, department);
  DV_ASSIGN_OR_RETURN(bool row, sel.Step());
  if (!row) return Internal("department " + department + " vanished after insert");
  return sel.ColumnInt(0);
}

Result<int64_t> Catalog::EnsureUser(const std::string& user) {
  DV_RETURN_IF_ERROR(ValidateName("user", user));
  DV_ASSIGN_OR_RETURN(sql::Statement ins, db_.Prepare(
      "INSERT OR IGNORE INTO users (organisation_id, name, created_at) "
      "VALUES ((SELECT min(id) FROM organisations), ?, ?)"));
  DV_RETURN_IF_ERROR(ins.Bind(1, user).Bind(2, Now()).Run());
  DV_ASSIGN_OR_RETURN(sql::Statement sel, db_.Prepare("SELECT id FROM users WHERE name = ?"));
  sel.Bind(1, user);
  DV_ASSIGN_OR_RETURN(bool row, sel.Step());
  if (!row) return Internal("user " + user + " vanished after insert");
  return sel.ColumnInt(0);
}

Result<KbInfo> Catalog::CreateKb(const std::string& name, const std::string& department,
                                 const std::string& owner) {
  DV_RETURN_IF_ERROR(ValidateName("knowledge base", name));
  if (department.empty() == owner.empty()) {
    return InvalidArgument("a knowledge base belongs to exactly one department or one user");
  }
  DV_ASSIGN_OR_RETURN(sql::Transaction txn, sql::Transaction::Begin(db_));
  {
    DV_ASSIGN_OR_RETURN(sql::Statement exists, db_.Prepare("SELECT 1 FROM kbs WHERE name = ?"));
    exists.Bind(1, name);
    DV_ASSIGN_OR_RETURN(bool row, exists.Step());
    if (row) return AlreadyExists("knowledge base \"" + name + "\" already exists");
  }
  DV_ASSIGN_OR_RETURN(sql::Statement ins, db_.Prepare(
      "INSERT INTO kbs (name, department_id, owner_user_id, created_at) VALUES (?, ?, ?, ?)"));
  ins.Bind(1, name).Bind(4, Now());
  if (!department.empty()) {
    DV_ASSIGN_OR_RETURN(int64_t dept, EnsureDepartment(department));
    ins.Bind(2, dept).BindNull(3);
  } else {
    DV_ASSIGN_OR_RETURN(int64_t user, EnsureUser(owner));
    ins.BindNull(2).Bind(3, user);
  }
  DV_RETURN_IF_ERROR(ins.Run());
  DV_RETURN_IF_ERROR(txn.Commit());
  return FindKb(name);
}

Result<KbInfo> Catalog::FindKb(const std::string& name) {
  DV_ASSIGN_OR_RETURN(sql::Statement st, db_.Prepare(std::string(kSelectKb) + " WHERE k.name = ?"));
  st.Bind(1, name);
  DV_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return NotFound("no knowledge base named \"" + utf8::Sanitize(name) + "\"");
  return ReadKb(st);
}

Result<std::vector<KbInfo>> Catalog::ListKbs() {
  DV_ASSIGN_OR_RETURN(sql::Statement st, db_.Prepare(std::string(kSelectKb) + " ORDER BY k.name"));
  std::vector<KbInfo> out;
  for (;;) {
    DV_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out.push_back(ReadKb(st));
  }
  return out;
}

Status Catalog::DeleteKb(const std::string& name) {
  DV_ASSIGN_OR_RETURN(sql::Statement st, db_.Prepare("DELETE FROM kbs WHERE name = ?"));
  DV_RETURN_IF_ERROR(st.Bind(1, name).Run());
  if (db_.Changes() == 0) return NotFound("no knowledge base named \"" + utf8::Sanitize(name) + "\"");
  return Status::Ok();
}

}  // namespace dv::kb
