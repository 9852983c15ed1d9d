#pragma once
// What a record must satisfy to be admitted, as one pure function: its shape (a body,
// sample columns of one length, at least one row or event) and its limits (timestamps
// within the admitted window, rows per record, string and LOB sizes, trigger values per
// burst table). One message per limit, naming the field, the row and the configuration
// key where there is one.
//
// Intents: a KIND_SAMPLE_MODIFY intent carries corrections (each with a valid interval,
// an admitted timestamp, old value and old quality both or neither) and no statement;
// other kinds carry no correction.
//
// Not checked here: the SQL of sql and intent records (admission/sql_check.h, which
// needs the targets' dialects) and what the RPC lets a client send (service/).

#include <cstddef>
#include <cstdint>

#include "common/status.h"
#include "sluice/v1/records.pb.h"

namespace sluice::record {

// The values of sluiced's [limits] (config/config.h); the defaults are the same.
struct Limits {
  int64_t timestamp_min_us = 946'684'800'000'000;   // 2000-01-01T00:00:00Z
  int64_t timestamp_max_ahead_us = 86'400'000'000;  // one day
  size_t max_rows_per_record = 1'000'000;
  uint64_t max_string_length = 65'536;
  uint64_t max_lob_size = uint64_t{16} << 20;
};

// Values of each type (int, float, string) a trigger sample may carry: a burst table has
// this many columns of each (store/schema.h).
inline constexpr int kMaxTriggerValues = 50;

// Checks `record` against `limits` as if admitted at `now_us`. The error is
// kInvalidArgument and names the field, the row and the value.
Status Validate(const v1::Record& record, const Limits& limits, int64_t now_us);

}  // namespace sluice::record
