#include "client/spool.h"

#include <algorithm>
#include <cctype>
#include <mutex>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/log.h"

namespace sluice::client {
namespace {

// Anchor and reject records are tiny and rare: JSON keeps them readable in `journal dump`.
std::string EncodeAnchor(journal::Lsn first_lsn, uint64_t base) {
  return nlohmann::json{{"first_lsn", first_lsn}, {"base", base}}.dump();
}

std::string EncodeReject(journal::Lsn entry_lsn, uint64_t sequence, const std::string& message) {
  return nlohmann::json{{"entry_lsn", entry_lsn}, {"sequence", sequence}, {"message", message}}
      .dump();
}

Result<nlohmann::json> DecodeRule(const std::string& stream, const journal::RecordView& r,
                                  std::initializer_list<const char*> keys) {
  nlohmann::json doc = nlohmann::json::parse(r.payload, nullptr, /*allow_exceptions=*/false);
  bool ok = doc.is_object();
  for (const char* k : keys) ok = ok && doc.contains(k) && doc[k].is_number_unsigned();
  if (!ok) {
    return Status::Corruption(fmt::format("spool stream '{}' LSN {}: record of type {} is damaged",
                                          stream, r.lsn, r.type));
  }
  return doc;
}

}  // namespace

bool ValidStreamName(std::string_view name) {
  if (name.empty() || name.size() > journal::kMaxStreamNameLength) return false;
  if (name == "." || name == "..") return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
  });
}

Result<std::unique_ptr<Spool>> Spool::Open(SpoolOptions options) {
  if (options.dir.empty()) return Status::InvalidArgument("spool directory is empty");
  FileSystem* fs = options.fs;
  std::unique_ptr<Spool> spool(new Spool(std::move(options)));
  const std::string journal_dir = JoinPath(spool->options_.dir, "journal");
  std::vector<std::string> streams;
  if (fs->Exists(journal_dir)) {
    SLUICE_ASSIGN_OR_RETURN(auto names, fs->ListDir(journal_dir));
    for (auto& n : names) {
      if (n != "EPOCH" && ValidStreamName(n) && n.find(".tmp") == std::string::npos) {
        streams.push_back(std::move(n));
      }
    }
  }
  std::sort(streams.begin(), streams.end());
  std::unique_lock lk(spool->mu_);
  SLUICE_RETURN_IF_ERROR(spool->OpenSetLocked(streams));
  return spool;
}

Spool::~Spool() {
  std::unique_lock lk(mu_);
  {
    std::lock_guard rl(readers_mu_);
    readers_.clear();
  }
  set_.reset();
}

Status Spool::OpenSetLocked(const std::vector<std::string>& streams) {
  {
    std::lock_guard rl(readers_mu_);
    readers_.clear();  // they point into the journals about to close
  }
  set_.reset();  // releases the directory lock, so the set can be opened again
  ++generation_;
  journal::JournalSetOptions o;
  o.fs = options_.fs;
  o.data_dir = options_.dir;
  for (const auto& s : streams) o.streams.push_back({s, 0});
  o.segment_bytes = options_.segment_bytes;
  o.max_record_bytes = options_.max_record_bytes;
  o.ack_mode = journal::AckMode::kDurable;
  o.budget_bytes = options_.budget_bytes;
  auto set = journal::JournalSet::Open(o);
  if (!set.ok()) return set.status().Annotate(fmt::format("opening spool {}", options_.dir));
  set_ = std::move(set).value();
  for (const auto& s : streams) {
    if (set_->GetCursor(s, kResubmitCursor).ok()) continue;
    SLUICE_RETURN_IF_ERROR(set_->RegisterCursor(s, kResubmitCursor, {}));
  }
  return Status::OK();
}

Status Spool::CheckStreamLocked(const std::string& stream) const {
  if (set_ == nullptr) return Status::Unavailable(fmt::format("spool {} is closed", options_.dir));
  if (set_->stream(stream) == nullptr) {
    return Status::NotFound(fmt::format("spool {} has no stream '{}'", options_.dir, stream));
  }
  return Status::OK();
}

std::vector<std::string> Spool::streams() const {
  std::shared_lock lk(mu_);
  return set_ ? set_->stream_names() : std::vector<std::string>{};
}

