#pragma once
// Internal to the PostgreSQL backend: one libpq connection in non-blocking mode, where
// every wait is bounded, and the classification of PostgreSQL errors into Status.
//
// Why non-blocking: a server that is black-holed (network gone, host frozen, process
// SIGSTOPped) must never hang an applier thread. Keepalives and tcp_user_timeout cover
// a dead TCP peer; a frozen server on a live host (or a Unix socket) is only caught by
// bounding our own waits, so every send and every wait for a result polls the socket
// with `io_timeout`. A wait that times out leaves the protocol state unknown: the
// connection is marked broken and must be dropped (the caller reconnects).
//
// Error classification (by SQLSTATE):
//   retryable (a condition of the target; reconnect and retry the same batch):
//     class 08 (connection), 57P01/57P02/57P03/57P04 (shutdown, crash, cannot connect
//     now, database dropped), 57014 (query canceled), class 40 except 40002
//     (serialization failure 40001, deadlock 40P01, ...), class 53 (disk full 53100,
//     out of memory 53200, too many connections 53300), 55P03/55006 (lock not
//     available, object in use), class 58 (system/I/O error), class XX (internal
//     error, data or index corrupted: the target is damaged, not the record), a lost
//     connection or a timeout, and anything not listed below.
//   permanent (the record is wrong for this target; it goes to the error log):
//     classes 0A (feature not supported), 21, 22 (data), 23 (constraint; but see
//     IsMissingPartition), 25 (invalid transaction state), 26, 27, 2B, 2D, 2F, 34, 38,
//     39, 3B, 3F, 42 (syntax, undefined table/column, privilege), 44, 54 (program limit:
//     row or value too big), P0 (raised by PL/pgSQL).
// Every message names the target, says what was being done, and carries the server's
// message and SQLSTATE: "target 'pg1': lsn 17 (sql): syntax error at or near "SELEC"
// (SQLSTATE 42601)".
//
// Thread safety: a PgConn is used by one thread at a time.

#include <libpq-fe.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace sluice::store::postgres {

struct PgResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using PgResult = std::unique_ptr<PGresult, PgResultDeleter>;

// Type OIDs of the parameters we bind (pg_type.h is not part of libpq's API).
inline constexpr Oid kBoolOid = 16;
inline constexpr Oid kByteaOid = 17;
inline constexpr Oid kInt8Oid = 20;
inline constexpr Oid kTextOid = 25;
inline constexpr Oid kFloat8Oid = 701;

// The Status for an error with `sqlstate` (five characters; empty when libpq made the
// error itself), whose message is already complete.
Status ClassifySqlState(std::string_view sqlstate, std::string message);
// True for the 23514 PostgreSQL raises when a row fits no partition of a partitioned
// table (unlike a CHECK violation, it names no constraint): create the partition and
// retry, never an error-log entry.
bool IsMissingPartition(const PGresult* res);
// SQLSTATE of an error result, "" when there is none.
std::string_view SqlState(const PGresult* res);

struct ConnOptions {
  std::string conninfo;  // the target's libpq conninfo or URI; its settings win
  std::string application_name;
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds io_timeout{10'000};
  int keepalives_idle_s = 5;
  int keepalives_interval_s = 2;
  int keepalives_count = 3;
  int tcp_user_timeout_ms = 10'000;
  // When set: once it turns true, a wait in progress (connect, send, result) ends within
  // kInterruptPoll and every later one at once, with a retryable error. For a stop that
  // must not wait out the timeouts above on a server that does not answer. Not owned;
  // outlives the connection.
  const std::atomic<bool>* interrupt = nullptr;
};

// How often a wait looks at ConnOptions::interrupt.
inline constexpr std::chrono::milliseconds kInterruptPoll{50};

// Parameters of one statement, in libpq's layout. Values point into storage the caller
// keeps alive until the statement has been sent.
struct Params {
  std::vector<Oid> types;
  std::vector<const char*> values;
  std::vector<int> lengths;
  std::vector<int> formats;
  int size() const { return static_cast<int>(values.size()); }
  // Appends a parameter of `type` in text format. `value` must outlive the Params.
  void Add(Oid type, const std::string& value) {
    types.push_back(type);
    values.push_back(value.c_str());
    lengths.push_back(static_cast<int>(value.size()));
    formats.push_back(0);
  }
};

// One statement of a pipeline: a named prepared statement (`prepared` set) or a text
// sent with the extended protocol.
struct PipelineStep {
  const char* text_or_name = nullptr;
  const Params* params = nullptr;  // none when null
  bool prepared = false;
};

class PgConn {
 public:
  // Connects without blocking longer than connect_timeout (and no longer than
  // io_timeout per wait). Every failure is retryable: the server may come back.
  static Result<std::unique_ptr<PgConn>> Open(const ConnOptions& options, std::string target);
  ~PgConn();
  PgConn(const PgConn&) = delete;
  PgConn& operator=(const PgConn&) = delete;

