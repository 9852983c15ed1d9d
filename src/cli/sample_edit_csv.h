#pragma once
// The input of `sluice modify --file`: manual corrections of samples in CSV, parsed into
// the edits History.ModifySamples takes. Kept apart from the command so the parser can be
// tested without a service.
//
// Thread safety: pure functions.

#include <istream>
#include <string>
#include <vector>

#include "common/status.h"
#include "sluice/v1/service.pb.h"

namespace sluice::cli {

// Lines "point_id,ts,value[,quality]": ts as ParseSampleTime (sample_csv.h) reads it; an
// empty value or quality keeps the stored one (not both). A first line that does not
// start with a number is a header; empty lines and lines starting with '#' are skipped.
// Errors name `source`, the line and the column: "edits.csv line 3, column 3 (value): ...".
Result<std::vector<v1::SampleEdit>> ParseSampleEditCsv(std::istream& in, const std::string& source);

}  // namespace sluice::cli
