#include "verify/verifier.h"

#include <algorithm>
#include <charconv>
#include <ctime>
#include <future>
#include <map>

#include <fmt/format.h>

#include "common/failpoint.h"

namespace sluice::verify {
namespace {

struct Figures {
  int64_t rows = 0;
  uint64_t checksum = 0;
  bool operator==(const Figures&) const = default;
};
using Buckets = std::map<int64_t, Figures>;  // bucket start -> figures

// A row's hash, or the sum of the hashes when a key is held twice (then the count says it).
using RowHashes = std::map<std::string, Figures>;  // key text -> figures

Status Stopped() { return Status::Aborted("verify: cancelled").WithRetryable(false); }

Result<int64_t> IntOf(const v1::SqlValue& v, std::string_view what) {
  if (v.kind_case() == v1::SqlValue::kIntValue) return v.int_value();
  return Status::Internal(fmt::format("verify: {} is not an integer", what));
}

Result<uint64_t> UnsignedOf(const v1::SqlValue& v) {
  const std::string& s = v.text_value();
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (v.kind_case() != v1::SqlValue::kTextValue || ec != std::errc() || end != s.data() + s.size()) {
    return Status::Internal(fmt::format("verify: checksum '{}' is not an unsigned decimal", s));
  }
  return n;
}

std::string UtcText(int64_t us) {
  const auto secs = static_cast<time_t>(us >= 0 ? us / 1'000'000 : (us - 999'999) / 1'000'000);
  const int64_t frac = us - static_cast<int64_t>(secs) * 1'000'000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return frac == 0 ? fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", tm.tm_year + 1900,
                                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec)
                   : fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z", tm.tm_year + 1900,
                                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                                 frac);
}

std::string KeyText(const TableSpec& table, const std::vector<v1::SqlValue>& row) {
  std::string out;
  for (size_t i = 0; i < table.key.size() && i < row.size(); ++i) {
    if (!out.empty()) out += ' ';
    const v1::SqlValue& v = row[i];
    if (v.kind_case() == v1::SqlValue::kIntValue) {
      out += fmt::format("{}={}", table.key[i], v.int_value());
      if (table.key[i] == table.time_column) out += fmt::format(" ({})", UtcText(v.int_value()));
    } else if (v.kind_case() == v1::SqlValue::kTextValue) {
      out += fmt::format("{}='{}'", table.key[i], v.text_value());
    } else {
      out += fmt::format("{}=NULL", table.key[i]);
    }
  }
  return out;
}

class Run {
 public:
  Run(std::span<const VerifyTarget> targets, const VerifyOptions& options, const VerifyEmit& emit,
      const VerifyCancelled& cancelled)
      : targets_(targets), options_(options), emit_(emit), cancelled_(cancelled) {}

  Result<v1::VerifySummary> Go() {
    for (const VerifyTarget& t : targets_) summary_.add_targets(t.name);
    summary_.set_reference(targets_[0].name);
    if (options_.range.from_us) summary_.set_from_us(*options_.range.from_us);
    if (options_.range.to_us) summary_.set_to_us(*options_.range.to_us);
    summary_.set_bucket_us(options_.bucket_us);
    const auto total = static_cast<uint32_t>(options_.tables.size() * targets_.size());
    uint32_t done = 0;
    for (const TableSpec* table : options_.tables) {
      summary_.add_tables(table->name);
      SLUICE_ASSIGN_OR_RETURN(std::vector<Buckets> per_target,
                              SummarizeAll(*table, options_.range, options_.bucket_us));
      for (size_t i = 0; i < targets_.size(); ++i) {
        v1::VerifyResponse r;
        auto* p = r.mutable_progress();
        p->set_table(table->name);
        p->set_target(targets_[i].name);
        p->set_done(++done);
        p->set_total(total);
        SLUICE_RETURN_IF_ERROR(Emit(r));
        auto* t = summary_.add_totals();
        t->set_table(table->name);
        t->set_target(targets_[i].name);
        for (const auto& [start, f] : per_target[i]) t->set_rows(t->rows() + f.rows);
        t->set_buckets(static_cast<int64_t>(per_target[i].size()));
      }
      // Tests hold the check here to cancel it in the middle.
      SLUICE_FAILPOINT("verify.after_table");
      SLUICE_RETURN_IF_ERROR(CompareBuckets(*table, per_target, options_.range,
                                            options_.bucket_us, /*top=*/true));
    }
    summary_.set_equal(summary_.differing_buckets() == 0);
    return summary_;
  }

