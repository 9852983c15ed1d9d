#include "bench/ingest_bench_setup.h"

#include <sqlite3.h>
#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <thread>

namespace sluice::bench::ingest {

double ProcessCpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto secs = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return secs(u.ru_utime) + secs(u.ru_stime);
}

double ProcessCpuSeconds(pid_t pid) {
  std::ifstream in(fmt::format("/proc/{}/stat", pid));
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // Fields after the command name (which may hold spaces) start after its ')'.
  const size_t close = stat.rfind(')');
  if (close == std::string::npos) return NAN;
  std::istringstream fields(stat.substr(close + 2));
  std::string f;
  double ticks = 0;
  // state is field 3; utime and stime are fields 14 and 15.
  for (int field = 3; field <= 15 && fields >> f; ++field) {
    if (field >= 14) ticks += std::stod(f);
  }
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

Daemon::Daemon(std::string binary, std::string dir, testing::TargetSpec target)
    : Sluiced(std::move(binary), std::move(dir)) {
  set_die_with_parent(true);
  target.name = kTargetName;
  target.role = "primary";
  target.priority = 100;
  config_status_ = WriteConfig("# Written by sluice-bench ingest.\n" +
                               testing::ConfigBuilder("bench")
                                   .Listen(port())
                                   .JournalLines("ack = \"durable\"")
                                   .NoAuth()
                                   .Target(std::move(target))
                                   .Toml());
}

Status Daemon::Start() {
  SLUICE_RETURN_IF_ERROR(config_status_);
  SLUICE_RETURN_IF_ERROR(Sluiced::Start());
  return WaitReady(
      [](const v1::StatusResponse& s) {
        bool running = s.active_target() == kTargetName && s.appliers_size() > 0;
        for (const auto& a : s.appliers()) running = running && a.state() == "running";
        return running;
      },
      std::chrono::seconds(120));
}

Status Daemon::WaitApplied(const std::string& stream, uint64_t lsn, std::chrono::seconds timeout) const {
  const auto deadline = Clock::now() + timeout;
  std::string last;
  for (;;) {
    auto s = AdminStatus(std::chrono::seconds(10));
    if (s.ok()) {
      for (const auto& a : s->appliers()) {
        if (a.stream() != stream) continue;
        if (a.applied_lsn() >= lsn) return Status::OK();
        if (a.rejected() > 0 || a.state() == "blocked" || a.state() == "needs resync") {
          return Status::Internal(fmt::format("applier {}: {} ({} rejected): {}", a.target(),
                                              a.state(), a.rejected(), a.last_error()));
        }
        last = fmt::format("applied {} of {} ({}) {}", a.applied_lsn(), lsn, a.state(),
                           a.last_error());
      }
    } else {
      last = s.status().ToString();
    }
    if (Clock::now() > deadline) {
      return Status::DeadlineExceeded(fmt::format("not applied in time: {}", last));
    }
    // Polling costs the daemon an Admin.Status per 10 ms; the error on the measured time
    // is at most as much.
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

Result<std::vector<std::string>> Target::QueryRow(const std::string& sql) const {
  if (postgres()) {
    SLUICE_ASSIGN_OR_RETURN(auto rows, pg_->QueryRows(sql, name_));
    if (rows.empty()) return Status::NotFound(sql);
    return rows[0];
  }
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(sqlite_file().c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    std::string msg = sqlite3_errmsg(db);
    sqlite3_close(db);
    return Status::IOError(fmt::format("{}: {}", sqlite_file(), msg));
  }
  sqlite3_busy_timeout(db, 10'000);
  sqlite3_stmt* st = nullptr;
  std::vector<std::string> row;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW) {
    for (int i = 0; i < sqlite3_column_count(st); ++i) {
      const unsigned char* v = sqlite3_column_text(st, i);
      row.push_back(v ? reinterpret_cast<const char*>(v) : "0");
    }
  }
  std::string msg = sqlite3_errmsg(db);
  sqlite3_finalize(st);
  sqlite3_close(db);
  if (row.empty()) return Status::IOError(fmt::format("{}: {}: {}", sqlite_file(), sql, msg));
  return row;
}

Status CheckRows(const Target& t, const Workload& w, int64_t rows) {
  SLUICE_ASSIGN_OR_RETURN(
      auto row,
      t.QueryRow(fmt::format("SELECT count(*), coalesce(sum(point_id), 0) FROM {}", kTable)));
  const auto [count, sum] = w.Sums(rows);
  if (row.size() != 2 || std::stoll(row[0]) != count || std::stoll(row[1]) != sum) {
    return Status::Internal(
        fmt::format("the target holds count {} sum(point_id) {}, expected {} {}", row.at(0),
                    row.size() > 1 ? row[1] : "?", count, sum));
  }
  return Status::OK();
}

}  // namespace sluice::bench::ingest
