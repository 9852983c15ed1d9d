#include "journal/journal_set.h"

#include <algorithm>
#include <limits>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/log.h"

namespace sluice::journal {
namespace {

constexpr char kCursorFile[] = "cursors.json";

}  // namespace

std::string_view RetentionPolicyName(RetentionPolicy policy) {
  return policy == RetentionPolicy::kHold ? "hold" : "detach";
}

std::optional<RetentionPolicy> ParseRetentionPolicy(std::string_view name) {
  if (name == "hold") return RetentionPolicy::kHold;
  if (name == "detach") return RetentionPolicy::kDetach;
  return std::nullopt;
}

Result<std::unique_ptr<JournalSet>> JournalSet::Open(const JournalSetOptions& options) {
  FileSystem* fs = options.fs;
  std::unique_ptr<JournalSet> set(new JournalSet(options));
  const std::string journal_dir = JoinPath(options.data_dir, "journal");
  const std::string state_dir = JoinPath(options.data_dir, "state");
  SLUICE_RETURN_IF_ERROR(fs->CreateDirs(options.data_dir));
  SLUICE_ASSIGN_OR_RETURN(set->lock_, fs->LockFile(JoinPath(options.data_dir, "LOCK")));
  SLUICE_RETURN_IF_ERROR(fs->CreateDirs(journal_dir));
  SLUICE_RETURN_IF_ERROR(fs->CreateDirs(state_dir));
  SLUICE_RETURN_IF_ERROR(fs->SyncDir(options.data_dir));

  // The epoch names this journal's history. A wiped directory gets a new one, so a
  // target's watermark from the old history can never be mistaken for this one's.
  const std::string epoch_path = JoinPath(journal_dir, "EPOCH");
  if (fs->Exists(epoch_path)) {
    SLUICE_ASSIGN_OR_RETURN(std::string text, ReadWholeFile(fs, epoch_path));
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    auto epoch = EpochFromHex(text);
    if (!epoch) {
      return Status::Corruption(fmt::format("{}: '{}' is not an epoch (32 hex digits)", epoch_path, text));
    }
    set->epoch_ = *epoch;
  } else {
    for (const auto& s : options.streams) {
      auto names = fs->ListDir(JoinPath(journal_dir, s.name));
      if (names.ok()) {
        for (const auto& n : *names) {
          if (ParseSegmentFileName(n)) {
            return Status::Corruption(fmt::format(
                "{} is missing but stream '{}' has segments: refusing to start a new history over an old one",
                epoch_path, s.name));
          }
        }
      }
    }
    set->epoch_ = NewRandomEpoch();
    SLUICE_RETURN_IF_ERROR(WriteFileAtomically(fs, epoch_path, EpochToHex(set->epoch_) + "\n"));
    SLUICE_LOG_INFO("journal {}: new epoch {}", journal_dir, EpochToHex(set->epoch_));
  }

  SpaceOptions space;
  space.fs = fs;
  space.path = journal_dir;
  space.budget_bytes = options.budget_bytes;
  space.free_space_floor_bytes = options.free_space_floor_bytes;
  set->space_ = std::make_unique<SpaceAccount>(space);
  uint64_t reserved_total = 0;
  for (const auto& s : options.streams) {
    if (set->journals_.count(s.name)) {
      return Status::InvalidArgument(fmt::format("stream '{}' is configured twice", s.name));
    }
    reserved_total += s.reserved_bytes;
    JournalOptions jo;
    jo.fs = fs;
    jo.dir = JoinPath(journal_dir, s.name);
    jo.stream = s.name;
    jo.epoch = set->epoch_;
    jo.segment_bytes = options.segment_bytes;
    jo.max_record_bytes = options.max_record_bytes;
    jo.ack_mode = options.ack_mode;
    jo.space = set->space_.get();
    jo.space_index = set->space_->AddStream(s.name, s.reserved_bytes);
    SLUICE_ASSIGN_OR_RETURN(auto j, Journal::Open(jo));
    set->journals_.emplace(s.name, std::move(j));
  }
  if (options.budget_bytes > 0 && reserved_total > options.budget_bytes) {
    return Status::InvalidArgument(fmt::format(
        "the streams' reserved shares ({} bytes) exceed the journal budget ({} bytes)",
        reserved_total, options.budget_bytes));
  }
  SLUICE_RETURN_IF_ERROR(set->LoadCursors());
  if (options.retention_interval.count() > 0) {
    set->retention_thread_ = std::thread([s = set.get()] { s->RetentionLoop(); });
  }
  return set;
}

JournalSet::~JournalSet() {
  {
    std::lock_guard lk(stop_mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (retention_thread_.joinable()) retention_thread_.join();
  Status s = FlushCursors();
  if (!s.ok()) SLUICE_LOG_WARN("saving cursors on close: {}", s.ToString());
  journals_.clear();  // flushes and stops every writer before the lock is released
}

Journal* JournalSet::stream(std::string_view name) const {
  auto it = journals_.find(name);
  return it == journals_.end() ? nullptr : it->second.get();
}

std::vector<std::string> JournalSet::stream_names() const {
  std::vector<std::string> names;
  for (const auto& [n, j] : journals_) names.push_back(n);
  return names;
}

Status JournalSet::LoadCursors() {
  const std::string path = JoinPath(JoinPath(options_.data_dir, "state"), kCursorFile);
  if (!options_.fs->Exists(path)) return Status::OK();
  SLUICE_ASSIGN_OR_RETURN(std::string text, ReadWholeFile(options_.fs, path));
  nlohmann::json doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("cursors") || !doc["cursors"].is_array()) {
    return Status::Corruption(fmt::format("{}: not a cursor file (expected a JSON object with a 'cursors' array)", path));
  }
  if (doc.contains("epoch") && doc["epoch"].is_string() && doc["epoch"].get<std::string>() != EpochToHex(epoch_)) {
    // The journal was replaced (new epoch) but the state directory was kept: these
    // positions belong to the old history and would let retention delete records the
    // targets never saw in the new one.
    SLUICE_LOG_WARN("{}: cursors belong to journal epoch {}, not {}; ignoring them",
                    path, doc["epoch"].get<std::string>(), EpochToHex(epoch_));
    return Status::OK();
  }
  std::lock_guard lk(mu_);
  size_t index = 0;
  for (const auto& c : doc["cursors"]) {
    auto bad = [&](std::string_view key) {
      return Status::Corruption(fmt::format("{}: cursor #{} has a missing or invalid '{}'", path, index, key));
    };
    if (!c.is_object()) return bad("(entry)");
    if (!c.contains("stream") || !c["stream"].is_string()) return bad("stream");
    if (!c.contains("name") || !c["name"].is_string()) return bad("name");
    if (!c.contains("lsn") || !c["lsn"].is_number_unsigned()) return bad("lsn");
    if (!c.contains("budget_bytes") || !c["budget_bytes"].is_number_unsigned()) return bad("budget_bytes");
    if (!c.contains("policy") || !c["policy"].is_string()) return bad("policy");
    if (!c.contains("needs_resync") || !c["needs_resync"].is_boolean()) return bad("needs_resync");
    auto policy = ParseRetentionPolicy(c["policy"].get<std::string>());
    if (!policy) return bad("policy");
    CursorState st;
    st.stream = c["stream"].get<std::string>();
    st.name = c["name"].get<std::string>();
    st.lsn = c["lsn"].get<Lsn>();
    st.options.budget_bytes = c["budget_bytes"].get<uint64_t>();
    st.options.policy = *policy;
    st.needs_resync = c["needs_resync"].get<bool>();
    if (c.contains("resync_reason") && c["resync_reason"].is_string()) {
      st.resync_reason = c["resync_reason"].get<std::string>();
    }
    if (journals_.count(st.stream) == 0) {
      SLUICE_LOG_WARN("{}: cursor '{}' names stream '{}', which is not configured; keeping it",
                      path, st.name, st.stream);
    }
    cursors_[{st.stream, st.name}] = std::move(st);
    ++index;
  }
  return Status::OK();
}

Status JournalSet::SaveCursorsLocked() {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& [key, c] : cursors_) {
    list.push_back({{"stream", c.stream},
                    {"name", c.name},
                    {"lsn", c.lsn},
                    {"budget_bytes", c.options.budget_bytes},
                    {"policy", std::string(RetentionPolicyName(c.options.policy))},
                    {"needs_resync", c.needs_resync},
                    {"resync_reason", c.resync_reason}});
  }
  nlohmann::json doc = {{"version", 1}, {"epoch", EpochToHex(epoch_)}, {"cursors", list}};
  SLUICE_RETURN_IF_ERROR(WriteFileAtomically(
      options_.fs, JoinPath(JoinPath(options_.data_dir, "state"), kCursorFile), doc.dump(2) + "\n"));
  cursors_dirty_ = false;
  return Status::OK();
}

Status JournalSet::RegisterCursor(const std::string& stream, const std::string& name,
                                  const CursorOptions& options) {
  if (journals_.count(stream) == 0) {
    return Status::NotFound(fmt::format("cannot register cursor '{}': no stream '{}'", name, stream));
  }
  std::lock_guard lk(mu_);
  auto [it, inserted] = cursors_.try_emplace({stream, name});
  if (inserted) {
    it->second.stream = stream;
    it->second.name = name;
  }
  it->second.options = options;
  return SaveCursorsLocked();
}

Status JournalSet::AdvanceCursor(const std::string& stream, const std::string& name, Lsn lsn) {
  std::lock_guard lk(mu_);
  auto it = cursors_.find({stream, name});
  if (it == cursors_.end()) {
    return Status::NotFound(fmt::format("no cursor '{}' on stream '{}'", name, stream));
  }
  if (lsn > it->second.lsn) {
    it->second.lsn = lsn;
    cursors_dirty_ = true;
  }
  return Status::OK();
}

Result<CursorState> JournalSet::GetCursor(const std::string& stream, const std::string& name) const {
  std::lock_guard lk(mu_);
  auto it = cursors_.find({stream, name});
  if (it == cursors_.end()) {
    return Status::NotFound(fmt::format("no cursor '{}' on stream '{}'", name, stream));
  }
  return it->second;
}

std::vector<CursorState> JournalSet::Cursors() const {
  std::lock_guard lk(mu_);
  std::vector<CursorState> out;
  for (const auto& [k, c] : cursors_) out.push_back(c);
  return out;
}

Status JournalSet::ResetCursor(const std::string& stream, const std::string& name, Lsn lsn) {
  std::lock_guard lk(mu_);
  auto it = cursors_.find({stream, name});
  if (it == cursors_.end()) {
    return Status::NotFound(fmt::format("no cursor '{}' on stream '{}'", name, stream));
  }
  it->second.lsn = lsn;
  it->second.needs_resync = false;
  it->second.resync_reason.clear();
  return SaveCursorsLocked();
}

Status JournalSet::DetachCursor(const std::string& stream, const std::string& name, const std::string& reason) {
  std::lock_guard lk(mu_);
  auto it = cursors_.find({stream, name});
  if (it == cursors_.end()) {
    return Status::NotFound(fmt::format("no cursor '{}' on stream '{}'", name, stream));
  }
  if (it->second.needs_resync && it->second.resync_reason == reason) return Status::OK();
  it->second.needs_resync = true;
  it->second.resync_reason = reason;
  SLUICE_LOG_WARN("cursor '{}' on stream '{}' no longer holds the journal: {}", name, stream, reason);
  return SaveCursorsLocked();
}

Result<size_t> JournalSet::DropCursors(const std::string& name) {
  std::lock_guard lk(mu_);
  auto old = cursors_;
  size_t dropped = std::erase_if(cursors_, [&](const auto& kv) { return kv.second.name == name; });
  if (dropped == 0) return size_t{0};
  Status s = SaveCursorsLocked();
  if (!s.ok()) {
    cursors_ = std::move(old);  // nothing changed unless it is durable
    return s;
  }
  return dropped;
}

Status JournalSet::FlushCursors() {
  std::lock_guard lk(mu_);
  if (!cursors_dirty_) return Status::OK();
  return SaveCursorsLocked();
}

Result<RetentionReport> JournalSet::RunRetention() {
  std::lock_guard pass(retention_mu_);
  RetentionReport report;
  std::map<std::string, Lsn> delete_up_to;
  {
    std::lock_guard lk(mu_);
    for (const auto& [name, journal] : journals_) {
      auto segments = journal->Segments();
      Lsn min_lsn = std::numeric_limits<Lsn>::max();
      bool any = false;
      bool registered = false;
      for (auto& [key, c] : cursors_) {
        if (c.stream != name) continue;
        registered = true;
        if (c.needs_resync) continue;
        if (c.options.budget_bytes > 0) {
          uint64_t held = 0;
          for (const auto& s : segments) {
            if (s.last_lsn > c.lsn) held += s.bytes;
          }
          if (held > c.options.budget_bytes) {
            if (c.options.policy == RetentionPolicy::kDetach) {
              c.needs_resync = true;
              c.resync_reason = fmt::format(
                  "detached: it held {} bytes of stream '{}' at LSN {}, over its budget of {} bytes",
                  held, name, c.lsn, c.options.budget_bytes);
              cursors_dirty_ = true;
              SLUICE_LOG_ERROR("cursor '{}' on stream '{}' {}; the target needs a resync", c.name,
                               name, c.resync_reason);
              report.detached.push_back(name + "/" + c.name);
              continue;
            }
            SLUICE_LOG_WARN("cursor '{}' holds {} bytes of stream '{}', over its budget of {} bytes "
                            "(policy hold: the journal keeps it all)",
                            c.name, held, name, c.options.budget_bytes);
          }
        }
        any = true;
        min_lsn = std::min(min_lsn, c.lsn);
      }
      // A stream nobody has registered for yet keeps everything: its consumers may still
      // be on their way. A stream whose cursors are all detached holds nothing for them.
      if (registered && !any) {
        any = true;
        min_lsn = journal->durable_lsn();
      }
      if (any && min_lsn > 0) delete_up_to[name] = min_lsn;
    }
    // Cursors are durable before any segment they allow to go is deleted.
    if (cursors_dirty_) SLUICE_RETURN_IF_ERROR(SaveCursorsLocked());
  }
  for (const auto& [name, lsn] : delete_up_to) {
    SLUICE_ASSIGN_OR_RETURN(uint64_t freed, journals_.at(name)->DeleteSegmentsUpTo(lsn));
    report.bytes_freed += freed;
  }
  return report;
}

void JournalSet::RetentionLoop() {
  std::unique_lock lk(stop_mu_);
  while (!stopping_) {
    stop_cv_.wait_for(lk, options_.retention_interval, [&] { return stopping_; });
    if (stopping_) break;
    lk.unlock();
    auto r = RunRetention();
    if (!r.ok()) SLUICE_LOG_ERROR("journal retention: {}", r.status().ToString());
    lk.lock();
  }
}

}  // namespace sluice::journal