 private:
  Status Emit(const v1::VerifyResponse& r) {
    if (cancelled_() || !emit_(r)) return Stopped();
    return Status::OK();
  }

  // The range of a bucket, clipped to `range`.
  static TimeRange BucketRange(int64_t start, int64_t width, const TimeRange& range) {
    TimeRange r;
    r.from_us = range.from_us ? std::max(start, *range.from_us) : start;
    const int64_t end = start > INT64_MAX - width ? INT64_MAX : start + width;
    r.to_us = range.to_us ? std::min(end, *range.to_us) : end;
    return r;
  }

  Result<Buckets> Summarize(const VerifyTarget& target, const TableSpec& table,
                            const TimeRange& range, int64_t width) {
    v1::SqlStatement st;
    st.set_text(BucketSummarySql(target.backend->dialect(), table, range, width));
    Buckets out;
    Status s = target.backend->Query(
        st, 1000, 0, [&](const std::vector<std::string>&, std::vector<std::vector<v1::SqlValue>>& rows) {
          for (const auto& row : rows) {
            if (row.size() != 3) return Status::Internal("verify: a bucket line has not 3 columns");
            SLUICE_ASSIGN_OR_RETURN(int64_t start, IntOf(row[0], "a bucket start"));
            SLUICE_ASSIGN_OR_RETURN(int64_t count, IntOf(row[1], "a row count"));
            SLUICE_ASSIGN_OR_RETURN(uint64_t checksum, UnsignedOf(row[2]));
            out[start] = Figures{count, checksum};
          }
          return Status::OK();
        });
    if (!s.ok()) return s.Annotate(fmt::format("verify: table {} on target '{}'", table.name, target.name));
    return out;
  }

  Result<RowHashes> FetchRows(const VerifyTarget& target, const TableSpec& table,
                              const TimeRange& range, size_t limit) {
    v1::SqlStatement st;
    st.set_text(RowHashesSql(target.backend->dialect(), table, range));
    RowHashes out;
    size_t seen = 0;
    Status s = target.backend->Query(
        st, 1000, 0, [&](const std::vector<std::string>&, std::vector<std::vector<v1::SqlValue>>& rows) {
          seen += rows.size();
          if (seen > limit) {
            return Status::ResourceExhausted(fmt::format(
                "more than {} rows to list in one comparison (table {} has no time column to "
                "split it by)",
                limit, table.name));
          }
          for (const auto& row : rows) {
            if (row.size() != table.key.size() + 1) return Status::Internal("verify: a row line has the wrong width");
            SLUICE_ASSIGN_OR_RETURN(int64_t hash, IntOf(row.back(), "a row hash"));
            Figures& f = out[KeyText(table, row)];
            ++f.rows;
            f.checksum += static_cast<uint64_t>(hash);
          }
          return Status::OK();
        });
    if (!s.ok()) return s.Annotate(fmt::format("verify: rows of table {} on target '{}'", table.name, target.name));
    return out;
  }

  // Runs `fn(target)` on every target at once, one thread each; the first error wins.
  template <typename T, typename Fn>
  Result<std::vector<T>> OnEveryTarget(Fn fn) {
    if (cancelled_()) return Stopped();
    std::vector<std::future<Result<T>>> futures;
    for (const VerifyTarget& t : targets_) {
      futures.push_back(std::async(std::launch::async, [&fn, &t] { return fn(t); }));
    }
    std::vector<T> out;
    Status first;
    for (auto& f : futures) {
      Result<T> r = f.get();
      if (!r.ok()) {
        if (first.ok()) first = r.status();
        continue;
      }
      out.push_back(std::move(r).value());
    }
    if (!first.ok()) return first;
    return out;
  }

  Result<std::vector<Buckets>> SummarizeAll(const TableSpec& table, const TimeRange& range,
                                            int64_t width) {
    return OnEveryTarget<Buckets>(
        [&](const VerifyTarget& t) { return Summarize(t, table, range, width); });
  }

  bool RowsFull() const { return summary_.differing_rows() >= static_cast<int64_t>(options_.max_rows); }

