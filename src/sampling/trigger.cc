#include "sampling/trigger.h"

#include <array>
#include <optional>
#include <string_view>
#include <unordered_map>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace sluice::sampling {
namespace {

enum class ColumnKind { kInt = 0, kFloat = 1, kString = 2 };
constexpr std::array<ColumnKind, 3> kKinds = {ColumnKind::kInt, ColumnKind::kFloat,
                                              ColumnKind::kString};

std::string_view KindName(ColumnKind kind) {
  switch (kind) {
    case ColumnKind::kInt: return "int";
    case ColumnKind::kFloat: return "float";
    case ColumnKind::kString: return "string";
  }
  return "?";
}

// burst_sample's column of position `index` (0-based) of `kind`: "int_1", "str_50".
std::string DbColumn(ColumnKind kind, size_t index) {
  switch (kind) {
    case ColumnKind::kInt: return fmt::format("int_{}", index + 1);
    case ColumnKind::kFloat: return fmt::format("float_{}", index + 1);
    case ColumnKind::kString: return fmt::format("str_{}", index + 1);
  }
  return "?";
}

const std::vector<std::string>& Columns(const TriggerType& type, ColumnKind kind) {
  switch (kind) {
    case ColumnKind::kInt: return type.int_columns;
    case ColumnKind::kFloat: return type.float_columns;
    case ColumnKind::kString: return type.string_columns;
  }
  return type.int_columns;
}

// 'text' with bytes that are not printable ASCII-or-UTF-8 shown as \xNN, so that a bad
// name cannot garble the message that reports it.
std::string Quote(std::string_view text) {
  std::string out = "'";
  for (unsigned char c : text) {
    if (c < 0x20 || c == 0x7f) {
      fmt::format_to(std::back_inserter(out), "\\x{:02x}", c);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  out.push_back('\'');
  return out;
}

// "trigger type 'fault' (id 3)".
std::string Named(const TriggerType& type) {
  return fmt::format("trigger type {} (id {})", Quote(type.name), type.id);
}

// The byte offset of the first byte that makes `text` invalid UTF-8 or is a control
// character, with what is wrong; nullopt when the text is fine.
std::optional<std::pair<size_t, std::string>> FirstUnprintable(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c == 0x7f) return std::pair{i, fmt::format("a control character 0x{:02x}", c)};
    size_t extra = 0;
    uint32_t code = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xe0) == 0xc0) {
      extra = 1;
      code = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      extra = 2;
      code = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      extra = 3;
      code = c & 0x07;
    } else {
      return std::pair{i, fmt::format("an invalid UTF-8 byte 0x{:02x}", c)};
    }
    if (i + extra >= text.size()) {
      return std::pair{i, std::string("a truncated UTF-8 sequence")};
    }
    for (size_t k = 1; k <= extra; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xc0) != 0x80) {
        return std::pair{i, fmt::format("an invalid UTF-8 sequence (byte 0x{:02x})", next)};
      }
      code = (code << 6) | (next & 0x3f);
    }
    // Overlong forms, surrogates and code points past U+10FFFF are not UTF-8 either.
    static constexpr std::array<uint32_t, 4> kMinimum = {0, 0x80, 0x800, 0x10000};
    if (code < kMinimum[extra] || (code >= 0xd800 && code <= 0xdfff) || code > 0x10ffff) {
      return std::pair{i, std::string("an invalid UTF-8 sequence")};
    }
    if (code >= 0x80 && code < 0xa0) {
      return std::pair{i, fmt::format("a control character U+{:04X}", code)};
    }
    i += extra + 1;
  }
  return std::nullopt;
}

bool IsIdentifier(std::string_view name) {
  if (name.empty() || name.size() > kMaxTriggerColumnNameBytes) return false;
  auto alpha = [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; };
  if (!alpha(name[0])) return false;
  for (char c : name) {
    if (!alpha(c) && !(c >= '0' && c <= '9')) return false;
  }
  return true;
}

// "int: a, b; float: c; string: none": the message of an unknown column lists them.
std::string ListColumns(const TriggerType& type) {
  std::string out;
  for (ColumnKind kind : kKinds) {
    const auto& names = Columns(type, kind);
    if (!out.empty()) out += "; ";
    fmt::format_to(std::back_inserter(out), "{}: {}", KindName(kind),
                   names.empty() ? "none" : fmt::format("{}", fmt::join(names, ", ")));
  }
  return out;
}

// A value as a message shows it; long strings cut to their first 40 bytes.
std::string ShowValue(const TriggerValue& value) {
  if (const auto* i = std::get_if<int64_t>(&value)) return fmt::format("{}", *i);
  if (const auto* d = std::get_if<double>(&value)) return fmt::format("{}", *d);
  const auto& s = std::get<std::string>(value);
  constexpr size_t kShown = 40;
  if (s.size() <= kShown) return Quote(s);
  return fmt::format("{}... ({} bytes)", Quote(std::string_view(s).substr(0, kShown)), s.size());
}

