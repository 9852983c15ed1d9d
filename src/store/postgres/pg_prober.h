#pragma once
// The health probe of a PostgreSQL target (see store/prober.h): `SELECT
// current_setting('transaction_read_only')` on a session of its own, with connect and I/O
// bounded by the probe's timeout. A server that answers but is read-only (a standby, e.g.
// a former primary after an external failover) fails the probe: it cannot serve as a
// target. Between probes the idle session's socket is watched, so a server that dies is
// noticed at once. A dying server says so before it closes the session: when the
// postmaster dies, the orphaned backend sends its idle client FATAL 57P01 ("terminating
// connection due to unexpected postmaster exit") and only then exits, which under load
// took 60 ms more. The watch acts on the FATAL itself, not on the close.

#include <memory>

#include "store/postgres/pg_conn.h"
#include "store/prober.h"

namespace sluice::store::postgres {

class PgProber : public Prober {
 public:
  PgProber(std::string name, std::string conninfo) : name_(std::move(name)), conninfo_(std::move(conninfo)) {}

  Status Probe(std::chrono::milliseconds timeout) override;
  Status WaitForBreak(std::chrono::milliseconds wait) override;
  bool connected() const override { return conn_ != nullptr; }
  void Interrupt() override { interrupted_ = true; }

 private:
  const std::string name_;
  const std::string conninfo_;
  std::atomic<bool> interrupted_{false};
  std::unique_ptr<PgConn> conn_;
  std::chrono::milliseconds timeout_{0};  // of the current connection
  // The FATAL (or PANIC) the server sent the idle session, "" when none: set by
  // OnNotice while libpq parses input.
  std::string fatal_;
  PQnoticeReceiver next_receiver_ = nullptr;

  static void OnNotice(void* self, const PGresult* res);
};

}  // namespace sluice::store::postgres
