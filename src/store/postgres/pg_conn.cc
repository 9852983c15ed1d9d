#include "store/postgres/pg_conn.h"

#include <fmt/format.h>
#include <poll.h>

#include <cerrno>
#include <cstring>

#include "common/log.h"

namespace sluice::store::postgres {
namespace {

using Clock = std::chrono::steady_clock;

bool ClassIs(std::string_view sqlstate, std::string_view cls) {
  return sqlstate.size() == 5 && sqlstate.substr(0, 2) == cls;
}

std::string TrimNewlines(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

Status ClassifySqlState(std::string_view sqlstate, std::string message) {
  // Permanent: the statement or its data is wrong for this target.
  static constexpr std::string_view kPermanentClasses[] = {"0A", "21", "22", "23", "25", "26", "27",
                                                           "2B", "2D", "2F", "34", "38", "39", "3B",
                                                           "3F", "42", "44", "54", "P0"};
  if (sqlstate == "40002") {  // transaction integrity constraint violation
    return Status::InvalidArgument(std::move(message));
  }
  for (std::string_view cls : kPermanentClasses) {
    if (!ClassIs(sqlstate, cls)) continue;
    if (sqlstate == "23505") return Status::AlreadyExists(std::move(message));
    if (sqlstate == "22003" || cls == "54") return Status::OutOfRange(std::move(message));
    if (sqlstate == "42501") return Status::PermissionDenied(std::move(message));
    return Status::InvalidArgument(std::move(message));
  }
  // Retryable: conditions of the target, never a reason to skip a record.
  if (ClassIs(sqlstate, "53")) return Status::ResourceExhausted(std::move(message));
  if (ClassIs(sqlstate, "40")) return Status::Aborted(std::move(message));
  if (sqlstate == "57014") return Status::DeadlineExceeded(std::move(message));
  if (sqlstate == "XX001" || sqlstate == "XX002") {
    return Status(Code::kCorruption, std::move(message), /*retryable=*/true);
  }
  // Class 08, 57P0x, 55P03, 55006, 58, XX and anything unknown.
  return Status::Unavailable(std::move(message));
}

std::string_view SqlState(const PGresult* res) {
  const char* s = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  return s ? std::string_view(s) : std::string_view();
}

bool IsMissingPartition(const PGresult* res) {
  return SqlState(res) == "23514" && PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME) == nullptr;
}

Result<std::unique_ptr<PgConn>> PgConn::Open(const ConnOptions& options, std::string target) {
  const auto ms = [](auto d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d); };
  // Our defaults first, the target's conninfo (expanded from `dbname`) last: its
  // settings win (libpq keeps the last value of a repeated keyword).
  const std::string connect_timeout_s =
      std::to_string(std::max<int64_t>(2, (ms(options.connect_timeout).count() + 999) / 1000));
  const std::string values_storage[] = {
      connect_timeout_s,
      "1",
      std::to_string(options.keepalives_idle_s),
      std::to_string(options.keepalives_interval_s),
      std::to_string(options.keepalives_count),
      std::to_string(options.tcp_user_timeout_ms),
      options.application_name,
      "UTF8",
      options.conninfo,
  };
  const char* keywords[] = {"connect_timeout",  "keepalives",
                            "keepalives_idle",  "keepalives_interval",
                            "keepalives_count", "tcp_user_timeout",
                            "application_name", "client_encoding",
                            "dbname",           nullptr};
  const char* values[std::size(values_storage) + 1];
  for (size_t i = 0; i < std::size(values_storage); ++i) values[i] = values_storage[i].c_str();
  values[std::size(values_storage)] = nullptr;

  PGconn* raw = PQconnectStartParams(keywords, values, /*expand_dbname=*/1);
  if (raw == nullptr) {
    return Status::ResourceExhausted(fmt::format("target '{}': connecting: out of memory", target));
  }
  std::unique_ptr<PgConn> conn(new PgConn(raw, std::move(target), options.io_timeout, options.interrupt));
  const auto fail = [&](std::string_view why) {
    return Status::Unavailable(
        fmt::format("target '{}': connecting: {}", conn->target_, TrimNewlines(std::string(why))));
  };
  if (PQstatus(raw) == CONNECTION_BAD) return fail(PQerrorMessage(raw));
  // Server notices (and the FATAL a dying server sends an idle session) go to our log,
  // not to stderr.
  PQsetNoticeProcessor(
      raw,
      [](void* arg, const char* message) {
        SLUICE_LOG_WARN("target '{}': server: {}", static_cast<PgConn*>(arg)->target(),
                        TrimNewlines(message));
      },
      conn.get());