Status CheckStringLength(const TriggerType& type, std::string_view column, size_t index,
                         size_t bytes, const record::Limits& limits) {
  if (bytes <= limits.max_string_length) return Status::OK();
  return Status::InvalidArgument(fmt::format(
      "{}: the value of string column {} ({}) is {} bytes long, above "
      "limits.max_string_length = {}",
      Named(type), Quote(column), DbColumn(ColumnKind::kString, index), bytes,
      limits.max_string_length));
}

// Where a column goes.
struct Slot {
  ColumnKind kind;
  size_t index;
};

}  // namespace

std::string_view TriggerValueKindName(const TriggerValue& value) {
  return KindName(static_cast<ColumnKind>(value.index()));
}

Status ValidateTriggerType(const TriggerType& type) {
  if (type.id <= 0) {
    return Status::InvalidArgument(
        fmt::format("{}: the id must be > 0", Named(type)));
  }
  if (type.name.empty()) {
    return Status::InvalidArgument(fmt::format("trigger type {}: the name is empty", type.id));
  }
  if (type.name.size() > kMaxTriggerTypeNameBytes) {
    return Status::InvalidArgument(
        fmt::format("trigger type {}: the name is {} bytes long, above the {} allowed", type.id,
                    type.name.size(), kMaxTriggerTypeNameBytes));
  }
  if (auto bad = FirstUnprintable(type.name)) {
    return Status::InvalidArgument(fmt::format("trigger type {}: the name {} has {} at byte {}",
                                               type.id, Quote(type.name), bad->second,
                                               bad->first));
  }
  std::unordered_map<std::string_view, std::string> seen;  // name -> "int column 2"
  for (ColumnKind kind : kKinds) {
    const auto& names = Columns(type, kind);
    if (names.size() > static_cast<size_t>(record::kMaxTriggerValues)) {
      return Status::InvalidArgument(fmt::format(
          "{}: {} {} columns, at most {} (burst_sample has {}..{})", Named(type), names.size(),
          KindName(kind), record::kMaxTriggerValues, DbColumn(kind, 0),
          DbColumn(kind, record::kMaxTriggerValues - 1)));
    }
    for (size_t i = 0; i < names.size(); ++i) {
      const std::string where = fmt::format("{} column {} ({})", KindName(kind), i + 1,
                                            DbColumn(kind, i));
      if (names[i].empty()) {
        return Status::InvalidArgument(fmt::format("{}: {} has an empty name", Named(type), where));
      }
      if (!IsIdentifier(names[i])) {
        return Status::InvalidArgument(fmt::format(
            "{}: {} is named {}, which is not an identifier ([A-Za-z_][A-Za-z0-9_]*, at most {} "
            "bytes)",
            Named(type), where, Quote(names[i]), kMaxTriggerColumnNameBytes));
      }
      auto [it, inserted] = seen.emplace(names[i], where);
      if (!inserted) {
        return Status::InvalidArgument(fmt::format("{}: the column name {} is used twice: {} and {}",
                                                   Named(type), Quote(names[i]), it->second,
                                                   where));
      }
    }
  }
  return Status::OK();
}

