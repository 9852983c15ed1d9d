#pragma once
// History.ModifySamples' pure parts, apart from the RPC (history_modify.cc) so they are
// tested without a daemon: the request's checks, the read of the edited samples' stored
// rows, and the corrections built from the request and those rows.
//
// Thread safety: plain functions of their arguments; safe from any thread.

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "sluice/v1/service.pb.h"

namespace sluice::service {

// At most this many edits in one request: one intent, one transaction in every target.
inline constexpr int kMaxSampleEdits = 10'000;
// Samples named in a refusal before "and N more".
inline constexpr size_t kMissingSamplesShown = 10;
// Edits whose stored rows one read statement asks for.
inline constexpr size_t kEditsPerRead = 1'000;

struct SampleEditLimits {
  uint64_t max_string_length = 65'536;  // [limits] max_string_length, for `why`
  int64_t timestamp_min_us = 946'684'800'000'000;
  int64_t timestamp_max_ahead_us = 86'400'000'000;
};

// OK when `request` may be carried out: a known interval, 1..kMaxSampleEdits edits,
// `why` given and within the string limit, every point in the catalog (`known_point`),
// every timestamp in the admitted window at `now_us`, each edit giving a value or a
// quality, every value finite, no (point, ts) twice. kInvalidArgument naming the edit
// ("edits[3] (point 7, ts 1700000000000000)") and what is wrong otherwise.
Status CheckSampleEdits(const v1::ModifySamplesRequest& request, const SampleEditLimits& limits,
                        const std::function<bool(int64_t)>& known_point, int64_t now_us);

// What a sample holds now (value NaN for a stored NULL).
struct StoredSample {
  double value = 0;
  uint32_t quality = 0;
};
using SampleKey = std::pair<int64_t, int64_t>;  // (point_id, ts_us)
using StoredSamples = std::map<SampleKey, StoredSample>;

// The reads of the stored rows of `request`'s edits from `table` (sample_<interval>),
// kEditsPerRead edits each: point_id, ts, value, quality of the rows that exist. The
// same text on every dialect (row values, integer literals only).
std::vector<v1::SqlStatement> StoredSampleReads(const v1::ModifySamplesRequest& request,
                                                std::string_view table);
// Adds a read's rows to `stored`; kInternal naming the row when one is not
// (integer, integer, number or NULL, integer).
Status AddStoredRows(const std::vector<std::vector<v1::SqlValue>>& rows, StoredSamples* stored);

// The KIND_SAMPLE_MODIFY intent for `request` (checked by CheckSampleEdits), corrected
// by `who`: per edit, the value given or kept, the quality given or kept plus
// QUALITY_SUBSTITUTED, manual, who and why, the stored value and quality as old_*
// (absent for an inserted sample) and correct_recall. An inserted sample without a
// quality given is QUALITY_GOOD | QUALITY_SUBSTITUTED. kNotFound naming the missing
// samples (up to kMissingSamplesShown, then "and N more") unless insert_missing; an
// inserted sample without a value given is refused (kInvalidArgument) as it has none
// to keep.
Result<v1::SyncIntent> BuildSampleModify(const v1::ModifySamplesRequest& request,
                                         const StoredSamples& stored, const std::string& who);

}  // namespace sluice::service
