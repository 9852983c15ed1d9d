#include "cli/trigger_values.h"

#include <charconv>
#include <cmath>
#include <cstdlib>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace sluice::cli {
namespace {

enum class Kind { kInt, kFloat, kString };

struct Column {
  Kind kind;
  int position;  // 1-based: int_<position>, float_<position>, str_<position>
};

// "int column 'phase' (int_2)", as trigger.h names a column.
std::string DescribeColumn(const std::string& name, Column c) {
  switch (c.kind) {
    case Kind::kInt:
      return fmt::format("int column '{}' (int_{})", name, c.position);
    case Kind::kFloat:
      return fmt::format("float column '{}' (float_{})", name, c.position);
    case Kind::kString:
      break;
  }
  return fmt::format("string column '{}' (str_{})", name, c.position);
}

bool FindColumn(const v1::CatalogTriggerType& type, std::string_view name, Column* out) {
  const std::pair<Kind, const google::protobuf::RepeatedPtrField<std::string>*> lists[] = {
      {Kind::kInt, &type.int_columns()},
      {Kind::kFloat, &type.float_columns()},
      {Kind::kString, &type.string_columns()}};
  for (const auto& [kind, list] : lists) {
    for (int i = 0; i < list->size(); ++i) {
      if (list->Get(i) == name) {
        *out = {kind, i + 1};
        return true;
      }
    }
  }
  return false;
}

std::string ListColumns(const v1::CatalogTriggerType& type) {
  auto list = [](const auto& columns) {
    return columns.empty() ? std::string("none") : fmt::format("{}", fmt::join(columns, ", "));
  };
  return fmt::format("int: {}; float: {}; string: {}", list(type.int_columns()),
                     list(type.float_columns()), list(type.string_columns()));
}

}  // namespace

std::string DescribeTriggerType(const v1::CatalogTriggerType& type) {
  return fmt::format("trigger type '{}' (id {})", type.name(), type.id());
}

Result<v1::CatalogTriggerType> FindTriggerType(const std::vector<v1::CatalogTriggerType>& types,
                                               std::string_view text) {
  int64_t id = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec == std::errc() && end == text.data() + text.size()) {
    for (const auto& t : types) {
      if (t.id() == id) return t;
    }
  }
  for (const auto& t : types) {
    if (t.name() == text) return t;
  }
  std::string known;
  for (const auto& t : types) known += fmt::format("{}{} '{}'", known.empty() ? "" : ", ", t.id(), t.name());
  return Status::NotFound(fmt::format("no trigger type with the id or name '{}' (trigger types: {})",
                                      text, known.empty() ? "none" : known));
}

Result<std::vector<v1::TriggerColumnValue>> ParseTriggerValues(
    const v1::CatalogTriggerType& type, const std::vector<std::string>& arguments) {
  std::vector<v1::TriggerColumnValue> out;
  out.reserve(arguments.size());
  for (size_t i = 0; i < arguments.size(); ++i) {
    const std::string& arg = arguments[i];
    const size_t eq = arg.find('=');
    if (eq == std::string::npos || eq == 0) {
      return Status::InvalidArgument(
          fmt::format("value {} '{}' is not COLUMN=VALUE (columns of {}: {})", i + 1, arg,
                      DescribeTriggerType(type), ListColumns(type)));
    }
    const std::string name = arg.substr(0, eq);
    const std::string text = arg.substr(eq + 1);
    Column column{};
    if (!FindColumn(type, name, &column)) {
      return Status::InvalidArgument(fmt::format("value {} '{}': {} has no column '{}' ({})",
                                                 i + 1, arg, DescribeTriggerType(type), name,
                                                 ListColumns(type)));
    }
    v1::TriggerColumnValue v;
    v.set_column(name);
    auto bad = [&](std::string_view what) {
      return Status::InvalidArgument(fmt::format("value {}: {} of {}: '{}' is not {}", i + 1,
                                                 DescribeColumn(name, column),
                                                 DescribeTriggerType(type), text, what));
    };
    switch (column.kind) {
      case Kind::kInt: {
        int64_t n = 0;
        auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
        if (text.empty() || ec != std::errc() || p != text.data() + text.size())
          return bad("an integer (a 64-bit decimal number)");
        v.set_int_value(n);
        break;
      }
      case Kind::kFloat: {
        // strtod, not from_chars: it takes the forms people type ("1e3", "+2.5") the same
        // on every libstdc++; hex and "nan"/"inf" are refused below.
        char* p = nullptr;
        const double d = text.empty() ? 0 : std::strtod(text.c_str(), &p);
        if (text.empty() || p != text.c_str() + text.size() || !std::isfinite(d) ||
            text.find_first_of("xXnN") != std::string::npos)
          return bad("a finite decimal number");
        v.set_float_value(d);
        break;
      }
      case Kind::kString:
        v.set_string_value(text);
        break;
    }
    out.push_back(std::move(v));
  }
  return out;
}

}  // namespace sluice::cli
