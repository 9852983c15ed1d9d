#include "sampling/catalog_follower.h"

#include <fmt/format.h>
#include <google/protobuf/util/json_util.h>

#include "common/log.h"
#include "record/record_codec.h"

namespace sluice::sampling {
namespace {

constexpr uint32_t kSnapshotFormat = 1;

}  // namespace

Result<std::unique_ptr<CatalogFollower>> CatalogFollower::Open(journal::JournalSet* journals,
                                                               Catalog* catalog,
                                                               CatalogFollowerOptions options) {
  std::unique_ptr<CatalogFollower> f(new CatalogFollower(journals, catalog, std::move(options)));
  if (journals->stream(f->options_.stream) == nullptr) {
    return Status::InvalidArgument(fmt::format(
        "the sampling catalog follows stream '{}', which is not configured", f->options_.stream));
  }
  if (!f->options_.cursor.empty()) {
    // Registered at LSN 0 the first time: it holds everything until the first save.
    SLUICE_RETURN_IF_ERROR(journals->RegisterCursor(f->options_.stream, f->options_.cursor, {}));
  }
  SLUICE_RETURN_IF_ERROR(f->LoadSnapshot());
  // Catch up before anything is served, so the sampler starts with its definitions.
  for (;;) {
    auto n = f->ReadAvailable();
    if (!n.ok() || *n == 0) break;  // an error is kept in error_ and logged
  }
  return f;
}

CatalogFollower::~CatalogFollower() {
  if (thread_.joinable()) {
    thread_.request_stop();
    thread_.join();
  }
}

Status CatalogFollower::LoadSnapshot() {
  FileSystem* fs = options_.fs;
  if (!fs->Exists(options_.path)) return Status::OK();
  SLUICE_ASSIGN_OR_RETURN(std::string text, ReadWholeFile(fs, options_.path));
  auto bad = [&](std::string_view why) {
    return Status::Corruption(
        fmt::format("{}: not a valid sampling catalog snapshot: {}; repair it, or move it away to "
                    "rebuild the catalog "
                    "from the model journal alone (catalog changes no longer in the journal are "
                    "then lost to the "
                    "daemon, not to the targets)",
                    options_.path, why));
  };
  v1::CatalogSnapshot snapshot;
  google::protobuf::util::JsonParseOptions parse;
  parse.ignore_unknown_fields = false;
  auto st = google::protobuf::util::JsonStringToMessage(text, &snapshot, parse);
  if (!st.ok()) return bad(std::string(st.message()));
  if (snapshot.format() != kSnapshotFormat) {
    return bad(fmt::format("format: {} is not {}", snapshot.format(), kSnapshotFormat));
  }
  Status loaded = catalog_->Load(snapshot);
  if (!loaded.ok()) return bad(loaded.message());
  const std::string epoch = journal::EpochToHex(journals_->epoch());
  std::lock_guard lk(mu_);
  if (snapshot.epoch() == epoch) {
    lsn_ = snapshot.lsn();
    for (int i = 0; i < snapshot.pending_size(); ++i) {
      const auto& p = snapshot.pending(i);
      if (p.lsn() == 0 || p.lsn() > snapshot.lsn()) {
        return bad(fmt::format("pending[{}].lsn: {} is not within 1..lsn ({})", i, p.lsn(),
                               snapshot.lsn()));
      }
      pending_[p.lsn()] = p.change();
    }
  } else {
    // The journal was recreated: its LSNs start over. The entries still hold (every
    // target has them); the new journal is read from its start.
    SLUICE_LOG_WARN(
        "{}: written for journal epoch {}, the journal is epoch {}; reading the model journal from "
        "its start",
        options_.path, snapshot.epoch(), epoch);
  }
  saved_lsn_ = lsn_;
  SLUICE_LOG_INFO(
      "sampling catalog: {} points, {} definitions from {} (model LSN {}, {} undecided)",
      catalog_->point_count(), catalog_->definition_count(), options_.path, lsn_, pending_.size());
  return Status::OK();
}

Result<size_t> CatalogFollower::ReadAvailable() {
  {
    std::lock_guard lk(mu_);
    if (!error_.empty()) return Status::FailedPrecondition(error_);
  }
  journal::Journal* j = journals_->stream(options_.stream);
  if (reader_ == nullptr) {
    uint64_t from;
    {
      std::lock_guard lk(mu_);
      from = lsn_ + 1;
    }
    auto reader = journal::Reader::Open(j, from);
    if (!reader.ok()) {
      std::string why = fmt::format(
          "the sampling catalog ({}) is current through model LSN {}, but the journal cannot be "
          "read from LSN "
          "{}: {}; the catalog is not following the journal (restore the snapshot, or move it away "
          "and "
          "re-import the catalog)",
          options_.path, from - 1, from, reader.status().message());
      SLUICE_LOG_ERROR("{}", why);
      std::lock_guard lk(mu_);
      error_ = why;
      cv_.notify_all();
      return Status::FailedPrecondition(why);
    }
    reader_ = std::move(reader).value();
  }
  journal::ReadBatch batch;
  Status s = reader_->Read(1024, 4 << 20, &batch);
  if (!s.ok()) {
    SLUICE_LOG_WARN("sampling catalog: reading the model journal: {}", s.ToString());
    reader_.reset();  // reopened at the next LSN on the next attempt
    return size_t{0};
  }
  if (batch.empty()) return size_t{0};
  bool changed = false;
  for (const auto& rv : batch.records()) {
    auto rec = record::DecodeRecord(rv.lsn, rv.type, rv.payload);
    std::lock_guard lk(mu_);
    lsn_ = rv.lsn;
    if (!rec.ok()) continue;  // not a record of ours (ignorable type) or damage the applier reports
    if (rec->has_intent() && rec->intent().has_catalog()) {
      pending_[rv.lsn] = rec->intent().catalog();
      continue;
    }
    if (!rec->has_outcome()) continue;
    auto it = pending_.find(rec->outcome().intent_lsn());
    if (it == pending_.end()) continue;
    deciding_.insert(it->first);
    if (rec->outcome().applied()) {
      catalog_->Apply(it->second);
      ++applied_;
      changed = true;
    } else {
      ++rejected_;
    }
    pending_.erase(it);
  }
  {
    std::lock_guard lk(mu_);
    if (changed) changed_since_save_ = true;
  }
  if (changed) {
    if (options_.on_change) options_.on_change();
    Status saved = Save();
    if (!saved.ok()) SLUICE_LOG_ERROR("saving the sampling catalog: {}", saved.ToString());
  }
  {
    std::lock_guard lk(mu_);
    deciding_.clear();
  }
  cv_.notify_all();
  return batch.size();
}

void CatalogFollower::Start() {
  thread_ = std::jthread([this](std::stop_token stop) { Run(stop); });
}

void CatalogFollower::Run(std::stop_token stop) {
  auto last_save = std::chrono::steady_clock::now();
  while (!stop.stop_requested()) {
    auto n = ReadAvailable();
    if (!n.ok()) return;  // logged and kept in error_
    if (*n == 0 && reader_ != nullptr) reader_->WaitForRecords(std::chrono::milliseconds(200));
    if (*n == 0 && reader_ == nullptr) std::this_thread::sleep_for(std::chrono::milliseconds(200));
    if (std::chrono::steady_clock::now() - last_save >= options_.save_interval) {
      last_save = std::chrono::steady_clock::now();
      bool behind;
      {
        std::lock_guard lk(mu_);
        behind = saved_lsn_ != lsn_;
      }
      // Saved while the follower reads on, so the cursor moves and retention frees the
      // model journal behind it.
      if (behind) {
        Status s = Save();
        if (!s.ok()) SLUICE_LOG_ERROR("saving the sampling catalog: {}", s.ToString());
      }
    }
  }
}

Status CatalogFollower::Stop() {
  if (thread_.joinable()) {
    thread_.request_stop();
    thread_.join();
  }
  return Save();
}

Status CatalogFollower::Save() {
  std::lock_guard save_lk(save_mu_);
  v1::CatalogSnapshot snapshot;
  uint64_t lsn;
  {
    // The entries and the LSN are taken together: Apply runs under mu_ too.
    std::lock_guard lk(mu_);
    lsn = lsn_;
    snapshot.set_format(kSnapshotFormat);
    snapshot.set_epoch(journal::EpochToHex(journals_->epoch()));
    snapshot.set_lsn(lsn);
    catalog_->Fill(&snapshot);
    for (const auto& [plsn, change] : pending_) {
      auto* p = snapshot.add_pending();
      p->set_lsn(plsn);
      *p->mutable_change() = change;
    }
    changed_since_save_ = false;
  }
  std::string json;
  google::protobuf::util::JsonPrintOptions print;
  print.add_whitespace = true;
  print.preserve_proto_field_names = true;
  auto st = google::protobuf::util::MessageToJsonString(snapshot, &json, print);
  if (!st.ok())
    return Status::Internal(
        fmt::format("encoding the sampling catalog: {}", st.message().as_string()));
  SLUICE_RETURN_IF_ERROR(WriteFileAtomically(options_.fs, options_.path, json));
  if (!options_.cursor.empty()) {
    SLUICE_RETURN_IF_ERROR(journals_->AdvanceCursor(options_.stream, options_.cursor, lsn));
  }
  std::lock_guard lk(mu_);
  saved_lsn_ = std::max(saved_lsn_, lsn);
  return Status::OK();
}

bool CatalogFollower::WaitDecided(uint64_t intent_lsn, std::chrono::milliseconds timeout) {
  std::unique_lock lk(mu_);
  return cv_.wait_for(lk, timeout, [&] {
    return !error_.empty() || (lsn_ >= intent_lsn && !pending_.contains(intent_lsn) &&
                               !deciding_.contains(intent_lsn));
  }) && error_.empty();
}

CatalogFollowerStats CatalogFollower::stats() const {
  std::lock_guard lk(mu_);
  return {lsn_, saved_lsn_, pending_.size(), applied_, rejected_, error_};
}

}  // namespace sluice::sampling
