#pragma once
// The health probe of a SQLite target (see store/prober.h): the database file must open
// and its first page must read (a locked file that stays locked past the timeout counts
// as a hang). A SQLite file has no server that could die, so WaitForBreak only waits.

#include <sqlite3.h>

#include "store/prober.h"

namespace sluice::store::sqlite {

class SqliteProber : public Prober {
 public:
  SqliteProber(std::string name, std::string path) : name_(std::move(name)), path_(std::move(path)) {}
  ~SqliteProber() override;

  Status Probe(std::chrono::milliseconds timeout) override;
  Status WaitForBreak(std::chrono::milliseconds wait) override;
  bool connected() const override { return db_ != nullptr; }

 private:
  void Close();

  const std::string name_;
  const std::string path_;
  sqlite3* db_ = nullptr;
};

}  // namespace sluice::store::sqlite