  // Compares per-target buckets; `top`: the buckets of the request (reported), else the
  // narrower ones of a row search (not reported).
  Status CompareBuckets(const TableSpec& table, const std::vector<Buckets>& per_target,
                        const TimeRange& range, int64_t width, bool top) {
    std::map<int64_t, std::vector<Figures>> all;
    for (size_t i = 0; i < per_target.size(); ++i) {
      for (const auto& [start, f] : per_target[i]) {
        auto& v = all[start];
        v.resize(per_target.size());
        v[i] = f;
      }
    }
    if (top) summary_.set_buckets(summary_.buckets() + static_cast<int64_t>(all.size()));
    for (const auto& [start, figures] : all) {
      const bool differ =
          std::any_of(figures.begin(), figures.end(), [&](const Figures& f) { return !(f == figures[0]); });
      if (!differ) continue;
      const TimeRange bucket = table.timed() ? BucketRange(start, width, range) : range;
      if (top) {
        summary_.set_differing_buckets(summary_.differing_buckets() + 1);
        v1::VerifyResponse r;
        auto* b = r.mutable_difference();
        b->set_table(table.name);
        b->set_timed(table.timed());
        if (table.timed()) {
          b->set_start_us(*bucket.from_us);
          b->set_end_us(*bucket.to_us);
        }
        for (size_t i = 0; i < figures.size(); ++i) {
          auto* t = b->add_targets();
          t->set_target(targets_[i].name);
          t->set_rows(figures[i].rows);
          t->set_checksum(figures[i].checksum);
        }
        SLUICE_RETURN_IF_ERROR(Emit(r));
      }
      if (!options_.rows) continue;
      if (RowsFull()) {
        summary_.set_rows_truncated(true);
        continue;
      }
      int64_t most = 0;
      for (const Figures& f : figures) most = std::max(most, f.rows);
      SLUICE_RETURN_IF_ERROR(ListRows(table, bucket, width, most));
    }
    return Status::OK();
  }

  Status ListRows(const TableSpec& table, const TimeRange& bucket, int64_t width, int64_t most) {
    if (table.timed() && width > 1 && most > static_cast<int64_t>(options_.leaf_rows)) {
      const int64_t narrower = std::max<int64_t>(1, width / 24);
      SLUICE_ASSIGN_OR_RETURN(std::vector<Buckets> per_target, SummarizeAll(table, bucket, narrower));
      return CompareBuckets(table, per_target, bucket, narrower, /*top=*/false);
    }
    const size_t limit = table.timed() ? SIZE_MAX : options_.max_untimed_rows;
    SLUICE_ASSIGN_OR_RETURN(std::vector<RowHashes> rows,
                            OnEveryTarget<RowHashes>([&](const VerifyTarget& t) {
                              return FetchRows(t, table, bucket, limit);
                            }));
    const RowHashes& ref = rows[0];
    for (size_t i = 1; i < rows.size(); ++i) {
      std::map<std::string, std::string> found;  // key -> kind, in key order
      for (const auto& [key, f] : ref) {
        auto it = rows[i].find(key);
        if (it == rows[i].end()) {
          found[key] = "missing";
        } else if (!(it->second == f)) {
          found[key] = "changed";
        }
      }
      for (const auto& [key, f] : rows[i]) {
        if (!ref.contains(key)) found[key] = "extra";
      }
      for (const auto& [key, kind] : found) {
        if (RowsFull()) {
          summary_.set_rows_truncated(true);
          return Status::OK();
        }
        v1::VerifyResponse r;
        auto* row = r.mutable_row();
        row->set_table(table.name);
        row->set_key(key);
        row->set_kind(kind);
        row->set_target(targets_[i].name);
        row->set_reference(targets_[0].name);
        summary_.set_differing_rows(summary_.differing_rows() + 1);
        SLUICE_RETURN_IF_ERROR(Emit(r));
      }
    }
    return Status::OK();
  }

  std::span<const VerifyTarget> targets_;
  const VerifyOptions& options_;
  const VerifyEmit& emit_;
  const VerifyCancelled& cancelled_;
  v1::VerifySummary summary_;
};

}  // namespace

Result<v1::VerifySummary> RunVerify(std::span<const VerifyTarget> targets,
                                    const VerifyOptions& options, const VerifyEmit& emit,
                                    const VerifyCancelled& cancelled) {
  if (targets.size() < 2) {
    return Status::FailedPrecondition(fmt::format(
        "verify: {} target{} to compare; a check needs at least two", targets.size(),
        targets.size() == 1 ? "" : "s"));
  }
  if (options.bucket_us <= 0) {
    return Status::InvalidArgument(fmt::format("verify: bucket width {} µs is not positive", options.bucket_us));
  }
  Run run(targets, options, emit, cancelled);
  return run.Go();
}

}  // namespace sluice::verify
