// Quality bits -> OPC UA severity (see quality.h for the table).

#include "history/quality.h"

#include "sluice/v1/records.pb.h"

namespace sluice::history {

Severity ClassifyQuality(uint32_t quality_bits) {
  if (quality_bits & v1::QUALITY_INVALID) return Severity::kBad;
  if (quality_bits & ~static_cast<uint32_t>(v1::QUALITY_SUBSTITUTED)) return Severity::kUncertain;
  return Severity::kGood;
}

std::string_view SeverityName(Severity severity) {
  switch (severity) {
    case Severity::kGood:
      return "Good";
    case Severity::kUncertain:
      return "Uncertain";
    case Severity::kBad:
      return "Bad";
  }
  return "Bad";
}

}  // namespace sluice::history
