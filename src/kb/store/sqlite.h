// A small RAII wrapper over SQLite: one connection (Database), prepared statements (Statement),
// and scoped transactions (Transaction). Every failure becomes a dv::Status carrying SQLite's
// message and the statement text.
//
// Thread safety: a Database and its Statements belong to one thread at a time (SQLite is built
// serialized, but sharing a connection would interleave transactions). Open one connection per
// thread instead.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "deepvault/status.h"

namespace dv::kb::sql {

class Statement;

class Database {
 public:
  // Opens (creating when absent) the database file at `path` in WAL mode with foreign keys on,
  // synchronous=FULL and a 5 s busy timeout. ":memory:" opens a private in-memory database.
  static Result<Database> Open(const std::string& path);

  Database() = default;
  ~Database();
  Database(Database&& other) noexcept;
  Database& operator=(Database&& other) noexcept;
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Runs one or more statements without results (DDL, PRAGMA, BEGIN/COMMIT).
  Status Exec(std::string_view sql);
  Result<Statement> Prepare(std::string_view sql);
  int64_t LastInsertRowId() const;
  int Changes() const;
  sqlite3* handle() const { return db_; }
  const std::string& path() const { return path_; }

 private:
  sqlite3* db_ = nullptr;
  std::string path_;
};

// A prepared statement. Bind parameters are 1-based as in SQLite; columns are 0-based.
class Statement {
 public:
  Statement() = default;
  ~Statement();
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& Bind(int index, int64_t value);
  Statement& Bind(int index, int value) { return Bind(index, static_cast<int64_t>(value)); }
  Statement& Bind(int index, double value);
  Statement& Bind(int index, std::string_view text);  // copied (SQLITE_TRANSIENT)
  Statement& Bind(int index, const char* text) { return Bind(index, std::string_view(text)); }
  Statement& BindBlob(int index, std::string_view bytes);
  Statement& BindNull(int index);

  // Advances: true when a row is available, false when done. Errors (including a failed Bind
  // above) are returned here.
  Result<bool> Step();
  // Steps to completion, discarding rows; then resets for reuse.
  Status Run();
  // Resets the statement and clears bindings so it can be reused.
  void Reset();

  int64_t ColumnInt(int col) const;
  double ColumnDouble(int col) const;
  std::string ColumnText(int col) const;
  bool ColumnIsNull(int col) const;

 private:
  friend class Database;
  Statement(sqlite3_stmt* stmt, sqlite3* db) : stmt_(stmt), db_(db) {}
  Status Error(int rc) const;

  sqlite3_stmt* stmt_ = nullptr;
  sqlite3* db_ = nullptr;
  int bind_error_ = SQLITE_OK;
};

// BEGIN IMMEDIATE on construction (through Begin()); ROLLBACK on destruction unless Commit()ed.
class Transaction {
 public:
  static Result<Transaction> Begin(Database& db);
  ~Transaction();
  Transaction(Transaction&& other) noexcept : db_(other.db_) { other.db_ = nullptr; }
  Transaction& operator=(Transaction&&) = delete;
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  Status Commit();

 private:
  explicit Transaction(Database* db) : db_(db) {}
  Database* db_ = nullptr;
};

// One schema migration: `sql` brings the schema from version `to_version - 1` to `to_version`.
struct Migration {
  int to_version;
  const char* sql;
};

// Reads PRAGMA user_version and applies every migration above it, each in its own transaction
// together with the version bump. A database whose version is newer than the newest migration is
// refused (written by a newer deepvault). REQUIRES: migrations sorted, versions 1, 2, 3, ...
Status Migrate(Database& db, const Migration* migrations, size_t count, std::string_view what);
Result<int> SchemaVersion(Database& db);

}  // namespace dv::kb::sql
