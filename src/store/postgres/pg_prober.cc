#include "store/postgres/pg_prober.h"

#include <poll.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include <fmt/format.h>

namespace sluice::store::postgres {

Status PgProber::Probe(std::chrono::milliseconds timeout) {
  if (conn_ != nullptr && timeout != timeout_) conn_.reset();  // bounds are per connection
  if (conn_ == nullptr) {
    ConnOptions o;
    o.conninfo = conninfo_;
    o.application_name = "sluice-probe";
    o.connect_timeout = timeout;
    o.io_timeout = timeout;
    // A black-holed connection is noticed by the probe's own timeout; these only keep the
    // kernel from holding a dead session for long.
    o.keepalives_idle_s = 1;
    o.keepalives_interval_s = 1;
    o.keepalives_count = 2;
    o.tcp_user_timeout_ms = static_cast<int>(std::max<int64_t>(1000, timeout.count()));
    auto conn = PgConn::Open(o, name_);
    if (!conn.ok()) {
      // libpq rounds connect_timeout up to whole seconds; the connection's own wait is
      // ours. Tell a hang (no answer) from a refusal.
      return conn.status();
    }
    conn_ = std::move(conn).value();
    timeout_ = timeout;
  }
  // Answering is not enough: a server that went read-only (a standby, e.g. a former
  // primary after an external failover) cannot serve as a target. Same round trip.
  auto r = conn_->Exec("SELECT current_setting('transaction_read_only')", "health probe");
  if (!r.ok()) {
    conn_.reset();
    return r.status();
  }
  if (PQntuples(r->get()) == 1 && std::string_view(PQgetvalue(r->get(), 0, 0)) == "on") {
    conn_.reset();
    return Status::Unavailable(fmt::format(
        "target '{}' is read-only (a standby, or default_transaction_read_only = on): it cannot "
        "take writes",
        name_));
  }
  return Status::OK();
}

Status PgProber::WaitForBreak(std::chrono::milliseconds wait) {
  if (conn_ == nullptr) {
    std::this_thread::sleep_for(wait);
    return Status::OK();
  }
  const auto deadline = std::chrono::steady_clock::now() + wait;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return Status::OK();
    pollfd pfd{PQsocket(conn_->raw()), POLLIN, 0};
    int r = poll(&pfd, 1, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      conn_.reset();
      return Status::Unavailable(fmt::format("target '{}': watching the probe session: {}", name_, std::strerror(errno)));
    }
    if (r == 0) return Status::OK();
    // An idle session only hears from the server when it goes away (FATAL, then EOF) or
    // for a notice; consuming the input tells which.
    if (PQconsumeInput(conn_->raw()) == 0 || PQstatus(conn_->raw()) != CONNECTION_OK) {
      // libpq's message spans lines ("server closed the connection unexpectedly\n\tThis
      // probably means ..."): one line for the log.
      std::string why;
      for (char c : std::string_view(PQerrorMessage(conn_->raw()))) {
        if (c == '\n' || c == '\t') c = ' ';
        if (c != ' ' || (!why.empty() && why.back() != ' ')) why += c;
      }
      while (!why.empty() && why.back() == ' ') why.pop_back();
      conn_.reset();
      return Status::Unavailable(fmt::format("target '{}': the probe session broke: {}", name_, why));
    }
    while (PGnotify* n = PQnotifies(conn_->raw())) PQfreemem(n);
  }
}

}  // namespace sluice::store::postgres