  PGconn* raw() { return conn_; }
  const std::string& target() const { return target_; }
  // Set after a lost connection or a timeout: the connection must be dropped.
  bool broken() const { return broken_ || PQstatus(conn_) != CONNECTION_OK; }

  // Runs `sql` (one or more statements, simple protocol) and waits for every result.
  // Returns the last result (PGRES_TUPLES_OK or PGRES_COMMAND_OK) or the first error,
  // classified, with `context` in its message.
  Result<PgResult> Exec(std::string_view sql, std::string_view context);
  // One statement with parameters (extended protocol, unnamed statement). Its rows come
  // in text form, or in binary form with `binary_result` (the types' wire forms).
  Result<PgResult> ExecParams(std::string_view sql, const Params& params, std::string_view context,
                              bool binary_result = false);

  // Runs `steps` in one pipeline: one round trip for all of them. Returns the last result
  // of each step, or the first error (later steps are then skipped by the server).
  Result<std::vector<PgResult>> RunPipeline(std::span<const PipelineStep> steps,
                                            std::string_view context);

  // Lower-level steps, for COPY and pipelines. Each bounded by io_timeout.
  Status Flush(std::string_view context);
  // Next result of the current command; nullptr when it has no more.
  Result<PgResult> NextResult(std::string_view context);
  // Reads results up to and including the end of the current command; returns the first
  // error among them (classified) or the last result.
  Result<PgResult> DrainResults(std::string_view context);
  Status PutCopyData(const char* data, size_t size, std::string_view context);
  // Ends COPY IN (`error` non-null aborts it) and returns the COPY's result.
  Result<PgResult> EndCopy(const char* error, std::string_view context);

  // The classified Status of an error result (or of the connection when `res` is null).
  // Marks the connection broken when it is lost.
  Status ErrorStatus(const PGresult* res, std::string_view context);
  // Marks the connection broken and returns a retryable status naming `context`.
  Status Broken(std::string_view context, std::string_view why);

  // 'literal' quoted for this connection (standard_conforming_strings aware).
  std::string Literal(std::string_view value);

  std::chrono::milliseconds io_timeout() const { return io_timeout_; }

  // True when an error since the last call was a row for a missing partition (see
  // IsMissingPartition); clears the flag.
  bool TakeMissingPartition() { return std::exchange(missing_partition_, false); }
  // SQLSTATE of the last error ErrorStatus() classified ("" for a lost connection).
  const std::string& last_sqlstate() const { return last_sqlstate_; }

 private:
  PgConn(PGconn* conn, std::string target, std::chrono::milliseconds io_timeout,
         const std::atomic<bool>* interrupt)
      : conn_(conn), target_(std::move(target)), io_timeout_(io_timeout), interrupt_(interrupt) {}
  bool interrupted() const { return interrupt_ != nullptr && interrupt_->load(); }
  // How long one poll() may block: the rest of the wait, or less to look at interrupt_.
  int PollSlice(int64_t left_ms) const;

  // Waits until the socket is readable (or writable when `want_write`) and consumes
  // input; a timeout or a lost connection marks the connection broken.
  Status Wait(bool want_write, std::string_view context);

  PGconn* conn_;
  std::string target_;
  std::chrono::milliseconds io_timeout_;
  const std::atomic<bool>* const interrupt_;
  bool broken_ = false;
  bool missing_partition_ = false;
  std::string last_sqlstate_;
};

}  // namespace sluice::store::postgres