Result<std::vector<PendingEntry>> Spool::Pending(const std::string& stream) const {
  std::shared_lock lk(mu_);
  SLUICE_RETURN_IF_ERROR(CheckStreamLocked(stream));
  const journal::Journal* j = set_->stream(stream);
  SLUICE_ASSIGN_OR_RETURN(auto cursor, set_->GetCursor(stream, kResubmitCursor));
  SLUICE_ASSIGN_OR_RETURN(auto reader, journal::Reader::Open(j, cursor.lsn + 1));

  std::vector<PendingEntry> entries;
  struct Anchor {
    journal::Lsn lsn, first_lsn;
    uint64_t base;
  };
  struct Reject {
    journal::Lsn lsn, entry_lsn;
  };
  std::vector<Anchor> anchors;
  std::vector<Reject> rejects;
  journal::ReadBatch batch;
  for (;;) {
    SLUICE_RETURN_IF_ERROR(reader->Read(1024, 16u << 20, &batch));
    if (batch.empty()) break;
    for (const auto& r : batch.records()) {
      switch (r.type) {
        case kEntryRecord: {
          v1::CommitRequest req;
          if (!req.ParseFromArray(r.payload.data(), static_cast<int>(r.payload.size()))) {
            return Status::Corruption(fmt::format(
                "spool stream '{}' LSN {}: entry is not a commit request", stream, r.lsn));
          }
          entries.push_back({r.lsn, req.sequence()});
          break;
        }
        case kAnchorRecord: {
          SLUICE_ASSIGN_OR_RETURN(auto doc, DecodeRule(stream, r, {"first_lsn", "base"}));
          anchors.push_back(
              {r.lsn, doc["first_lsn"].get<journal::Lsn>(), doc["base"].get<uint64_t>()});
          break;
        }
        case kRejectRecord: {
          SLUICE_ASSIGN_OR_RETURN(auto doc, DecodeRule(stream, r, {"entry_lsn"}));
          rejects.push_back({r.lsn, doc["entry_lsn"].get<journal::Lsn>()});
          break;
        }
        default:
          return Status::Corruption(fmt::format("spool stream '{}' LSN {}: unknown record type {}",
                                                stream, r.lsn, r.type));
      }
    }
  }
  // Anchors number the unnumbered entries before them; a reject moves the entries
  // between the refused one and itself down by one.
  for (const auto& a : anchors) {
    for (auto& e : entries) {
      if (e.lsn >= a.first_lsn && e.lsn < a.lsn && e.sequence == 0) {
        e.sequence = a.base + (e.lsn - a.first_lsn);
      }
    }
  }
  for (const auto& rj : rejects) {
    for (auto& e : entries) {
      if (e.lsn > rj.entry_lsn && e.lsn < rj.lsn && e.sequence > 0) --e.sequence;
    }
  }
  return entries;
}

Result<journal::Lsn> Spool::Append(const v1::CommitRequest& request) {
  SLUICE_ASSIGN_OR_RETURN(journal::Lsn lsn, Queue(request));
  SLUICE_RETURN_IF_ERROR(WaitDurable(request.stream(), lsn));
  return lsn;
}

Status Spool::WaitDurable(const std::string& stream, journal::Lsn lsn) {
  // A reopen in between is fine: closing the old set flushed the record.
  std::shared_lock lk(mu_);
  SLUICE_RETURN_IF_ERROR(CheckStreamLocked(stream));
  return set_->stream(stream)->WaitDurable(lsn);
}

Result<journal::Lsn> Spool::Queue(const v1::CommitRequest& request) {
  const std::string& stream = request.stream();
  if (!ValidStreamName(stream)) {
    return Status::InvalidArgument(
        fmt::format("stream name '{}' cannot be spooled: 1 to {} letters, digits, '_', '-' or '.'",
                    stream, journal::kMaxStreamNameLength));
  }
  std::string payload;
  if (!request.SerializeToString(&payload)) {
    return Status::InvalidArgument(
        fmt::format("commit to stream '{}' cannot be serialized", stream));
  }
  {
    std::shared_lock lk(mu_);
    if (set_ == nullptr)
      return Status::Unavailable(fmt::format("spool {} is closed", options_.dir));
    if (journal::Journal* j = set_->stream(stream)) return j->Append(kEntryRecord, payload);
  }
  // A stream seen for the first time: reopen the set with it. Rare (once per stream).
  {
    std::unique_lock lk(mu_);
    if (set_ == nullptr)
      return Status::Unavailable(fmt::format("spool {} is closed", options_.dir));
    if (set_->stream(stream) == nullptr) {
      auto names = set_->stream_names();
      names.push_back(stream);
      SLUICE_LOG_INFO("spool {}: adding stream '{}'", options_.dir, stream);
      SLUICE_RETURN_IF_ERROR(OpenSetLocked(names));
    }
  }
  std::shared_lock lk(mu_);
  SLUICE_RETURN_IF_ERROR(CheckStreamLocked(stream));
  return set_->stream(stream)->Append(kEntryRecord, payload);
}