  const auto deadline = Clock::now() + options.connect_timeout;
  PostgresPollingStatusType state = PGRES_POLLING_WRITING;
  while (state != PGRES_POLLING_OK) {
    if (state == PGRES_POLLING_FAILED) return fail(PQerrorMessage(raw));
    const int fd = PQsocket(raw);
    if (fd < 0) return fail(PQerrorMessage(raw));
    const auto left = ms(deadline - Clock::now()).count();
    if (left <= 0) {
      return fail(fmt::format("no answer within {} ms", ms(options.connect_timeout).count()));
    }
    if (conn->interrupted()) return fail("interrupted: stopping");
    pollfd pfd{fd, static_cast<short>(state == PGRES_POLLING_READING ? POLLIN : POLLOUT), 0};
    const int r = poll(&pfd, 1, conn->PollSlice(std::min<int64_t>(left, 1000)));
    if (r < 0 && errno != EINTR) return fail(std::strerror(errno));
    if (r <= 0) continue;
    state = PQconnectPoll(raw);
  }
  if (PQsetnonblocking(raw, 1) != 0) return fail(PQerrorMessage(raw));
  return conn;
}

PgConn::~PgConn() {
  // Non-blocking: PQfinish only queues its goodbye, it never waits on a frozen server.
  PQfinish(conn_);
}

Status PgConn::Broken(std::string_view context, std::string_view why) {
  broken_ = true;
  return Status::Unavailable(
      fmt::format("target '{}': {}: {}", target_, context, TrimNewlines(std::string(why))));
}

int PgConn::PollSlice(int64_t left_ms) const {
  if (interrupt_ != nullptr) left_ms = std::min<int64_t>(left_ms, kInterruptPoll.count());
  return static_cast<int>(left_ms);
}

Status PgConn::Wait(bool want_write, std::string_view context) {
  if (broken()) return Broken(context, PQerrorMessage(conn_));
  const int fd = PQsocket(conn_);
  if (fd < 0) return Broken(context, "no socket");
  const auto deadline = Clock::now() + io_timeout_;
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      broken_ = true;
      return Status::DeadlineExceeded(
          fmt::format("target '{}': {}: no progress from the server within {} ms; connection "
                      "dropped",
                      target_, context, io_timeout_.count()));
    }
    if (interrupted()) return Broken(context, "interrupted: stopping");
    pollfd pfd{fd, static_cast<short>(POLLIN | (want_write ? POLLOUT : 0)), 0};
    const int r = poll(&pfd, 1, PollSlice(left));
    if (r < 0) {
      if (errno == EINTR) continue;
      return Broken(context, std::strerror(errno));
    }
    if (r == 0) continue;
    if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
      if (PQconsumeInput(conn_) == 0) return Broken(context, PQerrorMessage(conn_));
    }
    return Status::OK();
  }
}

Status PgConn::Flush(std::string_view context) {
  for (;;) {
    const int r = PQflush(conn_);
    if (r == 0) return Status::OK();
    if (r < 0) return Broken(context, PQerrorMessage(conn_));
    SLUICE_RETURN_IF_ERROR(Wait(/*want_write=*/true, context));
  }
}

Result<PgResult> PgConn::NextResult(std::string_view context) {
  while (PQisBusy(conn_)) {
    SLUICE_RETURN_IF_ERROR(Wait(/*want_write=*/false, context));
  }
  return PgResult(PQgetResult(conn_));
}

Result<PgResult> PgConn::DrainResults(std::string_view context) {
  Status first_error;
  PgResult last;
  for (;;) {
    SLUICE_ASSIGN_OR_RETURN(PgResult res, NextResult(context));
    if (!res) break;
    switch (PQresultStatus(res.get())) {
      case PGRES_COPY_IN:
        // Only our own COPY statements may run; anything else is refused.
        PQputCopyEnd(conn_, "sluice: unexpected COPY FROM STDIN");
        SLUICE_RETURN_IF_ERROR(Flush(context));
        continue;
      case PGRES_COPY_OUT: {
        char* buf = nullptr;
        int n;
        while ((n = PQgetCopyData(conn_, &buf, /*async=*/1)) >= 0) {
          if (buf) PQfreemem(buf);
          buf = nullptr;
          if (n == 0) SLUICE_RETURN_IF_ERROR(Wait(false, context));
        }
        continue;
      }
      case PGRES_COPY_BOTH:
        return Broken(context, "unexpected COPY BOTH");
      case PGRES_PIPELINE_SYNC:
        return res;  // the end of a pipeline's results: the caller counts them
      case PGRES_PIPELINE_ABORTED:
        if (first_error.ok()) {
          first_error = Status::Aborted(
              fmt::format("target '{}': {}: skipped, an earlier statement of the pipeline failed",
                          target_, context));
        }
        break;
      case PGRES_FATAL_ERROR:
      case PGRES_BAD_RESPONSE:
      case PGRES_NONFATAL_ERROR:
        if (first_error.ok()) first_error = ErrorStatus(res.get(), context);
        break;
      default:
        last = std::move(res);
        break;
    }
    if (broken()) break;
  }
  if (!first_error.ok()) return first_error;
  if (broken()) return Broken(context, PQerrorMessage(conn_));
  return last;
}

