#include "cli/sample_edit_csv.h"

#include <cmath>
#include <string_view>

#include <fmt/format.h>

#include "cli/sample_csv.h"

namespace sluice::cli {
Result<std::vector<v1::SampleEdit>> ParseSampleEditCsv(std::istream& in,
                                                       const std::string& source) {
  std::vector<v1::SampleEdit> edits;
  Status s = ReadSampleCsvLines(in, source, [&](const SampleCsvLine& line) {
    const auto& f = line.fields;
    v1::SampleEdit e;
    e.set_point_id(line.point_id);
    e.set_ts_us(line.ts_us);
    if (!f[2].empty()) {
      double value = 0;
      if (!ParseCsvNumber(f[2], &value) || !std::isfinite(value)) {
        return line.Bad(2, fmt::format("'{}' is not a finite number", f[2]));
      }
      e.set_value(value);
    }
    if (f.size() == 4 && !f[3].empty()) {
      uint32_t quality = 0;
      if (!ParseCsvNumber(f[3], &quality)) {
        return line.Bad(3, fmt::format("'{}' is not an unsigned integer", f[3]));
      }
      e.set_quality(quality);
    }
    if (!e.has_value() && !e.has_quality()) {
      return line.Bad(2, "neither value nor quality is given; a line sets one or both");
    }
    edits.push_back(std::move(e));
    return Status::OK();
  });
  if (!s.ok()) return s;
  return edits;
}

}  // namespace sluice::cli
