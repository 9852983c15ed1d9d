#pragma once
// What the tests of a target's lifecycle against a live sluiced share (resync_daemon_test,
// reload_daemon_test): a sluiced with SQLite targets, writers of samples and events,
// `sluice` runs, and every copied table of two targets compared row by row.

#include <gtest/gtest.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <iostream>
#include <set>
#include <thread>

#include "store/copy_io.h"
#include "support/daemon.h"
#include "support/pg_servers.h"

#ifndef SLUICE_CLI_PATH
#error "SLUICE_CLI_PATH must name the sluice binary"
#endif

namespace sluice::testing {

inline constexpr int kRowsPerCommit = 500;

struct Endpoint {
  std::string dialect;
  std::string connection;
};

// Every row of every copied table and the watermarks, read from one snapshot. The
// target-local id of event_log and sample_edit_log is left out and the rows sorted: rows
// applied after a resync get ids of the target's own.
inline std::map<std::string, std::vector<store::CopyRow>> ReadAll(const Endpoint& e) {
  std::map<std::string, std::vector<store::CopyRow>> out;
  store::BackendOptions o;
  o.name = "check";
  o.connection = e.connection;
  auto reader = store::OpenSnapshotReader(e.dialect, o);
  EXPECT_TRUE(reader.ok()) << reader.status().ToString();
  if (!reader.ok()) return out;
  std::vector<const store::CopyTableSpec*> tables;
  for (const auto& t : store::CopyTables()) tables.push_back(&t);
  for (const store::CopyTableSpec* t : tables) {
    std::vector<store::CopyRow> rows;
    store::CopyRow after;
    for (;;) {
      auto batch = (*reader)->ReadRows(*t, after, 10000);
      EXPECT_TRUE(batch.ok()) << t->name << ": " << batch.status().ToString();
      if (!batch.ok() || batch->empty()) break;
      after = store::KeyOf(*t, batch->back());
      for (auto& r : *batch) {
        if (t->identity) r.erase(r.begin());
        rows.push_back(std::move(r));
      }
    }
    std::sort(rows.begin(), rows.end());
    out[t->name] = std::move(rows);
  }
  auto w = (*reader)->ReadWatermarks();
  EXPECT_TRUE(w.ok()) << w.status().ToString();
  if (w.ok()) out["sluice_watermark(node, epoch, stream, lsn)"] = *w;
  return out;
}

// The watermark rows carry the time of each target's own last commit: compared without it.
inline void DropWatermarkTimes(std::map<std::string, std::vector<store::CopyRow>>* all) {
  for (auto& row : (*all)["sluice_watermark(node, epoch, stream, lsn)"]) row.resize(4);
}

inline void ExpectSameRows(const Endpoint& source, const Endpoint& copy) {
  auto want = ReadAll(source);
  auto got = ReadAll(copy);
  DropWatermarkTimes(&want);
  DropWatermarkTimes(&got);
  ASSERT_EQ(want.size(), got.size());
  for (const auto& [table, rows] : want) {
    const auto& other = got[table];
    EXPECT_EQ(rows.size(), other.size()) << "table " << table;
    if (rows != other) {
      for (size_t i = 0; i < std::min(rows.size(), other.size()); ++i) {
        if (rows[i] != other[i]) {
          ADD_FAILURE() << "table " << table << ": row " << i << " differs";
          break;
        }
      }
    }
  }
}

class ResyncDaemonTest : public ::testing::Test {
 protected:
  void StartDaemon(DaemonConfig config = {}, const ChildEnv& env = {}) {
    daemon_ = std::make_unique<Daemon>(dir_, std::move(config));
    ASSERT_NO_FATAL_FAILURE(daemon_->Start(env));
  }

  RunResult Sluice(std::vector<std::string> args) {
    args.insert(args.begin(), SLUICE_CLI_PATH);
    return RunCommand(args, dir_.Sub("cli.out"),
                      {{"SLUICE_ADDRESS", daemon_->address()}, {"SLUICE_TOKEN", kAdminToken}},
                      std::chrono::minutes(10));
  }

