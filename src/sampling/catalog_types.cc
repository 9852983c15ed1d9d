#include "sampling/catalog_types.h"

#include <fmt/format.h>

namespace sluice::sampling {

std::string_view PointKindName(PointKind kind) {
  switch (kind) {
    case PointKind::kAnalog: return "analog";
    case PointKind::kStatus: return "status";
    case PointKind::kCounter: return "counter";
  }
  return "unknown";
}

Result<PointKind> ParsePointKind(std::string_view text) {
  for (PointKind kind : {PointKind::kAnalog, PointKind::kStatus, PointKind::kCounter}) {
    if (text == PointKindName(kind)) return kind;
  }
  return Status::InvalidArgument(
      fmt::format("point kind '{}' is not one of analog, status, counter", text));
}

}  // namespace sluice::sampling
