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
    o.interrupt = &interrupted_;
    auto conn = PgConn::Open(o, name_);
    if (!conn.ok()) {
      // libpq rounds connect_timeout up to whole seconds; the connection's own wait is
      // ours. Tell a hang (no answer) from a refusal.
      return conn.status();
    }
    conn_ = std::move(conn).value();
    timeout_ = timeout;
    fatal_.clear();
    // libpq hands an ErrorResponse that arrives on an idle session to the notice
    // receiver, not to the caller: ours notes a FATAL, then passes it on to the default
    // receiver (which ignores its argument and calls PgConn's notice processor: the log).
    next_receiver_ = PQsetNoticeReceiver(conn_->raw(), &PgProber::OnNotice, this);
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

void PgProber::OnNotice(void* self, const PGresult* res) {
  auto* p = static_cast<PgProber*>(self);
  const char* severity = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
  if (severity != nullptr && (std::strcmp(severity, "FATAL") == 0 || std::strcmp(severity, "PANIC") == 0) &&
      p->fatal_.empty()) {
    const char* message = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    const char* sqlstate = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    p->fatal_ = fmt::format("{}: {} (SQLSTATE {})", severity, message ? message : "?", sqlstate ? sqlstate : "?");
  }
  if (p->next_receiver_ != nullptr) p->next_receiver_(nullptr, res);
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
    if (interrupted_) return Status::OK();  // stopping: the caller looks no further
    pollfd pfd{PQsocket(conn_->raw()), POLLIN, 0};
    int r = poll(&pfd, 1, static_cast<int>(std::min<int64_t>(left.count(), kInterruptPoll.count())));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      conn_.reset();
      return Status::Unavailable(fmt::format("target '{}': watching the probe session: {}", name_, std::strerror(errno)));
    }
    if (r == 0) return Status::OK();
    // An idle session only hears from the server when it goes away (FATAL, then EOF) or
    // for a notice; consuming and parsing the input tells which.
    const bool read = PQconsumeInput(conn_->raw()) != 0;
    while (PGnotify* n = PQnotifies(conn_->raw())) PQfreemem(n);
    if (!fatal_.empty()) {
      // The backend is ending the session (its server is dying, or an administrator
      // terminated it): no need to wait until its socket closes. The monitor's reconnect
      // tells which.
      std::string why = std::move(fatal_);
      conn_.reset();
      return Status::Unavailable(fmt::format("target '{}': the server is ending the probe session: {}", name_, why));
    }
    if (!read || PQstatus(conn_->raw()) != CONNECTION_OK) {
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
  }
}

}  // namespace sluice::store::postgres