Result<PgResult> PgConn::Exec(std::string_view sql, std::string_view context) {
  if (broken()) return Broken(context, "connection lost");
  if (PQsendQuery(conn_, std::string(sql).c_str()) != 1) {
    return Broken(context, PQerrorMessage(conn_));
  }
  SLUICE_RETURN_IF_ERROR(Flush(context));
  return DrainResults(context);
}

Result<PgResult> PgConn::ExecParams(std::string_view sql, const Params& params,
                                    std::string_view context, bool binary_result) {
  if (broken()) return Broken(context, "connection lost");
  if (PQsendQueryParams(conn_, std::string(sql).c_str(), params.size(), params.types.data(),
                        params.values.data(), params.lengths.data(), params.formats.data(),
                        /*resultFormat=*/binary_result ? 1 : 0) != 1) {
    return Broken(context, PQerrorMessage(conn_));
  }
  SLUICE_RETURN_IF_ERROR(Flush(context));
  return DrainResults(context);
}

Result<std::vector<PgResult>> PgConn::RunPipeline(std::span<const PipelineStep> steps,
                                                  std::string_view context) {
  if (broken()) return Broken(context, "connection lost");
  if (PQenterPipelineMode(conn_) != 1) return Broken(context, PQerrorMessage(conn_));
  static const Params kNoParams;
  for (const PipelineStep& step : steps) {
    const Params& p = step.params ? *step.params : kNoParams;
    const int ok = step.prepared
                       ? PQsendQueryPrepared(conn_, step.text_or_name, p.size(), p.values.data(),
                                             p.lengths.data(), p.formats.data(), 0)
                       : PQsendQueryParams(conn_, step.text_or_name, p.size(), p.types.data(),
                                           p.values.data(), p.lengths.data(), p.formats.data(), 0);
    if (ok != 1) return Broken(context, PQerrorMessage(conn_));
  }
  if (PQpipelineSync(conn_) != 1) return Broken(context, PQerrorMessage(conn_));
  SLUICE_RETURN_IF_ERROR(Flush(context));
  std::vector<PgResult> results;
  Status first_error;
  for (size_t i = 0; i < steps.size(); ++i) {
    auto res = DrainResults(context);
    if (broken()) return res.status();
    if (!res.ok()) {
      if (first_error.ok()) first_error = res.status();
      continue;
    }
    results.push_back(std::move(res).value());
  }
  SLUICE_ASSIGN_OR_RETURN(PgResult sync, NextResult(context));
  if (!sync || PQresultStatus(sync.get()) != PGRES_PIPELINE_SYNC) {
    return Broken(context, "pipeline out of step");
  }
  if (PQexitPipelineMode(conn_) != 1) return Broken(context, PQerrorMessage(conn_));
  if (!first_error.ok()) return first_error;
  return results;
}

Status PgConn::PutCopyData(const char* data, size_t size, std::string_view context) {
  while (size > 0) {
    const int n = static_cast<int>(std::min<size_t>(size, 1 << 30));
    const int r = PQputCopyData(conn_, data, n);
    if (r < 0) return Broken(context, PQerrorMessage(conn_));
    if (r == 0) {
      SLUICE_RETURN_IF_ERROR(Wait(/*want_write=*/true, context));
      continue;
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return Flush(context);
}

Result<PgResult> PgConn::EndCopy(const char* error, std::string_view context) {
  for (;;) {
    const int r = PQputCopyEnd(conn_, error);
    if (r < 0) return Broken(context, PQerrorMessage(conn_));
    if (r == 1) break;
    SLUICE_RETURN_IF_ERROR(Wait(/*want_write=*/true, context));
  }
  SLUICE_RETURN_IF_ERROR(Flush(context));
  return DrainResults(context);
}

Status PgConn::ErrorStatus(const PGresult* res, std::string_view context) {
  const std::string_view state = SqlState(res);
  last_sqlstate_ = std::string(state);
  if (res == nullptr || state.empty()) {
    // Made by libpq itself: the connection is gone or the protocol is out of step.
    return Broken(context, res ? PQresultErrorMessage(res) : PQerrorMessage(conn_));
  }
  const char* primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
  const char* detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
  std::string message = fmt::format("target '{}': {}: {}{}{} (SQLSTATE {})", target_, context,
                                    primary ? primary : "error", detail ? " DETAIL: " : "",
                                    detail ? detail : "", state);
  if (IsMissingPartition(res)) missing_partition_ = true;
  if (ClassIs(state, "08") || state == "57P01" || state == "57P02" || state == "57P03") {
    broken_ = true;  // the server is going away: this session is done
  }
  return ClassifySqlState(state, std::move(message));
}

std::string PgConn::Literal(std::string_view value) {
  char* quoted = PQescapeLiteral(conn_, value.data(), value.size());
  if (quoted == nullptr) {
    // Only on out-of-memory or invalid encoding; quote by hand (standard strings).
    std::string out = "'";
    for (char c : value) {
      if (c == '\'') out += '\'';
      out += c;
    }
    return out + "'";
  }
  std::string out(quoted);
  PQfreemem(quoted);
  return out;
}

}  // namespace sluice::store::postgres
