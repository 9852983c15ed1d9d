#pragma once
// The values of `sluice trigger TYPE col=value ...`: each argument names a column of the
// trigger type and its value as text, parsed by the column's kind (an int column takes a
// decimal integer, a float column a finite decimal number, a string column any text).
// Kept apart from the command so it can be tested without a service.
//
// Only the form of each argument is checked here; what the type takes as a whole (no gap
// before a given column, a column given once, string lengths) is the service's check
// (sampling/trigger.h), whose error names the column too.
//
// Thread safety: pure functions.

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "sluice/v1/records.pb.h"
#include "sluice/v1/service.pb.h"

namespace sluice::cli {

// "trigger type 'breaker fault' (id 3)", as the service's messages name a type.
std::string DescribeTriggerType(const v1::CatalogTriggerType& type);

// The type named by `text`: the type whose id it is, else the type of that name. kNotFound
// listing the types when none is.
Result<v1::CatalogTriggerType> FindTriggerType(const std::vector<v1::CatalogTriggerType>& types,
                                               std::string_view text);

// "COLUMN=VALUE" arguments -> the request's named values. kInvalidArgument naming the
// argument and the column: no '=', a column the type does not have (its columns listed),
// a value that is not of the column's kind (`int column 'phase' (int_2): 'x' is not an
// integer`).
Result<std::vector<v1::TriggerColumnValue>> ParseTriggerValues(
    const v1::CatalogTriggerType& type, const std::vector<std::string>& arguments);

}  // namespace sluice::cli