Result<v1::TriggerSample> BuildTriggerSample(const TriggerType& type, int64_t occur_time_us,
                                             const NamedTriggerValues& values,
                                             const record::Limits& limits) {
  SLUICE_RETURN_IF_ERROR(ValidateTriggerType(type));
  const size_t total = type.int_columns.size() + type.float_columns.size() +
                       type.string_columns.size();
  if (values.size() > total) {
    return Status::InvalidArgument(fmt::format(
        "{} has {} columns ({} int, {} float, {} string); {} values given", Named(type), total,
        type.int_columns.size(), type.float_columns.size(), type.string_columns.size(),
        values.size()));
  }
  std::unordered_map<std::string_view, Slot> slots;
  for (ColumnKind kind : kKinds) {
    const auto& names = Columns(type, kind);
    for (size_t i = 0; i < names.size(); ++i) slots.emplace(names[i], Slot{kind, i});
  }
  // given[kind][index]: the value placed there, as an index into `values`.
  std::array<std::vector<std::optional<size_t>>, 3> given;
  for (ColumnKind kind : kKinds) {
    given[static_cast<size_t>(kind)].resize(Columns(type, kind).size());
  }
  for (size_t v = 0; v < values.size(); ++v) {
    const auto& [column, value] = values[v];
    auto it = slots.find(column);
    if (it == slots.end()) {
      return Status::InvalidArgument(fmt::format("{} has no column {}; its columns are {}",
                                                 Named(type), Quote(column), ListColumns(type)));
    }
    const Slot slot = it->second;
    const std::string where = fmt::format("{} column {} ({})", KindName(slot.kind), Quote(column),
                                          DbColumn(slot.kind, slot.index));
    auto& placed = given[static_cast<size_t>(slot.kind)][slot.index];
    if (placed.has_value()) {
      return Status::InvalidArgument(fmt::format("{}: {} is given twice (values {} and {})",
                                                 Named(type), where,
                                                 ShowValue(values[*placed].second),
                                                 ShowValue(value)));
    }
    const auto value_kind = static_cast<ColumnKind>(value.index());
    const bool int_into_float = slot.kind == ColumnKind::kFloat && value_kind == ColumnKind::kInt;
    if (value_kind != slot.kind && !int_into_float) {
      return Status::InvalidArgument(fmt::format("{}: {} is {} {} column, but its value {} is {} {}",
                                                 Named(type), where,
                                                 slot.kind == ColumnKind::kInt ? "an" : "a",
                                                 KindName(slot.kind), ShowValue(value),
                                                 value_kind == ColumnKind::kInt ? "an" : "a",
                                                 KindName(value_kind)));
    }
    if (int_into_float) {
      // A double holds every integer up to 2^53 exactly; beyond, the stored value would
      // differ from the one given.
      constexpr int64_t kExact = int64_t{1} << 53;
      const int64_t i = std::get<int64_t>(value);
      if (i > kExact || i < -kExact) {
        return Status::InvalidArgument(fmt::format(
            "{}: {} is a float column, and the int value {} has no exact double (|value| <= "
            "2^53 has)",
            Named(type), where, i));
      }
    }
    if (slot.kind == ColumnKind::kString) {
      SLUICE_RETURN_IF_ERROR(CheckStringLength(type, column, slot.index,
                                               std::get<std::string>(value).size(), limits));
    }
    placed = v;
  }
  // The columns given must be the leading ones of each kind (see trigger.h).
  for (ColumnKind kind : kKinds) {
    const auto& placed = given[static_cast<size_t>(kind)];
    const auto& names = Columns(type, kind);
    size_t count = 0;  // one past the last given
    for (size_t i = 0; i < placed.size(); ++i) {
      if (placed[i].has_value()) count = i + 1;
    }
    std::vector<std::string> missing;
    for (size_t i = 0; i < count; ++i) {
      if (!placed[i].has_value()) {
        missing.push_back(fmt::format("{} ({})", Quote(names[i]), DbColumn(kind, i)));
      }
    }
    if (!missing.empty()) {
      return Status::InvalidArgument(fmt::format(
          "{}: {} column {} ({}) is given but {} {} not: a trigger stores the leading columns of "
          "each kind and NULL only after the last one given, so give {} too",
          Named(type), KindName(kind), Quote(names[count - 1]), DbColumn(kind, count - 1),
          fmt::join(missing, ", "), missing.size() == 1 ? "is" : "are",
          missing.size() == 1 ? "it" : "them"));
    }
  }
  v1::TriggerSample sample;
  sample.set_trigger_type(type.id);
  sample.set_occur_time_us(occur_time_us);
  for (const auto& at : given[static_cast<size_t>(ColumnKind::kInt)]) {
    if (!at.has_value()) break;
    sample.add_int_values(std::get<int64_t>(values[*at].second));
  }
  for (const auto& at : given[static_cast<size_t>(ColumnKind::kFloat)]) {
    if (!at.has_value()) break;
    const TriggerValue& value = values[*at].second;
    sample.add_float_values(std::holds_alternative<int64_t>(value)
                                ? static_cast<double>(std::get<int64_t>(value))
                                : std::get<double>(value));
  }
  for (const auto& at : given[static_cast<size_t>(ColumnKind::kString)]) {
    if (!at.has_value()) break;
    sample.add_string_values(std::get<std::string>(values[*at].second));
  }
  return sample;
}

Result<v1::TriggerSample> BuildTriggerSample(const TriggerType& type, int64_t occur_time_us,
                                             const PositionalTriggerValues& values,
                                             const record::Limits& limits) {
  SLUICE_RETURN_IF_ERROR(ValidateTriggerType(type));
  const std::array<size_t, 3> given = {values.ints.size(), values.floats.size(),
                                       values.strings.size()};
  for (ColumnKind kind : kKinds) {
    const auto& names = Columns(type, kind);
    const size_t n = given[static_cast<size_t>(kind)];
    if (n > names.size()) {
      return Status::InvalidArgument(fmt::format(
          "{} has {} {} columns ({}); {} {} values given", Named(type), names.size(),
          KindName(kind), names.empty() ? "none" : fmt::format("{}", fmt::join(names, ", ")), n,
          KindName(kind)));
    }
  }
  for (size_t i = 0; i < values.strings.size(); ++i) {
    SLUICE_RETURN_IF_ERROR(CheckStringLength(type, type.string_columns[i], i,
                                             values.strings[i].size(), limits));
  }
  v1::TriggerSample sample;
  sample.set_trigger_type(type.id);
  sample.set_occur_time_us(occur_time_us);
  sample.mutable_int_values()->Add(values.ints.begin(), values.ints.end());
  sample.mutable_float_values()->Add(values.floats.begin(), values.floats.end());
  for (const auto& s : values.strings) sample.add_string_values(s);
  return sample;
}

}  // namespace sluice::sampling