Status Spool::AppendAnchor(const std::string& stream, journal::Lsn first_lsn, uint64_t base) {
  std::shared_lock lk(mu_);
  SLUICE_RETURN_IF_ERROR(CheckStreamLocked(stream));
  return set_->stream(stream)->AppendDurable(kAnchorRecord, EncodeAnchor(first_lsn, base)).status();
}

Status Spool::AppendReject(const std::string& stream, const SpooledCommit& entry, uint64_t sequence,
                           const std::string& message) {
  // The copy first: once the reject record is durable the entry may be deleted.
  const std::string dir = JoinPath(options_.dir, "rejected");
  SLUICE_RETURN_IF_ERROR(options_.fs->CreateDirs(dir));
  v1::CommitRequest copy = entry.request;
  copy.set_sequence(sequence);
  const std::string base = JoinPath(dir, fmt::format("{}.{:020}", stream, entry.lsn));
  SLUICE_RETURN_IF_ERROR(WriteFileAtomically(options_.fs, base + ".pb", copy.SerializeAsString()));
  SLUICE_RETURN_IF_ERROR(WriteFileAtomically(
      options_.fs, base + ".txt",
      fmt::format("stream: {}\nsequence: {}\nspool lsn: {}\nrecords: {}\nrefused: {}\n", stream,
                  sequence, entry.lsn, copy.records_size(), message)));
  std::shared_lock lk(mu_);
  SLUICE_RETURN_IF_ERROR(CheckStreamLocked(stream));
  return set_->stream(stream)
      ->AppendDurable(kRejectRecord, EncodeReject(entry.lsn, sequence, message))
      .status();
}

Result<std::vector<SpooledCommit>> Spool::Read(const std::string& stream, journal::Lsn from_lsn,
                                               size_t max_entries) {
  std::shared_lock lk(mu_);
  SLUICE_RETURN_IF_ERROR(CheckStreamLocked(stream));
  std::lock_guard rl(readers_mu_);
  ReaderState& rs = readers_[stream];
  if (rs.reader == nullptr || rs.generation != generation_ || rs.reader->next_lsn() != from_lsn) {
    rs.reader.reset();
    SLUICE_ASSIGN_OR_RETURN(rs.reader, journal::Reader::Open(set_->stream(stream), from_lsn));
    rs.generation = generation_;
  }
  std::vector<SpooledCommit> out;
  journal::ReadBatch batch;
  while (out.size() < max_entries) {
    // One record at a time: the reader must stop right after the last entry returned,
    // so that the next call continues from there.
    Status s = rs.reader->Read(1, 1, &batch);
    if (!s.ok()) {
      rs.reader.reset();
      return s;
    }
    if (batch.empty()) break;
    const auto& r = batch.records().front();
    if (r.type != kEntryRecord) continue;
    SpooledCommit c;
    c.lsn = r.lsn;
    if (!c.request.ParseFromArray(r.payload.data(), static_cast<int>(r.payload.size()))) {
      rs.reader.reset();
      return Status::Corruption(
          fmt::format("spool stream '{}' LSN {}: entry is not a commit request", stream, r.lsn));
    }
    out.push_back(std::move(c));
  }
  return out;
}

journal::Lsn Spool::last_lsn(const std::string& stream) const {
  std::shared_lock lk(mu_);
  if (set_ == nullptr) return 0;
  const journal::Journal* j = set_->stream(stream);
  return j ? j->last_assigned_lsn() : 0;
}

Status Spool::MarkDelivered(const std::string& stream, journal::Lsn lsn) {
  std::shared_lock lk(mu_);
  SLUICE_RETURN_IF_ERROR(CheckStreamLocked(stream));
  return set_->AdvanceCursor(stream, kResubmitCursor, lsn);
}

Status Spool::Flush() {
  std::shared_lock lk(mu_);
  if (set_ == nullptr) return Status::OK();
  SLUICE_RETURN_IF_ERROR(set_->FlushCursors());
  auto report = set_->RunRetention();
  if (!report.ok()) return report.status();
  if (report->bytes_freed > 0) {
    SLUICE_LOG_DEBUG("spool {}: retention freed {} bytes", options_.dir, report->bytes_freed);
  }
  return Status::OK();
}

}  // namespace sluice::client
