#pragma once
// A deterministic replication workload for tests, with its expected final state
// computed independently of Sluice:
//  - samples: `batches` records of `points` rows each into sample_1min, point p of batch b
//    at ts = kT0 + b minutes with value b*1000 + p + 0.5 (never integral, so every
//    dialect prints it the same) and quality b % 3;
//  - sql (ordered): a table of counters and `updates` dependent updates, each
//    v = (v * 31 + i) % 1000000007 on counter i % kCounters; the final values depend on
//    the order the updates are applied in.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "journal/journal_set.h"
#include "record/record_codec.h"

namespace sluice::replicate::testing {

inline constexpr int64_t kT0 = 1'767'225'600'000'000;  // 2026-01-01T00:00:00Z
inline constexpr int64_t kMinute = 60'000'000;
inline constexpr int kCounters = 10;
inline constexpr int64_t kModulus = 1'000'000'007;

struct Workload {
  int points = 1000;
  int batches = 100;
  int updates = 1000;

  v1::Record SampleBatch(int b) const {
    v1::Record r;
    auto* s = r.mutable_samples();
    s->set_interval(v1::SAMPLE_INTERVAL_1MIN);
    for (int p = 0; p < points; ++p) {
      s->add_point_id(p);
      s->add_ts_us(kT0 + int64_t{b} * kMinute);
      s->add_value(Value(b, p));
      s->add_quality(static_cast<uint32_t>(b % 3));
    }
    return r;
  }
  static double Value(int b, int p) { return b * 1000.0 + p + 0.5; }

  // The ordered SQL records, in order: the table, the counters, then the updates.
  std::vector<v1::Record> SqlRecords() const {
    std::vector<v1::Record> out;
    auto sql = [&](const std::string& text, std::vector<int64_t> params) {
      v1::Record r;
      r.mutable_sql()->set_text(text);
      for (int64_t v : params) r.mutable_sql()->add_params()->set_int_value(v);
      out.push_back(std::move(r));
    };
    sql("CREATE TABLE counter (id BIGINT PRIMARY KEY, v BIGINT NOT NULL)", {});
    for (int i = 0; i < kCounters; ++i) sql("INSERT INTO counter (id, v) VALUES ($1, $2)", {i, 1});
    for (int i = 0; i < updates; ++i) {
      sql("UPDATE counter SET v = (v * 31 + $1) % 1000000007 WHERE id = $2", {i, i % kCounters});
    }
    return out;
  }

  // Counter values after the first `applied` SQL records (0 = none; the table exists from
  // 1 on). Returns an empty map when the table does not exist yet.
  std::map<int64_t, int64_t> CountersAfter(size_t applied) const {
    std::map<int64_t, int64_t> c;
    if (applied == 0) return c;
    size_t inserts = std::min<size_t>(applied - 1, kCounters);
    for (size_t i = 0; i < inserts; ++i) c[static_cast<int64_t>(i)] = 1;
    size_t done_updates = applied > 1 + kCounters ? applied - 1 - kCounters : 0;
    for (size_t i = 0; i < done_updates; ++i) {
      int64_t& v = c[static_cast<int64_t>(i % kCounters)];
      v = (v * 31 + static_cast<int64_t>(i)) % kModulus;
    }
    return c;
  }

  size_t sql_records() const { return 1 + kCounters + static_cast<size_t>(updates); }
};

// Journals records stamped as the admitter stamps them (a version above every earlier
// one, also across restarts, and the admission time), without admission's checks: the
// appliers see what they would see behind sluiced's admitter.
class Journaler {
 public:
  explicit Journaler(journal::JournalSet* journals) : journals_(journals) {}

  // Appends `r` to `stream`; with `wait`, returns once it is durable.
  Result<journal::Lsn> Admit(const std::string& stream, v1::Record r, bool wait = true) {
    journal::Journal* j = journals_->stream(stream);
    if (j == nullptr) return Status::NotFound(fmt::format("no stream '{}'", stream));
    r.set_version(next_version_++);
    r.set_admitted_at_us(NowMicros());
    SLUICE_ASSIGN_OR_RETURN(journal::Lsn lsn, j->Append(record::kRecordV1, record::EncodeRecord(r)));
    if (wait) SLUICE_RETURN_IF_ERROR(j->WaitDurable(lsn));
    return lsn;
  }

 private:
  static int64_t NowMicros() {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }

  journal::JournalSet* journals_;
  // The admitter's hybrid clock (admission/admitter.h): µs since the epoch in the high
  // bits, so a restarted process starts above every version it handed out before.
  uint64_t next_version_ = static_cast<uint64_t>(NowMicros()) << 10;
};

}  // namespace sluice::replicate::testing
