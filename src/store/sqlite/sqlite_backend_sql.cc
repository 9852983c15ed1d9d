#include "store/sqlite/sqlite_backend_sql.h"

#include <chrono>
#include <iterator>

#include <fmt/format.h>

#include "store/schema.h"

namespace sluice::store::sqlite {

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Statements::Statements() {
  for (v1::SampleInterval interval : schema::SampleIntervals()) {
    std::string_view t = schema::SampleTableName(interval);
    // Converging upsert (see the header): a row is replaced only by a write whose
    // (manual, ver) is greater. A sample has manual = 0, so it replaces only a
    // non-manual row of an older version.
    sample_upsert[interval] = fmt::format(
        "INSERT INTO {0} (point_id, ts, value, quality, ver, manual) "
        "VALUES (?1, ?2, ?3, ?4, ?5, 0) "
        "ON CONFLICT (point_id, ts) DO UPDATE SET value = excluded.value, "
        "quality = excluded.quality, ver = excluded.ver, manual = excluded.manual "
        "WHERE {0}.manual = 0 AND excluded.ver > {0}.ver",
        t);
    correction_upsert[interval] = fmt::format(
        "INSERT INTO {0} (point_id, ts, value, quality, ver, manual) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
        "ON CONFLICT (point_id, ts) DO UPDATE SET value = excluded.value, "
        "quality = excluded.quality, ver = excluded.ver, manual = excluded.manual "
        "WHERE (excluded.manual, excluded.ver) > ({0}.manual, {0}.ver)",
        t);
  }
  // burst_sample: ?1 trigger_type, ?2 occur_time, ?3 ver, then ints, floats, strings.
  std::string cols = "trigger_type, occur_time, ver";
  std::string vals = "?1, ?2, ?3";
  std::string sets = "ver = excluded.ver";
  int param = 4;
  for (std::string_view prefix : {"int_", "float_", "str_"}) {
    for (int i = 1; i <= schema::kBurstColumns; ++i, ++param) {
      fmt::format_to(std::back_inserter(cols), ", {}{}", prefix, i);
      fmt::format_to(std::back_inserter(vals), ", ?{}", param);
      fmt::format_to(std::back_inserter(sets), ", {0}{1} = excluded.{0}{1}", prefix, i);
    }
  }
  burst_upsert = fmt::format(
      "INSERT INTO burst_sample ({}) VALUES ({}) ON CONFLICT (trigger_type, occur_time) "
      "DO UPDATE SET {} WHERE excluded.ver > burst_sample.ver",
      cols, vals, sets);
}

const Statements& Sql() {
  static const Statements* statements = new Statements;
  return *statements;
}

}  // namespace sluice::store::sqlite
