#include "sampling/catalog_sql.h"

#include <iterator>
#include <string>
#include <vector>

#include <fmt/format.h>

namespace sluice::sampling {
namespace {

void Int(v1::SqlStatement* s, int64_t v) { s->add_params()->set_int_value(v); }
void Text(v1::SqlStatement* s, const std::string& v) { s->add_params()->set_text_value(v); }
void Real(v1::SqlStatement* s, double v) { s->add_params()->set_double_value(v); }
void MaybeReal(v1::SqlStatement* s, bool has, double v) {
  if (has) {
    Real(s, v);
  } else {
    s->add_params()->set_null_value(true);
  }
}

// "a,b,c": how list columns hold names and ids.
template <typename List>
std::string Joined(const List& list) {
  std::string out;
  for (const auto& v : list)
    fmt::format_to(std::back_inserter(out), "{}{}", out.empty() ? "" : ",", v);
  return out;
}

// "($1, $2, $3), ($4, $5, $6)" for `rows` rows of `columns` parameters. `row_format`
// wraps one row's list of parameters (e.g. to make a boolean of one).
std::string Values(int rows, const std::vector<std::string_view>& column_exprs) {
  std::string out;
  int n = 0;
  for (int r = 0; r < rows; ++r) {
    out += r == 0 ? "(" : ", (";
    for (size_t c = 0; c < column_exprs.size(); ++c) {
      ++n;
      out += (c == 0 ? "" : ", ") + fmt::format(fmt::runtime(column_exprs[c]), n);
    }
    out += ")";
  }
  return out;
}

std::string SetExcluded(const std::vector<std::string_view>& columns) {
  std::string out;
  for (auto c : columns) out += fmt::format("{}{} = excluded.{}", out.empty() ? "" : ", ", c, c);
  return out;
}

// Booleans are bound as integers and turned into a boolean by the SQL, which both
// dialects read the same way: ($n <> 0) is a boolean on PostgreSQL and 0/1 on SQLite.
constexpr std::string_view kParam = "${}";
constexpr std::string_view kBoolParam = "(${} <> 0)";

std::string InList(int first, int count) {
  std::string out;
  for (int i = 0; i < count; ++i) out += fmt::format("{}${}", i == 0 ? "" : ", ", first + i);
  return out;
}

}  // namespace

Result<v1::SqlStatement> CatalogSql(const v1::CatalogChange& c, int64_t now_us) {
  v1::SqlStatement s;
  if (c.put_points_size() > 0) {
    s.set_text(fmt::format(
        "INSERT INTO point (point_id, name, description, kind, unit, lolo_limit, lower_limit, "
        "upper_limit, hihi_limit, deadband, station, element, updated_at) VALUES {} "
        "ON CONFLICT (point_id) DO UPDATE SET {}",
        Values(c.put_points_size(), std::vector<std::string_view>(13, kParam)),
        SetExcluded({"name", "description", "kind", "unit", "lolo_limit", "lower_limit",
                     "upper_limit", "hihi_limit", "deadband", "station", "element",
                     "updated_at"})));
    for (const auto& p : c.put_points()) {
      Int(&s, p.id());
      Text(&s, p.name());
      Text(&s, p.description());
      Int(&s, p.kind());
      Text(&s, p.unit());
      MaybeReal(&s, p.has_lolo(), p.lolo());
      MaybeReal(&s, p.has_lo(), p.lo());
      MaybeReal(&s, p.has_hi(), p.hi());
      MaybeReal(&s, p.has_hihi(), p.hihi());
      Real(&s, p.deadband());
      Text(&s, p.station());
      Text(&s, p.element());
      Int(&s, now_us);
    }
    return s;
  }
  if (c.delete_points_size() > 0) {
    s.set_text(
        fmt::format("DELETE FROM point WHERE point_id IN ({})", InList(1, c.delete_points_size())));
    for (int64_t id : c.delete_points()) Int(&s, id);
    return s;
  }
  if (c.put_definitions_size() > 0) {
    s.set_text(
        fmt::format("INSERT INTO sample_define (point_id, sample_interval, mode, enabled, "
                    "updated_at) VALUES {} "
                    "ON CONFLICT (point_id, sample_interval) DO UPDATE SET {}",
                    Values(c.put_definitions_size(), {kParam, kParam, kParam, kBoolParam, kParam}),
                    SetExcluded({"mode", "enabled", "updated_at"})));
    for (const auto& d : c.put_definitions()) {
      Int(&s, d.point_id());
      Int(&s, d.interval());
      Int(&s, d.mode());
      Int(&s, d.enabled() ? 1 : 0);
      Int(&s, now_us);
    }
    return s;
  }
  if (c.delete_definitions_size() > 0) {
    std::string where;
    for (int i = 0; i < c.delete_definitions_size(); ++i) {
      where += fmt::format("{}(point_id = ${} AND sample_interval = ${})", i == 0 ? "" : " OR ",
                           2 * i + 1, 2 * i + 2);
      Int(&s, c.delete_definitions(i).point_id());
      Int(&s, c.delete_definitions(i).interval());
    }
    s.set_text("DELETE FROM sample_define WHERE " + where);
    return s;
  }
  if (c.put_trigger_types_size() > 0) {
    s.set_text(
        fmt::format("INSERT INTO burst_type (trigger_type, name, description, int_count, "
                    "float_count, string_count, "
                    "int_columns, float_columns, string_columns) VALUES {} ON CONFLICT "
                    "(trigger_type) DO UPDATE SET {}",
                    Values(c.put_trigger_types_size(), std::vector<std::string_view>(9, kParam)),
                    SetExcluded({"name", "description", "int_count", "float_count", "string_count",
                                 "int_columns", "float_columns", "string_columns"})));
    for (const auto& t : c.put_trigger_types()) {
      Int(&s, t.id());
      Text(&s, t.name());
      Text(&s, t.description());
      Int(&s, t.int_columns_size());
      Int(&s, t.float_columns_size());
      Int(&s, t.string_columns_size());
      Text(&s, Joined(t.int_columns()));
      Text(&s, Joined(t.float_columns()));
      Text(&s, Joined(t.string_columns()));
    }
    return s;
  }
  if (c.delete_trigger_types_size() > 0) {
    s.set_text(fmt::format("DELETE FROM burst_type WHERE trigger_type IN ({})",
                           InList(1, c.delete_trigger_types_size())));
    for (int32_t id : c.delete_trigger_types()) Int(&s, id);
    return s;
  }
  if (c.put_recalls_size() > 0) {
    s.set_text(
        fmt::format("INSERT INTO recall_define (recall_id, name, point_ids, period_us, before_us, "
                    "after_us, on_limit, "
                    "updated_at) VALUES {} ON CONFLICT (recall_id) DO UPDATE SET {}",
                    Values(c.put_recalls_size(),
                           {kParam, kParam, kParam, kParam, kParam, kParam, kBoolParam, kParam}),
                    SetExcluded({"name", "point_ids", "period_us", "before_us", "after_us",
                                 "on_limit", "updated_at"})));
    for (const auto& r : c.put_recalls()) {
      Int(&s, r.id());
      Text(&s, r.name());
      Text(&s, Joined(r.point_ids()));
      Int(&s, r.period_us());
      Int(&s, r.before_us());
      Int(&s, r.after_us());
      Int(&s, r.on_limit() ? 1 : 0);
      Int(&s, now_us);
    }
    return s;
  }
  if (c.delete_recalls_size() > 0) {
    s.set_text(fmt::format("DELETE FROM recall_define WHERE recall_id IN ({})",
                           InList(1, c.delete_recalls_size())));
    for (int64_t id : c.delete_recalls()) Int(&s, id);
    return s;
  }
  return Status::InvalidArgument("the catalog change is empty: no SQL to write");
}

}  // namespace sluice::sampling
