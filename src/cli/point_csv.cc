#include "cli/point_csv.h"

#include <charconv>
#include <cmath>
#include <map>

#include <fmt/format.h>

#include "sampling/catalog_types.h"

namespace sluice::cli {
namespace {

constexpr std::string_view kColumns[] = {"id",   "name",     "description", "kind",
                                         "unit", "lolo",     "lo",          "hi",
                                         "hihi", "deadband", "station",     "element"};

std::string Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return std::string(s);
}

Result<double> Number(const std::string& text) {
  double v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(v)) {
    return Status::InvalidArgument(fmt::format("'{}' is not a finite number", text));
  }
  return v;
}

}  // namespace

Result<std::vector<std::string>> SplitCsvLine(const std::string& line) {
  std::vector<std::string> out;
  std::string field;
  bool quoted = false, was_quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c == '"' && Trim(field).empty()) {
      quoted = was_quoted = true;
      field.clear();
    } else if (c == ',') {
      out.push_back(was_quoted ? field : Trim(field));
      field.clear();
      was_quoted = false;
    } else {
      field += c;
    }
  }
  if (quoted) return Status::InvalidArgument("a quoted field is not closed");
  out.push_back(was_quoted ? field : Trim(field));
  return out;
}

Result<std::vector<v1::CatalogPoint>> ParsePointCsv(std::istream& in, const std::string& source) {
  std::vector<v1::CatalogPoint> out;
  std::map<std::string, size_t> column_of;  // name -> index
  std::vector<std::string> header;
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    const std::string trimmed = Trim(line);
    if (trimmed.empty() || trimmed.front() == '#') continue;
    auto fields = SplitCsvLine(line);
    if (!fields.ok())
      return Status::InvalidArgument(
          fmt::format("{} line {}: {}", source, line_no, fields.status().message()));
    if (header.empty()) {
      header = *fields;
      for (size_t i = 0; i < header.size(); ++i) {
        bool known = false;
        for (auto c : kColumns) known = known || header[i] == c;
        if (!known) {
          return Status::InvalidArgument(
              fmt::format("{} line {}, column {}: '{}' is not a column of the point catalog (id, "
                          "name, description, kind, "
                          "unit, lolo, lo, hi, hihi, deadband, station, element)",
                          source, line_no, i + 1, header[i]));
        }
        if (!column_of.emplace(header[i], i).second) {
          return Status::InvalidArgument(
              fmt::format("{} line {}, column {}: column '{}' is named twice", source, line_no,
                          i + 1, header[i]));
        }
      }
      for (std::string_view required : {"id", "name"}) {
        if (!column_of.contains(std::string(required))) {
          return Status::InvalidArgument(
              fmt::format("{} line {}: the header names no '{}' column (the first line names the "
                          "columns; id and name are "
                          "required)",
                          source, line_no, required));
        }
      }
      continue;
    }
    if (fields->size() != header.size()) {
      return Status::InvalidArgument(
          fmt::format("{} line {}: {} fields, the header names {} columns", source, line_no,
                      fields->size(), header.size()));
    }
    v1::CatalogPoint p;
    for (size_t i = 0; i < header.size(); ++i) {
      const std::string& name = header[i];
      const std::string& v = (*fields)[i];
      auto bad = [&](std::string_view why) {
        return Status::InvalidArgument(
            fmt::format("{} line {}, column {} ({}): {}", source, line_no, i + 1, name, why));
      };
      if (name == "id") {
        int64_t id = 0;
        auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), id);
        if (ec != std::errc() || end != v.data() + v.size() || id <= 0) {
          return bad(fmt::format("'{}' is not a point id (an integer > 0)", v));
        }
        p.set_id(id);
      } else if (name == "name") {
        if (v.empty()) return bad("the point's name (its unique code) must not be empty");
        p.set_name(v);
      } else if (name == "description") {
        p.set_description(v);
      } else if (name == "unit") {
        p.set_unit(v);
      } else if (name == "station") {
        p.set_station(v);
      } else if (name == "element") {
        p.set_element(v);
      } else if (name == "kind") {
        if (v.empty()) continue;
        if (v == "0" || v == "1" || v == "2") {
          p.set_kind(v[0] - '0');
        } else {
          auto kind = sampling::ParsePointKind(v);
          if (!kind.ok()) return bad(kind.status().message());
          p.set_kind(static_cast<int32_t>(*kind));
        }
      } else {  // the numbers
        if (v.empty()) continue;
        auto n = Number(v);
        if (!n.ok()) return bad(n.status().message());
        if (name == "lolo") p.set_lolo(*n);
        if (name == "lo") p.set_lo(*n);
        if (name == "hi") p.set_hi(*n);
        if (name == "hihi") p.set_hihi(*n);
        if (name == "deadband") p.set_deadband(*n);
      }
    }
    out.push_back(std::move(p));
  }
  if (header.empty())
    return Status::InvalidArgument(
        fmt::format("{}: no header line (id,name,...) and no point", source));
  return out;
}

}  // namespace sluice::cli
