#pragma once
// Triggered samples: one event of a trigger type (catalog_types.h) becomes one
// v1::TriggerSample, i.e. one row of burst_sample (trigger_type, occur_time, int_1..int_50,
// float_1..float_50, str_1..str_50).
//
// A trigger's values come named (column name -> value, the type says where each column
// goes) or positional (three lists, as the old platform's API took them); both give the
// same TriggerSample.
//
// Columns not given are NULL, but only at the end of each kind: a TriggerSample holds
// each kind's values as a list (repeated int64 / double / string), and a backend writes
// list element i to column i + 1 and NULL to the columns after the list. A list has no
// NULL element, so a column left out *before* a given one could not be stored as NULL
// (NaN would reach SQLite as NULL but PostgreSQL as NaN, and ints and strings have no
// such value). Named values must therefore cover the leading columns of each kind; a gap
// is refused with the columns missing named.
//
// Pure functions over a given TriggerType; looking the type up (by id or name) is the
// catalog's job. The record's timestamp window is checked at admission
// (record::Validate), not here.
//
// Thread safety: pure functions; thread-safe.

#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "common/status.h"
#include "record/validate.h"
#include "sampling/catalog_types.h"
#include "sluice/v1/records.pb.h"

namespace sluice::sampling {

// Longest trigger type name and column name, in bytes.
inline constexpr size_t kMaxTriggerTypeNameBytes = 128;
inline constexpr size_t kMaxTriggerColumnNameBytes = 64;

// Checks a trigger type's definition: id > 0; name non-empty, valid UTF-8 without
// control characters, at most kMaxTriggerTypeNameBytes; at most record::kMaxTriggerValues
// columns of each kind; column names identifiers ([A-Za-z_][A-Za-z0-9_]*, at most
// kMaxTriggerColumnNameBytes) unique across the three lists. The error (InvalidArgument)
// names the type, the list and the column.
Status ValidateTriggerType(const TriggerType& type);

// One column's value. An int64 is also accepted for a float column when the double holds
// it exactly (|v| <= 2^53); a double is never accepted for an int column (it would be cut).
using TriggerValue = std::variant<int64_t, double, std::string>;
// "int", "float", "string": the kinds as errors and docs name them.
std::string_view TriggerValueKindName(const TriggerValue& value);

// Values by column name, in any order.
using NamedTriggerValues = std::vector<std::pair<std::string, TriggerValue>>;

// Values by position: ints[i] is the type's int_columns[i] (burst_sample.int_<i+1>), and
// so on. Shorter lists than the type's columns leave the rest NULL.
struct PositionalTriggerValues {
  std::vector<int64_t> ints;
  std::vector<double> floats;
  std::vector<std::string> strings;
};

// The TriggerSample of one trigger of `type` at `occur_time_us` (µs UTC). Errors
// (InvalidArgument, naming the type and the column): the type is invalid
// (ValidateTriggerType); more values than the type has columns; an unknown column (the
// message lists the type's columns); a value of the wrong kind (names the column's kind
// and the value's); a column given twice; a gap before a given column (see the top of
// this file); a string longer than limits.max_string_length.
Result<v1::TriggerSample> BuildTriggerSample(const TriggerType& type, int64_t occur_time_us,
                                             const NamedTriggerValues& values,
                                             const record::Limits& limits = {});
// The same from positional values. Errors: the type is invalid; a list longer than the
// type's columns of that kind; a string longer than limits.max_string_length.
Result<v1::TriggerSample> BuildTriggerSample(const TriggerType& type, int64_t occur_time_us,
                                             const PositionalTriggerValues& values,
                                             const record::Limits& limits = {});

}  // namespace sluice::sampling
