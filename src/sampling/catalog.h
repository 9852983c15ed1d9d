#pragma once
// The sampling catalog as the daemon keeps it in memory: points, sample definitions
// (point x interval, active or passive, enabled or not), trigger types and recall
// definitions (catalog_types.h).
//
// The journal decides what the catalog holds. A change is first checked here (Check:
// every error names the entry and the field), then journaled as a synchronous model write
// whose SQL (catalog_sql.h) makes the same change in every target; it takes effect here
// only when its outcome marker says applied (CatalogFollower, catalog_follower.h), through
// Apply. Apply never refuses: the active target has applied the change, so the catalog
// follows, whatever was checked before.
//
// Thread safety: all methods may be called from any thread (one reader-writer lock).
// Readers get copies; KnownPoints() is a shared immutable set, cheap to take per batch.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "common/status.h"
#include "sampling/catalog_types.h"
#include "sampling/sampler.h"
#include "sluice/v1/records.pb.h"

namespace sluice::sampling {

// A row of sample_define.
struct SampleDefinition {
  int64_t point_id = 0;
  v1::SampleInterval interval = v1::SAMPLE_INTERVAL_UNSPECIFIED;
  v1::DefinitionMode mode = v1::DEFINITION_MODE_ACTIVE;
  bool enabled = true;
};

// Limits of one change (one SQL statement: PostgreSQL binds at most 65535 parameters).
inline constexpr int kMaxChangeEntries = 2000;
inline constexpr size_t kMaxNameBytes = 128;
inline constexpr size_t kMaxTextBytes = 1024;  // description
inline constexpr size_t kMaxCodeBytes = 64;    // unit, station, element, column names

// Conversions between the plain values and their protobuf form.
Point PointFromProto(const v1::CatalogPoint& p);
v1::CatalogPoint PointToProto(const Point& p);
SampleDefinition DefinitionFromProto(const v1::CatalogDefinition& d);
v1::CatalogDefinition DefinitionToProto(const SampleDefinition& d);
TriggerType TriggerTypeFromProto(const v1::CatalogTriggerType& t);
v1::CatalogTriggerType TriggerTypeToProto(const TriggerType& t);
RecallDefinition RecallFromProto(const v1::CatalogRecall& r);
v1::CatalogRecall RecallToProto(const RecallDefinition& r);

// What a change does, for messages: "put 3 points", "delete 2 definitions".
std::string DescribeChange(const v1::CatalogChange& change);

class Catalog {
 public:
  Catalog() = default;
  Catalog(const Catalog&) = delete;
  Catalog& operator=(const Catalog&) = delete;

  // OK when `change` may be journaled: exactly one kind of operation, at most
  // kMaxChangeEntries entries, each valid on its own and against the catalog as it is now
  // (names unique, definitions of known points, deletions of existing entries, no point
  // deleted while a definition or a recall window uses it). kInvalidArgument naming the
  // entry ("points[2] (id 7)") and the field otherwise.
  Status Check(const v1::CatalogChange& change) const;

  // Applies a change the journal says was applied (see above).
  void Apply(const v1::CatalogChange& change);

  // Replaces everything with what `snapshot` holds, checking each entry on its own;
  // kCorruption naming the field ("points[3].name: ...") when one is not valid.
  Status Load(const v1::CatalogSnapshot& snapshot);
  // Fills the entries of `snapshot` (not its lsn, epoch or pending).
  void Fill(v1::CatalogSnapshot* snapshot) const;

  std::vector<Point> Points() const;  // by id
  std::optional<Point> FindPoint(int64_t id) const;
  // A trigger type by id, or by its name (names are unique in the catalog).
  std::optional<TriggerType> FindTriggerType(int32_t id) const;
  std::optional<TriggerType> FindTriggerType(std::string_view name) const;
  std::vector<SampleDefinition> Definitions() const;  // by point, then interval
  std::vector<TriggerType> TriggerTypes() const;
  std::vector<RecallDefinition> Recalls() const;
  // What the sampler samples: the active, enabled definitions.
  std::vector<Definition> ActiveDefinitions() const;
  // The ids of every point, as one immutable set (replaced on each change).
  std::shared_ptr<const std::unordered_set<int64_t>> KnownPoints() const;

  size_t point_count() const;
  size_t definition_count() const;

 private:
  using DefinitionKey = std::pair<int64_t, int>;  // point id, interval number

  Status CheckPoints(const v1::CatalogChange& change) const;
  Status CheckDeletePoints(const v1::CatalogChange& change) const;
  Status CheckDefinitions(const v1::CatalogChange& change) const;
  Status CheckTriggerTypes(const v1::CatalogChange& change) const;
  Status CheckRecalls(const v1::CatalogChange& change) const;
  // REQUIRES: mu_ held exclusively.
  void RebuildKnownLocked();

  mutable std::shared_mutex mu_;
  std::map<int64_t, Point> points_;                            // GUARDED_BY(mu_)
  std::map<DefinitionKey, SampleDefinition> definitions_;      // GUARDED_BY(mu_)
  std::map<int32_t, TriggerType> trigger_types_;               // GUARDED_BY(mu_)
  std::map<int64_t, RecallDefinition> recalls_;                // GUARDED_BY(mu_)
  std::shared_ptr<const std::unordered_set<int64_t>> known_ =  // GUARDED_BY(mu_)
      std::make_shared<const std::unordered_set<int64_t>>();
};

// Checks of single entries, shared by Check and Load. `where` names the entry in the
// message ("points[2] (id 7)").
Status CheckPointEntry(const Point& p, std::string_view where);
Status CheckDefinitionEntry(const SampleDefinition& d, std::string_view where);
Status CheckTriggerTypeEntry(const TriggerType& t, std::string_view where);
Status CheckRecallEntry(const RecallDefinition& r, std::string_view where);

}  // namespace sluice::sampling
