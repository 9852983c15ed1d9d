#include "record/record_codec.h"

#include <array>

#include <fmt/format.h>
#include <google/protobuf/util/json_util.h>

#include "journal/format.h"

namespace sluice::record {

std::string EncodeRecord(const v1::Record& record) {
  std::string out;
  record.SerializeToString(&out);
  return out;
}

Result<v1::Record> DecodeRecord(uint64_t lsn, uint16_t type, std::string_view payload) {
  if (type != kRecordV1) {
    return Status::InvalidArgument(fmt::format("LSN {}: unknown record type {}{}", lsn, type,
                                               (type & journal::kIgnorableTypeBit) ? " (ignorable)" : ""));
  }
  v1::Record record;
  if (!record.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
    return Status::InvalidArgument(
        fmt::format("LSN {}: payload of {} bytes is not a valid record", lsn, payload.size()));
  }
  return record;
}

std::string_view RecordKind(const v1::Record& record) {
  switch (record.body_case()) {
    case v1::Record::kSamples: return "samples";
    case v1::Record::kEvents: return "events";
    case v1::Record::kSql: return "sql";
    case v1::Record::kIntent: return "intent";
    case v1::Record::kOutcome: return "outcome";
    case v1::Record::kTriggers: return "triggers";
    case v1::Record::kRecall: return "recall";
    case v1::Record::kCorrection: return "correction";
    case v1::Record::kSwitchMarker: return "switch_marker";
    case v1::Record::BODY_NOT_SET: return "empty";
  }
  return "unknown";
}

std::string RecordToJson(const v1::Record& record) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  auto status = google::protobuf::util::MessageToJsonString(record, &json, options);
  if (!status.ok()) return fmt::format("{{\"error\":\"cannot render record: {}\"}}", status.ToString());
  return json;
}

namespace {
constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
}

std::string Base64Encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    uint32_t v = (static_cast<uint8_t>(bytes[i]) << 16) | (static_cast<uint8_t>(bytes[i + 1]) << 8) |
                 static_cast<uint8_t>(bytes[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  size_t rest = bytes.size() - i;
  if (rest > 0) {
    uint32_t v = static_cast<uint8_t>(bytes[i]) << 16;
    if (rest == 2) v |= static_cast<uint8_t>(bytes[i + 1]) << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += rest == 2 ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

Result<std::string> Base64Decode(std::string_view text) {
  std::array<int, 256> value;
  value.fill(-1);
  for (int i = 0; i < 64; ++i) value[static_cast<uint8_t>(kAlphabet[i])] = i;
  if (text.size() % 4 != 0) return Status::InvalidArgument("base64 text length is not a multiple of 4");
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    uint32_t v = 0;
    int pad = 0;
    for (size_t j = 0; j < 4; ++j) {
      char c = text[i + j];
      if (c == '=' && i + 4 == text.size() && j >= 2) {
        ++pad;
        v <<= 6;
        continue;
      }
      int d = value[static_cast<uint8_t>(c)];
      if (d < 0 || pad > 0) return Status::InvalidArgument(fmt::format("invalid base64 at offset {}", i + j));
      v = (v << 6) | static_cast<uint32_t>(d);
    }
    out += static_cast<char>((v >> 16) & 0xff);
    if (pad < 2) out += static_cast<char>((v >> 8) & 0xff);
    if (pad < 1) out += static_cast<char>(v & 0xff);
  }
  return out;
}

}  // namespace sluice::record
