#include "kb/store/sqlite.h"

#include <utility>

namespace dv::kb::sql {

namespace {

Status SqliteError(sqlite3* db, int rc, std::string_view context) {
  std::string msg = "sqlite: ";
  msg += db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  if (!context.empty()) {
    msg += " (in: ";
    msg += context.substr(0, 200);
    msg += ")";
  }
  const int primary = rc & 0xff;
  if (primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB) return DataLoss(std::move(msg));
  if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) return Unavailable(std::move(msg));
  if (primary == SQLITE_FULL || primary == SQLITE_NOMEM) return ResourceExhausted(std::move(msg));
  if (primary == SQLITE_CONSTRAINT) return AlreadyExists(std::move(msg));
  if (primary == SQLITE_CANTOPEN || primary == SQLITE_PERM || primary == SQLITE_READONLY) {
    return PermissionDenied(std::move(msg));
  }
  return Internal(std::move(msg));
}

}  // namespace

Result<Database> Database::Open(const std::string& path) {
  Database db;
  db.path_ = path;
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  int rc = sqlite3_open_v2(path.c_str(), &db.db_, flags, nullptr);
  if (rc != SQLITE_OK) {
    Status s = SqliteError(db.db_, rc, "");
    return s.AddContext("opening database " + path);
  }
  sqlite3_extended_result_codes(db.db_, 1);
  sqlite3_busy_timeout(db.db_, 5000);
  DV_RETURN_IF_ERROR(db.Exec(
      "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"));
  // Fail early with a clear error when the file is not a database at all.
  DV_RETURN_IF_ERROR(db.Exec("SELECT count(*) FROM sqlite_schema;"));
  return db;
}

Database::~Database() {
  if (db_ != nullptr) sqlite3_close_v2(db_);
}

Database::Database(Database&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)), path_(std::move(other.path_)) {}

Database& Database::operator=(Database&& other) noexcept {
  if (this != &other) {
    if (db_ != nullptr) sqlite3_close_v2(db_);
    db_ = std::exchange(other.db_, nullptr);
    path_ = std::move(other.path_);
  }
  return *this;
}

Status Database::Exec(std::string_view sql) {
  std::string text(sql);
  char* err = nullptr;
  int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    Status s = SqliteError(db_, rc, text);
    sqlite3_free(err);
    return s;
  }
  return Status::Ok();
}

Result<Statement> Database::Prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
  if (rc != SQLITE_OK) return SqliteError(db_, rc, sql);
  return Statement(stmt, db_);
}

int64_t Database::LastInsertRowId() const { return sqlite3_last_insert_rowid(db_); }
int Database::Changes() const { return sqlite3_changes(db_); }

Statement::~Statement() {
  if (stmt_ != nullptr) sqlite3_finalize(stmt_);
}

Statement::Statement(Statement&& other) noexcept
    : stmt_(std::exchange(other.stmt_, nullptr)), db_(other.db_), bind_error_(other.bind_error_) {}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    if (stmt_ != nullptr) sqlite3_finalize(stmt_);
    stmt_ = std::exchange(other.stmt_, nullptr);
    db_ = other.db_;
    bind_error_ = other.bind_error_;
  }
  return *this;
}

Statement& Statement::Bind(int index, int64_t value) {
  int rc = sqlite3_bind_int64(stmt_, index, value);
  if (rc != SQLITE_OK && bind_error_ == SQLITE_OK) bind_error_ = rc;
  return *this;
}

Statement& Statement::Bind(int index, double value) {
  int rc = sqlite3_bind_double(stmt_, index, value);
  if (rc != SQLITE_OK && bind_error_ == SQLITE_OK) bind_error_ = rc;
  return *this;
}

Statement& Statement::Bind(int index, std::string_view text) {
  int rc = sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  if (rc != SQLITE_OK && bind_error_ == SQLITE_OK) bind_error_ = rc;
  return *this;
}

Statement& Statement::BindBlob(int index, std::string_view bytes) {
  int rc = sqlite3_bind_blob64(stmt_, index, bytes.data(), bytes.size(), SQLITE_TRANSIENT);
  if (rc != SQLITE_OK && bind_error_ == SQLITE_OK) bind_error_ = rc;
  return *this;
}

Statement& Statement::BindNull(int index) {
  int rc = sqlite3_bind_null(stmt_, index);
  if (rc != SQLITE_OK && bind_error_ == SQLITE_OK) bind_error_ = rc;
  return *this;
}

Status Statement::Error(int rc) const {
  const char* sql = sqlite3_sql(stmt_);
  return SqliteError(db_, rc, sql ? sql : "");
}

Result<bool> Statement::Step() {
  if (bind_error_ != SQLITE_OK) return Error(bind_error_);
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  Status s = Error(rc);
  sqlite3_reset(stmt_);
  return s;
}

Status Statement::Run() {
  for (;;) {
    DV_ASSIGN_OR_RETURN(bool row, Step());
    if (!row) break;
  }
  Reset();
  return Status::Ok();
}

void Statement::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  bind_error_ = SQLITE_OK;
}

int64_t Statement::ColumnInt(int col) const { return sqlite3_column_int64(stmt_, col); }
double Statement::ColumnDouble(int col) const { return sqlite3_column_double(stmt_, col); }
bool Statement::ColumnIsNull(int col) const {
  return sqlite3_column_type(stmt_, col) == SQLITE_NULL;
}
std::string Statement::ColumnText(int col) const {
  const unsigned char* p = sqlite3_column_text(stmt_, col);
  int n = sqlite3_column_bytes(stmt_, col);
  return p ? std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(n)) : std::string();
}

Result<Transaction> Transaction::Begin(Database& db) {
  DV_RETURN_IF_ERROR(db.Exec("BEGIN IMMEDIATE"));
  return Transaction(&db);
}

Transaction::~Transaction() {
  if (db_ != nullptr) db_->Exec("ROLLBACK").IgnoreError();
}

Status Transaction::Commit() {
  if (db_ == nullptr) return FailedPrecondition("transaction already finished");
  Database* db = std::exchange(db_, nullptr);
  Status s = db->Exec("COMMIT");
  if (!s.ok()) db->Exec("ROLLBACK").IgnoreError();
  return s;
}

Result<int> SchemaVersion(Database& db) {
  DV_ASSIGN_OR_RETURN(Statement st, db.Prepare("PRAGMA user_version"));
  DV_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return Internal("PRAGMA user_version returned no row");
  return static_cast<int>(st.ColumnInt(0));
}

Status Migrate(Database& db, const Migration* migrations, size_t count, std::string_view what) {
  DV_ASSIGN_OR_RETURN(int version, SchemaVersion(db));
  const int newest = count == 0 ? 0 : migrations[count - 1].to_version;
  if (version > newest) {
    return FailedPrecondition(std::string(what) + " " + db.path() + " has schema version " +
                              std::to_string(version) + ", newer than this deepvault supports (" +
                              std::to_string(newest) + ")");
  }
  for (size_t i = 0; i < count; ++i) {
    const Migration& m = migrations[i];
    if (m.to_version <= version) continue;
    DV_ASSIGN_OR_RETURN(Transaction txn, Transaction::Begin(db));
    Status s = db.Exec(m.sql);
    if (s.ok()) s = db.Exec("PRAGMA user_version=" + std::to_string(m.to_version));
    if (s.ok()) s = txn.Commit();
    if (!s.ok()) {
      return s.AddContext("migrating " + std::string(what) + " to schema version " +
                          std::to_string(m.to_version));
    }
    version = m.to_version;
  }
  return Status::Ok();
}

}  // namespace dv::kb::sql
