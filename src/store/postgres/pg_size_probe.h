#pragma once
// The size probe of a PostgreSQL target (store/size_probe.h): a session of its own
// (application_name "sluice-size-probe") whose statement_timeout and waits are the
// probe's timeout, so a slow catalogue query is cancelled by the server and never
// holds the caller longer.
//
// Thread safety: one thread at a time.

#include <memory>

#include "store/postgres/pg_conn.h"
#include "store/size_probe.h"

namespace sluice::store::postgres {

class PgSizeProbe : public SizeProbe {
 public:
  PgSizeProbe(std::string name, std::string conninfo)
      : name_(std::move(name)), conninfo_(std::move(conninfo)) {}

  Result<DatabaseSize> MeasureDatabase(std::chrono::milliseconds timeout) override;
  Result<uint64_t> CountRows(const std::string& table, std::chrono::milliseconds timeout) override;

 private:
  // Connects when there is no session or its timeout differs.
  Status Connect(std::chrono::milliseconds timeout);
  // Runs `sql` with `params`; drops the session on failure (the next call reconnects).
  Result<PgResult> Run(std::string_view sql, const Params& params, std::string_view context);

  const std::string name_;
  const std::string conninfo_;
  std::unique_ptr<PgConn> conn_;
  std::chrono::milliseconds timeout_{0};  // of the current session
};

}  // namespace sluice::store::postgres
