#pragma once
// Internal to the PostgreSQL backend: the time partitions of the sample tables.
//
// Sample tables are PARTITION BY RANGE (ts). Partitions are aligned to multiples of a
// span (BackendOptions::partition_span_us) counted from the Unix epoch, and named after
// their start in UTC, e.g. sample_1s_p20240131 (or sample_1s_p20240131_060000 when the
// start is not midnight). When partitions of another span already exist (the span was
// changed in the config), a new partition is clipped to the gap between its neighbours,
// so creation never fails with an overlap.
//
// A partition is created as a plain table and attached in one transaction (CREATE TABLE
// ... (LIKE parent); ALTER TABLE parent ATTACH PARTITION ...): ATTACH takes only a SHARE
// UPDATE EXCLUSIVE lock on the parent, so it does not wait for other sessions that are
// writing to the table, as CREATE TABLE ... PARTITION OF would.

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace sluice::store::postgres {

inline constexpr int64_t kMinTs = std::numeric_limits<int64_t>::min();  // MINVALUE
inline constexpr int64_t kMaxTs = std::numeric_limits<int64_t>::max();  // MAXVALUE

// [start, end); start == kMinTs means MINVALUE, end == kMaxTs means MAXVALUE.
struct PartitionRange {
  int64_t start = 0;
  int64_t end = 0;
  bool Contains(int64_t ts) const { return ts >= start && (end == kMaxTs || ts < end); }
  bool operator==(const PartitionRange&) const = default;
};

// The start of the span-aligned range holding `ts` (floor, also for negative values),
// saturated at kMinTs. REQUIRES: span > 0.
int64_t AlignDown(int64_t ts, int64_t span);

// The partitions of one table, as far as this session knows them.
class PartitionMap {
 public:
  bool Covers(int64_t ts) const;
  // The known partition holding `ts`, if any (a DEFAULT partition is not a range).
  std::optional<PartitionRange> Find(int64_t ts) const;
  // The range a new partition for `ts` should have: the aligned span holding it, clipped
  // to the gap between the known neighbours. REQUIRES: !Covers(ts), span > 0.
  PartitionRange RangeFor(int64_t ts, int64_t span) const;
  void Add(PartitionRange range);
  void Clear();
  void set_has_default(bool v) { has_default_ = v; }
  size_t size() const { return ranges_.size(); }

 private:
  std::map<int64_t, int64_t> ranges_;  // start -> end, non-overlapping
  bool has_default_ = false;           // a DEFAULT partition takes every row
};

// "<table>_p<start in UTC>", unique per start (partitions of one table never share one).
std::string PartitionName(std::string_view table, int64_t start);
// "FROM (<start>) TO (<end>)" with MINVALUE/MAXVALUE for the open ends.
std::string PartitionBoundSql(PartitionRange range);
// Parses pg_get_expr(relpartbound): "FOR VALUES FROM ('1') TO ('2')" (MINVALUE and
// MAXVALUE allowed). Sets *is_default for "DEFAULT". nullopt when not a range bound.
std::optional<PartitionRange> ParsePartitionBound(std::string_view expr, bool* is_default);

}  // namespace sluice::store::postgres
