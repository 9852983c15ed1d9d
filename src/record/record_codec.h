#pragma once
// How a v1::Record travels in a journal frame: frame type kRecordV1 with the serialized
// protobuf as payload. Future frame types may set journal::kIgnorableTypeBit so that
// older appliers skip them instead of stopping. Everything that writes or reads records
// in a journal (admission, replicate, sync, the de-duplication table, tests, benchmarks)
// uses these, never a literal type.

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"
#include "sluice/v1/records.pb.h"

namespace sluice::record {

inline constexpr uint16_t kRecordV1 = 1;

std::string EncodeRecord(const v1::Record& record);
// Parses a journal payload; the error names the LSN.
Result<v1::Record> DecodeRecord(uint64_t lsn, uint16_t type, std::string_view payload);

// "samples", "events", "sql", "intent", "outcome", "triggers", "recall", "correction",
// "switch_marker" or "empty".
std::string_view RecordKind(const v1::Record& record);
// Readable JSON of a record for the error log (BLOBs as base64, as protobuf's JSON does).
std::string RecordToJson(const v1::Record& record);

std::string Base64Encode(std::string_view bytes);
Result<std::string> Base64Decode(std::string_view text);

}  // namespace sluice::record
