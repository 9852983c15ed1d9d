#include "sampling/catalog.h"

#include <cmath>
#include <mutex>
#include <set>

#include <fmt/format.h>

#include "record/validate.h"

namespace sluice::sampling {
namespace {

Status Bad(std::string_view where, std::string_view field, std::string_view why) {
  return Status::InvalidArgument(fmt::format("{}: {}: {}", where, field, why));
}

// Printable: no control characters (bytes of UTF-8 sequences are allowed).
bool Printable(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

Status CheckText(std::string_view where, std::string_view field, const std::string& value,
                 size_t max_bytes, bool required) {
  if (required && value.empty()) return Bad(where, field, "must not be empty");
  if (value.size() > max_bytes) {
    return Bad(where, field,
               fmt::format("is {} bytes long, at most {} are allowed", value.size(), max_bytes));
  }
  if (!Printable(value)) return Bad(where, field, "holds a control character");
  return Status::OK();
}

std::string Where(std::string_view list, size_t index, int64_t id) {
  return fmt::format("{}[{}] (id {})", list, index, id);
}

std::string DefinitionWhere(std::string_view list, size_t index, const SampleDefinition& d) {
  return fmt::format(
      "{}[{}] (point {}, interval {})", list, index, d.point_id,
      v1::SampleInterval_IsValid(d.interval) && d.interval != v1::SAMPLE_INTERVAL_UNSPECIFIED
          ? std::string(Info(d.interval).name)
          : std::to_string(static_cast<int>(d.interval)));
}

Status CheckColumns(std::string_view where, std::string_view field,
                    const std::vector<std::string>& columns) {
  if (columns.size() > static_cast<size_t>(record::kMaxTriggerValues)) {
    return Bad(where, field,
               fmt::format("{} columns, at most {} are allowed", columns.size(),
                           record::kMaxTriggerValues));
  }
  std::set<std::string_view> seen;
  for (size_t i = 0; i < columns.size(); ++i) {
    const std::string f = fmt::format("{}[{}]", field, i);
    SLUICE_RETURN_IF_ERROR(CheckText(where, f, columns[i], kMaxCodeBytes, true));
    if (columns[i].find(',') != std::string::npos) return Bad(where, f, "must not contain ','");
    if (!seen.insert(columns[i]).second)
      return Bad(where, f, fmt::format("'{}' is named twice", columns[i]));
  }
  return Status::OK();
}

// Which operations a change holds.
int OperationCount(const v1::CatalogChange& c) {
  return (c.put_points_size() > 0) + (c.delete_points_size() > 0) + (c.put_definitions_size() > 0) +
         (c.delete_definitions_size() > 0) + (c.put_trigger_types_size() > 0) +
         (c.delete_trigger_types_size() > 0) + (c.put_recalls_size() > 0) +
         (c.delete_recalls_size() > 0);
}

int EntryCount(const v1::CatalogChange& c) {
  return c.put_points_size() + c.delete_points_size() + c.put_definitions_size() +
         c.delete_definitions_size() + c.put_trigger_types_size() + c.delete_trigger_types_size() +
         c.put_recalls_size() + c.delete_recalls_size();
}

}  // namespace

Point PointFromProto(const v1::CatalogPoint& p) {
  Point out;
  out.id = p.id();
  out.name = p.name();
  out.description = p.description();
  out.kind = static_cast<PointKind>(p.kind());
  out.unit = p.unit();
  if (p.has_lolo()) out.limits.lolo = p.lolo();
  if (p.has_lo()) out.limits.lo = p.lo();
  if (p.has_hi()) out.limits.hi = p.hi();
  if (p.has_hihi()) out.limits.hihi = p.hihi();
  out.deadband = p.deadband();
  out.station = p.station();
  out.element = p.element();
  return out;
}

v1::CatalogPoint PointToProto(const Point& p) {
  v1::CatalogPoint out;
  out.set_id(p.id);
  out.set_name(p.name);
  out.set_description(p.description);
  out.set_kind(static_cast<int32_t>(p.kind));
  out.set_unit(p.unit);
  if (p.limits.lolo) out.set_lolo(*p.limits.lolo);
  if (p.limits.lo) out.set_lo(*p.limits.lo);
  if (p.limits.hi) out.set_hi(*p.limits.hi);
  if (p.limits.hihi) out.set_hihi(*p.limits.hihi);
  out.set_deadband(p.deadband);
  out.set_station(p.station);
  out.set_element(p.element);
  return out;
}

SampleDefinition DefinitionFromProto(const v1::CatalogDefinition& d) {
  return {d.point_id(), d.interval(), d.mode(), d.enabled()};
}

v1::CatalogDefinition DefinitionToProto(const SampleDefinition& d) {
  v1::CatalogDefinition out;
  out.set_point_id(d.point_id);
  out.set_interval(d.interval);
  out.set_mode(d.mode);
  out.set_enabled(d.enabled);
  return out;
}

TriggerType TriggerTypeFromProto(const v1::CatalogTriggerType& t) {
  TriggerType out;
  out.id = t.id();
  out.name = t.name();
  out.description = t.description();
  out.int_columns.assign(t.int_columns().begin(), t.int_columns().end());
  out.float_columns.assign(t.float_columns().begin(), t.float_columns().end());
  out.string_columns.assign(t.string_columns().begin(), t.string_columns().end());
  return out;
}

v1::CatalogTriggerType TriggerTypeToProto(const TriggerType& t) {
  v1::CatalogTriggerType out;
  out.set_id(t.id);
  out.set_name(t.name);
  out.set_description(t.description);
  for (const auto& c : t.int_columns) out.add_int_columns(c);
  for (const auto& c : t.float_columns) out.add_float_columns(c);
  for (const auto& c : t.string_columns) out.add_string_columns(c);
  return out;
}

RecallDefinition RecallFromProto(const v1::CatalogRecall& r) {
  RecallDefinition out;
  out.id = r.id();
  out.name = r.name();
  out.point_ids.assign(r.point_ids().begin(), r.point_ids().end());
  out.period_us = r.period_us();
  out.before_us = r.before_us();
  out.after_us = r.after_us();
  out.on_limit = r.on_limit();
  return out;
}

v1::CatalogRecall RecallToProto(const RecallDefinition& r) {
  v1::CatalogRecall out;
  out.set_id(r.id);
  out.set_name(r.name);
  for (int64_t id : r.point_ids) out.add_point_ids(id);
  out.set_period_us(r.period_us);
  out.set_before_us(r.before_us);
  out.set_after_us(r.after_us);
  out.set_on_limit(r.on_limit);
  return out;
}

std::string DescribeChange(const v1::CatalogChange& c) {
  std::string out;
  auto add = [&](int n, std::string_view what, std::string_view noun) {
    if (n == 0) return;
    out += fmt::format("{}{} {} {}{}", out.empty() ? "" : ", ", what, n, noun, n == 1 ? "" : "s");
  };
  add(c.put_points_size(), "put", "point");
  add(c.delete_points_size(), "delete", "point");
  add(c.put_definitions_size(), "define", "definition");
  add(c.delete_definitions_size(), "remove", "definition");
  add(c.put_trigger_types_size(), "put", "trigger type");
  add(c.delete_trigger_types_size(), "delete", "trigger type");
  add(c.put_recalls_size(), "put", "recall definition");
  add(c.delete_recalls_size(), "delete", "recall definition");
  return out.empty() ? "nothing" : out;
}

Status CheckPointEntry(const Point& p, std::string_view where) {
  if (p.id <= 0) return Bad(where, "id", fmt::format("{} is not a point id (ids are > 0)", p.id));
  SLUICE_RETURN_IF_ERROR(CheckText(where, "name", p.name, kMaxNameBytes, true));
  SLUICE_RETURN_IF_ERROR(CheckText(where, "description", p.description, kMaxTextBytes, false));
  SLUICE_RETURN_IF_ERROR(CheckText(where, "unit", p.unit, kMaxCodeBytes, false));
  SLUICE_RETURN_IF_ERROR(CheckText(where, "station", p.station, kMaxCodeBytes, false));
  SLUICE_RETURN_IF_ERROR(CheckText(where, "element", p.element, kMaxCodeBytes, false));
  const int kind = static_cast<int>(p.kind);
  if (kind < 0 || kind > 2) {
    return Bad(where, "kind",
               fmt::format("{} is not one of 0 (analog), 1 (status), 2 (counter)", kind));
  }
  if (!std::isfinite(p.deadband) || p.deadband < 0) {
    return Bad(where, "deadband", fmt::format("{} is not a finite number >= 0", p.deadband));
  }
  // lolo <= lo <= hi <= hihi among the limits that are set.
  const std::pair<const char*, const std::optional<double>*> limits[] = {{"lolo", &p.limits.lolo},
                                                                         {"lo", &p.limits.lo},
                                                                         {"hi", &p.limits.hi},
                                                                         {"hihi", &p.limits.hihi}};
  const char* prev_name = nullptr;
  double prev = 0;
  for (const auto& [name, value] : limits) {
    if (!value->has_value()) continue;
    if (!std::isfinite(**value))
      return Bad(where, name, fmt::format("{} is not a finite number", **value));
    if (prev_name != nullptr && **value < prev) {
      return Bad(where, name,
                 fmt::format("{} is below {} {} (limits must be ordered lolo <= lo <= hi <= hihi)",
                             **value, prev_name, prev));
    }
    prev_name = name;
    prev = **value;
  }
  return Status::OK();
}

Status CheckDefinitionEntry(const SampleDefinition& d, std::string_view where) {
  if (d.point_id <= 0)
    return Bad(where, "point_id", fmt::format("{} is not a point id (ids are > 0)", d.point_id));
  if (!v1::SampleInterval_IsValid(d.interval) || d.interval == v1::SAMPLE_INTERVAL_UNSPECIFIED) {
    return Bad(
        where, "interval",
        fmt::format(
            "{} is not one of the ten intervals (1s 5s 1min 5min 10min 15min 30min 1h 8h 1d)",
            static_cast<int>(d.interval)));
  }
  if (!v1::DefinitionMode_IsValid(d.mode)) {
    return Bad(where, "mode",
               fmt::format("{} is not 0 (active) or 1 (passive)", static_cast<int>(d.mode)));
  }
  return Status::OK();
}

Status CheckTriggerTypeEntry(const TriggerType& t, std::string_view where) {
  if (t.id <= 0)
    return Bad(where, "id", fmt::format("{} is not a trigger type id (ids are > 0)", t.id));
  SLUICE_RETURN_IF_ERROR(CheckText(where, "name", t.name, kMaxNameBytes, true));
  SLUICE_RETURN_IF_ERROR(CheckText(where, "description", t.description, kMaxTextBytes, false));
  SLUICE_RETURN_IF_ERROR(CheckColumns(where, "int_columns", t.int_columns));
  SLUICE_RETURN_IF_ERROR(CheckColumns(where, "float_columns", t.float_columns));
  SLUICE_RETURN_IF_ERROR(CheckColumns(where, "string_columns", t.string_columns));
  return Status::OK();
}

Status CheckRecallEntry(const RecallDefinition& r, std::string_view where) {
  if (r.id <= 0) return Bad(where, "id", fmt::format("{} is not a recall id (ids are > 0)", r.id));
  SLUICE_RETURN_IF_ERROR(CheckText(where, "name", r.name, kMaxNameBytes, false));
  if (r.point_ids.empty()) return Bad(where, "point_ids", "must name at least one point");
  if (r.point_ids.size() > static_cast<size_t>(kMaxChangeEntries)) {
    return Bad(where, "point_ids",
               fmt::format("{} points, at most {}", r.point_ids.size(), kMaxChangeEntries));
  }
  std::set<int64_t> seen;
  for (size_t i = 0; i < r.point_ids.size(); ++i) {
    if (r.point_ids[i] <= 0)
      return Bad(where, fmt::format("point_ids[{}]", i),
                 fmt::format("{} is not a point id", r.point_ids[i]));
    if (!seen.insert(r.point_ids[i]).second) {
      return Bad(where, fmt::format("point_ids[{}]", i),
                 fmt::format("point {} is named twice", r.point_ids[i]));
    }
  }
  if (r.period_us <= 0)
    return Bad(where, "period_us", fmt::format("{} is not a period (> 0)", r.period_us));
  if (r.before_us < 0) return Bad(where, "before_us", fmt::format("{} is negative", r.before_us));
  if (r.after_us < 0) return Bad(where, "after_us", fmt::format("{} is negative", r.after_us));
  return Status::OK();
}

Status Catalog::Check(const v1::CatalogChange& change) const {
  const int ops = OperationCount(change);
  if (ops == 0) return Status::InvalidArgument("the catalog change is empty: it names no entry");
  if (ops > 1) {
    return Status::InvalidArgument(
        fmt::format("a catalog change makes one kind of change, this one makes {} ({})", ops,
                    DescribeChange(change)));
  }
  if (EntryCount(change) > kMaxChangeEntries) {
    return Status::InvalidArgument(
        fmt::format("a catalog change holds at most {} entries, this one {} ({})",
                    kMaxChangeEntries, EntryCount(change), DescribeChange(change)));
  }
  std::shared_lock lk(mu_);
  if (change.put_points_size() > 0) return CheckPoints(change);
  if (change.delete_points_size() > 0) return CheckDeletePoints(change);
  if (change.put_definitions_size() > 0 || change.delete_definitions_size() > 0)
    return CheckDefinitions(change);
  if (change.put_trigger_types_size() > 0 || change.delete_trigger_types_size() > 0)
    return CheckTriggerTypes(change);
  return CheckRecalls(change);
}

Status Catalog::CheckPoints(const v1::CatalogChange& change) const {
  std::map<int64_t, size_t> ids;
  std::map<std::string_view, size_t> names;
  for (int i = 0; i < change.put_points_size(); ++i) {
    const v1::CatalogPoint& p = change.put_points(i);
    const std::string where = Where("points", static_cast<size_t>(i), p.id());
    SLUICE_RETURN_IF_ERROR(CheckPointEntry(PointFromProto(p), where));
    if (auto [it, fresh] = ids.emplace(p.id(), i); !fresh) {
      return Bad(where, "id", fmt::format("point {} is also points[{}]", p.id(), it->second));
    }
    if (auto [it, fresh] = names.emplace(p.name(), i); !fresh) {
      return Bad(where, "name",
                 fmt::format("'{}' is also the name of points[{}]", p.name(), it->second));
    }
  }
  // A name taken by another point of the catalog, unless that point is renamed too.
  for (const auto& [id, p] : points_) {
    auto it = names.find(p.name);
    if (it == names.end() || id == change.put_points(static_cast<int>(it->second)).id()) continue;
    if (ids.contains(id)) continue;  // renamed in this change
    const auto& q = change.put_points(static_cast<int>(it->second));
    return Bad(Where("points", it->second, q.id()), "name",
               fmt::format("'{}' is the name of point {}", p.name, id));
  }
  return Status::OK();
}

Status Catalog::CheckDeletePoints(const v1::CatalogChange& change) const {
  std::set<int64_t> seen;
  for (int i = 0; i < change.delete_points_size(); ++i) {
    const int64_t id = change.delete_points(i);
    const std::string where = fmt::format("delete_points[{}]", i);
    if (!points_.contains(id))
      return Bad(where, "id", fmt::format("point {} is not in the catalog", id));
    if (!seen.insert(id).second)
      return Bad(where, "id", fmt::format("point {} is named twice", id));
    auto def = definitions_.lower_bound({id, 0});
    if (def != definitions_.end() && def->first.first == id) {
      return Bad(where, "id",
                 fmt::format("point {} still has sample definitions (at {}); remove them first", id,
                             Info(def->second.interval).name));
    }
    for (const auto& [rid, r] : recalls_) {
      for (int64_t p : r.point_ids) {
        if (p == id)
          return Bad(where, "id",
                     fmt::format("point {} is in recall definition {}; change it first", id, rid));
      }
    }
  }
  return Status::OK();
}

Status Catalog::CheckDefinitions(const v1::CatalogChange& change) const {
  const bool put = change.put_definitions_size() > 0;
  const auto& list = put ? change.put_definitions() : change.delete_definitions();
  const std::string_view name = put ? "definitions" : "remove_definitions";
  std::set<DefinitionKey> seen;
  for (int i = 0; i < list.size(); ++i) {
    const SampleDefinition d = DefinitionFromProto(list[i]);
    const std::string where = DefinitionWhere(name, static_cast<size_t>(i), d);
    SLUICE_RETURN_IF_ERROR(CheckDefinitionEntry(d, where));
    const DefinitionKey key{d.point_id, static_cast<int>(d.interval)};
    if (!seen.insert(key).second) return Bad(where, "interval", "this definition is named twice");
    if (put && !points_.contains(d.point_id)) {
      return Bad(where, "point_id", fmt::format("point {} is not in the catalog", d.point_id));
    }
    if (!put && !definitions_.contains(key))
      return Bad(where, "interval", "there is no such definition");
  }
  return Status::OK();
}

Status Catalog::CheckTriggerTypes(const v1::CatalogChange& change) const {
  std::set<int32_t> ids;
  std::map<std::string_view, int32_t> names;
  for (int i = 0; i < change.put_trigger_types_size(); ++i) {
    const TriggerType t = TriggerTypeFromProto(change.put_trigger_types(i));
    const std::string where = Where("trigger_types", static_cast<size_t>(i), t.id);
    SLUICE_RETURN_IF_ERROR(CheckTriggerTypeEntry(t, where));
    if (!ids.insert(t.id).second)
      return Bad(where, "id", fmt::format("trigger type {} is named twice", t.id));
    if (!names.emplace(change.put_trigger_types(i).name(), t.id).second) {
      return Bad(where, "name", fmt::format("'{}' is named twice", t.name));
    }
  }
  for (const auto& [id, t] : trigger_types_) {
    auto it = names.find(t.name);
    if (it != names.end() && it->second != id && !ids.contains(id)) {
      return Bad(fmt::format("trigger type {}", it->second), "name",
                 fmt::format("'{}' is the name of trigger type {}", t.name, id));
    }
  }
  for (int i = 0; i < change.delete_trigger_types_size(); ++i) {
    const int32_t id = change.delete_trigger_types(i);
    if (!trigger_types_.contains(id)) {
      return Bad(fmt::format("delete_trigger_types[{}]", i), "id",
                 fmt::format("trigger type {} is not in the catalog", id));
    }
  }
  return Status::OK();
}

Status Catalog::CheckRecalls(const v1::CatalogChange& change) const {
  std::set<int64_t> ids;
  for (int i = 0; i < change.put_recalls_size(); ++i) {
    const RecallDefinition r = RecallFromProto(change.put_recalls(i));
    const std::string where = Where("recalls", static_cast<size_t>(i), r.id);
    SLUICE_RETURN_IF_ERROR(CheckRecallEntry(r, where));
    if (!ids.insert(r.id).second)
      return Bad(where, "id", fmt::format("recall definition {} is named twice", r.id));
    for (size_t k = 0; k < r.point_ids.size(); ++k) {
      if (!points_.contains(r.point_ids[k])) {
        return Bad(where, fmt::format("point_ids[{}]", k),
                   fmt::format("point {} is not in the catalog", r.point_ids[k]));
      }
    }
  }
  for (int i = 0; i < change.delete_recalls_size(); ++i) {
    const int64_t id = change.delete_recalls(i);
    if (!recalls_.contains(id)) {
      return Bad(fmt::format("delete_recalls[{}]", i), "id",
                 fmt::format("recall definition {} is not in the catalog", id));
    }
  }
  return Status::OK();
}

void Catalog::Apply(const v1::CatalogChange& change) {
  std::unique_lock lk(mu_);
  for (const auto& p : change.put_points()) {
    // A point renamed onto a name another point held: the target accepted it, so that
    // other point was renamed or deleted first; nothing to undo here.
    points_[p.id()] = PointFromProto(p);
  }
  for (int64_t id : change.delete_points()) points_.erase(id);
  for (const auto& d : change.put_definitions()) {
    definitions_[{d.point_id(), static_cast<int>(d.interval())}] = DefinitionFromProto(d);
  }
  for (const auto& d : change.delete_definitions()) {
    definitions_.erase({d.point_id(), static_cast<int>(d.interval())});
  }
  for (const auto& t : change.put_trigger_types()) trigger_types_[t.id()] = TriggerTypeFromProto(t);
  for (int32_t id : change.delete_trigger_types()) trigger_types_.erase(id);
  for (const auto& r : change.put_recalls()) recalls_[r.id()] = RecallFromProto(r);
  for (int64_t id : change.delete_recalls()) recalls_.erase(id);
  if (change.put_points_size() > 0 || change.delete_points_size() > 0) RebuildKnownLocked();
}

Status Catalog::Load(const v1::CatalogSnapshot& snapshot) {
  std::map<int64_t, Point> points;
  std::map<DefinitionKey, SampleDefinition> definitions;
  std::map<int32_t, TriggerType> trigger_types;
  std::map<int64_t, RecallDefinition> recalls;
  auto corrupt = [](const Status& s) { return Status::Corruption(std::string(s.message())); };
  for (int i = 0; i < snapshot.points_size(); ++i) {
    Point p = PointFromProto(snapshot.points(i));
    const std::string where = fmt::format("points[{}]", i);
    if (Status s = CheckPointEntry(p, where); !s.ok()) return corrupt(s);
    if (!points.emplace(p.id, p).second)
      return Status::Corruption(fmt::format("{}.id: point {} is listed twice", where, p.id));
  }
  for (int i = 0; i < snapshot.definitions_size(); ++i) {
    SampleDefinition d = DefinitionFromProto(snapshot.definitions(i));
    const std::string where = fmt::format("definitions[{}]", i);
    if (Status s = CheckDefinitionEntry(d, where); !s.ok()) return corrupt(s);
    if (!definitions.emplace(DefinitionKey{d.point_id, static_cast<int>(d.interval)}, d).second) {
      return Status::Corruption(fmt::format("{}: the definition is listed twice", where));
    }
  }
  for (int i = 0; i < snapshot.trigger_types_size(); ++i) {
    TriggerType t = TriggerTypeFromProto(snapshot.trigger_types(i));
    const std::string where = fmt::format("trigger_types[{}]", i);
    if (Status s = CheckTriggerTypeEntry(t, where); !s.ok()) return corrupt(s);
    if (!trigger_types.emplace(t.id, t).second)
      return Status::Corruption(fmt::format("{}.id: listed twice", where));
  }
  for (int i = 0; i < snapshot.recalls_size(); ++i) {
    RecallDefinition r = RecallFromProto(snapshot.recalls(i));
    const std::string where = fmt::format("recalls[{}]", i);
    if (Status s = CheckRecallEntry(r, where); !s.ok()) return corrupt(s);
    if (!recalls.emplace(r.id, r).second)
      return Status::Corruption(fmt::format("{}.id: listed twice", where));
  }
  std::unique_lock lk(mu_);
  points_ = std::move(points);
  definitions_ = std::move(definitions);
  trigger_types_ = std::move(trigger_types);
  recalls_ = std::move(recalls);
  RebuildKnownLocked();
  return Status::OK();
}

void Catalog::Fill(v1::CatalogSnapshot* snapshot) const {
  std::shared_lock lk(mu_);
  for (const auto& [id, p] : points_) *snapshot->add_points() = PointToProto(p);
  for (const auto& [key, d] : definitions_) *snapshot->add_definitions() = DefinitionToProto(d);
  for (const auto& [id, t] : trigger_types_) *snapshot->add_trigger_types() = TriggerTypeToProto(t);
  for (const auto& [id, r] : recalls_) *snapshot->add_recalls() = RecallToProto(r);
}

std::vector<Point> Catalog::Points() const {
  std::shared_lock lk(mu_);
  std::vector<Point> out;
  out.reserve(points_.size());
  for (const auto& [id, p] : points_) out.push_back(p);
  return out;
}

std::optional<Point> Catalog::FindPoint(int64_t id) const {
  std::shared_lock lk(mu_);
  auto it = points_.find(id);
  if (it == points_.end()) return std::nullopt;
  return it->second;
}

std::optional<TriggerType> Catalog::FindTriggerType(int32_t id) const {
  std::shared_lock lk(mu_);
  auto it = trigger_types_.find(id);
  if (it == trigger_types_.end()) return std::nullopt;
  return it->second;
}

std::optional<TriggerType> Catalog::FindTriggerType(std::string_view name) const {
  // A linear scan: trigger types are few (dozens), and a trigger is an event, not a feed.
  std::shared_lock lk(mu_);
  for (const auto& [id, t] : trigger_types_) {
    if (t.name == name) return t;
  }
  return std::nullopt;
}

std::vector<SampleDefinition> Catalog::Definitions() const {
  std::shared_lock lk(mu_);
  std::vector<SampleDefinition> out;
  out.reserve(definitions_.size());
  for (const auto& [key, d] : definitions_) out.push_back(d);
  return out;
}

std::vector<TriggerType> Catalog::TriggerTypes() const {
  std::shared_lock lk(mu_);
  std::vector<TriggerType> out;
  for (const auto& [id, t] : trigger_types_) out.push_back(t);
  return out;
}

std::vector<RecallDefinition> Catalog::Recalls() const {
  std::shared_lock lk(mu_);
  std::vector<RecallDefinition> out;
  for (const auto& [id, r] : recalls_) out.push_back(r);
  return out;
}

std::vector<Definition> Catalog::ActiveDefinitions() const {
  std::shared_lock lk(mu_);
  std::vector<Definition> out;
  for (const auto& [key, d] : definitions_) {
    if (d.enabled && d.mode == v1::DEFINITION_MODE_ACTIVE) out.push_back({d.point_id, d.interval});
  }
  return out;
}

std::shared_ptr<const std::unordered_set<int64_t>> Catalog::KnownPoints() const {
  std::shared_lock lk(mu_);
  return known_;
}

size_t Catalog::point_count() const {
  std::shared_lock lk(mu_);
  return points_.size();
}

size_t Catalog::definition_count() const {
  std::shared_lock lk(mu_);
  return definitions_.size();
}

void Catalog::RebuildKnownLocked() {
  auto known = std::make_shared<std::unordered_set<int64_t>>();
  known->reserve(points_.size());
  for (const auto& [id, p] : points_) known->insert(id);
  known_ = std::move(known);
}

}  // namespace sluice::sampling
