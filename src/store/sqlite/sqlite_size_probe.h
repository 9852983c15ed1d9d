#pragma once
// The size probe of a SQLite target (store/size_probe.h): the file sizes from stat, and
// count(*) on a read-only connection of its own.
//
// Thread safety: one thread at a time.

#include <sqlite3.h>

#include "store/size_probe.h"

namespace sluice::store::sqlite {

class SqliteSizeProbe : public SizeProbe {
 public:
  SqliteSizeProbe(std::string name, std::string path)
      : name_(std::move(name)), path_(std::move(path)) {}
  ~SqliteSizeProbe() override;

  Result<DatabaseSize> MeasureDatabase(std::chrono::milliseconds timeout) override;
  Result<uint64_t> CountRows(const std::string& table, std::chrono::milliseconds timeout) override;

 private:
  void Close();

  const std::string name_;
  const std::string path_;
  sqlite3* db_ = nullptr;
};

}  // namespace sluice::store::sqlite