  // `commits` commits of kRowsPerCommit sample rows each, at distinct times; returns
  // how many rows it wrote.
  int64_t WriteSamples(int commits, const std::string& client) {
    int64_t rows = 0;
    for (int i = 0; i < commits; ++i) {
      v1::CommitRequest req;
      req.set_stream("samples");
      req.set_client_id(client);
      req.set_sequence(static_cast<uint64_t>(i) + 1);
      *req.add_records() = SampleRecord(1, kRowsPerCommit, base_us_ + (next_ts_++) * 1'000'000);
      v1::CommitResponse resp;
      grpc::Status st = daemon_->Commit(req, &resp);
      EXPECT_TRUE(st.ok()) << st.error_message();
      if (!st.ok()) break;
      rows += kRowsPerCommit;
    }
    return rows;
  }

  // Commits on the events stream until `stop`; returns how many events.
  int64_t WriteEventsUntil(const std::atomic<bool>& stop, const std::string& client) {
    int64_t events = 0;
    uint64_t seq = 0;
    while (!stop) {
      v1::CommitRequest req;
      req.set_stream("events");
      req.set_client_id(client);
      req.set_sequence(++seq);
      *req.add_records() = EventRecord(5, base_us_ + static_cast<int64_t>(seq) * 1000);
      v1::CommitResponse resp;
      grpc::Status st = daemon_->Commit(req, &resp);
      EXPECT_TRUE(st.ok()) << st.error_message();
      if (!st.ok()) break;
      events += 5;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return events;
  }

  Endpoint Sqlite(const std::string& target) const { return {"sqlite", daemon_->db(target)}; }

  void CommitSql(const std::string& text) {
    v1::CommitRequest c;
    c.set_stream("sql");
    c.add_records()->mutable_sql()->set_text(text);
    v1::CommitResponse cr;
    grpc::Status st = daemon_->Commit(c, &cr);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }

  // The targets diverged on some stream, after everything journaled is applied.
  std::set<std::string> Diverged() {
    std::set<std::string> out;
    const v1::StatusResponse status = daemon_->WaitCaughtUp();
    for (const auto& a : status.appliers()) {
      if (a.diverged()) out.insert(a.target());
    }
    return out;
  }

  // b rejects an insert the others apply (a row with its key was written into b behind
  // sluiced's back), and every target rejects an insert into a table none has: b alone
  // is diverged.
  void DivergeB() {
    auto planted = QueryRows(daemon_->db("b"), "INSERT INTO point (point_id, name) VALUES (5, 'planted')");
    ASSERT_TRUE(planted.ok()) << planted.status().ToString();
    ASSERT_NO_FATAL_FAILURE(CommitSql("INSERT INTO point (point_id, name) VALUES (5, 'p5')"));
    ASSERT_NO_FATAL_FAILURE(CommitSql("INSERT INTO no_such_table VALUES (1)"));
    ASSERT_TRUE(WaitFor([&] { return Diverged() == std::set<std::string>{"b"}; }, std::chrono::minutes(2)))
        << "diverged: " << fmt::format("{}", fmt::join(Diverged(), ", "));
  }

  // The resync of `target` as Admin.Status shows it, once `done` holds for it.
  std::optional<v1::ResyncProgress> WaitResync(const std::string& target,
                                               const std::function<bool(const v1::ResyncProgress&)>& done) {
    std::optional<v1::ResyncProgress> out;
    WaitFor(
        [&] {
          v1::StatusResponse s;
          if (!daemon_->Admin(&s).ok()) return false;
          for (const auto& r : s.resyncs()) {
            if (r.target() == target && done(r)) {
              out = r;
              return true;
            }
          }
          return false;
        },
        std::chrono::minutes(5), std::chrono::milliseconds(100));
    return out;
  }

  TempDir dir_;
  std::unique_ptr<Daemon> daemon_;
  const int64_t base_us_ = NowMicros() - 3'600'000'000;  // an hour ago: inside the limits
  int64_t next_ts_ = 0;
};

}  // namespace sluice::testing
